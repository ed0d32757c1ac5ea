// @ts-check
// ConversationBrowser: the agent picker pane (a factory, wired by browser.js's render).

/** An error in a pane's status line, with a Retry button when `retry` is given.
 *  @param {HTMLElement} box @param {any} err @param {() => void} [retry] */
function lwShowPaneError(box, err, retry) {
  box.replaceChildren();
  box.classList.add("lw-status--error");
  box.append(lwEl("span", "lw-pane-error", String(err && err.message ? err.message : err)));
  if (retry) {
    const again = lwButton("lw-retry", "Retry");
    again.addEventListener("click", () => { box.classList.remove("lw-status--error"); retry(); });
    box.append(again);
  }
}

/** The agent picker: pages of agents (searched by name, more on scroll); `onPick(id)` when
 *  one is clicked.
 *  @param {{rpc: (method: string, params?: object) => Promise<any>, list: HTMLElement,
 *           status: HTMLElement, search: HTMLElement & Record<string, any>,
 *           onPick: (id: string) => void}} parts
 *  @returns {{reload(): void, destroy(): void}} */
function lwAgentPicker({ rpc, list, status, search, onPick }) {
  const agents = { rows: /** @type {any[]} */ ([]), next: null, loading: false, token: 0, done: false };
  /** @param {boolean} reset */
  function load(reset) {
    if (reset) { agents.token++; agents.rows = []; agents.next = null; agents.done = false; list.replaceChildren(); }
    if (agents.loading || agents.done) return;
    const token = agents.token;
    agents.loading = true;
    status.textContent = "loading agents…";
    rpc("agents", { query: search.value.trim() || null, after: agents.next }).then((res) => {
      if (token !== agents.token) return;
      agents.loading = false;
      agents.next = res.next;
      agents.done = !res.next;
      for (const row of res.rows) {
        agents.rows.push(row);
        const item = lwButton("lw-agent-row", ""); // a button: Tab reaches it, Enter/Space picks
        item.dataset.id = row.id;
        item.append(lwEl("span", "lw-agent-name", row.name), lwEl("span", "lw-agent-id", row.id));
        if (row.description) item.append(lwEl("span", "lw-agent-desc", row.description));
        item.addEventListener("click", () => onPick(row.id));
        list.append(item);
      }
      const n = agents.rows.length;
      status.textContent = n ? `${n} agent${n === 1 ? "" : "s"}${agents.done ? "" : " (scroll for more)"}` : "No agents found.";
      if (!agents.done && list.scrollHeight <= list.clientHeight + 20) load(false);
    }).catch((err) => {
      if (token !== agents.token) return;
      agents.loading = false;
      lwShowPaneError(status, err, () => load(false));
    });
  }
  const onScroll = () => {
    if (list.scrollHeight - list.scrollTop - list.clientHeight < 120) load(false);
  };
  list.addEventListener("scroll", onScroll, { passive: true });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const onInput = () => { clearTimeout(timer); timer = setTimeout(() => load(true), 250); };
  search.addEventListener("input", onInput);
  return {
    reload: () => load(true),
    destroy() {
      clearTimeout(timer);
      list.removeEventListener("scroll", onScroll);
      search.removeEventListener("input", onInput);
    },
  };
}
