// node --test: what common.js announces to screen readers (lwNewAnswers, lwAnnouncer,
// lwSpokenText), with a minimal stand-in for the DOM calls they make.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const source = readFileSync(new URL("../../letta_widgets/static/common.js", import.meta.url), "utf8");

class FakeElement {
  constructor(tag) { this.tag = tag; this.children = []; this.className = ""; this.dataset = {}; this.attrs = {}; this._text = ""; }
  set textContent(value) { this._text = String(value); this.children = []; }
  get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
  setAttribute(name, value) { this.attrs[name] = String(value); }
  appendChild(node) { node.parent = this; this.children.push(node); return node; }
  get childElementCount() { return this.children.length; }
  get firstElementChild() { return this.children[0] || null; }
  remove() { this.parent.children = this.parent.children.filter((c) => c !== this); }
  querySelector(sel) { return this.find((n) => n.className.split(" ").includes(sel.slice(1))); }
  find(pred) {
    for (const c of this.children) { if (pred(c)) return c; const deep = c.find(pred); if (deep) return deep; }
    return null;
  }
  set innerHTML(_) { throw new Error("announced text must never be set as HTML"); }
}
const document = { createElement: (tag) => new FakeElement(tag) };

function load() {
  const context = vm.createContext({ document, Math, setTimeout, clearTimeout, AbortController, Error });
  vm.runInContext(`const LW_MESSAGE_TYPES = ${JSON.stringify({
    assistant_message: { label: "Assistant", kind: "answer" },
    user_message: { label: "User", kind: "input" },
    reasoning_message: { label: "Reasoning", kind: "step" },
    approval_request_message: { label: "Approval requested", kind: "step" },
  })};\n${source}\nglobalThis.lw = { lwNewAnswers, lwAnnouncer, lwSpokenText };`, context);
  return context.lw;
}

const item = (key, type, extra) => ({ key, type, html: "", ...extra });

test("the first draw announces nothing; answers appended later are announced once", () => {
  const { lwNewAnswers } = load();
  const history = [item("u1", "user_message"), item("a1", "assistant_message")];
  assert.equal(lwNewAnswers(null, history).length, 0); // a view opening on a transcript
  const keys = history.map((i) => i.key);
  const turn = [...history, item("u2", "user_message"), item("r2", "reasoning_message"),
    item("a2", "assistant_message"), item("a3", "assistant_message")];
  assert.deepEqual(lwNewAnswers(keys, turn).map((i) => i.key), ["a2", "a3"]);
  assert.equal(lwNewAnswers(turn.map((i) => i.key), turn).length, 0); // a redraw: nothing new
});

test("older pages loaded above are not announced; an empty transcript's first answer is", () => {
  const { lwNewAnswers } = load();
  const shown = [item("a5", "assistant_message")];
  const older = [item("a3", "assistant_message"), item("a4", "assistant_message"), ...shown];
  assert.equal(lwNewAnswers(["a5"], older).length, 0);
  assert.deepEqual(lwNewAnswers([], shown).map((i) => i.key), ["a5"]);
});

test("an approval request waiting for the user is announced, an answered one is not", () => {
  const { lwNewAnswers } = load();
  const items = [item("p1", "approval_request_message", { kind: "step", pending: true }),
    item("p0", "approval_request_message", { kind: "step", pending: false })];
  assert.deepEqual(lwNewAnswers([], items).map((i) => i.key), ["p1"]);
});

test("the announcer is a polite region of additions, kept short, text only", () => {
  const { lwAnnouncer, lwSpokenText } = load();
  const host = new FakeElement("div");
  const { say, node } = lwAnnouncer(host);
  assert.equal(node.attrs["aria-live"], "polite");
  assert.equal(node.attrs["aria-relevant"], "additions");
  assert.match(node.className, /lw-sr-only/);
  for (const n of [1, 2, 3, 4]) say(`answer ${n}`);
  say(""); // nothing to say: no change
  assert.deepEqual(node.children.map((c) => c.textContent), ["answer 2", "answer 3", "answer 4"]);
  const card = new FakeElement("div");
  const msg = card.appendChild(new FakeElement("div"));
  msg.className = "lw-msg";
  const body = msg.appendChild(new FakeElement("div"));
  body.className = "lw-msg__body";
  body.textContent = "  Hello,\n  <b>Ada</b>  ";
  assert.equal(lwSpokenText(card, item("a", "assistant_message")), "Assistant: Hello, <b>Ada</b>");
  assert.equal(lwSpokenText(null, item("a", "assistant_message")), "");
});
