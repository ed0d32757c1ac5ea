// @ts-check
// ChatCell's attached images: the checks the browser makes at once (the kind from the
// file's first bytes, the size limit; Python checks again), and the composer's tray of
// thumbnails with a remove button each. LW_IMAGE_RULES (what is accepted and how a refusal
// is worded) is prepended by bundle() from letta_widgets/letta/images.py.

/** @typedef {{id: string, name: string, bytes: ArrayBuffer, url: string}} LwAttached
 *  An image waiting in the composer: its shown name, its bytes, its thumbnail's object URL. */

/** The accepted media type the first bytes of a file show, or null (never the name or
 *  the browser's mime string: both can lie).
 *  @param {Uint8Array} head @returns {string | null} */
function lwSniffImage(head) {
  const starts = (/** @type {number[]} */ bytes, at = 0) => bytes.every((b, i) => head[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts([0x47, 0x49, 0x46, 0x38]) && (head[4] === 0x37 || head[4] === 0x39) && head[5] === 0x61) {
    return "image/gif";
  }
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
  return null;
}

/** A file name fit to show: its last path part, no control or bidi characters, at most
 *  80 characters ("image <index>" when nothing is left).
 *  @param {string} name @param {number} index */
function lwShownName(name, index) {
  const last = String(name || "").split(/[\\/]/).pop() || "";
  const clean = last.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, "").replace(/\s+/g, " ").trim();
  return (clean.length > 80 ? clean.slice(0, 79) + "…" : clean) || `image ${index}`;
}

/** A byte count as the messages say it ("7.2 MB").
 *  @param {number} n */
function lwSizeText(n) {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/** A refusal's wording with its {name}, {size}, {limit}, {why} filled in.
 *  @param {string} form @param {Record<string, string>} values */
function lwSay(form, values) {
  return form.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

/** Why an image is not sent, worded as Python words it, or null when it may be.
 *  @param {string} name @param {number} size @param {Uint8Array} head its first bytes */
function lwImageProblem(name, size, head) {
  const rules = LW_IMAGE_RULES;
  if (!size) return lwSay(rules.empty, { name });
  if (size > rules.max_bytes) return lwSay(rules.too_big, { name, size: lwSizeText(size), limit: rules.limit });
  if (!lwSniffImage(head)) return lwSay(rules.wrong_kind, { name });
  return null;
}

/** Read a file the user attached: its bytes, or why it is not taken (too large ones are
 *  not read at all).
 *  @param {File} file @param {string} name
 *  @returns {Promise<{bytes: ArrayBuffer, kind: string} | {problem: string}>} */
async function lwReadImage(file, name) {
  if (file.size > LW_IMAGE_RULES.max_bytes) {
    return { problem: /** @type {string} */ (lwImageProblem(name, file.size, new Uint8Array(0))) };
  }
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (err) {
    const why = String((err && /** @type {Error} */ (err).name) || err);
    return { problem: lwSay(LW_IMAGE_RULES.unreadable, { name, why }) };
  }
  const head = new Uint8Array(bytes, 0, Math.min(16, bytes.byteLength));
  const problem = lwImageProblem(name, bytes.byteLength, head);
  return problem ? { problem } : { bytes, kind: /** @type {string} */ (lwSniffImage(head)) };
}

/** The composer's images: `add(files)` checks and shows each (a thumbnail and a remove ×),
 *  or says in `problems` why it is not taken; `take()` hands the waiting images over and
 *  empties the tray.
 *  @param {{tray: HTMLElement, problems: HTMLElement, onChange?: () => void}} options
 *  @returns {{add(files: Iterable<File>): Promise<void>, take(): LwAttached[], count(): number,
 *             destroy(): void}} */
function lwAttachments({ tray, problems, onChange }) {
  /** @type {LwAttached[]} */
  let waiting = [];
  let seq = 0;
  const viewId = Math.random().toString(36).slice(2, 10);
  const changed = () => { tray.hidden = waiting.length === 0; if (onChange) onChange(); };

  function draw() {
    tray.replaceChildren(...waiting.map((img) => {
      const box = lwEl("figure", "lw-attachment");
      box.setAttribute("role", "listitem");
      const thumb = /** @type {HTMLImageElement} */ (lwEl("img", "lw-attachment__img"));
      thumb.src = img.url; // a blob: URL of the user's own file, never agent text
      thumb.alt = img.name;
      const remove = lwButton("lw-attachment-remove", "×", `Remove ${img.name}`);
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove ${img.name}`);
      remove.addEventListener("click", () => {
        URL.revokeObjectURL(img.url);
        waiting = waiting.filter((other) => other !== img);
        draw();
      });
      box.append(thumb, lwEl("figcaption", "lw-attachment__name", img.name), remove);
      return box;
    }));
    changed();
  }

  /** @param {Iterable<File>} files */
  async function add(files) {
    /** @type {string[]} */
    const refused = [];
    for (const file of Array.from(files)) {
      const name = lwShownName(file.name, waiting.length + refused.length + 1);
      const read = await lwReadImage(file, name);
      if ("problem" in read) { refused.push(read.problem); continue; }
      const url = URL.createObjectURL(new Blob([read.bytes], { type: read.kind }));
      waiting.push({ id: `${viewId}:${++seq}`, name, bytes: read.bytes, url });
    }
    problems.replaceChildren(...refused.map((text) => lwEl("div", "lw-attach-problem", text)));
    problems.hidden = refused.length === 0;
    draw();
  }

  function take() {
    const taken = waiting;
    for (const img of taken) URL.revokeObjectURL(img.url);
    waiting = [];
    problems.replaceChildren();
    problems.hidden = true;
    draw();
    return taken;
  }

  function destroy() {
    for (const img of waiting) URL.revokeObjectURL(img.url);
    waiting = [];
  }

  tray.hidden = true;
  problems.hidden = true;
  return { add, take, count: () => waiting.length, destroy };
}

/** The composer's image controls for a chat view `root`: an attach button (a real button;
 *  the file input it opens is visually hidden but labelled), the tray and the refusals, a
 *  paste of image files into a text box (`watchPaste`) and files dropped onto the cell.
 *  @param {HTMLElement} root
 *  @returns {{button: HTMLElement, fileInput: HTMLInputElement, tray: HTMLElement,
 *             problems: HTMLElement, attached: ReturnType<typeof lwAttachments>,
 *             watchPaste(box: HTMLElement): void, destroy(): void}} */
function lwImageComposer(root) {
  const what = `${LW_IMAGE_RULES.names}, at most ${LW_IMAGE_RULES.limit} each`;
  const tray = lwEl("div", "lw-attachments");
  tray.setAttribute("role", "list");
  tray.setAttribute("aria-label", "Images to send");
  const problems = lwEl("div", "lw-attach-problems");
  problems.setAttribute("role", "alert");
  const attached = lwAttachments({ tray, problems });
  const fileInput = /** @type {HTMLInputElement} */ (lwEl("input", "lw-image-input lw-visually-hidden"));
  fileInput.type = "file";
  fileInput.multiple = true;
  fileInput.accept = Object.keys(LW_IMAGE_RULES.kinds).join(",");
  fileInput.tabIndex = -1; // the button is the way in, by mouse and keyboard alike
  fileInput.setAttribute("aria-label", `Attach images (${what})`);
  const button = lwButton("lw-image-button", "+", `Attach images (${what})`);
  button.type = "button";
  button.setAttribute("aria-label", `Attach images (${what})`);
  button.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const files = Array.from(fileInput.files || []);
    fileInput.value = ""; // the same file again is a change too
    attached.add(files);
  });

  /** @param {DragEvent} event */
  const carriesFiles = (event) => !!event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  /** @param {DragEvent} event */
  const over = (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // a drop here, not the browser opening the file
    event.stopPropagation();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    root.classList.add("lw-dropping");
  };
  /** @param {DragEvent} event */
  const leave = (event) => {
    if (!root.contains(/** @type {Node | null} */ (event.relatedTarget))) root.classList.remove("lw-dropping");
  };
  /** @param {DragEvent} event */
  const drop = (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.stopPropagation();
    root.classList.remove("lw-dropping");
    attached.add(Array.from((event.dataTransfer && event.dataTransfer.files) || []));
  };
  root.addEventListener("dragover", over);
  root.addEventListener("dragleave", leave);
  root.addEventListener("drop", drop);

  /** @param {HTMLElement} box */
  function watchPaste(box) {
    box.addEventListener("paste", (event) => {
      const data = /** @type {ClipboardEvent} */ (event).clipboardData;
      const files = Array.from((data && data.files) || []);
      if (!files.length) return;
      if (!data || !Array.from(data.types).includes("text/plain")) event.preventDefault();
      attached.add(files);
    });
  }

  function destroy() {
    root.removeEventListener("dragover", over);
    root.removeEventListener("dragleave", leave);
    root.removeEventListener("drop", drop);
    attached.destroy();
  }
  return { button, fileInput, tray, problems, attached, watchPaste, destroy };
}
