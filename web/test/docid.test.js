import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_DOC_ID_BYTES, docIdError, docIdFromPath, docIdPath } from "../app/docid.js";

test("ids people type are valid, as typed", () => {
  for (const id of ["notes", "会议记录", "My Notes Ü 2024!", "team/notes/2024.md", "a", "🦀 crab", "x".repeat(MAX_DOC_ID_BYTES), ".hidden", "a..b"]) {
    assert.equal(docIdError(id), null, id);
  }
});

test("ids outside the rules say why", () => {
  const cases = [
    ["", /empty/],
    ["x".repeat(MAX_DOC_ID_BYTES + 1), /at most 512 bytes/],
    // 171 three-byte characters are 513 bytes though only 171 UTF-16 units.
    ["会".repeat(171), /at most 512 bytes/],
    ["a/", /empty segment/],
    ["/a", /empty segment/],
    ["a//b", /empty segment/],
    [".", /"\." segment/],
    ["a/./b", /"\." segment/],
    ["..", /"\.\." segment/],
    ["../etc", /"\.\." segment/],
    ["a\nb", /control/],
    ["tab\there", /control/],
    ["del\u007f", /control/],
    ["c1\u0085", /control/],
    ["lone \ud83d half", /Unicode/],
  ];
  for (const [id, reason] of cases) {
    const error = docIdError(/** @type {string} */ (id));
    assert.ok(error, JSON.stringify(id));
    assert.match(error, /** @type {RegExp} */ (reason), JSON.stringify(id));
  }
  assert.equal(docIdError("会".repeat(170)), null, "510 bytes");
});

test("paths percent-encode each segment and keep the slashes", () => {
  assert.equal(docIdPath("会议记录"), "/d/%E4%BC%9A%E8%AE%AE%E8%AE%B0%E5%BD%95");
  assert.equal(docIdPath("My Notes Ü 2024!"), "/d/My%20Notes%20%C3%9C%202024!");
  assert.equal(docIdPath("team/a b/c?#.md", "/"), "/team/a%20b/c%3F%23.md");
});

test("a page path gives back the id it was made from", () => {
  for (const id of ["会议记录", "My Notes Ü 2024!", "team/a b/c?#%.md", "notes"]) {
    assert.deepEqual(docIdFromPath(docIdPath(id)), { id });
    assert.deepEqual(docIdFromPath(docIdPath(id, "/")), { id });
  }
  assert.equal(docIdFromPath("/"), null);
  assert.equal(docIdFromPath("/index.html"), null);
  assert.equal(docIdFromPath("/d/"), null);
  assert.ok("error" in (docIdFromPath("/d/%E4%BC") ?? {}), "a cut UTF-8 sequence");
});
