// node --test: the image checks of letta_widgets/static/chat_attach.js, with the rules
// bundle() prepends (LW_IMAGE_RULES from letta_widgets/letta/images.py): the same kinds,
// limit and wording as Python's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import vm from "node:vm";

const here = new URL(".", import.meta.url);
const source = readFileSync(new URL("../../letta_widgets/static/chat_attach.js", here), "utf8");
const python = process.env.LW_PYTHON || "python";
const rules = execFileSync(python, ["-c",
  "from letta_widgets.letta.images import rules_json; print(rules_json())"]).toString();

function load() {
  const context = vm.createContext({});
  vm.runInContext(`const LW_IMAGE_RULES = ${rules};\n${source}\n` +
    "globalThis.lw = { lwSniffImage, lwShownName, lwImageProblem, lwSizeText };", context);
  return context.lw;
}

const bytes = (...xs) => new Uint8Array(xs.flatMap((x) => typeof x === "string" ? [...x].map((c) => c.charCodeAt(0)) : [x]));
const PNG = bytes(0x89, "PNG\r\n\x1a\n", 0, 0, 0, 13);
const MB = 1024 * 1024;

test("the kind comes from the first bytes", () => {
  const { lwSniffImage } = load();
  assert.equal(lwSniffImage(PNG), "image/png");
  assert.equal(lwSniffImage(bytes(0xff, 0xd8, 0xff, 0xe0)), "image/jpeg");
  assert.equal(lwSniffImage(bytes("GIF89a", 1, 0)), "image/gif");
  assert.equal(lwSniffImage(bytes("GIF87a", 1, 0)), "image/gif");
  assert.equal(lwSniffImage(bytes("RIFF", 0, 0, 0, 0, "WEBPVP8 ")), "image/webp");
  for (const other of [bytes("BM", 0, 0), bytes("<svg onload=alert(1)>"), bytes("RIFF", 0, 0, 0, 0, "WAVE"),
    bytes("GIF88a"), bytes(0x89, "PN"), bytes()]) {
    assert.equal(lwSniffImage(other), null);
  }
});

test("refusals are worded as Python words them", () => {
  const { lwImageProblem } = load();
  assert.equal(lwImageProblem("photo.bmp", 54, bytes("BM", 0, 0)),
    "photo.bmp: not an image type Letta accepts (PNG, JPEG, GIF, WebP)");
  assert.equal(lwImageProblem("cat.png", 40, bytes("<svg>")), // a name does not make an image
    "cat.png: not an image type Letta accepts (PNG, JPEG, GIF, WebP)");
  assert.equal(lwImageProblem("big.png", Math.round(7.2 * MB), PNG), "big.png: 7.2 MB, images are at most 5 MB");
  assert.equal(lwImageProblem("edge.png", 5 * MB + 1, PNG), "edge.png: 5.0 MB, images are at most 5 MB");
  assert.equal(lwImageProblem("ok.png", 5 * MB, PNG), null);
  assert.equal(lwImageProblem("empty.png", 0, bytes()), "empty.png: the file is empty");
});

test("hostile names are shown harmlessly", () => {
  const { lwShownName } = load();
  assert.equal(lwShownName("C:\\Users\\ada\\cat.png", 1), "cat.png");
  assert.equal(lwShownName("../../etc/passwd", 1), "passwd");
  assert.equal(lwShownName("evil\u202egnp.exe", 1), "evilgnp.exe");
  assert.equal(lwShownName("a\nb\r\u0000c\u001b[31m.png", 1), "abc[31m.png");
  assert.equal(lwShownName("   ", 2), "image 2");
  assert.equal(lwShownName("x".repeat(500), 1), "x".repeat(79) + "…");
});
