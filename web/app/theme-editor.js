// CodeMirror's look in both themes: colours come from the page's CSS variables (style.css sets
// them for light and dark), so switching the theme needs no reconfiguration.

import { EditorView } from "@codemirror/view";

/** @returns {import("@codemirror/state").Extension} */
export function editorTheme() {
  return EditorView.theme({
    "&": { color: "var(--fg)", backgroundColor: "var(--surface)" },
    ".cm-content": { caretColor: "var(--fg)" },
    ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--fg)" },
    ".cm-gutters": { backgroundColor: "var(--surface-2)", color: "var(--muted)", borderRight: "1px solid var(--line)" },
    ".cm-activeLine": { backgroundColor: "var(--active-line)" },
    ".cm-activeLineGutter": { backgroundColor: "var(--active-line)", color: "var(--fg)" },
    "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground": {
      backgroundColor: "var(--selection)",
    },
    ".cm-selectionMatch": { backgroundColor: "var(--selection-match)" },
  });
}
