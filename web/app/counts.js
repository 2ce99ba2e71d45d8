// Word, line and character counts of a text, for the status bar. Characters are Unicode code
// points (what the CRDT counts; an emoji is one); words are what Intl.Segmenter calls word-like,
// so CJK text, which has no spaces, is counted by its words too.

/** @typedef {{ words: number, lines: number, chars: number }} Counts */

const segmenter = new Intl.Segmenter(undefined, { granularity: "word" });

/**
 * @param {string} text
 * @returns {Counts}
 */
export function countText(text) {
  let words = 0;
  for (const segment of segmenter.segment(text)) if (segment.isWordLike) words++;
  let chars = 0;
  for (const _ of text) chars++;
  return { words, lines: text.split("\n").length, chars };
}

/**
 * "3 words · 1 line · 14 characters".
 * @param {Counts} counts
 * @returns {string}
 */
export function formatCounts({ words, lines, chars }) {
  const plural = (/** @type {number} */ n, /** @type {string} */ unit) => `${n.toLocaleString("en")} ${unit}${n === 1 ? "" : "s"}`;
  return [plural(words, "word"), plural(lines, "line"), plural(chars, "character")].join(" · ");
}
