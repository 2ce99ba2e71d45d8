// A version's preview, pure: the server's diff runs (`GET .../versions/VID/diff?against=OLD`,
// tandem_crdt::diff::runs) over the old text become segments to show, kept, inserted or
// deleted. The runs count chars (Unicode scalar values, the CRDT's unit); JS strings count
// UTF-16 units, so every count is walked over code points here and nowhere else.

/**
 * One step of the change, read from the start of the old text.
 * @typedef {{ retain: number } | { insert: string } | { delete: number }} Run
 */

/**
 * A piece of the preview.
 * @typedef {{ kind: "same" | "inserted" | "deleted", text: string }} Segment
 */

/**
 * The UTF-16 index `chars` code points after `at` in `text` (clamped to its end).
 * @param {string} text
 * @param {number} at UTF-16 index
 * @param {number} chars
 * @returns {number}
 */
export function advanceChars(text, at, chars) {
  let index = at;
  for (let n = 0; n < chars && index < text.length; n++) {
    const unit = text.charCodeAt(index);
    const pair = unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length;
    index += pair ? 2 : 1;
  }
  return index;
}

/**
 * The preview of the change `runs` from `oldText`: the new text with what was inserted and
 * what was deleted in place. Adjacent pieces of one kind are joined; empty ones dropped. Runs
 * reaching past the old text (it changed between two requests) are cut at its end.
 * @param {string} oldText
 * @param {Run[]} runs
 * @returns {Segment[]}
 */
export function diffSegments(oldText, runs) {
  /** @type {Segment[]} */
  const out = [];
  /** @param {Segment["kind"]} kind @param {string} text */
  const push = (kind, text) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last.kind === kind) last.text += text;
    else out.push({ kind, text });
  };
  let at = 0;
  for (const run of runs) {
    if ("insert" in run) {
      push("inserted", run.insert);
      continue;
    }
    const count = "retain" in run ? run.retain : run.delete;
    const end = advanceChars(oldText, at, count);
    push("retain" in run ? "same" : "deleted", oldText.slice(at, end));
    at = end;
  }
  // The server leaves a trailing retain out.
  push("same", oldText.slice(at));
  return out;
}

/**
 * How much changed: chars inserted and deleted.
 * @param {Segment[]} segments
 * @returns {{ inserted: number, deleted: number }}
 */
export function changeCounts(segments) {
  let inserted = 0;
  let deleted = 0;
  for (const segment of segments) {
    const chars = [...segment.text].length;
    if (segment.kind === "inserted") inserted += chars;
    if (segment.kind === "deleted") deleted += chars;
  }
  return { inserted, deleted };
}
