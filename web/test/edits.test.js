import assert from "node:assert/strict";
import { test } from "node:test";

import { ChangeSet, Text } from "@codemirror/state";

import { replacements, splitsPair } from "../app/edits.js";

/**
 * The replacements for `spec` applied to `before`, and a check that replaying them on a model of
 * the client (a plain string edited in order) gives the editor's new text.
 * @param {string} before
 * @param {import("@codemirror/state").ChangeSpec} spec
 */
function mapped(before, spec) {
  const doc = Text.of(before.split("\n"));
  const changes = ChangeSet.of(spec, doc.length);
  const newDoc = changes.apply(doc);
  const out = replacements(changes, newDoc);
  let model = before;
  for (const { from, to, text } of out) model = model.slice(0, from) + text + model.slice(to);
  assert.equal(model, newDoc.toString(), "replaying the replacements gives the editor's text");
  return out;
}

test("a plain insert and delete map one to one", () => {
  assert.deepEqual(mapped("hello", { from: 5, insert: " world" }), [{ from: 5, to: 5, text: " world" }]);
  assert.deepEqual(mapped("hello", { from: 1, to: 3 }), [{ from: 1, to: 3, text: "" }]);
});

test("several changes of one transaction come in the client's order, at new-document offsets", () => {
  const out = mapped("abcdef", [
    { from: 1, to: 2, insert: "XY" },
    { from: 4, insert: "中文" },
    { from: 5, to: 6 },
  ]);
  assert.deepEqual(out, [
    { from: 1, to: 2, text: "XY" },
    { from: 5, to: 5, text: "中文" },
    { from: 8, to: 9, text: "" },
  ]);
});

test("offsets are UTF-16 units: an emoji before the edit counts two", () => {
  assert.deepEqual(mapped("😀x", { from: 3, insert: "!" }), [{ from: 3, to: 3, text: "!" }]);
});

test("Firefox's emoji in two halves: the second half widens to the whole pair", () => {
  // The first input event inserted the high half alone (the client holds U+FFFD for it).
  const afterFirst = "ab\ud83d";
  const out = mapped(afterFirst, { from: 3, insert: "\ude00" });
  assert.deepEqual(out, [{ from: 2, to: 3, text: "😀" }]);
});

test("a change that ends inside a pair widens to the right", () => {
  // The low half arrived first: inserting the high half before it completes the pair.
  assert.deepEqual(mapped("x\ude00y", { from: 1, insert: "\ud83d" }), [{ from: 1, to: 2, text: "😀" }]);
});

test("a replacement that cuts a pair on both sides widens both ways", () => {
  assert.deepEqual(mapped("\ud83d|\ude00", { from: 1, to: 2, insert: "\ude00\ud83d" }), [
    { from: 0, to: 3, text: "😀😀" },
  ]);
});

test("splitsPair sees only the middle of a real pair", () => {
  const doc = Text.of(["a😀b"]);
  assert.deepEqual([0, 1, 2, 3, 4].map((pos) => splitsPair(doc, pos)), [false, false, true, false, false]);
  assert.equal(splitsPair(Text.of(["\ud83d"]), 1), false, "the end of the document");
});
