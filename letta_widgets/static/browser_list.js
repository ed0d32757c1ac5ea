// @ts-check
// ConversationBrowser: the conversation list, a pane factory wired by browser.js's render.
// Windowed: the data of every loaded row stays here (a few hundred bytes each), but only the
// rows in view plus LW_LIST_OVERSCAN on each side are in the DOM, between two spacers that
// stand for the rest, so the scrollbar is truthful (the arithmetic: browser_window.js).

const LW_LIST_OVERSCAN = 8; // conversation rows kept in the DOM above and below the viewport
const LW_ROW_GUESS_PX = 48; // a conversation row's height until one is measured
const LW_LIST_FALLBACK_PX = 800; // the list's height while it is not laid out
const LW_SEEK_PAGES = 40; // list pages loaded to find a conversation selected from Python

/** The conversation list: pages of rows (newest activity first, forks under their parent),
 *  per-row statistics fetched for the rows in view, keyboard selection.
 *  @param {{rpc: (method: string, params?: object) => Promise<any>, box: HTMLElement,
 *           status: HTMLElement, search: HTMLElement & Record<string, any>,
 *           archive: HTMLElement & Record<string, any>, root: HTMLElement,
 *           selected: () => string, hasAgent: () => boolean,
 *           onSelect: (id: string) => void}} parts
 *  @returns {{reload(): void, refresh(): void, markSelected(): void, has(id: string): boolean,
 *             seek(id: string): void, reveal(id: string): void, memoryChanged(): void,
 *             destroy(): void}} */
function lwConversationList({ rpc, box: convList, status: listStatus, search: convSearch,
  archive: archSelect, root, selected, hasAgent, onSelect }) {
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
  const topPad = lwEl("div", "lw-conv-pad lw-conv-pad--top");
  const rowsBox = lwEl("div", "lw-conv-rows");
  const bottomPad = lwEl("div", "lw-conv-pad lw-conv-pad--bottom");
  convList.append(topPad, rowsBox, bottomPad);
  convList.tabIndex = 0;
  convList.setAttribute("role", "listbox");
  convList.setAttribute("aria-label", "Conversations (arrow keys select)");
  // The focus stays on the list; the selected row is its active option
  // (aria-activedescendant, set by markSelected), so a screen reader reads each row chosen.
  const idBase = `lw-conv-${Math.random().toString(36).slice(2, 10)}-`;
  root.dataset.listOverscan = String(LW_LIST_OVERSCAN);

  let rowSeq = 0;

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
    node.className = "lw-conv-row" + (row.id === selected() ? " lw-selected" : "") + (row.is_default ? " lw-default" : "") + (row.archived ? " lw-archived" : "");
    node.setAttribute("aria-selected", row.id === selected() ? "true" : "false");
    node.style.paddingLeft = `${8 + Math.min(depth, 6) * 16}px`;
    const top = lwEl("div", "lw-conv-title");
    if (depth > 0 || row.parent) {  // decoration: "forked from …" below says it in words
      const mark = lwEl("span", "lw-fork-mark", "↳ ");
      mark.setAttribute("aria-hidden", "true");
      top.append(mark);
    }
    top.append(lwEl("span", "lw-conv-title-text", rowTitle(row)));
    const badges = lwEl("span", "lw-badges");
    if (row.is_default) badges.append(lwEl("span", "lw-badge lw-badge--default", "default"));
    if (row.stale) {  // a quiet mark: most conversations go stale after one memory write
      const b = lwEl("span", "lw-stale-mark", "●");
      b.title = "Compiled with older memory: " + (row.stale_labels || []).join(", ") +
        " changed since. Open it to see the change and Recompile.";
      b.setAttribute("aria-hidden", "true"); // a row's children are not read one by one:
      badges.append(b, lwEl("span", "lw-sr-only", "runs on older memory")); // words instead
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
    node.id = idBase + (++rowSeq);
    node.addEventListener("click", () => { onSelect(id); convList.focus({ preventScroll: true }); });
    return node;
  }

  /** Display order changed (a page came, a reset): recompute it and the positions. */
  function flatten() {
    list.flat = treeOrder();
    list.index = new Map(list.flat.map(([id], i) => [id, i]));
    list.dirty = true;
    root.dataset.conversations = String(list.order.length);
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
      node.setAttribute("aria-posinset", String(i + 1));
      node.setAttribute("aria-setsize", list.done ? String(n) : "-1"); // -1: more pages to come
      const expected = previous ? previous.nextSibling : rowsBox.firstChild;
      if (expected !== node) rowsBox.insertBefore(node, expected);
      previous = node;
    }
    for (const [id, node] of list.nodes) if (!keep.has(id)) node.remove();
    list.nodes = keep;
    markActive();
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
    root.dataset.listWindow = `${start}-${end}`;
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
    if (list.loading || list.done || !hasAgent()) return;
    const token = list.token;
    list.loading = true;
    root.dataset.listState = "loading";
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
    root.dataset.listState = "error";
    lwShowPaneError(listStatus, err, () => loadConversations(reset));
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
    root.dataset.listDone = list.done ? "true" : "false";
    root.dataset.listState = "ready";
  }

  /** Reload the pages loaded so far (after an action or Refresh) without losing the
   *  user's place: the pages are fetched again while the old rows stay on screen, then
   *  swapped in at once with the first visible row where it was. */
  function refreshConversations() {
    const want = list.order.length;
    if (!want || !hasAgent()) { loadConversations(true); return; }
    if (list.dirty) layout();
    const first = list.flat.length ? list.flat[lwIndexAt(list.offsets, list.flat.length, convList.scrollTop)][0] : null;
    const offset = first ? convList.scrollTop - list.offsets[list.index.get(first)] : 0;
    const token = ++list.token;
    list.loading = true;
    root.dataset.listState = "loading";
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
        root.dataset.listRefreshes = String(Number(root.dataset.listRefreshes || "0") + 1);
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
  if (listResizes) listResizes.observe(convList);

  /** The selected row, when it is drawn, is the list's active option. */
  function markActive() {
    const node = list.nodes.get(selected());
    if (node) convList.setAttribute("aria-activedescendant", node.id);
    else convList.removeAttribute("aria-activedescendant");
  }

  // Keyboard: arrows, Page Up/Down, Home/End move the selection through the loaded rows;
  // Enter or Space selects the first row when none is. Only these keys stop here; the rest
  // (Escape, notebook shortcuts) reach JupyterLab.
  convList.addEventListener("keydown", (event) => {
    const n = list.flat.length;
    if (!n || event.altKey || event.ctrlKey || event.metaKey) return;
    const current = list.index.get(selected());
    const page = Math.max(1, Math.floor((convList.clientHeight || LW_LIST_FALLBACK_PX) / list.guess) - 1);
    const at = current === undefined ? -1 : current;
    const moves = {
      ArrowDown: at + 1, ArrowUp: current === undefined ? 0 : at - 1,
      PageDown: at + page, PageUp: current === undefined ? 0 : at - page, Home: 0, End: n - 1,
      Enter: Math.max(0, at), " ": Math.max(0, at),
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    event.stopPropagation();
    const next = Math.min(n - 1, Math.max(0, moves[event.key]));
    scrollToIndex(next);
    onSelect(list.flat[next][0]);
  });

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let convTimer;
  const onSearch = () => { clearTimeout(convTimer); convTimer = setTimeout(() => loadConversations(true), 250); };
  const onArchive = () => loadConversations(true);
  convSearch.addEventListener("input", onSearch);
  archSelect.addEventListener("change", onArchive);

  return {
    reload: () => loadConversations(true),
    refresh: () => refreshConversations(),
    markSelected() {
      for (const [id, node] of list.nodes) {
        node.classList.toggle("lw-selected", id === selected());
        node.setAttribute("aria-selected", id === selected() ? "true" : "false");
      }
      markActive();
    },
    has: (id) => list.rows.has(id),
    seek(id) {
      // not loaded yet: a new conversation is on the first page, an old one further on
      list.seek = id; list.seekPages = 0; list.seekFresh = false;
      if (!list.loading) seekSelected();
    },
    reveal: (id) => scrollToIndex(list.index.get(id)),
    memoryChanged() {
      // the stale marks of the listed rows are re-checked as they come into view
      for (const row of list.rows.values()) if (row.count !== undefined) row._memoryDirty = true;
      scheduleStats();
    },
    destroy() {
      if (listResizes) listResizes.disconnect();
      clearTimeout(convTimer);
      clearTimeout(statsTimer);
      convSearch.removeEventListener("input", onSearch);
      archSelect.removeEventListener("change", onArchive);
    },
  };
}
