// @ts-check
// ConversationBrowser: a message's details (ids, run, step, raw JSON, fork point), a pane
// factory wired by browser.js's render.

/** The details panel of the message pane: `show(key)` loads a shown message's details by
 *  its item key; "Fork here" calls `onFork(messageId)` (disabled, with the reason, where the
 *  server cannot fork).
 *  @param {{rpc: (method: string, params?: object) => Promise<any>, box: HTMLElement,
 *           pages: HTMLElement, onFork: (messageId: string) => Promise<any>,
 *           onState: (key: string | null) => void}} parts
 *  @returns {{show(key: string): void, hide(): void}} */
function lwMessageDetails({ rpc, box, pages, onFork, onState }) {
  let token = 0;
  /** @type {HTMLElement | null} */
  let opener = null; // the control that opened the details: the focus goes back there
  function hide() {
    token++;
    const back = box.contains(lwFocused(box)) ? opener : null;
    box.hidden = true;
    box.replaceChildren();
    onState(null);
    if (back && back.isConnected) back.focus();
  }
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !box.hidden) { event.preventDefault(); hide(); }
  });
  /** @param {string} key */
  function show(key) {
    const mine = ++token;
    const active = /** @type {HTMLElement | null} */ (lwFocused(box));
    if (active && active !== document.body && !box.contains(active)) opener = active;
    for (const n of pages.querySelectorAll(".lw-item.lw-active")) n.classList.remove("lw-active");
    const node = pages.querySelector(`.lw-item[data-key="${CSS.escape(key)}"]`);
    if (node) node.classList.add("lw-active");
    box.hidden = false;
    box.replaceChildren(lwEl("div", "lw-status", "loading details…"));
    rpc("details", { key }).then((res) => {
      if (mine !== token) return;
      box.replaceChildren();
      const head = lwEl("div", "lw-details-head");
      head.append(lwEl("span", "lw-details-title", "Message details"));
      if (res.can_fork) {
        const fork = lwButton("lw-fork-here lw-primary", "Fork here", "New conversation with the history up to this message");
        fork.addEventListener("click", () => {
          fork.disabled = true;
          const mid = (res.fields.find((/** @type {any[]} */ f) => f[0] === "message id") || [])[1];
          onFork(mid).finally(() => { fork.disabled = false; });
        });
        head.append(fork);
      } else if (res.fork_note) {
        const fork = lwButton("lw-fork-here", "Fork here", res.fork_note);
        fork.disabled = true;
        head.append(fork);
      }
      const close = lwButton("lw-details-close", "Close");
      close.addEventListener("click", hide);
      head.append(close);
      const table = lwEl("table", "lw-details-fields");
      for (const [name, value] of res.fields) {
        const tr = lwEl("tr");
        tr.append(lwEl("th", "", name), lwEl("td", "", value === null || value === undefined ? "—" : String(value)));
        table.append(tr);
      }
      const rawBox = lwEl("details", "lw-details-raw");
      rawBox.append(lwEl("summary", "", "Raw JSON"));
      rawBox.append(lwEl("pre", "lw-raw-json", res.raw + (res.raw_truncated ? `\n… ${res.raw_truncated} more characters (use browser.selected_frame(include_raw=True))` : "")));
      box.append(head);
      if (res.fork_note) box.append(lwEl("div", "lw-fork-note", res.fork_note));
      box.append(table, rawBox);
      onState(key);
    }).catch((err) => { if (mine === token) lwShowPaneError(box, err); });
  }
  return { show, hide };
}
