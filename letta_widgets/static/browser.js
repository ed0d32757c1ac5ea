// @ts-check
// ConversationBrowser front-end. Python owns the data; this view asks for pages by RPC
// ({kind:"rpc", id, method, params} -> {kind:"reply", id, result|error}), keeps a bounded
// window of message pages and of conversation rows in the DOM, and sets agent text only
// through lwSafeFragment (HTML sanitized by letta_widgets.render) or textContent.

const LW_RPC_TIMEOUT_MS = 60000;

// The panes are factories in their own files (bundled before this one, no build step):
// browser_window.js (list windowing), browser_agents.js (agent picker), browser_list.js
// (conversation list), browser_memory.js (memory panel), browser_search.js (message search),
// browser_details.js (message details), browser_header.js (the conversation's header).
// render() builds the skeleton, keeps the message pane and wires the panes together.

function render({ model, el }) {
  el.classList.add("lw-root", "lw-browser");
  el.setAttribute("role", "region");
  el.setAttribute("aria-label", "Conversation browser");
  const cleanups = [lwEscapeLeaves(el), lwHostTheme(el)];
  const on = lwListener(model, cleanups);

  // ------------------------------------------------------------------ RPC
  // what a saved notebook shows of the browser: the answers it last had for these
  const channel = lwRpc(model, {
    timeoutMs: LW_RPC_TIMEOUT_MS, replay: ["agents", "conversations", "messages", "stats", "details"],
  });
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
  agentSearch.setAttribute("aria-label", "Search agents by name");
  const agentList = lwScrollable(lwEl("div", "lw-agent-list"), "Agents");
  const agentStatus = lwEl("div", "lw-status lw-agent-status");
  agentStatus.setAttribute("role", "status");
  picker.append(pickerTitle, agentSearch, agentList, agentStatus);

  // main view
  const main = lwEl("div", "lw-main");
  const toolbar = lwEl("div", "lw-toolbar");
  const agentLabel = lwEl("span", "lw-agent-label");
  const changeAgent = lwButton("lw-change-agent", "Change agent");
  const newBtn = lwButton("lw-new lw-primary", "New conversation");
  const refreshBtn = lwButton("lw-refresh", "Refresh", "Reload memory, the list and the messages");
  const status = lwEl("span", "lw-status lw-browser-status");
  status.setAttribute("role", "status");
  toolbar.append(agentLabel, changeAgent, status, newBtn, refreshBtn);

  const panes = lwEl("div", "lw-panes");
  // conversation list
  const listPane = lwEl("section", "lw-list-pane");
  listPane.setAttribute("aria-label", "Conversations");
  const listTools = lwEl("div", "lw-list-tools");
  const convSearch = lwField("input", "lw-conv-search");
  convSearch.type = "search";
  convSearch.placeholder = "Search summaries…";
  convSearch.setAttribute("aria-label", "Search conversation summaries");
  const archSelect = lwField("select", "lw-archive-filter");
  archSelect.setAttribute("aria-label", "Which conversations to list");
  for (const [value, label] of [["unarchived", "Active"], ["archived", "Archived"], ["all", "All"]]) {
    const opt = lwEl("option", "", label);
    opt.value = value;
    archSelect.append(opt);
  }
  listTools.append(convSearch, archSelect);
  const msgSearch = lwField("input", "lw-msg-search");
  msgSearch.type = "search";
  msgSearch.placeholder = "Search messages in all conversations… (Enter)";
  msgSearch.setAttribute("aria-label", "Search messages in all conversations (Enter searches)");
  const convList = lwEl("div", "lw-conv-list");
  const results = lwEl("div", "lw-search-results");
  results.hidden = true;
  const listStatus = lwEl("div", "lw-status lw-list-status");
  listStatus.setAttribute("role", "status");
  listPane.append(listTools, msgSearch, convList, results, listStatus);

  // message pane
  const msgPane = lwEl("section", "lw-msg-pane");
  msgPane.setAttribute("aria-label", "The selected conversation");
  const header = lwEl("div", "lw-conv-header");
  const filters = lwEl("div", "lw-filters");
  const textFilter = lwField("input", "lw-text-filter");
  textFilter.type = "search";
  textFilter.placeholder = "Filter messages by text…";
  textFilter.setAttribute("aria-label", "Filter messages by text");
  const typeFilter = lwField("select", "lw-type-filter");
  typeFilter.setAttribute("aria-label", "Which message types to show");
  for (const [value, label] of [["", "All types"], ["user", "User"], ["assistant", "Assistant"],
    ["reasoning", "Reasoning"], ["tools", "Tool calls"], ["system", "System / summary"]]) {
    const opt = lwEl("option", "", label);
    opt.value = value;
    typeFilter.append(opt);
  }
  filters.append(textFilter, typeFilter);
  const scroller = lwScrollable(lwEl("div", "lw-messages"), "Messages");
  const olderBtn = lwButton("lw-older", "Load older messages");
  olderBtn.hidden = true; // until a conversation with older messages is shown
  const pagesBox = lwEl("div", "lw-pages");
  const newerBtn = lwButton("lw-newer", "Load newer messages");
  newerBtn.hidden = true;
  const msgStatus = lwEl("div", "lw-msg-status");
  msgStatus.setAttribute("role", "status");
  scroller.append(olderBtn, pagesBox, newerBtn, msgStatus);
  const details = lwEl("div", "lw-details");
  details.hidden = true;
  msgPane.append(header, filters, scroller, details);

  // memory panel
  const memPane = lwEl("section", "lw-mem-pane");
  memPane.setAttribute("aria-label", "Shared memory");
  const memHead = lwEl("div", "lw-mem-head");
  const memTitle = lwEl("span", "lw-mem-title", "Shared memory");
  const memRefresh = lwButton("lw-mem-refresh", "Refresh", "Re-read the agent's memory blocks");
  memHead.append(memTitle, memRefresh);
  const memChecked = lwEl("div", "lw-mem-checked");
  const memStale = lwEl("div", "lw-mem-stale");
  const memBlocks = lwScrollable(lwEl("div", "lw-mem-blocks"), "Memory blocks");
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
  const msgPaneView = lwMessagePane({
    rpc, scroller, pages: pagesBox, olderBtn, newerBtn, status: msgStatus, textFilter, typeFilter,
    root: el, selected: () => localSel, onDetails: showDetails, onHideDetails: hideDetails,
  });
  cleanups.push(() => msgPaneView.destroy());
  function resetMessages() { msgPaneView.reset(); }
  function loadNewest() { msgPaneView.loadNewest(); }
  /** @param {string} cid @param {string} mid @param {string} [mtype] */
  function loadAround(cid, mid, mtype) { msgPaneView.loadAround(cid, mid, mtype); }

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
    onExport: (id, format) => rpc("export", { conversation_id: id, format }),
    onError: (message) => { model.set("error", `export failed: ${message}`); model.save_changes(); },
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
    // the pane that hides may hold the focus (an agent picked, Change agent pressed): it
    // moves to the pane that shows, not to the page
    const leaving = agent ? picker : main;
    const moveFocus = !leaving.hidden && leaving.contains(lwFocused(leaving));
    picker.hidden = !!agent;
    main.hidden = !agent;
    if (moveFocus) (agent ? convList : agentSearch).focus();
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
  lwStartView(model, el, "conversation browser");
  if (model.get("agent_id")) reloadAll(); else agentPicker.reload();
  el.dataset.selected = localSel;
  return () => { for (const fn of cleanups) fn(); };
}

export default { render };
