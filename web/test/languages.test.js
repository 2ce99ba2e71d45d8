import assert from "node:assert/strict";
import { test } from "node:test";

import { languageFor } from "../app/languages.js";

test("the extension of the id's last segment picks the language", () => {
  assert.equal(languageFor("src/main.rs"), "rust");
  assert.equal(languageFor("NOTES.MD"), "markdown");
  assert.equal(languageFor("app/view.tsx"), "tsx");
  assert.equal(languageFor("a.b/script.py"), "python");
  assert.equal(languageFor("package.json"), "json");
});

test("anything else is plain text", () => {
  for (const id of ["notes", "会议记录", "My Notes Ü 2024!", ".rs", "dir.rs/readme", "file.unknown", "x.constructor", "x.toString"]) {
    assert.equal(languageFor(id), null, id);
  }
});
