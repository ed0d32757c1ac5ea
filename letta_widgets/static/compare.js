// @ts-check
// CompareView front-end. Python drives every stream; this view renders the shown round
// (`columns`: sanitized HTML items per variant, metrics, errors; `round`: prompt, diffs,
// vote, notice), applies coalesced live ops tagged with their column, and sends clicks.
// Text that came from an agent or a user is set with textContent, or parsed from HTML
// that Python sanitized (lwSafeFragment scrubs it again).

function lwCmpNumber(value, digits, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const n = Number(value);
  return (digits === 0 ? String(Math.round(n)) : n.toFixed(digits)) + (unit || "");
}

function lwCmpColumn(index) {
  const col = lwEl("div", "lw-col");
  const head = lwEl("div", "lw-col-head");
  const badge = lwEl("span", "lw-col-label");
  const chips = lwEl("span", "lw-col-chips");
  const state = lwEl("span", "lw-col-state");
  head.append(badge, chips, state);
  const error = lwEl("div", "lw-col-error");
  const note = lwEl("div", "lw-col-note");
  const body = lwScrollable(lwEl("div", "lw-col-body"), `Column ${index + 1}`);
  const steps = lwEl("details", "lw-steps");
  const stepsSummary = lwEl("summary", "lw-steps-summary", "reasoning & tools");
  const stepItems = lwEl("div", "lw-items");
  const stepLive = lwEl("div", "lw-live-area");
  steps.append(stepsSummary, stepItems, stepLive);
  const answer = lwEl("div", "lw-answer");
  const answerItems = lwEl("div", "lw-items");
  const answerLive = lwEl("div", "lw-live-area");
  answer.append(answerItems, answerLive);
  body.append(steps, answer);
  const metrics = lwEl("table", "lw-metrics");
  col.append(head, error, note, body, metrics);
  col.dataset.col = String(index);
  col.setAttribute("role", "group");
  const live = { steps: lwLiveArea(stepLive), answer: lwLiveArea(answerLive), where: new Map() };
  const announcer = lwAnnouncer(col);
  return { col, badge, chips, state, error, note, body, steps, stepsSummary, stepItems, stepLive,
           answerItems, answerLive, metrics, live, announcer, stepCount: 0,
           shownKeys: /** @type {string[] | null} */ (null), shownStatus: "" };
}

function lwCmpMetrics(table, m, costNote) {
  const rows = [
    ["first token", lwCmpNumber(m.ttft_s, 2, " s")],
    ["total", lwCmpNumber(m.total_s, 2, " s")],
    ...(m.llm_s === null || m.llm_s === undefined ? []
      : [["LLM · tools", `${lwCmpNumber(m.llm_s, 2, " s")} · ${lwCmpNumber(m.tool_s, 2, " s")}`]]),
    ["tokens", m.total_tokens === null || m.total_tokens === undefined ? "–"
      : `${lwCmpNumber(m.total_tokens, 0)} (${lwCmpNumber(m.prompt_tokens, 0)} in · ${lwCmpNumber(m.completion_tokens, 0)} out)`],
    ["steps", lwCmpNumber(m.steps, 0)],
    ["tool calls", lwCmpNumber(m.tool_calls, 0)],
    ["stop", m.stop_reason || "–"],
    ["cost", m.cost_usd === null || m.cost_usd === undefined ? `– (${costNote || "not priced"})`
      : `$${Number(m.cost_usd) < 0.01 ? Number(m.cost_usd).toFixed(5) : Number(m.cost_usd).toFixed(3)}`],
  ];
  table.replaceChildren();
  for (const [name, value] of rows) {
    const tr = lwEl("tr");
    tr.append(lwEl("th", "", name), lwEl("td", "", value));
    table.append(tr);
  }
}

const LW_SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes (text only ever through textContent).
 *  @param {string} tag @param {Record<string, string | number>} attrs @param {string} [text] */
function lwSvg(tag, attrs, text) {
  const node = document.createElementNS(LW_SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The summary under the rounds: win rates with their 95 % intervals (votes, judge), and
 *  each variant's median paired time difference against the first, with its interval.
 *  @param {HTMLElement} box @param {any} chart the `chart` trait */
function lwCmpChart(box, chart) {
  box.replaceChildren();
  const wins = (chart && chart.win) || [];
  const lat = ((chart && chart.latency) || []).filter((/** @type {any} */ d) => d.label !== chart.baseline);
  box.hidden = !wins.length && !lat.length;
  if (box.hidden) return;
  const labelW = 130, plotW = 220, rowH = 20, width = labelW + plotW + 240; // room for "+0.56 s · sign test p=0.07"
  const rows = wins.length + lat.length + (lat.length ? 1 : 0) + 1;
  const svg = lwSvg("svg", { class: "lw-chart-svg", width, height: rows * rowH + 8, role: "img" });
  const said = [];
  let y = 14;
  svg.append(lwSvg("text", { x: 0, y, class: "lw-chart-title" }, "win rate (95 % interval)"));
  const fmt = (/** @type {number | null} */ v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
  for (const w of wins) {
    y += rowH;
    const x = (/** @type {number} */ v) => labelW + Math.max(0, Math.min(1, v)) * plotW;
    svg.append(lwSvg("text", { x: 0, y, class: "lw-chart-label" }, `${w.label} · ${w.who}`));
    svg.append(lwSvg("line", { x1: labelW, x2: labelW + plotW, y1: y - 4, y2: y - 4, class: "lw-chart-axis" }));
    if (w.low !== null && w.high !== null) {
      svg.append(lwSvg("line", { x1: x(w.low), x2: x(w.high), y1: y - 4, y2: y - 4, class: "lw-chart-ci" }));
    }
    if (w.rate !== null) svg.append(lwSvg("circle", { cx: x(w.rate), cy: y - 4, r: 4, class: `lw-chart-dot lw-chart-dot--${w.who}` }));
    const text = `${fmt(w.rate)} [${fmt(w.low)}, ${fmt(w.high)}] n=${w.n}`;
    svg.append(lwSvg("text", { x: labelW + plotW + 8, y, class: "lw-chart-value" }, text));
    said.push(`${w.label} by ${w.who}: ${text}`);
  }
  if (lat.length) {
    y += rowH;
    svg.append(lwSvg("text", { x: 0, y, class: "lw-chart-title" }, `total time − ${chart.baseline} (median paired, 95 %)`));
    const span = Math.max(1e-3, ...lat.flatMap((/** @type {any} */ d) => [Math.abs(d.low ?? d.diff), Math.abs(d.high ?? d.diff)]));
    const x = (/** @type {number} */ v) => labelW + plotW / 2 + (v / span) * (plotW / 2);
    for (const d of lat) {
      y += rowH;
      svg.append(lwSvg("text", { x: 0, y, class: "lw-chart-label" }, String(d.label)));
      svg.append(lwSvg("line", { x1: x(0), x2: x(0), y1: y - 12, y2: y + 4, class: "lw-chart-axis" }));
      if (d.low !== null && d.high !== null) {
        svg.append(lwSvg("line", { x1: x(d.low), x2: x(d.high), y1: y - 4, y2: y - 4, class: "lw-chart-ci" }));
      }
      svg.append(lwSvg("rect", { x: x(d.diff) - 4, y: y - 8, width: 8, height: 8, class: "lw-chart-dot lw-chart-dot--time" }));
      const sign = d.diff > 0 ? "+" : "";
      const p = d.sign_p === null || d.sign_p === undefined ? "" : ` · sign test p=${d.sign_p.toFixed(2)}`;
      const text = `${sign}${d.diff.toFixed(2)} s${p}`;
      svg.append(lwSvg("text", { x: labelW + plotW + 8, y, class: "lw-chart-value" }, text));
      said.push(`${d.label} minus ${chart.baseline}: ${text}`);
    }
  }
  svg.setAttribute("aria-label", said.join("; "));
  box.append(svg);
}

function render({ model, el }) {
  el.classList.add("lw-root", "lw-compare");
  el.setAttribute("role", "region");
  el.setAttribute("aria-label", "Compare variants");
  const banner = lwEl("div", "lw-error");
  const header = lwEl("div", "lw-cmp-header");
  const nav = lwEl("div", "lw-cmp-nav");
  const prevBtn = lwIconButton("lw-prev", "◀", "Previous round");
  const roundLabel = lwEl("span", "lw-round-label");
  roundLabel.setAttribute("aria-live", "polite"); // "round 2 / 3" after ◀ or ▶
  const nextBtn = lwIconButton("lw-next", "▶", "Next round");
  nav.append(prevBtn, roundLabel, nextBtn);
  const tallyBox = lwEl("div", "lw-tally");
  header.append(nav, tallyBox);
  const promptBox = lwEl("div", "lw-cmp-prompt");
  const notice = lwEl("div", "lw-notice");
  const grid = lwEl("div", "lw-cols");
  const diffBox = lwEl("details", "lw-diffs");
  diffBox.open = true;
  const diffSummary = lwEl("summary", "lw-diffs-summary", "word diff of the answers");
  const diffList = lwEl("div", "lw-diff-list");
  diffBox.append(diffSummary, diffList);
  const voteBar = lwEl("div", "lw-vote");
  const voteLabel = lwEl("span", "lw-vote-label", "Which is better?");
  voteLabel.id = `lw-vote-label-${Math.random().toString(36).slice(2, 10)}`;
  const voteButtons = lwEl("span", "lw-vote-buttons");
  voteButtons.setAttribute("role", "group");
  voteButtons.setAttribute("aria-labelledby", voteLabel.id);
  const noteInput = lwField("input", "lw-vote-note");
  noteInput.setAttribute("aria-label", "A note with your vote (optional)");
  noteInput.placeholder = "note (optional)";
  const voteState = lwEl("span", "lw-vote-state");
  voteBar.append(voteLabel, voteButtons, noteInput, voteState);
  const judgeLine = lwEl("div", "lw-judge");
  const chartBox = lwEl("div", "lw-chart");
  const status = lwEl("div", "lw-status");
  status.setAttribute("role", "status");
  const composer = lwEl("div", "lw-composer");
  const input = lwPromptInput((text) => {
    if (model.get("status") === "streaming") return false;
    model.send({ kind: "send", text });
  }, { label: "Prompt for every variant" });
  const sendBtn = lwButton("lw-send lw-primary", "Send to all");
  const stopBtn = lwButton("lw-stop", "Stop all");
  composer.append(input, sendBtn, stopBtn);
  el.replaceChildren(banner, header, promptBox, notice, grid, diffBox, voteBar, judgeLine, chartBox, status, composer);

  const cleanups = [lwErrorBanner(model, banner), lwEscapeLeaves(el), lwHostTheme(el)];
  const on = lwListener(model, cleanups);
  let cols = [];
  let shownNoteKey = null;
  let shownRoundId = null;

  function ensureColumns(n) {
    if (cols.length === n) return;
    cols = [];
    grid.replaceChildren();
    for (let i = 0; i < n; i++) {
      const c = lwCmpColumn(i);
      cols.push(c);
      grid.appendChild(c.col);
    }
    grid.style.setProperty("--lw-ncols", String(Math.max(1, n)));
  }

  function drawColumns() {
    const columns = model.get("columns") || [];
    const variants = model.get("variants") || [];
    ensureColumns(columns.length);
    const height = model.get("height");
    columns.forEach((info, i) => {
      const c = cols[i];
      // a blind column (info.hidden) shows nothing that tells its variant apart
      const v = info.hidden ? {} : variants.find((x) => x.label === info.label) || {};
      c.col.dataset.status = info.status || "";
      c.col.dataset.label = info.label || "";
      c.col.setAttribute("aria-label", `Column ${info.label || i + 1}`);
      c.badge.textContent = info.label || "";
      c.chips.replaceChildren();
      const chip = (text, title, cls) => {
        if (!text) return;
        const s = lwEl("span", "lw-chip " + (cls || ""), text);
        if (title) s.title = title;
        c.chips.appendChild(s);
      };
      chip(v.kind, "how this column's conversation was made");
      chip(info.model || v.model, "override_model", "lw-chip-model");
      if (v.system) chip("system override", v.system, "lw-chip-system");
      const conv = info.conversation_id || v.conversation_id || "";
      chip(conv ? conv.slice(0, 13) + "…" : "", conv, "lw-chip-conv");
      c.state.textContent = info.status || "";
      c.state.className = "lw-col-state lw-col-state--" + (info.status || "idle");
      c.error.hidden = !info.error;
      c.error.textContent = info.error || "";
      c.note.hidden = !info.note;
      c.note.textContent = info.note || "";
      c.body.style.maxHeight = height;
      const items = info.items || [];
      const stepItems = items.filter((it) => it.kind === "step");
      const answerItems = items.filter((it) => it.kind !== "step" && it.kind !== "input");
      lwRenderItems(c.stepItems, stepItems);
      lwRenderItems(c.answerItems, answerItems);
      // a column's answer is announced once, when the turn that streamed it ends (not when
      // another round is shown: that column was not live)
      const wasLive = ["waiting", "preparing", "streaming"].includes(c.shownStatus);
      for (const item of wasLive ? lwNewAnswers(c.shownKeys, answerItems) : []) {
        const node = /** @type {HTMLElement | null} */ (c.answerItems.querySelector(`.lw-item[data-key="${CSS.escape(item.key)}"]`));
        const text = lwSpokenText(node, item);
        if (text) c.announcer.say(`${info.label || i + 1}, ${text}`);
      }
      c.shownKeys = answerItems.map((it) => it.key);
      c.shownStatus = info.status || "";
      c.stepCount = stepItems.length;
      c.steps.hidden = stepItems.length === 0 && c.live.steps.size() === 0;
      c.stepsSummary.textContent = `reasoning & tools (${stepItems.length})`;
      if (info.status === "gap") {
        c.answerItems.replaceChildren(lwEl("div", "lw-gap", "no matching turn in this conversation"));
      }
      lwCmpMetrics(c.metrics, info.metrics || {}, info.cost_note);
    });
  }

  function drawRound() {
    const r = model.get("round") || {};
    const count = model.get("round_count");
    const idx = typeof r.index === "number" ? r.index : -1;
    roundLabel.textContent = count ? `round ${idx + 1} / ${count}` : "no rounds yet";
    const streaming = model.get("status") === "streaming";
    lwSetOff(prevBtn, streaming || idx <= 0);
    lwSetOff(nextBtn, streaming || idx < 0 || idx >= count - 1);
    promptBox.hidden = !r.prompt;
    promptBox.replaceChildren();
    if (r.prompt) {
      promptBox.append(lwEl("span", "lw-cmp-prompt-label", "prompt"), lwEl("span", "lw-cmp-prompt-text", r.prompt));
    }
    notice.hidden = !r.notice;
    notice.textContent = r.notice || "";
    // word diffs
    const diffs = r.diffs || [];
    diffBox.hidden = diffs.length === 0;
    diffList.replaceChildren();
    for (const d of diffs) {
      const box = lwEl("div", "lw-diff");
      const pct = typeof d.similarity === "number" ? ` · ${Math.round(d.similarity * 100)}% same words` : "";
      box.appendChild(lwEl("div", "lw-diff-head", `${d.a} → ${d.b}${pct}`));
      box.appendChild(lwWordDiff(d.ops));
      diffList.appendChild(box);
    }
    // votes: one button per column, named as the column is ("Response n" while blind)
    const choices = r.choices || [];
    el.dataset.blind = r.blind && !r.revealed ? "true" : "false";
    voteBar.hidden = !r.done || !r.prompt_id;
    lwKeepFocus(voteButtons, () => {
      voteButtons.replaceChildren();
      for (const [value, text] of choices) {
        const b = lwButton("lw-vote-btn" + (r.vote === value ? " lw-primary" : ""), text);
        b.dataset.choice = value;
        b.setAttribute("aria-pressed", r.vote === value ? "true" : "false");
        b.addEventListener("click", () => {
          model.send({ kind: "vote", prompt_id: r.prompt_id, choice: r.vote === value ? null : value, note: noteInput.value });
        });
        voteButtons.appendChild(b);
      }
    });
    // the note box follows Python only when the shown round or its saved note changes,
    // so a redraw never wipes what the user is typing
    const noteKey = `${r.prompt_id || ""}|${r.note || ""}`;
    if (noteKey !== shownNoteKey) {
      if (r.prompt_id !== shownRoundId || r.note) noteInput.value = r.note || "";
      shownNoteKey = noteKey;
      shownRoundId = r.prompt_id;
    }
    voteState.textContent = r.vote ? `voted: ${r.vote === "all_bad" ? "all bad" : r.vote}` : "";
    // the judge's verdict (cmp.judge): named as the columns are; its reasons once revealed
    const judged = r.judge;
    judgeLine.hidden = !judged;
    judgeLine.replaceChildren();
    if (judged) {
      const verdict = judged.winner === null || judged.winner === undefined ? "failed"
        : judged.winner === "tie" ? "tie" : `${judged.winner} is better`;
      const flag = judged.consistent === false ? " (a verdict flipped with the order: counted as a tie)" : "";
      judgeLine.append(lwEl("span", "lw-judge-verdict", `Judge: ${verdict}${flag}`));
      if (judged.rationale) judgeLine.append(lwEl("span", "lw-judge-why", ` · ${judged.rationale}`));
      judgeLine.dataset.consistent = String(judged.consistent);
    }
  }

  function drawTally() {
    const tally = model.get("tally") || {};
    const parts = Object.entries(tally).map(([k, v]) => `${k === "all_bad" ? "all bad" : k} ${v}`);
    tallyBox.textContent = parts.length ? "votes: " + parts.join(" · ") : "";
  }

  function drawStatus() {
    const state = model.get("status");
    status.className = "lw-status lw-status--" + state;
    status.textContent = model.get("status_text") || (state === "idle" ? "" : state);
    const streaming = state === "streaming";
    lwSetOff(sendBtn, streaming);
    lwSetOff(stopBtn, !streaming);
    el.dataset.status = state;
    drawRound();
  }

  function drawChrome() {
    composer.hidden = model.get("readonly");
    input.placeholder = model.get("placeholder");
  }

  sendBtn.addEventListener("click", () => { if (!lwIsOff(sendBtn)) input.submit(); });
  stopBtn.addEventListener("click", () => { if (!lwIsOff(stopBtn)) model.send({ kind: "stop" }); });
  prevBtn.addEventListener("click", () => {
    if (!lwIsOff(prevBtn)) model.send({ kind: "goto", index: (model.get("round").index || 0) - 1 });
  });
  nextBtn.addEventListener("click", () => {
    if (!lwIsOff(nextBtn)) model.send({ kind: "goto", index: (model.get("round").index || 0) + 1 });
  });
  noteInput.addEventListener("change", () => {
    const r = model.get("round") || {};
    if (r.prompt_id && r.vote) model.send({ kind: "vote", prompt_id: r.prompt_id, choice: r.vote, note: noteInput.value });
  });

  on("msg:custom", (msg) => {
    if (!msg || msg.kind !== "ops") return;
    for (const op of /** @type {LwOp[]} */ (msg.ops)) {
      const reset = (c) => {
        c.live.steps.apply({ op: "reset" }); c.live.answer.apply({ op: "reset" }); c.live.where.clear();
      };
      if (op.col === null || op.col === undefined) {
        if (op.op === "reset") for (const c of cols) reset(c);
        continue;
      }
      const c = cols[op.col];
      if (!c) continue;
      if (op.op === "reset") { reset(c); continue; }
      if (op.op === "begin") {
        const area = lwTypeKind(op.type || "") === "step" ? "steps" : "answer";
        c.live.where.set(op.i, area);
        if (area === "steps") {
          c.steps.hidden = false;
          c.stepsSummary.textContent = `reasoning & tools (${c.stepCount + c.live.steps.size() + 1}…)`;
        }
        c.live[area].apply(op);
      } else {
        const area = c.live.where.get(op.i);
        if (area) c.live[area].apply(op);
      }
      const b = c.body;
      if (b.scrollHeight - b.scrollTop - b.clientHeight < 80) b.scrollTop = b.scrollHeight;
    }
  });
  on("change:columns change:variants change:height", drawColumns);
  on("change:round change:round_count", drawRound);
  on("change:tally", drawTally);
  on("change:chart", () => lwCmpChart(chartBox, model.get("chart")));
  on("change:status change:status_text", drawStatus);
  on("change:readonly change:placeholder", drawChrome);

  drawChrome();
  drawColumns();
  drawTally();
  lwCmpChart(chartBox, model.get("chart"));
  drawStatus();
  lwStartView(model, el, "comparison");
  return () => { for (const fn of cleanups) fn(); };
}

export default { render };
