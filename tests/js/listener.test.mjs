// node --test: lwListener (common.js), how every widget view listens to its model. A host's
// model may take one event name per on() call (marimo's does; Backbone splits a list).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const source = readFileSync(new URL("../../letta_widgets/static/common.js", import.meta.url), "utf8");

function load() {
  const context = vm.createContext({ AbortController, Error, Math, Promise, setTimeout, clearTimeout });
  vm.runInContext(`const LW_MESSAGE_TYPES = {};\n${source}\nglobalThis.lw = { lwListener };`, context);
  return context.lw;
}

/** A model like marimo's: one listener set per exact event name, no splitting. */
function oneNameModel() {
  const listeners = new Map();
  return {
    on(name, fn) { if (!listeners.has(name)) listeners.set(name, new Set()); listeners.get(name).add(fn); },
    off(name, fn) { listeners.get(name)?.delete(fn); },
    emit(name) { for (const fn of listeners.get(name) || []) fn(); },
    names: () => [...listeners].filter(([, fns]) => fns.size).map(([name]) => name).sort(),
  };
}

test("a space-separated list registers each event on its own, and the cleanups remove them", () => {
  const { lwListener } = load();
  const model = oneNameModel();
  const cleanups = [];
  const on = lwListener(model, cleanups);
  let calls = 0;
  on("change:status  change:status_text", () => { calls += 1; });
  on("msg:custom", () => { calls += 10; });
  assert.deepEqual(model.names(), ["change:status", "change:status_text", "msg:custom"]);
  model.emit("change:status");
  model.emit("change:status_text");
  model.emit("msg:custom");
  assert.equal(calls, 12);
  for (const fn of cleanups) fn();
  assert.deepEqual(model.names(), []);
  model.emit("change:status");
  assert.equal(calls, 12);
});
