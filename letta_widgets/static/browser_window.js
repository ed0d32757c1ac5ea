// @ts-check
// ConversationBrowser: the conversation list's windowing, as pure functions (node-tested in
// tests/js/window.test.mjs). Rows have measured heights, or the running mean of the measured
// ones until they are drawn; only the rows near the viewport are in the DOM.

/** Every row's top, plus the total height at the end (`offsets[n]`).
 *  @param {Array<[string, number]>} flat rows in display order ([id, depth])
 *  @param {Map<string, number>} heights measured heights by id @param {number} guess
 *  @returns {number[]} */
function lwRowOffsets(flat, heights, guess) {
  const n = flat.length;
  const off = new Array(n + 1);
  off[0] = 0;
  for (let i = 0; i < n; i++) {
    const h = heights.get(flat[i][0]);
    off[i + 1] = off[i] + (h === undefined ? guess : h);
  }
  return off;
}

/** The row at content height y: the last one starting at or above it (0 when none).
 *  @param {number[]} offsets @param {number} n @param {number} y @returns {number} */
function lwIndexAt(offsets, n, y) {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= y) lo = mid; else hi = mid - 1;
  }
  return Math.max(0, lo);
}

/** The rows to put into the DOM for a viewport: the first visible one, and [start, end)
 *  with `overscan` rows on each side.
 *  @param {number[]} offsets @param {number} n @param {number} top @param {number} view
 *  @param {number} overscan @returns {{first: number, start: number, end: number}} */
function lwWindowRange(offsets, n, top, view, overscan) {
  if (!n) return { first: 0, start: 0, end: 0 };
  const first = lwIndexAt(offsets, n, top);
  return {
    first,
    start: Math.max(0, first - overscan),
    end: Math.min(n, lwIndexAt(offsets, n, top + view) + 1 + overscan),
  };
}

/** The running mean of measured heights after one row measured `h` (it was `old`).
 *  @param {number} guess @param {number} measured rows measured, this one included
 *  @param {number} h @param {number | undefined} old @returns {number} */
function lwNextGuess(guess, measured, h, old) {
  return guess + (old === undefined ? h - guess : h - old) / measured;
}
