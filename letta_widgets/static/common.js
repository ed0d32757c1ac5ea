// @ts-check
// letta-widgets: front-end code shared by every widget. Concatenated in front of each
// widget's module by letta_widgets/widgets/base.py (plain ES, no build step).

// LW_MESSAGE_TYPES (name -> {label, role, kind, group, text_field, calls}) is prepended by
// bundle() from letta_widgets/letta/messages.py: the one table of Letta's message types.

/** @typedef {{label: string, role: string | null, kind: string, group: string,
 *             text_field: string | null, calls: boolean, name: string}} LwMessageType */
/** @typedef {{key: string, type: string, html: string, kind?: string, pending?: boolean,
 *             tool_call_ids?: string[], evicted?: boolean}} LwItem
 *  A transcript item: sanitized HTML of one message (or a tool exchange, or usage). */
/** @typedef {{op: "begin" | "delta" | "set" | "reset", i?: number, type?: string,
 *             text?: string, col?: number}} LwOp  A live op (letta_widgets/widgets/live.py). */
/** @typedef {{get(name: string): any, set(name: string, value: any): void,
 *             save_changes(): void, on(event: string, fn: Function): void,
 *             off(event: string, fn?: Function): void,
 *             send(content: any, callbacks?: any, buffers?: ArrayBuffer[]): void}} LwModel
 *  The part of anywidget's model the front-ends use. */

/** Listen to model events for a view's lifetime: `on("change:a change:b", fn)` registers
 *  `fn` for each name (Backbone splits a space-separated list; anywidget's other hosts, such
 *  as marimo, take one event name per call) and adds its removal to `cleanups`.
 *  @param {LwModel} model @param {Array<() => void>} cleanups
 *  @returns {(events: string, fn: Function) => void} */
function lwListener(model, cleanups) {
  return (events, fn) => {
    for (const name of events.split(/\s+/).filter(Boolean)) {
      model.on(name, fn);
      cleanups.push(() => model.off(name, fn));
    }
  };
}

/** How a card or a live line names a message type.
 *  @param {string} type @returns {string} */
function lwTypeLabel(type) {
  const known = LW_MESSAGE_TYPES[type];
  return known ? known.label : String(type || "").replace(/_message$/, "").replace(/_/g, " ");
}

/** "input", "answer", "step", "context" or "stream" ("" for a type the table lacks).
 *  @param {string} type @returns {string} */
function lwTypeKind(type) {
  const known = LW_MESSAGE_TYPES[type];
  return known ? known.kind : "";
}

/** The message types a filter group shows ([] for "" = every type).
 *  @param {string} group @returns {string[]} */
function lwTypesOfGroup(group) {
  if (!group) return [];
  return Object.keys(LW_MESSAGE_TYPES).filter((name) => LW_MESSAGE_TYPES[name].group === group);
}

/** Requests to the widget's Python side, one channel per view: request ids, a timeout, and
 *  an abort that cancels the Python task. `call(method, params, {signal})` sends
 *  `{kind: "rpc", id, method, params}` and resolves with the reply's `result` (rejects with
 *  its `error`); aborting the signal (or the timeout) sends `{kind: "abort", id}`.
 *
 *  `replay` names requests whose latest answers are kept in the front-end model (attribute
 *  `_lw_replay`: JupyterLab saves it with the widget state; it is never sent on its own, only
 *  along with the next change the view saves, and Python ignores it), so that a
 *  saved view (lwSavedView) answers the same requests from them; any other request there
 *  fails at once, saying so.
 *  @param {LwModel} model
 *  @param {{timeoutMs?: number, setTimer?: (fn: () => void, ms: number) => any,
 *           clearTimer?: (handle: any) => void, replay?: string[], saved?: boolean}} [options]
 *  @returns {{call(method: string, params?: object, options?: {signal?: AbortSignal}): Promise<any>,
 *             pending(): number, destroy(): void}} */
function lwRpc(model, options) {
  const timeoutMs = (options && options.timeoutMs) || 60000;
  const setTimer = (options && options.setTimer) || setTimeout;
  const clearTimer = (options && options.clearTimer) || clearTimeout;
  const viewId = Math.random().toString(36).slice(2, 10);
  const replay = new Set((options && options.replay) || []);
  const saved = options && options.saved !== undefined ? options.saved : lwSavedView(model);
  let seq = 0;
  /** @type {Map<string, {resolve: (v: any) => void, reject: (e: Error) => void, timer?: any}>} */
  const waiting = new Map();
  /** @param {any} msg */
  const onReply = (msg) => {
    if (!msg || msg.kind !== "reply") return;
    const waiter = waiting.get(msg.id);
    if (!waiter) return; // another view's request, or one given up on
    waiting.delete(msg.id);
    clearTimer(waiter.timer);
    if (msg.error !== undefined && msg.error !== null) {
      const err = new Error(msg.cancelled ? "cancelled" : String(msg.error));
      if (msg.cancelled) err.name = "AbortError";
      waiter.reject(err);
    } else waiter.resolve(msg.result);
  };
  model.on("msg:custom", onReply);
  /** @param {string} id @param {Error} err */
  const giveUp = (id, err) => {
    const waiter = waiting.get(id);
    if (!waiter) return;
    waiting.delete(id);
    clearTimer(waiter.timer);
    try { model.send({ kind: "abort", id }); } catch (_) { /* no kernel: nothing to cancel */ }
    waiter.reject(err);
  };
  function call(method, params, callOptions) {
    const signal = callOptions && callOptions.signal;
    if (saved) return lwReplayed(model, method, params);
    const kept = replay.has(method)
      ? (/** @type {any} */ result) => { lwKeepReply(model, method, params, result); return result; }
      : (/** @type {any} */ result) => result;
    return new Promise((resolve, reject) => {
      const id = `${viewId}:${++seq}`;
      if (signal && signal.aborted) {
        const err = new Error("cancelled"); err.name = "AbortError"; reject(err); return;
      }
      // Python always answers; no answer means no kernel (a saved notebook, a dead kernel).
      const timer = setTimer(() => giveUp(id, new Error(
        `no answer from the kernel in ${Math.round(timeoutMs / 1000)} s: is it running? Re-run the cell.`,
      )), timeoutMs);
      waiting.set(id, { resolve: (value) => resolve(kept(value)), reject, timer });
      if (signal) signal.addEventListener("abort", () => {
        const err = new Error("cancelled"); err.name = "AbortError"; giveUp(id, err);
      }, { once: true });
      try {
        model.send({ kind: "rpc", id, method, params: params || {} });
      } catch (err) {
        waiting.delete(id);
        clearTimer(timer);
        reject(err);
      }
    });
  }
  function destroy() {
    model.off("msg:custom", onReply);
    for (const id of [...waiting.keys()]) giveUp(id, new Error("the view was closed"));
  }
  return { call, pending: () => waiting.size, destroy };
}

/** Whether this view shows a notebook's saved widget state with no kernel behind it: a page
 *  that embeds the state (nbconvert's HTML, nbviewer: @jupyter-widgets/html-manager), or
 *  JupyterLab / Notebook 7 showing a notebook whose kernel is not running.
 *  @param {LwModel} model @returns {boolean} */
function lwSavedView(model) {
  const manager = /** @type {any} */ (model).widget_manager;
  if (manager && "kernel" in manager) return manager.kernel === null;
  return typeof document !== "undefined"
    && !!document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
}

/** Begin a view. Live: tell Python a front-end shows the widget (its outputs stay as they
 *  are from now on: letta_widgets/widgets/saved.py). Saved: mark `root` read-only (the
 *  controls that need a kernel are hidden by common.css) with a note saying so.
 *  @param {LwModel} model @param {HTMLElement} root @param {string} what
 *  @returns {boolean} whether the view is a saved one */
function lwStartView(model, root, what) {
  if (!lwSavedView(model)) {
    try { model.send({ kind: "viewed" }); } catch (_) { /* no comm: nothing to tell */ }
    return false;
  }
  root.dataset.saved = "true";
  const note = lwEl("div", "lw-saved-view",
    `Saved ${what}: no kernel is running, so this is how it looked when the notebook was saved. Run the notebook to use it.`);
  note.setAttribute("role", "note");
  root.prepend(note);
  return true;
}

const LW_REPLAY_ENTRIES = 12;
const LW_REPLAY_CHARS = 1500000;

/** The key of a request in `_lw_replay`. @param {string} method @param {object} [params] */
function lwReplayKey(method, params) {
  return `${method} ${JSON.stringify(params || {})}`;
}

/** Keep a request's answer for a saved view: the newest LW_REPLAY_ENTRIES, at most
 *  LW_REPLAY_CHARS of JSON in all (the oldest go first; a bigger answer is not kept).
 *  @param {LwModel} model @param {string} method @param {object | undefined} params @param {any} result */
function lwKeepReply(model, method, params, result) {
  let text;
  try { text = JSON.stringify(result); } catch (_) { return; }
  if (text === undefined || text.length > LW_REPLAY_CHARS) return;
  const key = lwReplayKey(method, params);
  /** @type {[string, string][]} */
  const entries = Object.entries(model.get("_lw_replay") || {}).filter(([k]) => k !== key);
  entries.push([key, text]);
  let total = entries.reduce((n, [, v]) => n + v.length, 0);
  while (entries.length > LW_REPLAY_ENTRIES || total > LW_REPLAY_CHARS) total -= entries.shift()[1].length;
  // no save_changes(): Python never needs it (it rides along with the view's next saved
  // change, e.g. the browser's selection, and is ignored there: not a trait)
  model.set("_lw_replay", Object.fromEntries(entries));
}

/** A saved view's answer: the kept one, or a rejection that says why there is none.
 *  @param {LwModel} model @param {string} method @param {object} [params] @returns {Promise<any>} */
function lwReplayed(model, method, params) {
  const text = (model.get("_lw_replay") || {})[lwReplayKey(method, params)];
  if (typeof text === "string") return Promise.resolve(JSON.parse(text));
  return Promise.reject(new Error("not saved with this notebook: run the notebook to load it"));
}

/** True for the rejection of an aborted request (superseded: nothing to show).
 *  @param {any} err */
function lwAborted(err) {
  return !!err && err.name === "AbortError";
}

const LW_BLOCKED_TAGS = new Set([
  "SCRIPT", "STYLE", "IFRAME", "FRAME", "FRAMESET", "OBJECT", "EMBED", "SVG", "MATH",
  "FORM", "INPUT", "BUTTON", "TEXTAREA", "SELECT", "LINK", "META", "BASE", "TEMPLATE",
  "AUDIO", "VIDEO", "SOURCE", "PORTAL", "NOSCRIPT",
]);
const LW_URL_ATTRS = new Set([
  "href", "src", "action", "formaction", "xlink:href", "poster", "srcset", "background", "ping",
]);
const LW_SAFE_URL = /^(https?:|mailto:|#)/i;
/** The one URL an IMG may have: inline base64 data of an accepted kind (no SVG, nothing
 *  remote: showing an image never makes a request). */
const LW_IMAGE_DATA_URL = /^data:image\/(png|jpeg|gif|webp);base64,[a-z0-9+\/]+={0,2}$/i;

/** Whether `value` may stay in URL attribute `name` of element `tag` (upper case): a link
 *  to http(s), mailto or a fragment, an image's inline data, and no other URL.
 *  @param {string} tag @param {string} name @param {string} value */
function lwUrlAllowed(tag, name, value) {
  if (name === "href" || name === "xlink:href") return LW_SAFE_URL.test(value);
  return tag === "IMG" && name === "src" && LW_IMAGE_DATA_URL.test(value);
}

/** Parse HTML that Python already sanitized (nh3) into an inert fragment and scrub it
 *  again here (defence in depth): no script-capable element, no on* handler, no
 *  inline style, no link that is not http(s), mailto or a fragment, and no URL that loads
 *  anything: an image's `src` may only be a data:image/(png|jpeg|gif|webp);base64 URL.
 *  @param {string} sanitizedHtml @returns {DocumentFragment} */
function lwSafeFragment(sanitizedHtml) {
  const tpl = document.createElement("template");
  tpl.innerHTML = sanitizedHtml; // sanitized in Python; template content is inert, scrubbed below
  /** @type {Element[]} */
  const doomed = [];
  const walker = document.createTreeWalker(tpl.content, NodeFilter.SHOW_ELEMENT);
  while (walker.nextNode()) {
    const node = /** @type {Element} */ (walker.currentNode);
    const tag = node.tagName.toUpperCase();
    if (LW_BLOCKED_TAGS.has(tag)) { doomed.push(node); continue; }
    for (const attr of Array.from(node.attributes)) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\u0000-\u0020]/g, "");
      if (name.startsWith("on") || name === "style" ||
          (LW_URL_ATTRS.has(name) && !lwUrlAllowed(tag, name, value))) {
        node.removeAttribute(attr.name);
      }
    }
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
  }
  for (const node of doomed) node.remove();
  return tpl.content;
}

/** A new element with a class and optional text (always set as text, never HTML).
 *  @param {string} tag @param {string} [className] @param {unknown} [text]
 *  @returns {HTMLElement & Record<string, any>} */
function lwEl(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** A button with a class, a text and an optional tooltip. Its accessible name is its
 *  visible text; a button whose text is a symbol is made with lwIconButton.
 *  @param {string} cls @param {string} text @param {string} [title] */
function lwButton(cls, text, title) {
  const b = lwEl("button", cls, text);
  b.type = "button";
  if (title) b.title = title;
  return b;
}

/** A button whose visible text is a symbol (×, ◀, i): `label` is its accessible name
 *  (aria-label, a few words) and its tooltip unless `title` says more.
 *  @param {string} cls @param {string} symbol @param {string} label @param {string} [title] */
function lwIconButton(cls, symbol, label, title) {
  const b = lwButton(cls, symbol, title || label);
  b.setAttribute("aria-label", label);
  return b;
}

/** Turn a control on or off without taking it out of the tab order: `aria-disabled`
 *  instead of `disabled`, so a button that is focused when it turns off (Send while a turn
 *  streams, Stop when it ends) keeps the focus and Tab goes on from it. The click handler
 *  checks lwIsOff.
 *  @param {HTMLElement} node @param {boolean} off */
function lwSetOff(node, off) {
  if (off) node.setAttribute("aria-disabled", "true");
  else node.removeAttribute("aria-disabled");
}

/** @param {HTMLElement} node */
function lwIsOff(node) {
  return node.getAttribute("aria-disabled") === "true";
}

/** A scroll box the keyboard can reach and scroll: in the tab order, named, and its arrow
 *  keys kept from JupyterLab's notebook shortcuts (which would move to another cell).
 *  @param {HTMLElement} node @param {string} label */
function lwScrollable(node, label) {
  node.tabIndex = 0;
  node.setAttribute("role", "region");
  node.setAttribute("aria-label", label);
  node.dataset.lmSuppressShortcuts = "true";
  return node;
}

/** Theme a view whose host has no JupyterLab theme (marimo, a plain page): the widgets'
 *  CSS reads `--jp-*` variables, which JupyterLab and Notebook 7 define; elsewhere
 *  `lw-themeless` (common.css) defines them, light or dark after the page's background.
 *  Decided once the view is in the page (a detached element has no inherited variables).
 *  @param {HTMLElement} el the widget's root @returns {() => void} the cleanup */
function lwHostTheme(el) {
  let frame = 0;
  let tries = 0;
  const decide = () => {
    if (!el.isConnected) {
      if (++tries < 600) frame = requestAnimationFrame(decide); // about 10 s
      return;
    }
    if (getComputedStyle(el).getPropertyValue("--jp-layout-color1").trim()) return;
    el.classList.add("lw-themeless");
    el.classList.toggle("lw-themeless-dark", lwDarkBehind(el));
  };
  decide();
  return () => cancelAnimationFrame(frame);
}

/** Whether the first opaque background behind `node` (up through shadow roots) is dark.
 *  @param {Element} node @returns {boolean} */
function lwDarkBehind(node) {
  /** @type {Element | null} */
  let at = node.parentElement || /** @type {any} */ (node.getRootNode()).host || null;
  while (at) {
    const bg = getComputedStyle(at).backgroundColor;
    const rgb = (bg.match(/[\d.]+/g) || []).map(Number);
    if (rgb.length >= 3 && (rgb.length < 4 || rgb[3] > 0.5)) {
      const scale = bg.startsWith("color(") ? 1 : 255; // `color(srgb 1 1 1)` or `rgb(255, …)`
      const lum = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / scale;
      return lum < 0.45;
    }
    at = at.parentElement || /** @type {any} */ (at.getRootNode()).host || null;
  }
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
}

/** The element that has the keyboard, as seen from `node`: the focused element of the tree
 *  `node` is in. A host may put each view in a shadow root (marimo does), where
 *  `document.activeElement` is only the shadow host; the root node knows the real one.
 *  @param {Node} node @returns {Element | null} */
function lwFocused(node) {
  const root = /** @type {Document | ShadowRoot} */ (node.getRootNode());
  return "activeElement" in root ? root.activeElement : document.activeElement;
}

/** Give the keyboard back to the notebook (as Escape leaves a cell editor): focus the cell
 *  that holds `node`, so JupyterLab's command-mode keys work again.
 *  @param {HTMLElement} node */
function lwLeaveToNotebook(node) {
  const active = /** @type {HTMLElement | null} */ (lwFocused(node));
  if (active && typeof active.blur === "function") active.blur();
  const cell = /** @type {HTMLElement | null} */ (node.closest(".jp-Cell, .jp-Notebook"));
  if (cell && typeof cell.focus === "function") cell.focus();
}

/** Escape anywhere in a widget that no control inside used (the prompt box, an edit box,
 *  the search) leaves the widget for the notebook. @param {HTMLElement} root
 *  @returns {() => void} the cleanup */
function lwEscapeLeaves(root) {
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
    event.preventDefault();
    lwLeaveToNotebook(root);
  };
  root.addEventListener("keydown", onKey);
  return () => root.removeEventListener("keydown", onKey);
}

/** Rebuild `box` with `draw()` and keep the keyboard where it was: when the focus was on a
 *  control inside `box`, the new control of the same class (and the same position among
 *  those) gets it, else the first match of `fallbacks[that class]`, else nothing moves.
 *  @param {HTMLElement} box @param {() => void} draw
 *  @param {Record<string, string>} [fallbacks] class of the old control -> a selector */
function lwKeepFocus(box, draw, fallbacks) {
  const active = /** @type {HTMLElement | null} */ (lwFocused(box));
  const inside = !!active && active !== box && box.contains(active);
  const cls = inside ? (Array.from(active.classList).find((c) => c.startsWith("lw-") && c !== "lw-primary") || "") : "";
  const nth = cls ? Array.from(box.querySelectorAll("." + cls)).indexOf(active) : -1;
  draw();
  if (!cls || box.contains(lwFocused(box))) return;
  const same = /** @type {HTMLElement | undefined} */ (box.querySelectorAll("." + cls)[Math.max(0, nth)]);
  const next = same || /** @type {HTMLElement | null} */ (
    fallbacks && fallbacks[cls] ? box.querySelector(fallbacks[cls]) : null);
  if (next) next.focus();
}

/** The one place a widget speaks to screen readers: a visually hidden polite live region
 *  (appended to `host`) that says each finished message once. The token-by-token text of a
 *  streaming turn is never in a live region (lwLiveArea marks it aria-hidden): screen
 *  readers would read every token, or cut each other off. When a message is whole, `say()`
 *  adds its text here as one new paragraph (aria-relevant="additions": the paragraphs
 *  dropped to keep the region short are not read).
 *  @param {HTMLElement} host @param {string} [cls]
 *  @returns {{say(text: string): void, node: HTMLElement}} */
function lwAnnouncer(host, cls) {
  const node = lwEl("div", "lw-sr-only lw-announce" + (cls ? " " + cls : ""));
  node.setAttribute("aria-live", "polite");
  node.setAttribute("aria-relevant", "additions");
  host.appendChild(node);
  /** @param {string} text */
  function say(text) {
    if (!text) return;
    while (node.childElementCount >= 3) node.firstElementChild.remove();
    node.appendChild(lwEl("p", "", text));
  }
  return { say, node };
}

/** The items to announce after the transcript changed from `before` (the keys shown so far;
 *  null on the first draw, which announces nothing) to `items`: the answers (and approval
 *  requests waiting for the user) appended after the last item shown before. Older pages
 *  loaded above, redrawn items and the user's own message are not announced.
 *  @param {string[] | null} before @param {LwItem[]} items @returns {LwItem[]} */
function lwNewAnswers(before, items) {
  if (!before || !before.length) return before ? items.filter(lwAnnounced) : [];
  const known = new Set(before);
  let last = -1;
  items.forEach((item, i) => { if (known.has(item.key)) last = i; });
  return items.slice(last + 1).filter((item) => !known.has(item.key) && lwAnnounced(item));
}

/** @param {LwItem} item */
function lwAnnounced(item) {
  const kind = item.kind || lwTypeKind(item.type);
  return kind === "answer" || !!item.pending;
}

/** What a screen reader hears for a finished card: its type and its text (read from the
 *  sanitized card in the DOM, so never HTML).
 *  @param {HTMLElement | null} node an item holding one rendered card @param {LwItem} item */
function lwSpokenText(node, item) {
  if (!node) return "";
  const card = node.querySelector(".lw-msg");
  const body = (card && card.querySelector(".lw-msg__body")) || card || node;
  const text = (body.textContent || "").replace(/\s+/g, " ").trim();
  return text ? `${lwTypeLabel(item.type)}: ${text}` : "";
}

/** Copy `text` with the Clipboard API; `button` says how it went ("Copied", or "Copy not
 *  allowed here" where the page may not write the clipboard).
 *  @param {string} text @param {HTMLElement} button */
function lwCopy(text, button) {
  const say = (/** @type {string} */ state, /** @type {string} */ label) => {
    button.dataset.state = state;
    button.dataset.label = label;
    button.setAttribute("aria-label", label);
    setTimeout(() => {
      button.dataset.state = "";
      button.dataset.label = "Copy";
      button.setAttribute("aria-label", button.title);
    }, 2000);
  };
  const clip = typeof navigator !== "undefined" ? navigator.clipboard : undefined;
  if (!clip || typeof clip.writeText !== "function") { say("refused", "Copy not allowed here"); return; }
  clip.writeText(text).then(() => say("copied", "Copied"), () => say("refused", "Copy not allowed here"));
}

/** A copy button for a card and one per code block in it (added after sanitizing, so agent
 *  HTML never carries a button; the label is CSS content, not text of the message).
 *  @param {HTMLElement} node an item holding one rendered card */
function lwAddCopyButtons(node) {
  const card = /** @type {HTMLElement | null} */ (node.querySelector(".lw-msg"));
  if (!card || card.classList.contains("lw-sep")) return;
  /** @param {string} cls @param {string} what @param {() => string} text */
  const button = (cls, what, text) => {
    const b = lwEl("button", cls);
    b.type = "button";
    b.dataset.label = "Copy";
    b.title = `Copy ${what}`;
    b.setAttribute("aria-label", `Copy ${what}`);
    b.addEventListener("click", (event) => { event.stopPropagation(); lwCopy(text(), b); });
    return b;
  };
  const body = /** @type {HTMLElement | null} */ (card.querySelector(".lw-msg__body")) || card;
  card.classList.add("lw-copyable");
  card.append(button("lw-copy", "this message", () => body.innerText || body.textContent || ""));
  for (const pre of /** @type {NodeListOf<HTMLElement>} */ (card.querySelectorAll("pre"))) {
    pre.tabIndex = 0; // a block that scrolls sideways can be scrolled from the keyboard
    const wrap = lwEl("div", "lw-code-wrap");
    pre.replaceWith(wrap);
    wrap.append(pre, button("lw-copy lw-copy--code", "this code", () => pre.textContent || ""));
  }
}

/** Clamp a long message body to a height with a "Show more" / "Show less" toggle (shown
 *  only once the body is laid out and taller than the clamp; CSS `.lw-clamp`).
 *  @param {HTMLElement} node an item holding one rendered card */
function lwCollapseLong(node) {
  const body = /** @type {HTMLElement | null} */ (node.querySelector(".lw-msg > .lw-msg__body"));
  if (!body) return;
  body.classList.add("lw-clamp");
  const toggle = lwEl("button", "lw-show-more", "Show more");
  toggle.type = "button";
  toggle.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
  body.after(toggle);
  const measure = () => {
    if (body.classList.contains("lw-clamp")) toggle.hidden = body.scrollHeight <= body.clientHeight + 2;
  };
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    const open = !body.classList.toggle("lw-clamp");
    toggle.textContent = open ? "Show less" : "Show more";
    toggle.setAttribute("aria-expanded", String(open));
  });
  if (typeof ResizeObserver === "function") new ResizeObserver(measure).observe(body);
  else setTimeout(measure, 0);
}

/** Save `text` as a file the reader downloads (a Blob URL on a transient link).
 *  @param {string} filename @param {string} text @param {string} mime */
function lwDownload(filename, text, mime) {
  const url = URL.createObjectURL(new Blob([text], { type: `${mime};charset=utf-8` }));
  const link = /** @type {HTMLAnchorElement} */ (lwEl("a"));
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** "Export: .md .html" buttons; `fetch(format)` resolves with {filename, mime, text} (the
 *  widget's `export` request), which is downloaded; `onError` gets a failure's message.
 *  @param {(format: string) => Promise<{filename: string, mime: string, text: string}>} fetch
 *  @param {(message: string) => void} onError @returns {HTMLElement} */
function lwExportButtons(fetch, onError) {
  const group = lwEl("span", "lw-export");
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", "Export the conversation");
  group.append(lwEl("span", "lw-export-label", "Export"));
  for (const [format, label, what] of [["md", ".md", "Markdown"], ["html", ".html", "one HTML page, no script"]]) {
    const button = lwButton(`lw-export-${format}`, label, `Download the conversation as ${what}`);
    button.type = "button";
    button.setAttribute("aria-label", `Export as ${what}`);
    button.addEventListener("click", () => {
      if (lwIsOff(button)) return;
      lwSetOff(button, true); // off while the file is made, the focus kept
      fetch(format)
        .then((file) => lwDownload(file.filename, file.text, file.mime))
        .catch((err) => { if (!lwAborted(err)) onError(String(err && err.message || err)); })
        .finally(() => { lwSetOff(button, false); });
    });
    group.append(button);
  }
  return group;
}

/** Keyed reconciliation of rendered items ({key, html, ...}) into `container`:
 *  unchanged items keep their DOM (and open/closed <details>), new ones are built.
 *  @param {HTMLElement} container @param {LwItem[]} items
 *  @param {(node: HTMLElement & Record<string, any>, item: LwItem) => void} [decorate] */
function lwRenderItems(container, items, decorate) {
  const existing = new Map();
  const children = /** @type {HTMLElement[]} */ (Array.from(container.children));
  for (const child of children) existing.set(child.dataset.key, child);
  const wanted = new Set();
  let previous = null;
  for (const item of items) {
    wanted.add(item.key);
    let node = existing.get(item.key);
    if (!node || node._lwHtml !== item.html) {
      const fresh = lwEl("div", "lw-item lw-item--" + item.type);
      fresh.dataset.key = item.key;
      fresh.appendChild(lwSafeFragment(item.html));
      lwAddCopyButtons(fresh);
      lwCollapseLong(fresh);
      fresh._lwHtml = item.html;
      if (node) node.replaceWith(fresh);
      node = fresh;
    }
    if (decorate) decorate(node, item);
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (expected !== node) container.insertBefore(node, expected);
    previous = node;
  }
  for (const [key, node] of existing) if (!wanted.has(key)) node.remove();
}

/** The live area: plain-text messages growing with token deltas until the turn ends
 *  and the sanitized cards replace them. Ops (documented in letta_widgets/widgets/live.py):
 *  {op: "begin", i, type, text} | {op: "delta", i, text} | {op: "set", i, text} |
 *  {op: "reset"}. Text is only ever set with textContent / appendData.
 *  @param {HTMLElement} container
 *  @returns {{apply(op: LwOp): void, size(): number}} */
function lwLiveArea(container) {
  // Not read by screen readers while it grows (see lwAnnouncer): the finished card is.
  container.setAttribute("aria-hidden", "true");
  const nodes = new Map();
  /** @param {LwOp} op */
  function apply(op) {
    const index = op.i;
    if (op.op === "reset") { nodes.clear(); container.replaceChildren(); return; }
    if (op.op === "begin") {
      const box = lwEl("div", "lw-msg lw-live lw-msg--" + op.type);
      const label = lwEl("div", "lw-live-label", lwTypeLabel(op.type || ""));
      const body = lwEl("div", "lw-live-text");
      const text = document.createTextNode(op.text || "");
      body.appendChild(text);
      box.append(label, body);
      container.appendChild(box);
      nodes.set(index, text);
      return;
    }
    const text = nodes.get(index);
    if (!text) return;
    if (op.op === "delta") text.appendData(op.text || "");
    else if (op.op === "set") text.data = op.text || "";
  }
  return { apply, size: () => nodes.size };
}

/** A text field whose keys never reach JupyterLab's notebook shortcuts (Shift+Enter,
 *  a, b, dd would otherwise run or edit cells).
 *  @param {string} tag @param {string} [className] */
function lwField(tag, className) {
  const node = lwEl(tag, className);
  node.dataset.lmSuppressShortcuts = "true";
  return node;
}

/** The prompt box: Enter calls `onSend(text)` and clears the box, Shift+Enter inserts
 *  a new line (JupyterLab swallows its default action, so it is inserted here), Escape
 *  leaves the box for the notebook. An empty box sends only when `allowEmpty()` says so
 *  (images wait to be sent). `label` is its accessible name (default "Message").
 *  @param {(text: string) => boolean | void} onSend
 *  @param {{allowEmpty?: () => boolean, label?: string}} [options] */
function lwPromptInput(onSend, options) {
  const input = lwField("textarea", "lw-input");
  input.rows = 2;
  input.setAttribute("aria-label", (options && options.label) || "Message");
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.isComposing) {
      // leave the box, as Escape leaves a cell editor: the notebook gets the keys again
      event.preventDefault();
      lwLeaveToNotebook(input);
      return;
    }
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    event.stopPropagation();
    if (event.shiftKey) {
      input.setRangeText("\n", input.selectionStart, input.selectionEnd, "end");
      input.dispatchEvent(new Event("input", { bubbles: true }));
    } else {
      submit();
    }
  });
  function submit() {
    const text = input.value.trim();
    const empty = !text && !(options && options.allowEmpty && options.allowEmpty());
    if (!empty && onSend(text) !== false) input.value = "";
  }
  input.submit = submit;
  return input;
}

/** Show the model's `error` trait in a dismissible banner (role="alert": read at once).
 *  Dismissed from the keyboard, the focus goes to `focusAfter()` (default: the widget's
 *  first enabled control after the banner).
 *  @param {LwModel} model @param {HTMLElement} banner @param {() => HTMLElement | null} [focusAfter]
 *  @returns {() => void} the cleanup */
function lwErrorBanner(model, banner, focusAfter) {
  banner.setAttribute("role", "alert");
  const next = () => {
    if (focusAfter) return focusAfter();
    const root = banner.closest(".lw-root");
    const all = root ? Array.from(root.querySelectorAll("button, input, textarea, select")) : [];
    return /** @type {HTMLElement | undefined} */ (all.find((n) => !banner.contains(n) &&
      !(/** @type {HTMLButtonElement} */ (n).disabled) && /** @type {HTMLElement} */ (n).offsetParent)) || null;
  };
  const update = () => {
    const text = model.get("error");
    banner.hidden = !text;
    banner.replaceChildren();
    if (!text) return;
    banner.append(lwEl("span", "lw-error-text", text));
    const close = lwIconButton("lw-error-close", "×", "Dismiss the error");
    close.addEventListener("click", () => {
      const target = banner.contains(lwFocused(banner)) ? next() : null;
      model.set("error", "");
      model.save_changes();
      if (target) target.focus();
    });
    banner.append(close);
  };
  model.on("change:error", update);
  update();
  return () => model.off("change:error", update);
}

/** A word diff (`[[op, text], …]`, op "=", "-" or "+") as text-only runs in a
 *  `.lw-diff-body`; a replaced word and its replacement are kept apart by a space.
 *  @param {Array<[string, string]>} ops @returns {HTMLElement} */
function lwWordDiff(ops) {
  const body = lwEl("div", "lw-diff-body");
  let previous = null;
  for (const [op, text] of ops || []) {
    if (previous === "-" && op === "+" && !/\s$/.test(body.lastChild.textContent)) {
      body.appendChild(document.createTextNode(" "));
    }
    const cls = op === "+" ? "lw-diff-ins" : op === "-" ? "lw-diff-del" : "lw-diff-eq";
    body.appendChild(lwEl(op === "+" ? "ins" : op === "-" ? "del" : "span", cls, text));
    previous = op;
  }
  return body;
}
