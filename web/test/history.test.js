import assert from "node:assert/strict";
import { test } from "node:test";

import { PALETTE, authorColor, nameColor } from "../app/color.js";
import { advanceChars, changeCounts, diffSegments } from "../app/history-diff.js";
import { dayKey, groupByDay, timeOfDay, versionBefore, versionTitle } from "../app/history-days.js";

/**
 * A version at `iso` (UTC).
 * @param {number} id
 * @param {string} iso
 * @param {Partial<import("../app/history-days.js").Version>} [extra]
 * @returns {import("../app/history-days.js").Version}
 */
const version = (id, iso, extra = {}) => ({
  id,
  created_at_ms: Date.parse(iso),
  name: null,
  authors: [],
  chars: 0,
  kind: "auto",
  ...extra,
});
const utc = () => 0;
const tokyo = () => 9 * 60;

test("versions fall into local days, newest day first, labelled from now", () => {
  const now = Date.parse("2026-12-06T15:00:00Z");
  const versions = [
    version(5, "2026-12-06T14:30:00Z"),
    version(4, "2026-12-06T00:10:00Z"),
    version(3, "2026-12-05T23:50:00Z"),
    version(2, "2026-11-20T09:00:00Z"),
    version(1, "2025-03-02T09:00:00Z"),
  ];
  const days = groupByDay(versions, now, { offset: utc, locale: "en-GB" });
  assert.deepEqual(
    days.map((d) => d.versions.map((v) => v.id)),
    [[5, 4], [3], [2], [1]],
  );
  assert.deepEqual(days.slice(0, 2).map((d) => d.label), ["Today", "Yesterday"]);
  // Older days in words (ICU decides the commas); the year only when it is not this one.
  assert.match(days[2].label, /^Friday,? 20 November$/);
  assert.match(days[3].label, /^Sunday,? 2 March,? 2025$/);
});

test("the day boundary is the reader's midnight, not UTC's", () => {
  const now = Date.parse("2026-12-06T15:00:00Z"); // 00:00 on the 7th in Tokyo
  const days = groupByDay([version(2, "2026-12-06T15:30:00Z"), version(1, "2026-12-06T14:30:00Z")], now, {
    offset: tokyo,
    locale: "en-GB",
  });
  assert.deepEqual(
    days.map((d) => [d.key, d.label, d.versions.length]),
    [
      ["2026-12-07", "Today", 1],
      ["2026-12-06", "Yesterday", 1],
    ],
  );
  assert.equal(timeOfDay(Date.parse("2026-12-06T15:30:00Z"), tokyo), "00:30");
  assert.equal(dayKey(Date.parse("2026-12-06T14:59:00Z"), tokyo), "2026-12-06");
});

test("a list out of order is still shown newest first", () => {
  const days = groupByDay([version(1, "2026-12-06T10:00:00Z"), version(2, "2026-12-06T11:00:00Z")], 0, { offset: utc });
  assert.deepEqual(days[0].versions.map((v) => v.id), [2, 1]);
});

test("entries are called by their name or by what made them", () => {
  assert.equal(versionTitle(version(1, "2026-01-01T00:00:00Z", { kind: "named", name: "draft 1" })), "draft 1");
  assert.equal(versionTitle(version(1, "2026-01-01T00:00:00Z", { kind: "restore" })), "Restored an earlier version");
  assert.equal(versionTitle(version(1, "2026-01-01T00:00:00Z")), "Saved automatically");
});

test("a version is compared with the one just before it", () => {
  const list = [version(9, "2026-01-03T00:00:00Z"), version(7, "2026-01-02T00:00:00Z"), version(3, "2026-01-01T00:00:00Z")];
  assert.equal(versionBefore(list, 9)?.id, 7);
  assert.equal(versionBefore(list, 7)?.id, 3);
  assert.equal(versionBefore(list, 3), null);
});

test("diff runs become kept, inserted and deleted pieces of the preview", () => {
  const old = "one two three";
  const runs = [{ retain: 4 }, { delete: 4 }, { retain: 5 }, { insert: " four" }];
  assert.deepEqual(diffSegments(old, runs), [
    { kind: "same", text: "one " },
    { kind: "deleted", text: "two " },
    { kind: "same", text: "three" },
    { kind: "inserted", text: " four" },
  ]);
  assert.deepEqual(changeCounts(diffSegments(old, runs)), { inserted: 5, deleted: 4 });
});

test("the server leaves out the trailing retain; the rest of the old text is kept", () => {
  assert.deepEqual(diffSegments("abc def", [{ insert: "X" }]), [
    { kind: "inserted", text: "X" },
    { kind: "same", text: "abc def" },
  ]);
  assert.deepEqual(diffSegments("same", []), [{ kind: "same", text: "same" }]);
  assert.deepEqual(diffSegments("", [{ insert: "new" }]), [{ kind: "inserted", text: "new" }]);
});

test("counts are chars: emoji and CJK are one each, never split", () => {
  const old = "😀中文👍🏽 end";
  // Keep 😀, delete 中文, keep 👍🏽 (two code points), insert, keep the rest.
  const runs = [{ retain: 1 }, { delete: 2 }, { retain: 2 }, { insert: "🎉" }];
  assert.deepEqual(diffSegments(old, runs), [
    { kind: "same", text: "😀" },
    { kind: "deleted", text: "中文" },
    { kind: "same", text: "👍🏽" },
    { kind: "inserted", text: "🎉" },
    { kind: "same", text: " end" },
  ]);
  assert.deepEqual(changeCounts(diffSegments(old, runs)), { inserted: 1, deleted: 2 });
  assert.equal(advanceChars("😀x", 0, 1), 2);
});

test("runs past the end of the old text are cut there", () => {
  assert.deepEqual(diffSegments("ab", [{ retain: 5 }, { delete: 3 }, { insert: "c" }]), [
    { kind: "same", text: "ab" },
    { kind: "inserted", text: "c" },
  ]);
});

test("an author has the colour of their cursor when present, else one fixed by the name", () => {
  const present = [{ name: "Ada", color: "#123456" }, { name: "Bo", color: "not a colour" }];
  assert.equal(authorColor("Ada", present), "#123456");
  assert.equal(authorColor("Bo", present), "#6b7280", "a bad colour from a peer is not used");
  assert.equal(authorColor("Cy", present), nameColor("Cy"));
  assert.ok(PALETTE.includes(nameColor("Cy")));
  assert.equal(nameColor("Cy"), nameColor("Cy"));
  const spread = new Set(["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo"].map(nameColor));
  assert.ok(spread.size >= 4, `ten names in ${spread.size} colours`);
});
