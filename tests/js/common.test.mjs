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
