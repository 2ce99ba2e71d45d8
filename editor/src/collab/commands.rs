//! The collaborative layer's own commands: `undo` and `redo` become the CRDT's per-user undo, so
//! they never revert someone else's edits. The front end registers them over the built-in ones
//! for a shared document; the keys bound to `undo` and `redo` then run these.

use crate::commands::{Command, Context, Scope};
use crate::editor::MessageKind;
use crate::history::UndoStep;

use super::Collab;

/// The commands a shared document replaces.
pub fn commands() -> [Command; 2] {
    [
        Command {
            name: "undo",
            help: "Undo the last change",
            scope: Scope::Normal,
            run: |cx| revert(cx, UndoStep::Undo),
        },
        Command {
            name: "redo",
            help: "Redo the last undone change",
            scope: Scope::Normal,
            run: |cx| revert(cx, UndoStep::Redo),
        },
    ]
}

fn revert(cx: &mut Context<'_>, step: UndoStep) {
    let Context { editor, session, now_ms } = cx;
    let Some(collab) = session.as_deref_mut().and_then(|s| s.downcast_mut::<Collab>()) else {
        // Registered without a session (cannot happen in the front end): local history then.
        return match step {
            UndoStep::Undo => editor.undo(),
            UndoStep::Redo => editor.redo(),
        };
    };
    if let Err(e) = collab.revert(editor, *now_ms, step) {
        tracing::error!(error = %e, "collaboration");
        editor.notify(e.to_string(), MessageKind::Error);
    }
}
