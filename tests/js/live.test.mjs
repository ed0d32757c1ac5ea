// node --test: lwLiveArea applies the named live ops (letta_widgets/widgets/live.py) to the
// DOM as text only, with a minimal stand-in for the few DOM calls it makes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

const source = readFileSync(new URL("../../letta_widgets/static/common.js", import.meta.url), "utf8");

class FakeText {
  constructor(data) { this.data = data; }
  appendData(more) { this.data += more; }
}
class FakeElement {
  constructor(tag) { this.tag = tag; this.children = []; this.className = ""; this.dataset = {}; this._text = ""; this.attrs = {}; }
  setAttribute(name, value) { this.attrs[name] = String(value); }
  set textContent(value) { this._text = String(value); this.children = []; }
  get textContent() { return this._text + this.children.map((c) => c.data ?? c.textContent).join(""); }
  append(...nodes) { this.children.push(...nodes); }
  appendChild(node) { this.children.push(node); return node; }
  replaceChildren(...nodes) { this.children = nodes; }
  set innerHTML(_) { throw new Error("live text must never be set as HTML"); }
}
const document = {
  createElement: (tag) => new FakeElement(tag),
  createTextNode: (data) => new FakeText(data),
};

function liveArea() {
  const context = vm.createContext({ document, Math, setTimeout, clearTimeout, AbortController, Error });
  vm.runInContext(`const LW_MESSAGE_TYPES = ${JSON.stringify({
    assistant_message: { label: "Assistant", kind: "answer" },
    tool_call_message: { label: "Tool call", kind: "step" },
  })};\n${source}\nglobalThis.lwLiveArea = lwLiveArea;`, context);
  const box = new FakeElement("div");
  return { box, area: context.lwLiveArea(box) };
}

test("begin, delta and set build each message's text; reset clears them", () => {
  const { box, area } = liveArea();
  assert.equal(box.attrs["aria-hidden"], "true"); // tokens are never read: lwAnnouncer says the message once
  area.apply({ op: "begin", i: 0, type: "assistant_message", text: "Hel" });
  area.apply({ op: "delta", i: 0, text: "lo" });
  area.apply({ op: "begin", i: 1, type: "tool_call_message", text: "" });
  area.apply({ op: "set", i: 1, text: 'search({"q": "<b>tea</b>"})' });
  assert.equal(area.size(), 2);
  const [first, second] = box.children;
  assert.match(first.className, /lw-msg--assistant_message/);
  assert.equal(first.children[0].textContent, "Assistant");
  assert.equal(first.children[1].textContent, "Hello");
  assert.equal(second.children[0].textContent, "Tool call");
  assert.equal(second.children[1].textContent, 'search({"q": "<b>tea</b>"})'); // text, not markup
  area.apply({ op: "reset" });
  assert.equal(area.size(), 0);
  assert.equal(box.children.length, 0);
});

test("ops for a message that never began are ignored", () => {
  const { box, area } = liveArea();
  area.apply({ op: "delta", i: 7, text: "orphan" });
  area.apply({ op: "set", i: 7, text: "orphan" });
  assert.equal(box.children.length, 0);
});
