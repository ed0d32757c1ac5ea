// node --test: lwRpc, the one request channel every widget view uses (common.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const source = readFileSync(new URL("../../letta_widgets/static/common.js", import.meta.url), "utf8");

function load() {
  const context = vm.createContext({ AbortController, Error, Math, Promise, setTimeout, clearTimeout });
  vm.runInContext(`const LW_MESSAGE_TYPES = {};\n${source}\nglobalThis.lw = { lwRpc, lwAborted };`, context);
  return context.lw;
}

function fakeModel() {
  const listeners = new Map();
  return {
    sent: [],
    send(msg) { this.sent.push(msg); },
    on(event, fn) { listeners.set(event, fn); },
    off(event) { listeners.delete(event); },
    reply(msg) { const fn = listeners.get("msg:custom"); if (fn) fn(msg); },
    listening: () => listeners.has("msg:custom"),
  };
}

test("a request gets its reply, matched by id; other views' replies are ignored", async () => {
  const { lwRpc } = load();
  const model = fakeModel();
  const rpc = lwRpc(model);
  const answer = rpc.call("messages", { conversation_id: "conv-1" });
  const [sent] = model.sent;
  assert.equal(sent.kind, "rpc");
  assert.equal(sent.method, "messages");
  assert.deepEqual({ ...sent.params }, { conversation_id: "conv-1" });
  model.reply({ kind: "reply", id: "someone-else:1", result: "not mine" });
  assert.equal(rpc.pending(), 1);
  model.reply({ kind: "reply", id: sent.id, result: { items: [1, 2] } });
  assert.deepEqual({ ...(await answer) }.items.length, 2);
  assert.equal(rpc.pending(), 0);
});

test("an error reply rejects with the sentence Python wrote", async () => {
  const { lwRpc } = load();
  const model = fakeModel();
  const answer = lwRpc(model).call("details", { key: "k" });
  model.reply({ kind: "reply", id: model.sent[0].id, error: "message m was not found" });
  await assert.rejects(answer, /message m was not found/);
});

test("abort sends an abort for that id and rejects with an AbortError", async () => {
  const { lwRpc, lwAborted } = load();
  const model = fakeModel();
  const rpc = lwRpc(model);
  const ctrl = new AbortController();
  const answer = rpc.call("messages", {}, { signal: ctrl.signal });
  ctrl.abort();
  const err = await answer.catch((e) => e);
  assert.ok(lwAborted(err));
  assert.deepEqual({ ...model.sent[1] }, { kind: "abort", id: model.sent[0].id });
  model.reply({ kind: "reply", id: model.sent[0].id, error: "cancelled", cancelled: true });
  assert.equal(rpc.pending(), 0);
});

test("no answer in time: the request is aborted and rejected with a hint", async () => {
  const { lwRpc } = load();
  const model = fakeModel();
  const timers = [];
  const rpc = lwRpc(model, { timeoutMs: 5000, setTimer: (fn) => timers.push(fn), clearTimer: () => {} });
  const answer = rpc.call("stats", { ids: [] });
  timers[0]();
  await assert.rejects(answer, /no answer from the kernel in 5 s/);
  assert.equal(model.sent[1].kind, "abort");
});

test("destroy stops listening and aborts what is pending", async () => {
  const { lwRpc } = load();
  const model = fakeModel();
  const rpc = lwRpc(model);
  const answer = rpc.call("agents", {});
  rpc.destroy();
  await assert.rejects(answer, /the view was closed/);
  assert.equal(model.listening(), false);
  assert.equal(model.sent.at(-1).kind, "abort");
});

test("a settled request leaves no timer running", async () => {
  const { lwRpc } = load();
  const model = fakeModel();
  const live = new Set();
  const rpc = lwRpc(model, {
    setTimer: (fn) => { const h = {}; live.add(h); return h; },
    clearTimer: (h) => live.delete(h),
  });
  const answer = rpc.call("echo", {});
  assert.equal(live.size, 1);
  model.reply({ kind: "reply", id: model.sent[0].id, result: 1 });
  await answer;
  assert.equal(live.size, 0);
});

function modelWithAttrs() {
  const model = fakeModel();
  model.attrs = {};
  model.get = (name) => model.attrs[name];
  model.set = (name, value) => { model.attrs[name] = value; };
  return model;
}

test("replayed requests keep their latest answer; a saved view answers from it, sending nothing", async () => {
  const { lwRpc } = load();
  const model = modelWithAttrs();
  const live = lwRpc(model, { replay: ["messages"], saved: false });
  const first = live.call("messages", { conversation_id: "conv-1" });
  model.reply({ kind: "reply", id: model.sent[0].id, result: { items: ["old"] } });
  await first;
  const again = live.call("messages", { conversation_id: "conv-1" });
  model.reply({ kind: "reply", id: model.sent[1].id, result: { items: ["new"] } });
  await again;
  const other = live.call("details", { key: "k" }); // not a replayed request
  model.reply({ kind: "reply", id: model.sent[2].id, result: { raw: "x" } });
  await other;
  assert.deepEqual(Object.keys(model.attrs._lw_replay), ['messages {"conversation_id":"conv-1"}']);

  const sentBefore = model.sent.length;
  const saved = lwRpc(model, { replay: ["messages"], saved: true });
  const answer = await saved.call("messages", { conversation_id: "conv-1" });
  assert.deepEqual([...answer.items], ["new"]);
  await assert.rejects(saved.call("messages", { conversation_id: "conv-2" }), /not saved with this notebook/);
  await assert.rejects(saved.call("details", { key: "k" }), /not saved with this notebook/);
  assert.equal(model.sent.length, sentBefore); // no kernel to ask
});

test("the kept answers are bounded in number and size, the oldest dropped first", async () => {
  const { lwRpc } = load();
  const model = modelWithAttrs();
  const live = lwRpc(model, { replay: ["messages"], saved: false });
  for (let i = 0; i < 20; i++) {
    const p = live.call("messages", { conversation_id: `conv-${i}` });
    model.reply({ kind: "reply", id: model.sent.at(-1).id, result: { i } });
    await p;
  }
  const keys = Object.keys(model.attrs._lw_replay);
  assert.equal(keys.length, 12);
  assert.ok(keys[0].includes("conv-8") && keys.at(-1).includes("conv-19"));
  const huge = live.call("messages", { conversation_id: "huge" });
  model.reply({ kind: "reply", id: model.sent.at(-1).id, result: { text: "x".repeat(1600000) } });
  assert.equal((await huge).text.length, 1600000); // answered, but not kept
  assert.ok(!Object.keys(model.attrs._lw_replay).some((k) => k.includes("huge")));
});
