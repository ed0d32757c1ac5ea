// @ts-check
// ConversationBrowser: the selected conversation's header (title, facts, lineage, stale
// memory with its word diff, actions), a pane factory wired by browser.js's render.

/** The header of the message pane. `draw(info, selected)` shows the widget's `info` for the
 *  selected conversation; buttons call back (`onAction(name, params)` for the Python actions).
 *  @param {{box: HTMLElement, filters: HTMLElement, root: HTMLElement,
 *           onAction: (name: string, params?: object) => Promise<any>,
 *           onSelect: (id: string) => void, onOpenChat: (id: string) => void,
 *           onForget: () => void, onExport: (id: string, format: string) => Promise<any>,
 *           onError: (message: string) => void}} parts
 *  @returns {{draw(info: any, selected: string): void, reset(): void}} */
function lwConversationHeader({ box: header, filters, root, onAction, onSelect, onOpenChat, onForget, onExport, onError }) {
  let editing = false;
  let confirming = false;
  /** @type {any} */
  let info = {};
  let selected = "";
  const redraw = () => draw(info, selected);
  // A redraw replaces the header's buttons: the focus goes to the new button of the same
  // kind, or where the action that was pressed leads.
  const focusNext = {
    "lw-edit-summary": ".lw-summary-input", "lw-summary-save": ".lw-edit-summary",
    "lw-summary-cancel": ".lw-edit-summary", "lw-summary-input": ".lw-edit-summary",
    "lw-delete": ".lw-cancel-delete", "lw-cancel-delete": ".lw-delete",
    "lw-recompile": ".lw-open-chat",
  };
  /** @param {any} shown @param {string} sel */
  function draw(shown, sel) {
    lwKeepFocus(header, () => drawNow(shown, sel), focusNext);
  }
  /** @param {any} shown @param {string} sel */
  function drawNow(shown, sel) {
    info = shown || {};
    selected = sel;
    header.replaceChildren();
    root.dataset.missing = info.missing ? "true" : "false";
    if (!selected) {
      header.append(lwEl("div", "lw-conv-empty", "Select a conversation on the left."));
      filters.hidden = true;
      return;
    }
    filters.hidden = false;
    if (info.id !== selected) {
      header.append(lwEl("div", "lw-status", "loading…"));
      return;
    }
    if (info.missing) {
      const gone = lwEl("div", "lw-conv-missing", "This conversation no longer exists (deleted by another client?).");
      const back = lwButton("lw-missing-refresh", "Reload the list");
      back.addEventListener("click", () => onForget());
      gone.append(back);
      header.append(gone);
      return;
    }
    const titleRow = lwEl("div", "lw-conv-title-row");
    if (editing) {
      const input = lwField("input", "lw-summary-input");
      input.value = info.summary || "";
      input.placeholder = "Summary (the conversation's title)";
      input.setAttribute("aria-label", "Summary (the conversation's title)");
      const save = lwButton("lw-summary-save lw-primary", "Save");
      const cancel = lwButton("lw-summary-cancel", "Cancel");
      const done = () => { editing = false; redraw(); };
      save.addEventListener("click", () => { const text = input.value; editing = false; onAction("summary", { summary: text }).then(redraw); });
      cancel.addEventListener("click", done);
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); save.click(); } else if (e.key === "Escape") { e.preventDefault(); done(); } });
      titleRow.append(input, save, cancel);
      setTimeout(() => { if (input.isConnected) input.focus(); }, 0);
    } else {
      titleRow.append(lwEl("span", "lw-conv-heading", info.title || info.first_user || info.id));
      if (!info.is_default) {
        const edit = lwButton("lw-edit-summary", "Edit summary");
        edit.addEventListener("click", () => { editing = true; redraw(); });
        titleRow.append(edit);
      }
    }
    const meta = lwEl("div", "lw-conv-info");
    const bits = [info.is_default ? "the agent's default conversation" : info.id,
      `${info.parent ? "forked" : "created"} ${lwDate(info.created_at)}`,
      info.last_message_at ? `active ${lwDate(info.last_message_at)}` : "no messages of its own yet",
      `${info.in_context_count} message${info.in_context_count === 1 ? "" : "s"} in context`];
    if (info.is_default) bits.splice(1, 2);
    if (info.archived) bits.push(info.archived_at ? `archived ${lwDate(info.archived_at)}` : "archived");
    meta.textContent = bits.join(" · ");
    header.append(titleRow, meta);
    if (info.description) header.append(lwEl("div", "lw-conv-description", info.description));
    const own = [];
    if (info.model_override) own.push(`model ${info.model} (the agent's is ${info.agent_model})`);
    else if (info.model) own.push(`model ${info.model}`);
    if (info.context_window_limit) own.push(`context window ${Number(info.context_window_limit).toLocaleString()} tokens`);
    if (own.length) header.append(lwEl("div", "lw-conv-config" + (info.model_override ? " lw-conv-config--override" : ""), own.join(" · ")));

    if (info.parent || (info.children && info.children.length)) {
      const lineage = lwEl("div", "lw-lineage");
      if (info.parent) {
        lineage.append(lwEl("span", "", "forked from "));
        const link = lwButton("lw-link lw-parent-link", info.parent);
        link.addEventListener("click", () => onSelect(info.parent));
        lineage.append(link);
        if (info.fork_message_id) lineage.append(lwEl("span", "", ` at ${info.fork_message_id}`));
      }
      if (info.children && info.children.length) {
        lineage.append(lwEl("span", "", (info.parent ? " · " : "") + "forks: "));
        for (const kid of info.children) {
          const link = lwButton("lw-link lw-child-link", kid);
          link.addEventListener("click", () => onSelect(kid));
          lineage.append(link);
        }
      }
      header.append(lineage);
    }

    const stale = info.stale || {};
    if (stale.stale) {
      const box = lwEl("div", "lw-stale");
      const head = lwEl("div", "lw-stale-head");
      const since = stale.compiled_at ? ` (compiled ${lwDate(stale.compiled_at)})` : "";
      head.append(lwEl("span", "lw-stale-text",
        `This conversation runs on older memory${since}: ${stale.labels.join(", ")} changed since. ` +
        "Its model still sees the old values."));
      const recompile = lwButton("lw-recompile lw-primary", "Recompile", "Compile the current memory blocks into this conversation");
      recompile.addEventListener("click", () => { recompile.disabled = true; onAction("recompile"); });
      head.append(recompile);
      box.append(head);
      for (const d of stale.details || []) {
        const what = d.kind === "added" ? "new block" : d.kind === "removed" ? "block removed" : "changed";
        const part = lwEl("details", "lw-stale-diff");
        part.append(lwEl("summary", "", `${d.label}: ${what} (what it sees → the block now)`), lwWordDiff(d.ops));
        box.append(part);
      }
      header.append(box);
    } else if (stale.known === false) {
      header.append(lwEl("div", "lw-stale-unknown", "Compiled memory could not be read: staleness unknown."));
    }

    const actions = lwEl("div", "lw-actions");
    const chat = lwButton("lw-open-chat", "Open in chat", "Open a ChatCell on this conversation below the browser");
    chat.addEventListener("click", () => onOpenChat(selected));
    const fork = lwButton("lw-fork", "Fork", "New conversation with this whole history");
    fork.addEventListener("click", () => onAction("fork"));
    actions.append(chat, fork, lwExportButtons((format) => onExport(selected, format), onError));
    if (!info.is_default) {
      const arch = lwButton("lw-archive", info.archived ? "Unarchive" : "Archive");
      arch.addEventListener("click", () => onAction("archive", { archived: !info.archived }));
      actions.append(arch);
      if (confirming) {
        const ask = lwEl("span", "lw-confirm", "Delete this conversation?");
        const yes = lwButton("lw-confirm-delete", "Delete");
        const no = lwButton("lw-cancel-delete", "Cancel");
        yes.addEventListener("click", () => { confirming = false; onAction("delete"); });
        no.addEventListener("click", () => { confirming = false; redraw(); });
        actions.append(ask, yes, no);
      } else {
        const del = lwButton("lw-delete", "Delete…");
        del.addEventListener("click", () => { confirming = true; redraw(); });
        actions.append(del);
      }
    }
    header.append(actions);
  }
  /** Another conversation or agent is shown: no half-done edit or delete carries over. */
  function reset() {
    editing = false;
    confirming = false;
  }
  return { draw, reset };
}
