// "Who wrote this", pure: the server's authorship runs (`GET /api/docs/ID/authors`, one run per
// stretch of the current text with one author) as ranges of the editor's text to colour.
// Positions are UTF-16 units (CodeMirror's), taken from each run's `utf16` length.

/**
 * A run as the server sends it.
 * @typedef {{ chars: number, utf16: number, author: string | null }} AuthorRun
 */

/**
 * A stretch of the editor's text by one known author.
 * @typedef {{ from: number, to: number, author: string }} AuthorRange
 */

/**
 * The ranges of `runs` with a known author, or null when the runs do not describe a text of
 * `length` UTF-16 units (the text changed between the server's answer and now: ask again
 * rather than colour the wrong letters) or are malformed.
 * @param {unknown} runs
 * @param {number} length the editor's text length in UTF-16 units
 * @returns {AuthorRange[] | null}
 */
export function authorRanges(runs, length) {
  if (!Array.isArray(runs)) return null;
  /** @type {AuthorRange[]} */
  const out = [];
  let at = 0;
  for (const run of runs) {
    const size = run?.utf16;
    if (!Number.isInteger(size) || size < 1) return null;
    const author = typeof run.author === "string" && run.author ? run.author : null;
    if (author) out.push({ from: at, to: at + size, author });
    at += size;
  }
  return at === length ? out : null;
}

/**
 * Every author of `ranges` once, in order of first appearance (the legend's order).
 * @param {AuthorRange[]} ranges
 * @returns {string[]}
 */
export function authorsOf(ranges) {
  return [...new Set(ranges.map((range) => range.author))];
}
