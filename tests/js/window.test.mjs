// node --test: the conversation list's windowing (letta_widgets/static/browser_window.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const source = readFileSync(new URL("../../letta_widgets/static/browser_window.js", import.meta.url), "utf8");
const context = vm.createContext({ Math });
vm.runInContext(`${source}\nglobalThis.lw = { lwRowOffsets, lwIndexAt, lwWindowRange, lwNextGuess };`, context);
const { lwRowOffsets, lwIndexAt, lwWindowRange, lwNextGuess } = context.lw;

const rows = (n) => Array.from({ length: n }, (_, i) => [`conv-${i}`, 0]);

test("offsets use measured heights, and the guess for the rest", () => {
  const heights = new Map([["conv-1", 80]]);
  assert.deepEqual([...lwRowOffsets(rows(3), heights, 48)], [0, 48, 128, 176]);
  assert.deepEqual([...lwRowOffsets([], heights, 48)], [0]);
});

test("the row at a height is the last one starting at or above it", () => {
  const off = lwRowOffsets(rows(10), new Map(), 50);
  assert.equal(lwIndexAt(off, 10, 0), 0);
  assert.equal(lwIndexAt(off, 10, 49), 0);
  assert.equal(lwIndexAt(off, 10, 50), 1);
  assert.equal(lwIndexAt(off, 10, 10_000), 9);
  assert.equal(lwIndexAt(off, 0, 10), 0);
});

test("the window covers the viewport plus the overscan, clamped to the list", () => {
  const off = lwRowOffsets(rows(1000), new Map(), 50);
  assert.deepEqual({ ...lwWindowRange(off, 1000, 5000, 400, 8) }, { first: 100, start: 92, end: 117 });
  assert.deepEqual({ ...lwWindowRange(off, 1000, 0, 400, 8) }, { first: 0, start: 0, end: 17 });
  assert.deepEqual({ ...lwWindowRange(off, 1000, 49_800, 400, 8) }, { first: 996, start: 988, end: 1000 });
  assert.deepEqual({ ...lwWindowRange(off, 0, 0, 400, 8) }, { first: 0, start: 0, end: 0 });
  // 100,000 rows: the window stays small
  const big = lwRowOffsets(rows(100_000), new Map(), 48);
  const w = lwWindowRange(big, 100_000, 2_400_000, 800, 8);
  assert.ok(w.end - w.start < 40);
});

test("the guess is the running mean of the measured heights", () => {
  let guess = 48;
  guess = lwNextGuess(guess, 1, 60, undefined);
  assert.equal(guess, 60);
  guess = lwNextGuess(guess, 2, 40, undefined);
  assert.equal(guess, 50);
  guess = lwNextGuess(guess, 2, 60, 40); // a row re-measured: the mean moves by the difference
  assert.equal(guess, 60);
});
