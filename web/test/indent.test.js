import assert from "node:assert/strict";
import { test } from "node:test";

import { EditorSelection, EditorState } from "@codemirror/state";
import { indentUnit } from "@codemirror/language";

import { TAB_WIDTH, dedent, insertTab } from "../app/indent.js";

/**
 * Runs `command` on `text`, where `|` marks cursors and `[...]` selections; returns the result
 * in the same notation.
 * @param {string} text
 * @param {(target: { state: EditorState, dispatch: (tr: import("@codemirror/state").Transaction) => void }) => boolean} command
 * @returns {string}
 */
function run(text, command) {
  const ranges = [];
  let doc = "";
  let anchor = -1;
  for (const ch of text) {
    if (ch === "|") ranges.push(EditorSelection.cursor(doc.length));
    else if (ch === "[") anchor = doc.length;
    else if (ch === "]") ranges.push(EditorSelection.range(anchor, doc.length));
    else doc += ch;
  }
  let state = EditorState.create({
    doc,
    selection: EditorSelection.create(ranges),
    extensions: [EditorState.allowMultipleSelections.of(true), indentUnit.of(" ".repeat(TAB_WIDTH))],
  });
  command({ state, dispatch: (tr) => (state = tr.state) });
  let out = state.doc.toString();
  for (const range of [...state.selection.ranges].reverse()) {
    out = range.empty
      ? out.slice(0, range.from) + "|" + out.slice(range.from)
      : out.slice(0, range.from) + "[" + out.slice(range.from, range.to) + "]" + out.slice(range.to);
  }
  return out;
}

test("Tab inserts spaces to the next tab stop at the cursor, not at the line start", () => {
  assert.equal(run("ab|cd", insertTab), "ab  |cd");
  assert.equal(run("|x", insertTab), "    |x");
  assert.equal(run("abcd|", insertTab), "abcd    |");
  assert.equal(run("a|b\ncd|", insertTab), "a   |b\ncd  |");
});

test("Tab never replaces a selection: it indents its line (issue 11, as the terminal editor does)", () => {
  assert.equal(run("a[bc]d", insertTab), "    a[bc]d");
});

test("Tab indents every line of a multi-line selection", () => {
  assert.equal(run("[one\ntwo]\nthree", insertTab), "    [one\n    two]\nthree");
});

test("Shift-Tab dedents the lines of the selection", () => {
  assert.equal(run("    [one\n      two]", dedent), "[one\n  two]");
  assert.equal(run("    a|b", dedent), "a|b");
});
