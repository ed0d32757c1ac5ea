// node --test: the pure helpers of letta_widgets/static/common.js, loaded as the widgets load
// them (the message-type table first, as bundle() prepends it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import vm from "node:vm";

const here = new URL(".", import.meta.url);
const source = readFileSync(new URL("../../letta_widgets/static/common.js", here), "utf8");
const python = process.env.LW_PYTHON || "python";
const table = execFileSync(python, ["-c",
  "from letta_widgets.letta.messages import types_json; print(types_json())"]).toString();

function load() {
  const context = vm.createContext({});
  vm.runInContext(`const LW_MESSAGE_TYPES = ${table};\n${source}\n` +
    "globalThis.lw = { lwTypeLabel, lwTypeKind, lwTypesOfGroup };", context);
  return context.lw;
}

test("labels come from the table, unknown types get a readable name", () => {
  const lw = load();
  assert.equal(lw.lwTypeLabel("tool_call_message"), "Tool call");
  assert.equal(lw.lwTypeLabel("assistant_message"), "Assistant");
  assert.equal(lw.lwTypeLabel("future_thing_message"), "future thing");
});

test("kinds and filter groups come from the table", () => {
  const lw = load();
  assert.equal(lw.lwTypeKind("reasoning_message"), "step");
  assert.equal(lw.lwTypeKind("user_message"), "input");
  assert.equal(lw.lwTypeKind("nonsense"), "");
  assert.deepEqual([...lw.lwTypesOfGroup("reasoning")].sort(),
    ["hidden_reasoning_message", "reasoning_message"]);
  assert.deepEqual([...lw.lwTypesOfGroup("")], []);
  assert.ok(lw.lwTypesOfGroup("tools").includes("approval_response_message"));
});

test("URLs: links to http(s), mailto or a fragment; an image's src only as inline data", () => {
  const context = vm.createContext({});
  vm.runInContext(`const LW_MESSAGE_TYPES = ${table};\n${source}\n` +
    "globalThis.lwUrlAllowed = lwUrlAllowed;", context);
  const allowed = context.lwUrlAllowed;
  const png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
  assert.equal(allowed("A", "href", "https://example.com/"), true);
  assert.equal(allowed("A", "href", "mailto:a@example.com"), true);
  assert.equal(allowed("A", "href", "#top"), true);
  assert.equal(allowed("IMG", "src", png), true);
  for (const kind of ["jpeg", "gif", "webp", "PNG"]) {
    assert.equal(allowed("IMG", "src", `data:image/${kind};base64,AAAA`), true, kind);
  }
  const refused = [
    ["A", "href", "javascript:alert(1)"],
    ["A", "href", png], // no data: link (a click would open it as a page)
    ["A", "href", "data:text/html;base64,PHNjcmlwdD4="],
    ["IMG", "src", "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"],
    ["IMG", "src", "data:image/svg+xml,<svg onload=alert(1)>"],
    ["IMG", "src", "data:text/html;base64,PHNjcmlwdD4="],
    ["IMG", "src", "javascript:alert(1)"],
    ["IMG", "src", "https://tracker.example/pixel.gif"],
    ["IMG", "src", "//tracker.example/pixel.gif"],
    ["IMG", "src", "pixel.gif"],
    ["IMG", "src", "data:image/png,rawbytes"],
    ["IMG", "src", 'data:image/png;base64,AAAA"onerror="alert(1)'],
    ["IMG", "srcset", png + " 1x"],
    ["IMG", "srcset", "https://tracker.example/a.png 1x"],
    ["VIDEO", "poster", png],
    ["SOURCE", "src", png],
    ["TABLE", "background", "https://tracker.example/bg.png"],
    ["A", "ping", "https://tracker.example/ping"],
    ["FORM", "action", "https://evil.example/"],
  ];
  for (const [tag, name, value] of refused) {
    assert.equal(allowed(tag, name, value), false, `${tag} ${name}=${value}`);
  }
});
