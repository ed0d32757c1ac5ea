// @ts-check
// ConversationBrowser front-end. Python owns the data; this view asks for pages by RPC
// ({kind:"rpc", id, method, params} -> {kind:"reply", id, result|error}), keeps a bounded
// window of message pages and of conversation rows in the DOM, and sets agent text only
// through lwSafeFragment (HTML sanitized by letta_widgets.render) or textContent.

const LW_MAX_PAGES = 3; // message pages kept in the DOM (each at most 100 messages)
const LW_RPC_TIMEOUT_MS = 60000;

// The panes are factories in their own files (bundled before this one, no build step):
// browser_window.js (list windowing), browser_agents.js (agent picker), browser_list.js
// (conversation list), browser_memory.js (memory panel), browser_search.js (message search),
// browser_details.js (message details), browser_header.js (the conversation's header).
// render() builds the skeleton, keeps the message pane and wires the panes together.

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
  let localSel = model.get("selected") || "";
  const convPane = lwConversationList({
    rpc, box: convList, status: listStatus, search: convSearch, archive: archSelect, root: el,
    selected: () => localSel, hasAgent: () => !!model.get("agent_id"),
    onSelect: (id) => selectConversation(id),
  });
  cleanups.push(() => convPane.destroy());

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


  function markSelectedRow() {
    convPane.markSelected();
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
    if (keepPlace) convPane.refresh(); else convPane.reload();
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
    if (sel && !convPane.has(sel)) convPane.seek(sel);
    else if (sel) convPane.reveal(sel); // chosen from Python: bring it into view
    loadNewest();
    drawHeader();
  });
  on("change:info", () => { drawHeader(); drawMemory(); });
  on("change:blocks change:memory_checked_at", drawMemory);
  on("change:blocks", () => convPane.memoryChanged());
  on("change:generation", () => { if (model.get("agent_id")) reloadAll(true); });
  on("change:status_text", () => { status.textContent = model.get("status_text"); });

  drawMode();
  if (model.get("agent_id")) reloadAll(); else agentPicker.reload();
  el.dataset.selected = localSel;
  return () => { for (const fn of cleanups) fn(); };
}

export default { render };
