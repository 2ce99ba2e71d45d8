import assert from "node:assert/strict";
import { test } from "node:test";

import { countText, formatCounts } from "../app/counts.js";

test("words, lines and characters, emoji and CJK included", () => {
  assert.deepEqual(countText(""), { words: 0, lines: 1, chars: 0 });
  assert.deepEqual(countText("typed from the keyboard"), { words: 4, lines: 1, chars: 23 });
  assert.deepEqual(countText("one\ntwo 🎉\n"), { words: 2, lines: 3, chars: 10 });
  const cjk = countText("会议记录");
  assert.equal(cjk.chars, 4);
  assert.ok(cjk.words >= 1 && cjk.words <= 4, `${cjk.words} words`);
});

test("counts read as a person would say them", () => {
  assert.equal(formatCounts({ words: 1, lines: 1, chars: 1 }), "1 word · 1 line · 1 character");
  assert.equal(formatCounts({ words: 1200, lines: 3, chars: 0 }), "1,200 words · 3 lines · 0 characters");
});
