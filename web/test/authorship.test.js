import assert from "node:assert/strict";
import { test } from "node:test";

import { authorRanges, authorsOf } from "../app/authorship.js";

test("runs become ranges in UTF-16 units; text of unknown authorship is left plain", () => {
  // "Ada😀" (5 units), "中文" by nobody known, "Bo" — a text of 9 UTF-16 units.
  const runs = [
    { chars: 4, utf16: 5, author: "Ada" },
    { chars: 2, utf16: 2, author: null },
    { chars: 2, utf16: 2, author: "Bo" },
  ];
  assert.deepEqual(authorRanges(runs, 9), [
    { from: 0, to: 5, author: "Ada" },
    { from: 7, to: 9, author: "Bo" },
  ]);
  assert.deepEqual(authorRanges([], 0), []);
});

test("runs that do not cover the editor's text exactly are not used", () => {
  const runs = [{ chars: 3, utf16: 3, author: "Ada" }];
  assert.equal(authorRanges(runs, 4), null, "the editor has a char the server has not seen");
  assert.equal(authorRanges(runs, 2), null);
});

test("malformed answers are not used", () => {
  for (const bad of [null, {}, "[]", [{ chars: 1, author: "x" }], [{ utf16: 0, author: "x" }], [{ utf16: 1.5, author: "x" }], [null]]) {
    assert.equal(authorRanges(bad, 1), null, JSON.stringify(bad));
  }
  assert.deepEqual(authorRanges([{ chars: 1, utf16: 1, author: 7 }], 1), [], "a name that is not a string is unknown");
});

test("the legend names each author once, in order of appearance", () => {
  const ranges = [
    { from: 0, to: 1, author: "Bo" },
    { from: 1, to: 2, author: "Ada" },
    { from: 2, to: 3, author: "Bo" },
  ];
  assert.deepEqual(authorsOf(ranges), ["Bo", "Ada"]);
});
