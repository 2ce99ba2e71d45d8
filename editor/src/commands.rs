//! Every command a key can be bound to: a name, its help text and a plain function over the editor.

use crate::editor::{Editor, Motion};
use crate::selection::Movement;

/// A named editor command.
pub struct Command {
    /// Name used in the config's `[keys]` table.
    pub name: &'static str,
    /// One line for the help screen.
    pub help: &'static str,
    /// What it does.
    pub run: fn(&mut Editor),
}

macro_rules! motions {
    ($($move:literal, $select:literal, $motion:expr, $help:literal;)*) => {
        &[$(
            Command { name: $move, help: concat!("Move ", $help), run: |e| e.motion($motion, Movement::Move) },
            Command { name: $select, help: concat!("Select ", $help), run: |e| e.motion($motion, Movement::Extend) },
        )*]
    };
}

const EDITING: &[Command] = &[
    Command { name: "save", help: "Save the file", run: Editor::save },
    Command { name: "save_as", help: "Save under another name", run: Editor::save_as },
    Command { name: "quit", help: "Quit (asks when there are unsaved changes)", run: Editor::quit },
    Command { name: "undo", help: "Undo the last change", run: Editor::undo },
    Command { name: "redo", help: "Redo the last undone change", run: Editor::redo },
    Command {
        name: "find",
        help: "Search as you type (Alt-R regex, Alt-C case)",
        run: Editor::find,
    },
    Command { name: "find_next", help: "Next match of the last search", run: Editor::find_next },
    Command {
        name: "find_prev",
        help: "Previous match of the last search",
        run: Editor::find_prev,
    },
    Command { name: "replace", help: "Replace matches one by one or all", run: Editor::replace },
    Command { name: "goto_line", help: "Go to LINE or LINE:COLUMN", run: Editor::goto_line },
    Command { name: "help", help: "Show this help", run: Editor::help },
    Command {
        name: "copy",
        help: "Copy the selection (or the line) to the clipboard",
        run: Editor::copy,
    },
    Command { name: "cut", help: "Cut the selection (or the line)", run: Editor::cut },
    Command { name: "paste", help: "Paste the clipboard", run: Editor::paste_clipboard },
    Command { name: "select_all", help: "Select the whole buffer", run: Editor::select_all },
    Command { name: "toggle_wrap", help: "Toggle soft wrap", run: Editor::toggle_wrap },
    Command {
        name: "toggle_line_numbers",
        help: "Toggle line numbers",
        run: Editor::toggle_line_numbers,
    },
    Command { name: "reload", help: "Reload the file from disk", run: Editor::reload },
    Command {
        name: "toggle_presence",
        help: "Show or hide who is here (shared documents)",
        run: Editor::toggle_presence_list,
    },
    Command {
        name: "clear",
        help: "Clear selection, search highlight and message",
        run: Editor::clear,
    },
    Command { name: "scroll_up", help: "Scroll up one line", run: |e| e.scroll(-1) },
    Command { name: "scroll_down", help: "Scroll down one line", run: |e| e.scroll(1) },
    Command {
        name: "delete_backward",
        help: "Delete the selection or the grapheme before",
        run: Editor::backspace,
    },
    Command {
        name: "delete_forward",
        help: "Delete the selection or the grapheme after",
        run: Editor::delete,
    },
    Command {
        name: "delete_word_backward",
        help: "Delete the word before the cursor",
        run: Editor::delete_word_back,
    },
    Command {
        name: "delete_word_forward",
        help: "Delete the word after the cursor",
        run: Editor::delete_word_fwd,
    },
    Command {
        name: "newline",
        help: "Insert a line break, keeping indentation",
        run: Editor::newline,
    },
    Command { name: "indent", help: "Insert a tab (or spaces)", run: Editor::indent },
];

const MOTIONS: &[Command] = motions! {
    "move_left", "select_left", Motion::Left, "one grapheme left";
    "move_right", "select_right", Motion::Right, "one grapheme right";
    "move_up", "select_up", Motion::Up, "one row up";
    "move_down", "select_down", Motion::Down, "one row down";
    "move_word_left", "select_word_left", Motion::WordLeft, "to the previous word";
    "move_word_right", "select_word_right", Motion::WordRight, "to the next word";
    "move_line_start", "select_line_start", Motion::LineStart, "to the indentation, then the line start";
    "move_line_end", "select_line_end", Motion::LineEnd, "to the line end";
    "move_page_up", "select_page_up", Motion::PageUp, "one page up";
    "move_page_down", "select_page_down", Motion::PageDown, "one page down";
    "move_doc_start", "select_doc_start", Motion::DocStart, "to the start of the buffer";
    "move_doc_end", "select_doc_end", Motion::DocEnd, "to the end of the buffer";
};

/// All commands, editing first.
pub fn all() -> impl Iterator<Item = &'static Command> {
    EDITING.iter().chain(MOTIONS)
}

/// The command called `name`.
pub fn find(name: &str) -> Option<&'static Command> {
    all().find(|c| c.name == name)
}
