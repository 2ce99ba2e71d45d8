// The binding between CodeMirror 6 and the WASM tandem client. All positions are UTF-16 units
// (CodeMirror's unit); the WASM client converts to the CRDT's chars.
//
// - Local transactions go to client.replace, change by change.
// - Remote changes come back from the client as groups of {from, to, insert} and are dispatched
//   with the `remote` annotation, so the binding does not send them back.
// - The selection goes to presence; other users' cursors and selections are decorations.
// - Undo/redo are the CRDT's per-user undo: they revert only this user's edits.

import { Annotation, StateEffect, EditorSelection } from "@codemirror/state";
import { Decoration, ViewPlugin, WidgetType, keymap } from "@codemirror/view";

import { labelTextColor, safeColor } from "./color.js";
import { replacements } from "./edits.js";

/** Marks transactions whose changes the client already holds (remote edits, undo, redo). */
export const fromClient = Annotation.define();

/** The longest a cursor move waits before it is published. */
const PRESENCE_DELAY_MS = 40;

/** Tells the cursor layer that presence changed. */
const peersChanged = StateEffect.define();

/**
 * The extensions that tie an editor to `session`: { client, send(frames), changed(), now() }.
 * `changed()` is called after every batch of local changes (the page stores the state then).
 */
export function tandemBinding(session) {
  return [syncPlugin(session), cursorPlugin(session), historyKeymap(session)];
}

/** Applies groups of remote changes to the editor, keeping the local selection in place. */
export function applyRemoteChanges(view, groups) {
  for (const changes of groups) {
    if (changes.length === 0) continue;
    view.dispatch({ changes, annotations: fromClient.of(true) });
  }
}

/** Asks the cursor layer to redraw other users' cursors. */
export function refreshPeers(view) {
  view.dispatch({ effects: peersChanged.of(null) });
}

function syncPlugin(session) {
  return ViewPlugin.fromClass(
    class {
      constructor(view) {
        this.view = view;
        this.presenceTimer = null;
        this.publishSelection();
      }

      destroy() {
        clearTimeout(this.presenceTimer);
      }

      update(update) {
        let changed = false;
        for (const tr of update.transactions) {
          if (!tr.docChanged || tr.annotation(fromClient)) continue;
          const now = session.now();
          for (const { from, to, text } of replacements(tr.changes, tr.newDoc)) {
            session.send(session.client.replace(from, to, text, now));
          }
          changed = true;
        }
        if (changed) session.changed();
        // Remote changes move the local selection too, but the published one is made of sticky
        // positions that follow the text by themselves: only local moves are news.
        if (update.selectionSet || changed) {
          // A jump of the cursor (not typing) closes the undo step, as in any editor.
          if (!update.docChanged) session.client.endUndoStep();
          this.schedulePresence();
        }
      }

      // Fast typing moves the cursor on every key: publishing at most every PRESENCE_DELAY_MS
      // keeps a websocket send (the costliest step of a keystroke) and a broadcast per key away.
      schedulePresence() {
        if (this.presenceTimer === null) {
          this.presenceTimer = setTimeout(() => {
            this.presenceTimer = null;
            this.publishSelection();
          }, PRESENCE_DELAY_MS);
        }
      }

      publishSelection() {
        const range = this.view.state.selection.main;
        session.send(session.client.setSelection(range.anchor, range.head, session.now()));
      }
    },
  );
}

/** Another user's caret with their name; the name shows after a move, then on hover. */
class CaretWidget extends WidgetType {
  /**
   * @param {string} name
   * @param {string} color `#rrggbb`
   * @param {number} head where the caret is when drawn (a move redraws it, which shows the name again)
   */
  constructor(name, color, head) {
    super();
    this.name = name;
    this.color = color;
    this.head = head;
  }

  /** @param {CaretWidget} other */
  eq(other) {
    return other.name === this.name && other.color === this.color && other.head === this.head;
  }

  toDOM() {
    const caret = document.createElement("span");
    caret.className = "tandem-caret";
    // The presence list names everyone; a screen reader should not read names inside the text.
    caret.setAttribute("aria-hidden", "true");
    caret.style.borderColor = this.color;
    const label = document.createElement("span");
    label.className = "tandem-caret-label";
    label.style.backgroundColor = this.color;
    label.style.color = labelTextColor(this.color);
    label.textContent = this.name;
    caret.append("\u2060", label, "\u2060");
    return caret;
  }

  ignoreEvent() {
    return true;
  }
}

function cursorPlugin(session) {
  return ViewPlugin.fromClass(
    class {
      constructor(view) {
        this.decorations = this.build(view);
      }

      update(update) {
        // Peers' positions come from the CRDT's sticky positions, which cost a walk over the
        // document to resolve: re-read them when presence or remote text changed, and only map
        // the drawn ones through local edits (a keystroke must stay cheap with peers around).
        const reread = update.transactions.some(
          (tr) => tr.annotation(fromClient) || tr.effects.some((e) => e.is(peersChanged)),
        );
        if (reread) this.decorations = this.build(update.view);
        else if (update.docChanged) this.decorations = this.decorations.map(update.changes);
      }

      build(view) {
        const length = view.state.doc.length;
        const ranges = [];
        for (const peer of session.client.peers()) {
          if (peer.anchor === undefined || peer.head === undefined) continue;
          const color = safeColor(peer.color);
          const name = peer.name || `user ${peer.clientId}`;
          const anchor = Math.min(peer.anchor, length);
          const head = Math.min(peer.head, length);
          const from = Math.min(anchor, head);
          const to = Math.max(anchor, head);
          if (from < to) {
            ranges.push(
              Decoration.mark({ class: "tandem-selection", attributes: { style: `background-color: ${color}33` } }).range(from, to),
            );
          }
          ranges.push(Decoration.widget({ widget: new CaretWidget(name, color, head), side: 1 }).range(head));
        }
        return Decoration.set(ranges, true);
      }
    },
    { decorations: (plugin) => plugin.decorations },
  );
}

function historyKeymap(session) {
  const step = (kind) => (view) => {
    const result = kind === "undo" ? session.client.undo(session.now()) : session.client.redo(session.now());
    if (!result) return true;
    const changes = result.changes;
    // Put the cursor at the end of the last change, where the user expects to be.
    let selection;
    if (changes.length > 0) {
      const last = changes[changes.length - 1];
      selection = EditorSelection.cursor(view.state.changes(changes).mapPos(last.to, 1));
    }
    view.dispatch({ changes, selection, annotations: fromClient.of(true), scrollIntoView: true });
    session.send(result.frames);
    session.changed();
    return true;
  };
  return keymap.of([
    { key: "Mod-z", run: step("undo"), preventDefault: true },
    { key: "Mod-y", run: step("redo"), preventDefault: true },
    { key: "Mod-Shift-z", run: step("redo"), preventDefault: true },
  ]);
}
