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
  const channel = lwRpc(model);
  const regenBtn = lwButton("lw-regenerate", "Regenerate",
    "Answer the last message again, in a new branch (the old answer stays)");
  const exportGroup = lwExportButtons(
    (format) => channel.call("export", { format }),
    (message) => { model.set("error", `export failed: ${message}`); model.save_changes(); },
  );
  const bar = lwEl("div", "lw-chat-bar");
  bar.append(status, regenBtn, exportGroup);
  const composer = lwEl("div", "lw-composer");
  const images = lwImageComposer(el);
  const input = lwPromptInput((text) => {
    if (model.get("status") === "streaming") return false;
    const taken = images.attached.take();
    // One comm message per image with its bytes as the message's binary buffer
    // (ipywidgets' model.send(content, callbacks, buffers); anywidget passes it through and
    // Python gets them as on_msg's buffers): no base64 in JSON (a third larger, and a
    // multi-MB string to build and parse), and no message over Jupyter Server's 10 MiB
    // websocket limit however many images go together. Then `send` names them.
    for (const img of taken) model.send({ kind: "image", id: img.id, name: img.name }, undefined, [img.bytes]);
    model.send({ kind: "send", text, images: taken.map((img) => ({ id: img.id, name: img.name })) });
  }, { allowEmpty: () => images.attached.count() > 0, label: "Message to the agent" });
  images.watchPaste(input);
  const sendBtn = lwButton("lw-send lw-primary", "Send");
  const stopBtn = lwButton("lw-stop", "Stop");
  const attachBtn = lwButton("lw-attach", "Attach to running turn");
  composer.append(images.button, images.fileInput, input, sendBtn, stopBtn, attachBtn);
  // Enter and Space on the composer's buttons are theirs, not JupyterLab's shortcuts (in
  // command mode Enter would open the cell editor and the button would never be pressed)
  composer.dataset.lmSuppressShortcuts = images.tray.dataset.lmSuppressShortcuts = "true";
  bar.dataset.lmSuppressShortcuts = "true";
  el.replaceChildren(banner, memNotice, pane, bar, images.tray, images.problems, composer);

  const liveArea = lwLiveArea(live);
  const announcer = lwAnnouncer(el);
  const cleanups = [lwErrorBanner(model, banner, () => input), lwEscapeLeaves(el), lwHostTheme(el), images.destroy,
    () => channel.destroy()];
  const on = lwListener(model, cleanups);

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

  // Edit and branches: a user message has an action row (Edit; ‹ 2/3 › under a message
  // whose history has sibling branches). Editing forks before the message in Python.
  const branchNote = () => model.get("branch_note") || "";
  function editable() { return model.get("status") !== "streaming" && !branchNote(); }

  /** @param {HTMLElement & Record<string, any>} node @param {LwItem & {text?: string}} item */
  function decorateUser(node, item) {
    let row = /** @type {HTMLElement | null} */ (node.querySelector(":scope > .lw-msg-actions"));
    if (!row) {
      row = lwEl("div", "lw-msg-actions");
      const edit = lwButton("lw-edit", "Edit");
      edit.type = "button";
      edit.addEventListener("click", () => openEditor(node, item));
      row.append(edit);
      node.appendChild(row);
    }
    const edit = /** @type {HTMLButtonElement} */ (row.querySelector(".lw-edit"));
    edit.disabled = !editable();
    edit.title = branchNote() || "Edit and send again, in a new branch (this one stays)";
    edit.setAttribute("aria-label", "Edit this message and send it again in a new branch");
  }

  /** @param {HTMLElement} node @param {LwItem & {text?: string}} item */
  function openEditor(node, item) {
    if (node.querySelector(".lw-editor")) return;
    const editor = lwEl("div", "lw-editor");
    const close = () => {
      editor.remove();
      node.classList.remove("lw-editing");
      const edit = /** @type {HTMLElement | null} */ (node.querySelector(".lw-edit"));
      if (edit) edit.focus();
    };
    const box = lwPromptInput((text) => {
      if (!editable()) return false;
      model.send({ kind: "edit", key: item.key, text });
      close();
    });
    box.classList.add("lw-edit-input");
    box.value = item.text || "";
    box.setAttribute("aria-label", "The edited message");
    box.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
    const send = lwButton("lw-edit-send lw-primary", "Send edit", "Send in a new branch (Enter)");
    const cancel = lwButton("lw-edit-cancel", "Cancel");
    send.addEventListener("click", () => box.submit());
    cancel.addEventListener("click", close);
    const buttons = lwEl("div", "lw-editor-buttons");
    buttons.append(send, cancel);
    editor.append(box, buttons);
    node.classList.add("lw-editing");
    node.appendChild(editor);
    box.focus();
  }

  /** The ‹ i/n › switch under the first user message after each branch point (rebuilt on
   *  each draw: a focused ‹ or › keeps the focus). */
  function drawBranches() {
    lwKeepFocus(list, drawBranchesNow);
  }
  function drawBranchesNow() {
    for (const old of Array.from(list.querySelectorAll(".lw-branch-nav"))) old.remove();
    const children = /** @type {HTMLElement[]} */ (Array.from(list.children));
    const idOf = (/** @type {HTMLElement} */ c) => String(c.dataset.key || "").split("|")[0];
    for (const nav of model.get("branch_nav") || []) {
      let last = -1;
      children.forEach((child, n) => { if (idOf(child) === nav.point) last = n; });
      const next = last < 0 ? undefined
        : children.slice(last + 1).find((c) => !!c.querySelector(":scope > .lw-msg-actions"));
      const row = next && next.querySelector(":scope > .lw-msg-actions");
      if (!row) continue;
      const group = lwEl("span", "lw-branch-nav");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", `Branch ${nav.index + 1} of ${nav.ids.length}`);
      const go = (/** @type {number} */ to) => {
        for (const b of Array.from(group.querySelectorAll("button"))) lwSetOff(b, true);
        model.send({ kind: "switch", conversation_id: nav.ids[to] });
      };
      const prev = lwButton("lw-branch-prev", "‹", "Previous branch");
      const next_ = lwButton("lw-branch-next", "›", "Next branch");
      prev.setAttribute("aria-label", "Previous branch");
      next_.setAttribute("aria-label", "Next branch");
      lwSetOff(prev, nav.index <= 0 || model.get("status") === "streaming");
      lwSetOff(next_, nav.index >= nav.ids.length - 1 || model.get("status") === "streaming");
      prev.addEventListener("click", () => { if (!lwIsOff(prev)) go(nav.index - 1); });
      next_.addEventListener("click", () => { if (!lwIsOff(next_)) go(nav.index + 1); });
      group.append(prev, lwEl("span", "lw-branch-count", `${nav.index + 1}/${nav.ids.length}`), next_);
      row.append(group);
    }
  }

  function decorate(node, item) {
    node.classList.toggle("lw-evicted", !!item.evicted);
    if (item.evicted) node.title = "No longer in the context window (compacted away; kept in history)";
    else node.removeAttribute("title");
    if (item.kind === "input") decorateUser(node, item); // what the user wrote
    if (!item.tool_call_ids) return; // an approval request (pending or answered)
    let bar = node.querySelector(".lw-approval-actions");
    if (!item.pending) { if (bar) bar.remove(); return; }
    if (bar) return;
    bar = lwEl("div", "lw-approval-actions");
    const ids = item.tool_call_ids || [];
    const approve = lwButton("lw-approve lw-primary", "Approve");
    const deny = lwButton("lw-deny", "Deny");
    const reason = lwField("input", "lw-deny-reason");
    reason.setAttribute("aria-label", "Why you deny it (optional)");
    reason.placeholder = "reason (optional)";
    const answer = (ok) => {
      const keyboard = bar.contains(lwFocused(bar));
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
    // each finished answer (or approval request) is announced once, when a turn appends it
    // (its items come while the status still says streaming); a page of older messages, a
    // branch switched to or a redraw says nothing
    const live = model.get("status") === "streaming";
    for (const item of live ? lwNewAnswers(shownKeys, items) : []) {
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
    const asked = (model.get("items") || []).some((/** @type {LwItem} */ i) => i.kind === "input");
    lwSetOff(regenBtn, streaming || !!branchNote() || !asked);
    regenBtn.title = branchNote() || "Answer the last message again, in a new branch (the old answer stays)";
    el.dataset.status = state;
    for (const edit of /** @type {HTMLButtonElement[]} */ (Array.from(list.querySelectorAll(".lw-edit")))) {
      edit.disabled = !editable();
      edit.title = branchNote() || "Edit and send again, in a new branch (this one stays)";
    }
    drawBranches(); // its buttons wait while a turn streams
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
  regenBtn.addEventListener("click", () => {
    if (lwIsOff(regenBtn)) return;
    lwSetOff(regenBtn, true);
    model.send({ kind: "regenerate" });
  });
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
  on("change:items", () => { olderRequested = false; drawItems(); drawStatus(); });
  on("change:branch_nav", drawBranches);
  on("change:conversation_id", () => { follow = true; settle(); }); // another branch: its newest
  on("change:branch_note", drawStatus);
  on("change:status change:status_text", drawStatus);
  on("change:has_older change:can_attach change:placeholder change:height", drawChrome);
  on("change:memory_notice", drawNotice);
  recompileBtn.addEventListener("click", () => {
    if (memNotice.contains(lwFocused(memNotice))) input.focus(); // the notice goes away
    recompileBtn.disabled = true;
    model.send({ kind: "recompile" });
  });

  drawChrome();
  drawNotice();
  drawItems();
  drawStatus();
  settle();
  lwStartView(model, el, "chat");
  return () => { for (const fn of cleanups) fn(); };
}

export default { render };
