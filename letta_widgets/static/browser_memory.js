// @ts-check
// ConversationBrowser: the shared-memory panel (a factory, wired by browser.js's render).

/** @typedef {{label: string, value: string, chars: number, limit?: number | null,
 *             read_only?: boolean, changed?: boolean, new?: boolean, previous?: string}} LwBlock
 *  One memory block as the widget's ``blocks`` trait holds it. */

/** The agent's memory blocks, with their use of the limit, what changed since they were last
 *  shown, and which ones the selected conversation holds an older copy of.
 *  @param {{checked: HTMLElement, stale: HTMLElement, blocks: HTMLElement}} parts
 *  @returns {{draw(blocks: LwBlock[], staleLabels: string[], checkedAt?: string): void}} */
function lwMemoryPanel({ checked, stale, blocks: list }) {
  /** @param {LwBlock[]} blocks @param {string[]} staleLabels @param {string} [checkedAt] */
  function draw(blocks, staleLabels, checkedAt) {
    const older = new Set(staleLabels);
    checked.textContent = checkedAt ? `read ${checkedAt}` : "";
    stale.replaceChildren();
    if (older.size) {
      stale.append(lwEl("span", "", `The selected conversation runs on an older copy of: ${[...older].join(", ")}`));
    }
    list.replaceChildren();
    if (!blocks.length) list.append(lwEl("div", "lw-status", "No memory blocks."));
    for (const b of blocks) {
      const box = lwEl("div", "lw-block");
      box.dataset.label = b.label;
      box.classList.toggle("lw-block--changed", !!b.changed);
      box.classList.toggle("lw-block--stale", older.has(b.label));
      const head = lwEl("div", "lw-block-head");
      head.append(lwEl("span", "lw-block-label", b.label));
      if (b.changed) head.append(lwEl("span", "lw-badge lw-badge--changed", b.new ? "new" : "changed"));
      if (older.has(b.label)) {
        const mark = lwEl("span", "lw-badge lw-badge--stale", "newer than this conversation's copy");
        mark.title = "The selected conversation was compiled with an older value of this block (see its header)";
        head.append(mark);
      }
      if (b.read_only) head.append(lwEl("span", "lw-badge", "read-only"));
      const used = lwEl("div", "lw-block-usage");
      const limit = b.limit || 0;
      used.append(lwEl("span", "lw-block-chars", `${b.chars.toLocaleString()} / ${limit ? limit.toLocaleString() : "?"} chars`));
      const meter = lwEl("div", "lw-meter");
      const fill = lwEl("div", "lw-meter-fill");
      fill.style.width = `${limit ? Math.min(100, (100 * b.chars) / limit).toFixed(1) : 0}%`;
      meter.append(fill);
      used.append(meter);
      const value = lwEl("pre", "lw-block-value", b.value);
      box.append(head, used, value);
      if (b.changed && b.previous) box.append(lwEl("div", "lw-block-previous", `was: ${b.previous}`));
      list.append(box);
    }
  }
  return { draw };
}
