// @ts-check
// ConversationBrowser: the message pane, a pane factory wired by browser.js's render. It keeps
// at most LW_MAX_PAGES pages of messages in the DOM (older and newer pages load on scroll or by
// button, filtered server-side by text and type), follows the newest message like a chat, and
// aborts a superseded conversation's requests.

const LW_MAX_PAGES = 3; // message pages kept in the DOM (each at most 100 messages)

/** The message pane of the selected conversation.
 *  @param {{rpc: (method: string, params?: object, options?: {signal?: AbortSignal}) => Promise<any>,
 *           scroller: HTMLElement, pages: HTMLElement, olderBtn: HTMLElement,
 *           newerBtn: HTMLElement, status: HTMLElement,
 *           textFilter: HTMLElement & Record<string, any>,
 *           typeFilter: HTMLElement & Record<string, any>, root: HTMLElement,
 *           selected: () => string, onDetails: (key: string) => void,
 *           onHideDetails: () => void}} parts
 *  @returns {{reset(): void, loadNewest(): void,
 *             loadAround(cid: string, mid: string, mtype?: string): void, destroy(): void}} */
function lwMessagePane({ rpc, scroller, pages: pagesBox, olderBtn, newerBtn, status: msgStatus,
  textFilter, typeFilter, root, selected, onDetails, onHideDetails }) {
  const msgs = { pages: [], keys: new Set(), token: 0, loading: false, hasOlder: false, hasNewer: false,
    olderCursor: null, newerCursor: null, t0: 0 };

  function filterParams() {
    return { text: textFilter.value.trim() || null, types: lwTypesOfGroup(typeFilter.value) };
  }

  function setMsgState(state, text) {
    root.dataset.msgState = state;
    msgStatus.className = "lw-msg-status" + (state === "error" ? " lw-status--error" : "");
    msgStatus.replaceChildren();
    if (text) msgStatus.append(lwEl("span", "", text));
  }

  function drawNav() {
    olderBtn.hidden = !msgs.hasOlder;
    newerBtn.hidden = !msgs.hasNewer;
    root.dataset.pages = String(msgs.pages.length);
    root.dataset.hasOlder = msgs.hasOlder ? "true" : "false";
    root.dataset.hasNewer = msgs.hasNewer ? "true" : "false";
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
      const info = lwIconButton("lw-info-btn", "i", "Message details", "Details: ids, run, step, dates, raw JSON; fork here");
      info.addEventListener("click", (event) => { event.stopPropagation(); onDetails(node.dataset.key); });
      node.append(info);
      node.addEventListener("click", (event) => {
        const target = event.target;
        if (target.closest && target.closest("summary, a, button")) return; // keep <details> toggles and links
        onDetails(node.dataset.key);
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
    onHideDetails();
    drawNav();
  }

  function loadNewest(autoScan) {
    resetMessages();
    const cid = selected();
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
        root.dataset.firstPaintMs = (performance.now() - t0).toFixed(1);
        root.dataset.paintToken = String(token);
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
      lwShowPaneError(msgStatus, err, () => loadNewest());
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
      root.dataset.anchor = mid;
      setMsgState("ready", "");
    }).catch((err) => {
      if (token !== msgs.token) return;
      msgs.loading = false;
      setMsgState("error");
      lwShowPaneError(msgStatus, err, () => loadAround(cid, mid, mtype));
    });
  }

  function continueOlderScan(token, round) {
    msgs.loading = false;
    loadOlder(round);
  }

  function loadOlder(round) {
    if (msgs.loading || !msgs.hasOlder || !selected()) return;
    const token = msgs.token;
    msgs.loading = true;
    setMsgState("loading", "loading older messages…");
    rpc("messages", { conversation_id: selected(), before: msgs.olderCursor, ...filterParams() },
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
      lwShowPaneError(msgStatus, err, () => loadOlder());
    });
  }

  function loadNewer() {
    if (msgs.loading || !msgs.hasNewer || !selected()) return;
    const token = msgs.token;
    msgs.loading = true;
    setMsgState("loading", "loading newer messages…");
    rpc("messages", { conversation_id: selected(), after: msgs.newerCursor, ...filterParams() },
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
      lwShowPaneError(msgStatus, err, () => loadNewer());
    });
  }

  // Stick to the bottom after the newest page loads while cards settle (fonts, highlighting),
  // until the user scrolls away.
  let stick = false;
  const resizes = typeof ResizeObserver === "function"
    ? new ResizeObserver(() => { if (stick && !msgs.hasNewer) scroller.scrollTop = scroller.scrollHeight; })
    : null;
  if (resizes) { resizes.observe(pagesBox); resizes.observe(scroller); }

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

  return {
    reset: () => resetMessages(),
    loadNewest: () => loadNewest(),
    loadAround: (cid, mid, mtype) => loadAround(cid, mid, mtype),
    destroy() {
      if (resizes) resizes.disconnect();
      msgAbort.abort();
      clearTimeout(filterTimer);
    },
  };
}
