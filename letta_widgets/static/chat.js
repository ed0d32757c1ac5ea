// @ts-check
// ChatCell front-end. Python drives the stream; this view renders the `items`
// snapshot (sanitized HTML cards), applies coalesced live ops, and sends clicks.

function render({ model, el }) {
  el.classList.add("lw-root", "lw-chat");
  el.setAttribute("role", "region");
  el.setAttribute("aria-label", "Chat with the agent");
  const banner = lwEl("div", "lw-error");
  const transcript = lwScrollable(lwEl("div", "lw-transcript"), "Messages");
  const olderBtn = lwButton("lw-older", "Load older messages");
  const list = lwEl("div", "lw-items");
  const live = lwEl("div", "lw-live-area");
  transcript.append(olderBtn, list, live);
  const jumpBtn = lwButton("lw-jump", "↓ Jump to latest");
  jumpBtn.setAttribute("aria-label", "Jump to latest"); // the arrow is not read
  jumpBtn.hidden = true;
  const pane = lwEl("div", "lw-transcript-pane");
  pane.append(transcript, jumpBtn);
  const memNotice = lwEl("div", "lw-memory-notice");
  const memText = lwEl("span", "lw-memory-notice-text");
  const recompileBtn = lwButton("lw-recompile", "Recompile");
  memNotice.append(memText, recompileBtn);
  memNotice.setAttribute("role", "status");
  const status = lwEl("div", "lw-status");
  status.setAttribute("role", "status");
  const composer = lwEl("div", "lw-composer");
  const input = lwPromptInput((text) => {
    if (model.get("status") === "streaming") return false;
    model.send({ kind: "send", text });
  }, "Message to the agent");
  const sendBtn = lwButton("lw-send lw-primary", "Send");
  const stopBtn = lwButton("lw-stop", "Stop");
  const attachBtn = lwButton("lw-attach", "Attach to running turn");
  composer.append(input, sendBtn, stopBtn, attachBtn);
  el.replaceChildren(banner, memNotice, pane, status, composer);

  const liveArea = lwLiveArea(live);
  const announcer = lwAnnouncer(el);
  const cleanups = [lwErrorBanner(model, banner, () => input), lwEscapeLeaves(el)];
  const on = (event, fn) => { model.on(event, fn); cleanups.push(() => model.off(event, fn)); };

  // Follow the newest message: on when the cell opens, off once the user scrolls up (a
  // "jump to latest" button appears), on again at the bottom. Content that grows (a page of
  // history, streamed tokens, cards replacing the live text, fonts, a resize) keeps the
  // bottom in view while following.
  let follow = true;
  let lastTop = 0;
  const atBottom = () => transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 24;
  const toBottom = () => { transcript.scrollTop = transcript.scrollHeight; lastTop = transcript.scrollTop; };
  function settle() {
    if (follow) toBottom();
    jumpBtn.hidden = follow;
    el.dataset.follow = follow ? "true" : "false";
  }
  const growth = typeof ResizeObserver === "function" ? new ResizeObserver(settle) : null;
  if (growth) {
    for (const node of [transcript, list, live]) growth.observe(node);
    cleanups.push(() => growth.disconnect());
  }

  function decorate(node, item) {
    node.classList.toggle("lw-evicted", !!item.evicted);
    if (item.evicted) node.title = "No longer in the context window (compacted away; kept in history)";
    else node.removeAttribute("title");
    if (!item.tool_call_ids) return; // an approval request (pending or answered)
    let bar = node.querySelector(".lw-approval-actions");
    if (!item.pending) { if (bar) bar.remove(); return; }
    if (bar) return;
    bar = lwEl("div", "lw-approval-actions");
    const ids = item.tool_call_ids || [];
    const approve = lwButton("lw-approve lw-primary", "Approve");
    const deny = lwButton("lw-deny", "Deny");
    const reason = lwField("input", "lw-deny-reason");
    reason.placeholder = "reason (optional)";
    reason.setAttribute("aria-label", "Reason for denying (optional)");
    const answer = (ok) => {
      const keyboard = bar.contains(document.activeElement);
      approve.disabled = deny.disabled = true;
      model.send({ kind: "approve", tool_call_id: ids[0], approve: ok, reason: reason.value || null });
      if (keyboard) input.focus(); // the bar goes away: the keyboard goes on in the prompt box
    };
    approve.addEventListener("click", () => answer(true));
    deny.addEventListener("click", () => answer(false));
    bar.append(approve, deny, reason);
    node.appendChild(bar);
  }

  /** @type {string[] | null} */
  let shownKeys = null; // the items' keys at the last draw (null: not drawn yet)
  function drawItems() {
    const oldHeight = transcript.scrollHeight;
    const oldTop = transcript.scrollTop;
    const first = () => /** @type {HTMLElement | null} */ (list.firstElementChild);
    const firstKey = first() ? first().dataset.key : null;
    const items = model.get("items") || [];
    lwRenderItems(list, items, decorate);
    // each finished answer (or approval request) is announced once, when it is appended
    for (const item of lwNewAnswers(shownKeys, items)) {
      const node = /** @type {HTMLElement | null} */ (list.querySelector(`.lw-item[data-key="${CSS.escape(item.key)}"]`));
      announcer.say(lwSpokenText(node, item));
    }
    shownKeys = items.map((item) => item.key);
    const prepended = firstKey && first() && first().dataset.key !== firstKey;
    // older messages above: keep what the reader looks at where it is
    if (prepended && !follow) transcript.scrollTop = oldTop + (transcript.scrollHeight - oldHeight);
    settle();
  }

  function drawStatus() {
    const state = model.get("status");
    status.className = "lw-status lw-status--" + state;
    status.textContent = model.get("status_text") || (state === "idle" ? "" : state);
    const streaming = state === "streaming";
    lwSetOff(sendBtn, streaming);
    lwSetOff(stopBtn, !streaming);
    el.dataset.status = state;
  }

  function drawNotice() {
    const text = model.get("memory_notice") || "";
    memNotice.hidden = !text;
    memText.textContent = text;
    recompileBtn.disabled = false;
  }

  function drawChrome() {
    olderBtn.hidden = !model.get("has_older");
    attachBtn.hidden = !model.get("can_attach");
    input.placeholder = model.get("placeholder");
    transcript.style.height = model.get("height");
  }

  let olderRequested = false;
  function maybeOlder() {
    if (olderRequested || !model.get("has_older") || transcript.scrollTop > 40) return;
    olderRequested = true;
    model.send({ kind: "older" });
  }

  sendBtn.addEventListener("click", () => { if (!lwIsOff(sendBtn)) input.submit(); });
  stopBtn.addEventListener("click", () => { if (!lwIsOff(stopBtn)) model.send({ kind: "stop" }); });
  attachBtn.addEventListener("click", () => model.send({ kind: "attach" }));
  olderBtn.addEventListener("click", () => { olderRequested = true; model.send({ kind: "older" }); });
  transcript.addEventListener("scroll", () => {
    // Only the reader scrolling up stops following (content growing under an automatic
    // scroll, or shrinking at the bottom, does not); reaching the bottom resumes it.
    const top = transcript.scrollTop;
    if (atBottom()) follow = true;
    else if (top < lastTop - 2) follow = false;
    lastTop = top;
    jumpBtn.hidden = follow;
    el.dataset.follow = follow ? "true" : "false";
    maybeOlder();
  }, { passive: true });
  jumpBtn.addEventListener("click", () => { follow = true; settle(); input.focus(); });

  on("msg:custom", (msg) => {
    if (!msg || msg.kind !== "ops") return;
    for (const op of msg.ops) liveArea.apply(op);
    settle();
  });
  on("change:items", () => { olderRequested = false; drawItems(); });
  on("change:status change:status_text", drawStatus);
  on("change:has_older change:can_attach change:placeholder change:height", drawChrome);
  on("change:memory_notice", drawNotice);
  recompileBtn.addEventListener("click", () => {
    if (memNotice.contains(document.activeElement)) input.focus(); // the notice goes away
    recompileBtn.disabled = true;
    model.send({ kind: "recompile" });
  });

  drawChrome();
  drawNotice();
  drawItems();
  drawStatus();
  settle();
  return () => { for (const fn of cleanups) fn(); };
}

export default { render };
