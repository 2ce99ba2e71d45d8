// From a CodeMirror transaction's changes to the replacements the tandem client applies. All
// positions are UTF-16 units (CodeMirror's unit); the WASM client converts them to chars.

/**
 * One replacement for `client.replace`: `[from, to)` of the document as the earlier replacements
 * of the same transaction left it, replaced by `text`.
 * @typedef {{ from: number, to: number, text: string }} Replacement
 */

/**
 * The replacements of a transaction, in the order the client applies them.
 *
 * iterChanges gives each change's start in the new document (fromB), which is where it starts
 * once the earlier changes of the same transaction are applied: the client's order.
 *
 * Firefox delivers a typed astral character (an emoji key) as two input events, one per UTF-16
 * half, so a change may end or start inside a surrogate pair. A lone half becomes U+FFFD in the
 * client (it holds chars): such a change is widened to the whole pair, which replaces the U+FFFD
 * the first half left with the real character.
 * @param {import("@codemirror/state").ChangeSet} changes
 * @param {import("@codemirror/state").Text} newDoc the document after `changes`
 * @returns {Replacement[]}
 */
export function replacements(changes, newDoc) {
  /** @type {Replacement[]} */
  const out = [];
  changes.iterChanges((fromA, toA, fromB, toB) => {
    let [from, to, replaced] = [fromB, toB, toA - fromA];
    if (splitsPair(newDoc, from)) [from, replaced] = [from - 1, replaced + 1];
    if (splitsPair(newDoc, to)) [to, replaced] = [to + 1, replaced + 1];
    out.push({ from, to: from + replaced, text: newDoc.sliceString(from, to) });
  });
  return out;
}

/**
 * Whether `pos` in `doc` falls between the two UTF-16 halves of one astral character.
 * @param {{ length: number, sliceString(from: number, to: number): string }} doc
 * @param {number} pos
 * @returns {boolean}
 */
export function splitsPair(doc, pos) {
  if (pos <= 0 || pos >= doc.length) return false;
  const pair = doc.sliceString(pos - 1, pos + 1);
  return /^[\uD800-\uDBFF][\uDC00-\uDFFF]$/.test(pair);
}
