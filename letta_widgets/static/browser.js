// @ts-check
// ConversationBrowser front-end. Python owns the data; this view asks for pages by RPC
// ({kind:"rpc", id, method, params} -> {kind:"reply", id, result|error}), keeps a bounded
// window of message pages and of conversation rows in the DOM, and sets agent text only
// through lwSafeFragment (HTML sanitized by letta_widgets.render) or textContent.

const LW_MAX_PAGES = 3; // message pages kept in the DOM (each at most 100 messages)
const LW_LIST_OVERSCAN = 8; // conversation rows kept in the DOM above and below the viewport
const LW_ROW_GUESS_PX = 48; // a conversation row's height until one is measured
const LW_LIST_FALLBACK_PX = 800; // the list's height while it is not laid out
const LW_SEEK_PAGES = 40; // list pages loaded to find a conversation selected from Python
const LW_RPC_TIMEOUT_MS = 60000;

// The panes are factories in their own files (bundled before this one, no build step):
// browser_window.js (list windowing), browser_agents.js (agent picker), browser_memory.js
// (memory panel), browser_search.js (message search). render() wires them with the
// conversation list, the message pane and the header.

function render({ model, el }) {
  el.classList.add("lw-root", "lw-browser");
  const cleanups = [];
  const on = (event, fn) => { model.on(event, fn); cleanups.push(() => model.off(event, fn)); };

  // ------------------------------------------------------------------ RPC
  const channel = lwRpc(model, { timeoutMs: LW_RPC_TIMEOUT_MS });
  cleanups.push(() => channel.destroy());
  /** @param {string} method @param {object} [params] @param {{signal?: AbortSignal}} [options] */
  const rpc = (method, params, options) => channel.call(method, params, options);

  // ------------------------------------------------------------------ skeleton
  const banner = lwEl("div", "lw-error");
  cleanups.push(lwErrorBanner(model, banner));

  // agent picker
  const picker = lwEl("section", "lw-picker");
  const pickerTitle = lwEl("div", "lw-picker-title", "Choose an agent");
  const agentSearch = lwField("input", "lw-agent-search");
  agentSearch.placeholder = "Search agents by name…";
  agentSearch.type = "search";
  const agentList = lwEl("div", "lw-agent-list");
  const agentStatus = lwEl("div", "lw-status lw-agent-status");
  picker.append(pickerTitle, agentSearch, agentList, agentStatus);

  // main view
  const main = lwEl("div", "lw-main");
  const toolbar = lwEl("div", "lw-toolbar");
  const agentLabel = lwEl("span", "lw-agent-label");
  const changeAgent = lwButton("lw-change-agent", "Change agent");
  const newBtn = lwButton("lw-new lw-primary", "New conversation");
  const refreshBtn = lwButton("lw-refresh", "Refresh", "Reload memory, the list and the messages");
  const status = lwEl("span", "lw-status lw-browser-status");
  toolbar.append(agentLabel, changeAgent, status, newBtn, refreshBtn);

  const panes = lwEl("div", "lw-panes");
  // conversation list
  const listPane = lwEl("section", "lw-list-pane");
  const listTools = lwEl("div", "lw-list-tools");
  const convSearch = lwField("input", "lw-conv-search");
  convSearch.type = "search";
  convSearch.placeholder = "Search summaries…";
  const archSelect = lwField("select", "lw-archive-filter");
  for (const [value, label] of [["unarchived", "Active"], ["archived", "Archived"], ["all", "All"]]) {
    const opt = lwEl("option", "", label);
    opt.value = value;
    archSelect.append(opt);
  }
  listTools.append(convSearch, archSelect);
  const msgSearch = lwField("input", "lw-msg-search");
  msgSearch.type = "search";
  msgSearch.placeholder = "Search messages in all conversations… (Enter)";
  const convList = lwEl("div", "lw-conv-list");
  const results = lwEl("div", "lw-search-results");
  results.hidden = true;
  const listStatus = lwEl("div", "lw-status lw-list-status");
  listPane.append(listTools, msgSearch, convList, results, listStatus);

  // message pane
  const msgPane = lwEl("section", "lw-msg-pane");
  const header = lwEl("div", "lw-conv-header");
  const filters = lwEl("div", "lw-filters");
  const textFilter = lwField("input", "lw-text-filter");
  textFilter.type = "search";
  textFilter.placeholder = "Filter messages by text…";
  const typeFilter = lwField("select", "lw-type-filter");
  for (const [value, label] of [["", "All types"], ["user", "User"], ["assistant", "Assistant"],
    ["reasoning", "Reasoning"], ["tools", "Tool calls"], ["system", "System / summary"]]) {
    const opt = lwEl("option", "", label);
    opt.value = value;
    typeFilter.append(opt);
  }
  filters.append(textFilter, typeFilter);
  const scroller = lwEl("div", "lw-messages");
  const olderBtn = lwButton("lw-older", "Load older messages");
  olderBtn.hidden = true; // until a conversation with older messages is shown
  const pagesBox = lwEl("div", "lw-pages");
  const newerBtn = lwButton("lw-newer", "Load newer messages");
  newerBtn.hidden = true;
  const msgStatus = lwEl("div", "lw-msg-status");
  scroller.append(olderBtn, pagesBox, newerBtn, msgStatus);
  const details = lwEl("div", "lw-details");
  details.hidden = true;
  msgPane.append(header, filters, scroller, details);

  // memory panel
  const memPane = lwEl("section", "lw-mem-pane");
  const memHead = lwEl("div", "lw-mem-head");
  const memTitle = lwEl("span", "lw-mem-title", "Shared memory");
  const memRefresh = lwButton("lw-mem-refresh", "Refresh", "Re-read the agent's memory blocks");
  memHead.append(memTitle, memRefresh);
  const memChecked = lwEl("div", "lw-mem-checked");
  const memStale = lwEl("div", "lw-mem-stale");
  const memBlocks = lwEl("div", "lw-mem-blocks");
  memPane.append(memHead, memChecked, memStale, memBlocks);

  panes.append(listPane, msgPane, memPane);
  main.append(toolbar, panes);
  el.replaceChildren(banner, picker, main);

  // ------------------------------------------------------------------ details
  // made first: every pane below may close it (a function declaration, hoisted, is
  // `action`, which it calls)
  const detailsPane = lwMessageDetails({
    rpc, box: details, pages: pagesBox,
    onFork: (messageId) => action("fork", { message_id: messageId }),
    onState: (key) => { if (key) el.dataset.details = key; else delete el.dataset.details; },
  });
  function hideDetails() { detailsPane.hide(); }
  /** @param {string} key */
  function showDetails(key) { detailsPane.show(key); }

  // ------------------------------------------------------------------ agent picker
  const agentPicker = lwAgentPicker({
    rpc, list: agentList, status: agentStatus, search: agentSearch,
    onPick: (id) => { model.set("agent_id", id); model.save_changes(); },
  });
  cleanups.push(() => agentPicker.destroy());
  const showPaneError = lwShowPaneError;

  // ------------------------------------------------------------------ conversation list
  // Windowed: the data of every loaded row stays here (a few hundred bytes each), but only
  // the rows in view plus LW_LIST_OVERSCAN on each side are in the DOM, between two spacers
  // that stand for the rest, so the scrollbar is truthful. A row's height is measured when
  // it is drawn; rows not drawn yet count as the mean of the measured ones.
  const list = {
    rows: new Map(), order: [], next: null, loading: false, token: 0, done: false,
    flat: [], index: new Map(), // [id, depth] in display (tree) order; id -> position
    heights: new Map(), measured: 0, guess: LW_ROW_GUESS_PX, offsets: [0], dirty: true,
    nodes: new Map(), width: 0, // the rows in the DOM, by id
    // a selected conversation not loaded yet: pages are loaded to find it (seekFresh: once
    // more from the first page, which a conversation made after it was loaded is on)
    seek: null, seekPages: 0, seekFresh: false,
  };
  let localSel = model.get("selected") || "";
  const topPad = lwEl("div", "lw-conv-pad lw-conv-pad--top");
  const rowsBox = lwEl("div", "lw-conv-rows");
  const bottomPad = lwEl("div", "lw-conv-pad lw-conv-pad--bottom");
  convList.append(topPad, rowsBox, bottomPad);
  convList.tabIndex = 0;
  convList.setAttribute("role", "listbox");
  convList.setAttribute("aria-label", "Conversations (arrow keys select)");
  el.dataset.listOverscan = String(LW_LIST_OVERSCAN);

  function rowTitle(row) {
    return row.title || row.first_user || (row.count === 0 ? "(no messages yet)" : row.count === undefined ? "…" : "(untitled)");
  }

  function treeOrder() {
    const ids = list.order;
    const present = new Set(ids);
    const kids = new Map();
    for (const id of ids) {
      const parent = list.rows.get(id).parent;
      if (parent && present.has(parent) && parent !== id) {
        if (!kids.has(parent)) kids.set(parent, []);
        kids.get(parent).push(id);
      }
    }
    const out = [];
    const done = new Set();
    const visit = (id, depth) => {
      if (done.has(id)) return;
      done.add(id);
      out.push([id, depth]);
      for (const kid of kids.get(id) || []) visit(kid, depth + 1);
    };
    for (const id of ids) {
      const parent = list.rows.get(id).parent;
      if (!(parent && present.has(parent))) visit(id, list.rows.get(id).depth ? 1 : 0);
    }
    for (const id of ids) visit(id, 0);
    return out;
  }

  function drawRow(node, row, depth) {
    node.replaceChildren();
    node.dataset.id = row.id;
    node.dataset.stale = row.stale ? "true" : "false";
    node.className = "lw-conv-row" + (row.id === localSel ? " lw-selected" : "") + (row.is_default ? " lw-default" : "") + (row.archived ? " lw-archived" : "");
    node.setAttribute("aria-selected", row.id === localSel ? "true" : "false");
    node.style.paddingLeft = `${8 + Math.min(depth, 6) * 16}px`;
    const top = lwEl("div", "lw-conv-title");
    if (depth > 0 || row.parent) top.append(lwEl("span", "lw-fork-mark", "↳ "));
    top.append(lwEl("span", "lw-conv-title-text", rowTitle(row)));
    const badges = lwEl("span", "lw-badges");
    if (row.is_default) badges.append(lwEl("span", "lw-badge lw-badge--default", "default"));
    if (row.stale) {  // a quiet mark: most conversations go stale after one memory write
      const b = lwEl("span", "lw-stale-mark", "●");
      b.title = "Compiled with older memory: " + (row.stale_labels || []).join(", ") +
        " changed since. Open it to see the change and Recompile.";
      b.setAttribute("aria-label", b.title);
      badges.append(b);
    }
    if (row.archived) badges.append(lwEl("span", "lw-badge", "archived"));
    if (row.model_override) {
      const b = lwEl("span", "lw-badge lw-badge--model", row.model.split("/").pop());
      b.title = `This conversation runs on ${row.model} (the agent: ${row.agent_model})`;
      badges.append(b);
    }
    top.append(badges);
    if (row.description) top.title = row.description;
    const meta = lwEl("div", "lw-conv-meta");
    const count = row.count === undefined ? "… messages" : `${row.count} message${row.count === 1 ? "" : "s"}`;
    const bits = [count];
    // a fork (or any conversation) with no message of its own yet has no activity to show
    if (row.last_message_at) bits.push(`active ${lwDate(row.last_message_at)}`);
    if (!row.is_default) bits.push(`${row.parent ? "forked" : "created"} ${lwDate(row.created_at)}`);
    meta.textContent = bits.join(" · ");
    if (row.parent) {
      const fork = lwEl("div", "lw-conv-fork", `forked from ${row.parent}${row.fork_message_id ? " at " + row.fork_message_id : ""}`);
      node.append(top, meta, fork);
    } else node.append(top, meta);
    if (row.error) node.append(lwEl("div", "lw-conv-row-error", row.error));
    node._lwRow = row;
    node._lwDepth = depth;
    node._lwVersion = row._lwVersion;
    node._lwMeasured = false;
  }

  function rowNode(id) {
    const node = lwEl("div", "lw-conv-row");
    node.setAttribute("role", "option");
    node.addEventListener("click", () => { selectConversation(id); convList.focus({ preventScroll: true }); });
    return node;
  }

  /** Display order changed (a page came, a reset): recompute it and the positions. */
  function flatten() {
    list.flat = treeOrder();
    list.index = new Map(list.flat.map(([id], i) => [id, i]));
    list.dirty = true;
    el.dataset.conversations = String(list.order.length);
  }

  function setHeight(id, h) {
    const old = list.heights.get(id);
    if (old === h) return false;
    if (old === undefined) list.measured++;
    list.heights.set(id, h);
    list.guess = lwNextGuess(list.guess, list.measured, h, old);
    return true;
  }

  function layout() {
    list.offsets = lwRowOffsets(list.flat, list.heights, list.guess);
    list.dirty = false;
  }

  /** Put the rows near the viewport into the DOM (reusing the ones already there), size
   *  the spacers, measure rows drawn since the last pass, and keep the first visible row
   *  where it was when measuring corrected the heights above it. */
  function renderWindow() {
    if (list.dirty) layout();
    const n = list.flat.length;
    const view = convList.clientHeight || LW_LIST_FALLBACK_PX;
    const top = convList.scrollTop;
    const { first, start, end } = lwWindowRange(list.offsets, n, top, view, LW_LIST_OVERSCAN);
    const anchor = list.offsets[first] || 0;
    const keep = new Map();
    let previous = null;
    for (let i = start; i < end; i++) {
      const [id, depth] = list.flat[i];
      const row = list.rows.get(id);
      let node = list.nodes.get(id);
      if (!node) node = rowNode(id);
      if (node._lwRow !== row || node._lwDepth !== depth || node._lwVersion !== row._lwVersion) drawRow(node, row, depth);
      keep.set(id, node);
      const expected = previous ? previous.nextSibling : rowsBox.firstChild;
      if (expected !== node) rowsBox.insertBefore(node, expected);
      previous = node;
    }
    for (const [id, node] of list.nodes) if (!keep.has(id)) node.remove();
    list.nodes = keep;
    let changed = false;
    for (const [id, node] of keep) {
      if (node._lwMeasured) continue;
      const h = node.offsetHeight;
      if (!h) continue; // not laid out (the pane is hidden): measured on the next pass
      node._lwMeasured = true;
      if (setHeight(id, h)) changed = true;
    }
    if (changed) layout();
    topPad.style.height = `${list.offsets[start]}px`;
    bottomPad.style.height = `${list.offsets[n] - list.offsets[end]}px`;
    const shift = (list.offsets[first] || 0) - anchor;
    if (shift && top > 0) convList.scrollTop = top + shift;
    el.dataset.listWindow = `${start}-${end}`;
    scheduleStats();
  }

  function scrollToIndex(i) {
    if (list.dirty) layout();
    const view = convList.clientHeight || LW_LIST_FALLBACK_PX;
    const y = list.offsets[i];
    const h = list.offsets[i + 1] - y;
    if (y < convList.scrollTop) convList.scrollTop = y;
    else if (y + h > convList.scrollTop + view) convList.scrollTop = y + h - view;
    renderWindow();
  }

  /** A row's data changed: it is drawn again on the next pass (if it is in the window). */
  function redrawRow(id) {
    const row = list.rows.get(id);
    if (row) row._lwVersion = (row._lwVersion || 0) + 1;
  }

  function nearEnd() {
    return convList.scrollHeight - convList.scrollTop - convList.clientHeight < Math.max(200, convList.clientHeight);
  }

  function loadConversations(reset) {
    if (reset) {
      list.token++; list.rows = new Map(); list.order = []; list.next = null; list.done = false;
      list.heights = new Map(); list.measured = 0; list.loading = false;
      clearTimeout(statsTimer); statsTimer = null;
      flatten();
      convList.scrollTop = 0;
      renderWindow();
      listStatus.classList.remove("lw-status--error");
    }
    if (list.loading || list.done || !model.get("agent_id")) return;
    const token = list.token;
    list.loading = true;
    el.dataset.listState = "loading";
    listStatus.textContent = "loading conversations…";
    rpc("conversations", { search: convSearch.value.trim() || null, archived: archSelect.value, after: list.next })
      .then((res) => {
        if (token !== list.token) return;
        list.loading = false;
        list.next = res.next;
        list.done = !res.next;
        for (const row of res.rows) {
          if (list.rows.has(row.id)) continue;
          list.rows.set(row.id, row);
          list.order.push(row.id);
        }
        flatten();
        renderWindow();
        listShown();
      })
      .catch((err) => listFailed(token, err, false));
  }

  /** A page (or a refresh) is on screen: find a selected row still missing, or fill the
   *  viewport when it is near the end (or nothing scrolls yet). */
  function listShown() {
    listLoaded();
    if (seekSelected()) return;
    if (!list.done && nearEnd()) loadConversations(false);
  }

  function listFailed(token, err, reset) {
    if (token !== list.token) return;
    list.loading = false;
    el.dataset.listState = "error";
    showPaneError(listStatus, err, () => loadConversations(reset));
  }

  /** While a selected conversation is not in the loaded rows, load the next page (up to
   *  LW_SEEK_PAGES); once it is there, scroll it into view. True while still seeking. */
  function seekSelected() {
    if (!list.seek) return false;
    if (list.rows.has(list.seek)) {
      const at = list.index.get(list.seek);
      list.seek = null;
      if (at !== undefined) scrollToIndex(at);
      return false;
    }
    if (list.done || list.seekPages >= LW_SEEK_PAGES) {
      if (list.seekFresh) { list.seek = null; return false; } // not in this list (filter, search)
      // made after the first page was loaded (a new conversation): look again from the top
      list.seekFresh = true; list.seekPages = 0;
      loadConversations(true);
      return true;
    }
    list.seekPages++;
    loadConversations(false);
    return true;
  }

  function listLoaded() {
    const n = list.order.filter((id) => id !== "default").length;
    listStatus.textContent = n === 0
      ? (convSearch.value.trim() ? "No conversation matches." : "No conversations yet: start one with New conversation.")
      : `${n} conversation${n === 1 ? "" : "s"}${list.done ? "" : " loaded (scroll for more)"}`;
    el.dataset.listDone = list.done ? "true" : "false";
    el.dataset.listState = "ready";
  }

  /** Reload the pages loaded so far (after an action or Refresh) without losing the
   *  user's place: the pages are fetched again while the old rows stay on screen, then
   *  swapped in at once with the first visible row where it was. */
  function refreshConversations() {
    const want = list.order.length;
    if (!want || !model.get("agent_id")) { loadConversations(true); return; }
    if (list.dirty) layout();
    const first = list.flat.length ? list.flat[lwIndexAt(list.offsets, list.flat.length, convList.scrollTop)][0] : null;
    const offset = first ? convList.scrollTop - list.offsets[list.index.get(first)] : 0;
    const token = ++list.token;
    list.loading = true;
    el.dataset.listState = "loading";
    const rows = new Map();
    const order = [];
    let next = null;
    const page = () => rpc("conversations", { search: convSearch.value.trim() || null, archived: archSelect.value, after: next })
      .then((res) => {
        if (token !== list.token) return;
        for (const row of res.rows) {
          if (!rows.has(row.id)) { rows.set(row.id, row); order.push(row.id); }
        }
        next = res.next;
        if (next && order.length < want) { page(); return; }
        list.rows = rows; list.order = order; list.next = next; list.done = !next; list.loading = false;
        flatten();
        layout();
        const at = first === null ? undefined : list.index.get(first);
        convList.scrollTop = at === undefined ? convList.scrollTop : list.offsets[at] + offset;
        renderWindow();
        el.dataset.listRefreshes = String(Number(el.dataset.listRefreshes || "0") + 1);
        listShown();
      })
      .catch((err) => listFailed(token, err, true));
    page();
  }

  // Statistics (message count, first user message, staleness) cost a few requests per
  // conversation: they are asked only for the rows in view once scrolling has rested for
  // 250 ms (rows that fly past are not asked), at most a screenful at a time. After memory
  // changed, rows are re-checked (memory only) as they come into view.
  let statsTimer = null;
  function scheduleStats() {
    clearTimeout(statsTimer);
    statsTimer = setTimeout(flushStats, 250);
  }
  function flushStats() {
    statsTimer = null;
    const n = list.flat.length;
    if (!n || !convList.clientHeight) return;
    if (list.dirty) layout();
    const top = convList.scrollTop;
    const from = Math.max(0, lwIndexAt(list.offsets, n, top) - 2);
    const to = Math.min(n, lwIndexAt(list.offsets, n, top + convList.clientHeight) + 3);
    const full = [];
    const memory = [];
    for (let i = from; i < to; i++) {
      const row = list.rows.get(list.flat[i][0]);
      if (row.count === undefined) {
        if (!row._statsAsked) { row._statsAsked = true; full.push(row.id); }
      } else if (row._memoryDirty) {
        row._memoryDirty = false;
        memory.push(row.id);
      }
    }
    if (full.length) loadStats(full, list.token);
    if (memory.length) loadStats(memory, list.token, true);
  }

  function loadStats(ids, token, memoryOnly) {
    rpc("stats", { ids, memory_only: !!memoryOnly }).then((rows) => {
      if (token !== list.token) return;
      for (const stats of rows) {
        const row = list.rows.get(stats.id);
        if (row) { Object.assign(row, stats); redrawRow(stats.id); }
      }
      renderWindow();
    }).catch(() => { /* rows keep "…"; the next refresh retries */ });
  }

  convList.addEventListener("scroll", () => {
    renderWindow();
    if (nearEnd()) loadConversations(false);
  }, { passive: true });
  const listResizes = typeof ResizeObserver === "function"
    ? new ResizeObserver(() => {
        const width = convList.clientWidth;
        if (width !== list.width) { // rows may wrap differently: measure them again
          list.width = width;
          list.heights = new Map(); list.measured = 0; list.dirty = true;
          for (const node of list.nodes.values()) node._lwMeasured = false;
        }
        renderWindow();
      })
    : null;
  if (listResizes) { listResizes.observe(convList); cleanups.push(() => listResizes.disconnect()); }
  cleanups.push(() => clearTimeout(statsTimer));

  // Keyboard: arrows, Page Up/Down, Home/End move the selection through the loaded rows.
  // Only these keys stop here; the rest (Escape, notebook shortcuts) reach JupyterLab.
  convList.addEventListener("keydown", (event) => {
    const n = list.flat.length;
    if (!n || event.altKey || event.ctrlKey || event.metaKey) return;
    const current = list.index.get(localSel);
    const page = Math.max(1, Math.floor((convList.clientHeight || LW_LIST_FALLBACK_PX) / list.guess) - 1);
    const at = current === undefined ? -1 : current;
    const moves = {
      ArrowDown: at + 1, ArrowUp: current === undefined ? 0 : at - 1,
      PageDown: at + page, PageUp: current === undefined ? 0 : at - page, Home: 0, End: n - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    event.stopPropagation();
    const next = Math.min(n - 1, Math.max(0, moves[event.key]));
    scrollToIndex(next);
    selectConversation(list.flat[next][0]);
  });

  // ------------------------------------------------------------------ message search
  const search = lwMessageSearch({
    rpc, input: msgSearch, results,
    onShow: (shown) => { convList.hidden = shown; if (!shown) el.dataset.search = ""; },
    onState: (state) => { el.dataset.search = state; },
    onOpen: (hit) => {
      textFilter.value = "";
      typeFilter.value = "";
      const id = hit.conversation_id;
      if (id !== localSel) {
        localSel = id;
        markSelectedRow();
        model.set("selected", id);
        model.save_changes();
      }
      if (hit.message_id) loadAround(id, hit.message_id, hit.message_type);
      else loadNewest();
    },
  });
  cleanups.push(() => search.destroy());

  let convTimer = null;
  convSearch.addEventListener("input", () => { clearTimeout(convTimer); convTimer = setTimeout(() => loadConversations(true), 250); });
  archSelect.addEventListener("change", () => loadConversations(true));

  function markSelectedRow() {
    for (const [id, node] of list.nodes) {
      node.classList.toggle("lw-selected", id === localSel);
      node.setAttribute("aria-selected", id === localSel ? "true" : "false");
    }
    el.dataset.selected = localSel;
  }

  function selectConversation(id) {
    if (id === localSel) return;
    localSel = id;
    markSelectedRow();
    model.set("selected", id);
    model.save_changes();
    loadNewest();
  }

  // ------------------------------------------------------------------ message pane
  const msgs = { pages: [], keys: new Set(), token: 0, loading: false, hasOlder: false, hasNewer: false,
    olderCursor: null, newerCursor: null, t0: 0 };

  function filterParams() {
    return { text: textFilter.value.trim() || null, types: lwTypesOfGroup(typeFilter.value) };
  }

  function setMsgState(state, text) {
    el.dataset.msgState = state;
    msgStatus.className = "lw-msg-status" + (state === "error" ? " lw-status--error" : "");
    msgStatus.replaceChildren();
    if (text) msgStatus.append(lwEl("span", "", text));
  }

  function drawNav() {
    olderBtn.hidden = !msgs.hasOlder;
    newerBtn.hidden = !msgs.hasNewer;
    el.dataset.pages = String(msgs.pages.length);
    el.dataset.hasOlder = msgs.hasOlder ? "true" : "false";
    el.dataset.hasNewer = msgs.hasNewer ? "true" : "false";
  }

  function decorate(node, item) {
    node.dataset.id = item.id || "";
    node.dataset.mtype = item.mtype || item.type;
    node.dataset.boundary = item.boundary ? "summary" : "";
    node.classList.toggle("lw-in-context", !!item.in_context);
    node.classList.toggle("lw-evicted", !item.in_context);
    node.title = item.in_context ? "In the context window" : "Evicted from the context window (kept in history)";
    if (!node._lwBound) {
      node._lwBound = true;
      const info = lwButton("lw-info-btn", "i", "Details: ids, run, step, dates, raw JSON; fork here");
      info.addEventListener("click", (event) => { event.stopPropagation(); showDetails(node.dataset.key); });
      node.append(info);
      node.addEventListener("click", (event) => {
        const target = event.target;
        if (target.closest && target.closest("summary, a, button")) return; // keep <details> toggles and links
        showDetails(node.dataset.key);
      });
    }
  }

  function markBoundaries() {
    let prevEvicted = false;
    let first = true;
    for (const node of /** @type {NodeListOf<HTMLElement>} */ (pagesBox.querySelectorAll(".lw-item"))) {
      const evicted = node.classList.contains("lw-evicted");
      const summary = node.dataset.boundary === "summary";
      node.classList.toggle("lw-boundary", summary);
      node.classList.toggle("lw-ctx-start", !summary && !first && prevEvicted && !evicted);
      prevEvicted = evicted;
      first = false;
    }
  }

  function makePage(res) {
    const items = res.items.filter((it) => !msgs.keys.has(it.key));
    for (const it of items) msgs.keys.add(it.key);
    const box = lwEl("div", "lw-page");
    lwRenderItems(box, items, decorate);
    const around = res.direction === "around";
    const older = around ? res.older_cursor : res.direction === "older" ? res.cursor : res.start;
    const newer = around ? res.newer_cursor : res.direction === "older" ? res.start : res.cursor;
    return { el: box, items, older, newer };
  }

  function dropPage(page) {
    for (const it of page.items) msgs.keys.delete(it.key);
    page.el.remove();
  }

  let msgAbort = new AbortController(); // the shown conversation's requests: aborted when it changes

  function resetMessages() {
    msgs.token++;
    msgAbort.abort(); // the Python side stops scanning for a page nobody will see
    msgAbort = new AbortController();
    msgs.pages = []; msgs.keys = new Set(); msgs.loading = false;
    msgs.hasOlder = false; msgs.hasNewer = false; msgs.olderCursor = null; msgs.newerCursor = null;
    pagesBox.replaceChildren();
    hideDetails();
    drawNav();
  }

  function loadNewest(autoScan) {
    resetMessages();
    const cid = localSel;
    if (!cid) { setMsgState("empty", "Select a conversation."); return; }
    const token = msgs.token;
    msgs.loading = true;
    msgs.t0 = performance.now();
    setMsgState("loading", "loading messages…");
    rpc("messages", { conversation_id: cid, ...filterParams() }, { signal: msgAbort.signal }).then((res) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      msgs.olderCursor = res.cursor;
      msgs.hasOlder = !!res.more;
      if (res.items.length) {
        const page = makePage(res);
        msgs.pages.push(page);
        pagesBox.append(page.el);
      }
      markBoundaries();
      drawNav();
      scroller.scrollTop = scroller.scrollHeight;
      stick = true;
      const t0 = msgs.t0;
      requestAnimationFrame(() => {
        if (token === msgs.token && msgs.pages.length <= 1) scroller.scrollTop = scroller.scrollHeight;
        el.dataset.firstPaintMs = (performance.now() - t0).toFixed(1);
        el.dataset.paintToken = String(token);
      });
      if (!res.items.length && res.more && res.filtered && (autoScan || 0) < 10) {
        setMsgState("loading", `scanning… (${res.scanned} messages checked)`);
        msgs.loading = true;
        continueOlderScan(token, (autoScan || 0) + 1);
        return;
      }
      setMsgState("ready", msgs.keys.size ? "" : (res.filtered ? "No message matches the filter." : "No messages yet."));
    }).catch((err) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      setMsgState("error");
      showPaneError(msgStatus, err, () => loadNewest());
    });
  }

  /** A search hit: the page around the message, the message (all of its id group) marked,
   *  the part that matched (`mtype`) in view. */
  function loadAround(cid, mid, mtype) {
    resetMessages();
    const token = msgs.token;
    msgs.loading = true;
    setMsgState("loading", "loading the message…");
    rpc("messages", { conversation_id: cid, around: mid }, { signal: msgAbort.signal }).then((res) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      msgs.olderCursor = res.older_cursor;
      msgs.hasOlder = !!res.more_older;
      msgs.newerCursor = res.newer_cursor;
      msgs.hasNewer = !!res.more;
      const page = makePage(res);
      msgs.pages.push(page);
      pagesBox.append(page.el);
      markBoundaries();
      drawNav();
      stick = false;
      const items = /** @type {NodeListOf<HTMLElement>} */ (pagesBox.querySelectorAll(".lw-item"));
      const group = [...items].filter((n) => n.dataset.id === mid);
      for (const node of group) node.classList.add("lw-hit");
      const shown = group.find((n) => n.dataset.mtype === mtype) || group[0];
      if (shown) shown.scrollIntoView({ block: "center" });
      el.dataset.anchor = mid;
      setMsgState("ready", "");
    }).catch((err) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      setMsgState("error");
      showPaneError(msgStatus, err, () => loadAround(cid, mid, mtype));
    });
  }

  function continueOlderScan(token, round) {
    msgs.loading = false;
    loadOlder(round);
  }

  function loadOlder(round) {
    if (msgs.loading || !msgs.hasOlder || !localSel) return;
    const token = msgs.token;
    msgs.loading = true;
    setMsgState("loading", "loading older messages…");
    rpc("messages", { conversation_id: localSel, before: msgs.olderCursor, ...filterParams() },
      { signal: msgAbort.signal }).then((res) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      msgs.olderCursor = res.cursor;
      msgs.hasOlder = !!res.more;
      if (res.items.length) {
        const oldHeight = scroller.scrollHeight;
        const oldTop = scroller.scrollTop;
        const page = makePage(res);
        msgs.pages.unshift(page);
        pagesBox.prepend(page.el);
        scroller.scrollTop = oldTop + (scroller.scrollHeight - oldHeight);
        while (msgs.pages.length > LW_MAX_PAGES) {
          const gone = msgs.pages.pop();
          dropPage(gone);
          msgs.newerCursor = msgs.pages[msgs.pages.length - 1].newer;
          msgs.hasNewer = true;
        }
      } else if (res.more && res.filtered && (round || 0) < 10) {
        setMsgState("loading", `scanning… (${res.scanned} more messages checked)`);
        msgs.loading = true;
        continueOlderScan(token, (round || 0) + 1);
        return;
      }
      markBoundaries();
      drawNav();
      setMsgState("ready", msgs.keys.size ? "" : "No message matches the filter.");
    }).catch((err) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      setMsgState("error");
      showPaneError(msgStatus, err, () => loadOlder());
    });
  }

  function loadNewer() {
    if (msgs.loading || !msgs.hasNewer || !localSel) return;
    const token = msgs.token;
    msgs.loading = true;
    setMsgState("loading", "loading newer messages…");
    rpc("messages", { conversation_id: localSel, after: msgs.newerCursor, ...filterParams() },
      { signal: msgAbort.signal }).then((res) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      msgs.newerCursor = res.cursor;
      msgs.hasNewer = !!res.more;
      if (res.items.length) {
        const page = makePage(res);
        msgs.pages.push(page);
        pagesBox.append(page.el);
        while (msgs.pages.length > LW_MAX_PAGES) {
          const before = scroller.scrollHeight;
          const gone = msgs.pages.shift();
          dropPage(gone);
          scroller.scrollTop -= before - scroller.scrollHeight;
          msgs.olderCursor = msgs.pages[0].older;
          msgs.hasOlder = true;
        }
      }
      markBoundaries();
      drawNav();
      setMsgState("ready", "");
    }).catch((err) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      setMsgState("error");
      showPaneError(msgStatus, err, () => loadNewer());
    });
  }

  // Stick to the bottom after the newest page loads while cards settle (fonts, highlighting),
  // until the user scrolls away.
  let stick = false;
  const resizes = typeof ResizeObserver === "function"
    ? new ResizeObserver(() => { if (stick && !msgs.hasNewer) scroller.scrollTop = scroller.scrollHeight; })
    : null;
  if (resizes) { resizes.observe(pagesBox); resizes.observe(scroller); cleanups.push(() => resizes.disconnect()); }

  scroller.addEventListener("scroll", () => {
    stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    if (scroller.scrollTop < 120) loadOlder();
    else if (scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120) loadNewer();
  }, { passive: true });
  olderBtn.addEventListener("click", () => loadOlder());
  newerBtn.addEventListener("click", () => loadNewer());
  let filterTimer = null;
  textFilter.addEventListener("input", () => { clearTimeout(filterTimer); filterTimer = setTimeout(() => loadNewest(), 300); });
  typeFilter.addEventListener("change", () => loadNewest());

  // ------------------------------------------------------------------ actions
  function action(name, params) {
    status.textContent = `${name}…`;
    return rpc("action", { name, ...(params || {}) }).then((res) => { status.textContent = ""; return res; })
      .catch((err) => { status.textContent = ""; throw err; })
      .catch(() => { /* shown in the error banner by Python */ });
  }
  newBtn.addEventListener("click", () => action("new"));
  refreshBtn.addEventListener("click", () => action("refresh"));
  memRefresh.addEventListener("click", () => action("refresh_memory"));
  changeAgent.addEventListener("click", () => { model.set("agent_id", ""); model.save_changes(); });

  // ------------------------------------------------------------------ header
  const headerPane = lwConversationHeader({
    box: header, filters, root: el,
    onAction: (name, params) => action(name, params),
    onSelect: (id) => selectConversation(id),
    onOpenChat: (id) => model.send({ kind: "open_chat", conversation_id: id }),
    onForget: () => { localSel = ""; model.set("selected", ""); model.save_changes(); action("refresh"); },
  });
  function drawHeader() { headerPane.draw(model.get("info") || {}, localSel); }

  // ------------------------------------------------------------------ memory panel
  const memoryPanel = lwMemoryPanel({ checked: memChecked, stale: memStale, blocks: memBlocks });
  function drawMemory() {
    const info = model.get("info") || {};
    const stale = info.id === localSel && info.stale ? info.stale.labels || [] : [];
    memoryPanel.draw(model.get("blocks") || [], stale, model.get("memory_checked_at"));
  }

  // ------------------------------------------------------------------ model wiring
  function drawMode() {
    const agent = model.get("agent_id");
    picker.hidden = !!agent;
    main.hidden = !agent;
    el.dataset.agent = agent || "";
    agentLabel.textContent = agent ? `Agent: ${model.get("agent_name") || agent}` : "";
    panes.style.height = model.get("height");
  }

  function reloadAll(keepPlace) {
    if (keepPlace) refreshConversations(); else loadConversations(true);
    if (localSel) loadNewest();
    drawHeader();
    drawMemory();
  }

  on("change:agent_id", () => {
    localSel = model.get("selected") || "";
    headerPane.reset();
    drawMode();
    if (model.get("agent_id")) reloadAll(); else { resetMessages(); agentPicker.reload(); }
  });
  on("change:agent_name change:height", drawMode);
  on("change:selected", () => {
    const sel = model.get("selected") || "";
    if (sel === localSel) return;
    localSel = sel;
    headerPane.reset();
    markSelectedRow();
    if (sel && !list.rows.has(sel)) {
      // not loaded yet: a new conversation is on the first page, an old one further on
      list.seek = sel; list.seekPages = 0; list.seekFresh = false;
      if (!list.loading) seekSelected();
    } else if (sel) scrollToIndex(list.index.get(sel)); // chosen from Python: bring it into view
    loadNewest();
    drawHeader();
  });
  on("change:info", () => { drawHeader(); drawMemory(); });
  on("change:blocks change:memory_checked_at", drawMemory);
  // Memory changed: the stale marks of the listed rows are re-checked as they come into view.
  on("change:blocks", () => {
    for (const row of list.rows.values()) if (row.count !== undefined) row._memoryDirty = true;
    scheduleStats();
  });
  on("change:generation", () => { if (model.get("agent_id")) reloadAll(true); });
  on("change:status_text", () => { status.textContent = model.get("status_text"); });

  drawMode();
  if (model.get("agent_id")) reloadAll(); else agentPicker.reload();
  el.dataset.selected = localSel;
  return () => { for (const fn of cleanups) fn(); };
}

export default { render };
