// Tab and Shift-Tab, as in the terminal editor: Tab inserts spaces up to the next tab stop at
// each cursor and indents the lines of any selection (it never replaces selected text);
// Shift-Tab dedents the lines of every selection.

import { EditorSelection } from "@codemirror/state";
import { indentLess, indentMore } from "@codemirror/commands";

/** Columns between tab stops, the terminal editor's default. */
export const TAB_WIDTH = 4;

/** @typedef {import("@codemirror/state").EditorState} EditorState */
/** @typedef {import("@codemirror/state").Transaction} Transaction */
/** @typedef {{ state: EditorState, dispatch: (tr: Transaction) => void }} Target */

/**
 * Whether some selection is not empty.
 * @param {EditorState} state
 * @returns {boolean}
 */
function selects(state) {
  return state.selection.ranges.some((r) => !r.empty);
}

/**
 * Tab: indent the lines of a selection, else insert spaces to the next tab stop.
 * @param {Target} target
 * @returns {boolean}
 */
export function insertTab(target) {
  const { state, dispatch } = target;
  if (selects(state)) return indentMore(target);
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
