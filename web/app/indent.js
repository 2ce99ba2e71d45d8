// Tab and Shift-Tab, as in the terminal editor: Tab inserts spaces up to the next tab stop at
// each cursor (replacing a selection within one line) and indents the lines of a selection that
// spans several; Shift-Tab dedents the lines of every selection.

import { EditorSelection } from "@codemirror/state";
import { indentLess, indentMore } from "@codemirror/commands";

/** Columns between tab stops, the terminal editor's default. */
export const TAB_WIDTH = 4;

/** @typedef {import("@codemirror/state").EditorState} EditorState */
/** @typedef {import("@codemirror/state").Transaction} Transaction */
/** @typedef {{ state: EditorState, dispatch: (tr: Transaction) => void }} Target */

/**
 * Whether some selection covers more than one line.
 * @param {EditorState} state
 * @returns {boolean}
 */
function spansLines(state) {
  return state.selection.ranges.some((r) => state.doc.lineAt(r.from).number !== state.doc.lineAt(r.to).number);
}

/**
 * Tab: indent the lines of a multi-line selection, else insert spaces to the next tab stop.
 * @param {Target} target
 * @returns {boolean}
 */
export function insertTab(target) {
  const { state, dispatch } = target;
  if (spansLines(state)) return indentMore(target);
  const change = state.changeByRange((range) => {
    const line = state.doc.lineAt(range.from);
    const column = range.from - line.from;
    const spaces = " ".repeat(TAB_WIDTH - (column % TAB_WIDTH));
    return {
      changes: { from: range.from, to: range.to, insert: spaces },
      range: EditorSelection.cursor(range.from + spaces.length),
    };
  });
  dispatch(state.update(change, { scrollIntoView: true, userEvent: "input.indent" }));
  return true;
}

/**
 * Shift-Tab: dedent the lines of every selection.
 * @param {Target} target
 * @returns {boolean}
 */
export function dedent(target) {
  return indentLess(target);
}

/** The key bindings, for CodeMirror's keymap. */
export const tabKeymap = [{ key: "Tab", run: insertTab, shift: dedent, preventDefault: true }];
