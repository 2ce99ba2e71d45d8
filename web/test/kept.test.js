import assert from "node:assert/strict";
import { test } from "node:test";

import { downloadName } from "../app/kept.js";

test("the downloaded file is named after the id's last segment", () => {
  assert.equal(downloadName("notes/main.rs"), "main.rs");
  assert.equal(downloadName("会议记录"), "会议记录.txt");
  assert.equal(downloadName("My Notes Ü 2024!"), "My Notes Ü 2024!.txt");
  assert.equal(downloadName(".hidden"), ".hidden.txt");
  assert.equal(downloadName('a:b*c?.md'), "a_b_c_.md");
});
