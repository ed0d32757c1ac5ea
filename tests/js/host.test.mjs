// node --test: what common.js does so that one front-end fits every anywidget host: lwListener
// (a host's model may take one event name per on() call: marimo's does, Backbone splits a
// list), lwFocused (a view in a shadow root) and lwDarkBehind (the page's background).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const source = readFileSync(new URL("../../letta_widgets/static/common.js", import.meta.url), "utf8");

function load(globals = {}) {
  const context = vm.createContext({ AbortController, Error, Math, Promise, setTimeout, clearTimeout, ...globals });
  vm.runInContext(`const LW_MESSAGE_TYPES = {};\n${source}\nglobalThis.lw = { lwListener, lwFocused, lwDarkBehind };`, context);
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

test("the focused element is asked of the view's own root: a shadow root, else the document", () => {
  const inShadow = { tag: "textarea" };
  const documentStub = { activeElement: { tag: "marimo-anywidget" } };
  const { lwFocused } = load({ document: documentStub });
  const shadowRoot = { activeElement: inShadow, host: documentStub.activeElement };
  assert.equal(lwFocused({ getRootNode: () => shadowRoot }), inShadow);
  assert.equal(lwFocused({ getRootNode: () => documentStub }), documentStub.activeElement);
  const detached = { getRootNode() { return this; } }; // its own root: no activeElement
  assert.equal(lwFocused(detached), documentStub.activeElement);
});

test("dark or light after the first opaque background behind the view, through shadow hosts", () => {
  const styles = new Map();
  const node = (bg, parent = null) => { const n = { parentElement: parent, getRootNode: () => ({}) }; styles.set(n, bg); return n; };
  const globals = { getComputedStyle: (n) => ({ backgroundColor: styles.get(n) }), matchMedia: () => ({ matches: true }) };
  const { lwDarkBehind } = load(globals);
  const darkPage = node("rgb(24, 24, 27)");
  const host = node("rgba(0, 0, 0, 0)", node("rgba(0, 0, 0, 0)", darkPage));
  const view = { parentElement: null, getRootNode: () => ({ host }) }; // the root of a shadow tree
  assert.equal(lwDarkBehind(view), true);
  const lightPage = node("color(srgb 1 1 1)");
  assert.equal(lwDarkBehind(node("rgba(0, 0, 0, 0)", node("transparent", lightPage))), false);
  assert.equal(lwDarkBehind(node("rgb(250, 250, 250)", node("rgb(250, 250, 250)"))), false);
  // nothing opaque at all: the reader's colour scheme decides
  assert.equal(lwDarkBehind(node("rgba(0, 0, 0, 0)")), true);
});
