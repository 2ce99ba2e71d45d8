// The authorship colouring of the editor ("who wrote this", issue 14): each stretch of text
// tinted in its author's colour — the colour of their cursor when they are here — with a
// legend above the editor and the name on hover. Loaded on demand when the toggle is first
// pressed. The runs come from `GET /api/docs/ID/authors`, which describes the server's text:
// they are applied only when they fit the editor's text exactly (authorship.js), else asked
// for again; between answers the marks follow the edits.

import { StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView } from "@codemirror/view";

import { authorRanges, authorsOf } from "./authorship.js";
import { authorColor } from "./color.js";
import { apiPath, call, headers } from "./manage.js";

/** @typedef {import("@codemirror/view").DecorationSet} DecorationSet */

/** How long after the last change the runs are asked for again. */
const SETTLE_MS = 700;
/** The longest wait between two tries while the server's text differs from the editor's. */
const MAX_RETRY_MS = 10_000;

/** Replaces the authorship marks. */
const setMarks = /** @type {import("@codemirror/state").StateEffectType<DecorationSet>} */ (StateEffect.define());

/** @type {StateField<DecorationSet>} */
const marksField = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    for (const effect of tr.effects) if (effect.is(setMarks)) return effect.value;
    return marks.map(tr.changes);
  },
  provide: (field) => EditorView.decorations.from(field),
});

/**
 * What the colouring needs from the page.
 * @typedef {object} AuthorshipContext
 * @property {string} docId
 * @property {string} token
 * @property {EditorView} view
 * @property {() => { name: string, color: string }[]} people this page's user and its peers
 */

/**
 * The colouring: `extension` goes into the editor; `changed()` after any change of the text
 * or of who is here; `stop()` when it is switched off.
 * @param {AuthorshipContext} context
 * @returns {{ extension: import("@codemirror/state").Extension, changed: () => void, stop: () => void }}
 */
export function authorship({ docId, token, view, people }) {
  const legend = document.createElement("ul");
  legend.className = "author-legend";
  legend.id = "author-legend";
  legend.setAttribute("aria-label", "Authors of the text, in their colours");
  view.dom.before(legend);

  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let stopped = false;
  // Grows while the answers do not fit (unsaved edits here, say), so the page does not poll fast.
  let retryMs = SETTLE_MS;

  const show = (/** @type {import("./authorship.js").AuthorRange[]} */ ranges) => {
    const present = people();
    const marks = ranges.map(({ from, to, author }) => {
      const color = authorColor(author, present);
      return Decoration.mark({
        class: "tandem-author",
        attributes: { title: author, "data-author": author, style: `background-color: ${color}38; box-shadow: inset 0 -2px ${color}` },
      }).range(from, to);
    });
    view.dispatch({ effects: setMarks.of(Decoration.set(marks)) });
    legend.innerHTML = "";
    for (const author of authorsOf(ranges)) {
      const item = document.createElement("li");
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.setAttribute("aria-hidden", "true");
      dot.style.background = authorColor(author, present);
      item.append(dot, author);
      legend.append(item);
    }
  };

  const fetchRuns = async () => {
    timer = null;
    const answer = await call(apiPath(docId, "/authors"), { headers: headers(token), cache: "no-store" });
    if (stopped) return;
    if (!answer.ok) {
      legend.textContent = `Authors unknown: ${answer.problem}.`;
      return;
    }
    const ranges = authorRanges(answer.value, view.state.doc.length);
    if (ranges === null) {
      // The server's text is not the editor's yet (edits on their way): ask again later.
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      schedule(retryMs);
      return;
    }
    retryMs = SETTLE_MS;
    show(ranges);
  };

  const schedule = (/** @type {number} */ delay) => {
    if (stopped) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(fetchRuns, delay);
  };
  const changed = () => schedule(SETTLE_MS);

  const stop = () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    legend.remove();
  };

  fetchRuns();
  return { extension: marksField, changed, stop };
}
