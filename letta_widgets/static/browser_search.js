// @ts-check
// ConversationBrowser: message search across the agent's conversations (a pane factory,
// wired by browser.js's render). The hits replace the conversation list until dismissed.

/** A date as "YYYY-MM-DD HH:MM" in local time ("—" for none).
 *  @param {string | null | undefined} iso @returns {string} */
function lwDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The message search box and its results: Enter searches, Escape (or "← Conversations")
 *  goes back to the list; a hit is opened with `onOpen(hit)`.
 *  @param {{rpc: (method: string, params?: object) => Promise<any>,
 *           input: HTMLElement & Record<string, any>, results: HTMLElement,
 *           onShow: (shown: boolean) => void, onState: (state: string) => void,
 *           onOpen: (hit: any) => void}} parts
 *  @returns {{run(): void, close(): void, destroy(): void}} */
function lwMessageSearch({ rpc, input, results, onShow, onState, onOpen }) {
  let token = 0;
  function close() {
    token++;
    results.hidden = true;
    results.replaceChildren();
    onShow(false);
  }
  function run() {
    const query = input.value.trim();
    const mine = ++token;
    if (!query) { close(); return; }
    onShow(true);
    results.hidden = false;
    results.replaceChildren(lwEl("div", "lw-status", "searching…"));
    onState("loading");
    rpc("search", { query }).then((res) => {
      if (mine !== token) return;
      const back = lwButton("lw-search-back", "← Conversations");
      back.addEventListener("click", () => { input.value = ""; close(); });
      results.replaceChildren(back, lwEl("div", "lw-search-note", res.note));
      for (const hit of res.hits) {
        const row = lwButton("lw-search-hit", "");
        row.dataset.conversationId = hit.conversation_id;
        row.dataset.messageId = hit.message_id || "";
        const kind = hit.message_type ? lwTypeLabel(hit.message_type) : "message";
        const where = hit.conversation_id === "default" ? "default conversation" : hit.conversation_id;
        row.append(lwEl("div", "lw-search-hit-meta", `${kind} · ${lwDate(hit.date)} · ${where}`),
          lwEl("div", "lw-search-hit-text", hit.snippet || ""));
        row.addEventListener("click", () => {
          for (const other of results.querySelectorAll(".lw-search-hit")) {
            other.classList.toggle("lw-selected", other === row);
            if (other === row) other.setAttribute("aria-current", "true");
            else other.removeAttribute("aria-current");
          }
          onOpen(hit);
        });
        results.append(row);
      }
      onState(res.mode);
    }).catch((err) => {
      if (mine !== token) return;
      onState("error");
      results.replaceChildren();
      lwShowPaneError(results, err, run);
    });
  }
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    if (event.key === "Enter") { event.preventDefault(); run(); }
    else if (event.key === "Escape" && (input.value || !results.hidden)) {
      event.preventDefault(); // used here; an Escape in an empty box leaves the widget
      input.value = "";
      close();
    }
  };
  const onCleared = () => { if (!input.value.trim()) close(); };
  input.addEventListener("keydown", onKey);
  input.addEventListener("search", onCleared);
  return {
    run,
    close,
    destroy() {
      token++;
      input.removeEventListener("keydown", onKey);
      input.removeEventListener("search", onCleared);
    },
  };
}
