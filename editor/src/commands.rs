//! Every command a key can be bound to: a free function over a [`Context`], registered in one [`Commands`] table
//! with its name and help text. The keymap binds keys to these names, and the help screen lists this table, so
//! remapping and help come from the same data. The front end owns both and dispatches (see
//! [`crate::Keys`]); the collaborative layer registers its own `undo` and `redo` over the built-in ones.

use std::any::Any;

use crate::editor::{Editor, LineMove, Motion, PromptEdit, SearchFlag, VerticalAdd};
use crate::request::{Direction, Request, Resize};
use crate::selection::Movement;

/// What a command works on: the editor, the shared document's session if there is one, and the time.
pub struct Context<'a> {
    /// The editor.
    pub editor: &'a mut Editor,
    /// The collaborative session of a shared document. Type-erased so that this module does not depend on the
    /// collaborative layer, whose own commands know the type and downcast it.
    pub session: Option<&'a mut dyn Any>,
    /// Wall-clock milliseconds since the Unix epoch (the CRDT groups undo steps by time).
    pub now_ms: u64,
}

impl<'a> Context<'a> {
    /// A context with no session, for an editor on its own.
    pub fn solo(editor: &'a mut Editor) -> Self {
        Context { editor, session: None, now_ms: 0 }
    }

    /// The session, if there is one and it is a `T`.
    pub fn session<T: Any>(&mut self) -> Option<&mut T> {
        self.session.as_deref_mut().and_then(|s| s.downcast_mut::<T>())
    }
}

/// Where a command applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Editing the buffer (the `[keys]` table, listed in help).
    Normal,
    /// Editing the input of a prompt on the message line.
    Prompt,
}

/// A named command.
#[derive(Clone, Copy)]
pub struct Command {
    /// Name used in the keymap.
    pub name: &'static str,
    /// One line for the help screen.
    pub help: &'static str,
    /// Where it applies.
    pub scope: Scope,
    /// What it does.
    pub run: fn(&mut Context<'_>),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The table of commands, in help order.
#[derive(Clone, Debug)]
pub struct Commands {
    list: Vec<Command>,
}

impl Default for Commands {
    fn default() -> Self {
        Commands::builtin()
    }
}

impl Commands {
    /// The built-in commands: editing first, then motions, then prompt line editing.
    pub fn builtin() -> Self {
        let motions = MOTIONS.iter().flat_map(|&(mv, select, run_move, run_select, help)| {
            [normal(mv, help.move_help, run_move), normal(select, help.select_help, run_select)]
        });
        let list = EDITING
            .iter()
            .chain(CURSORS)
            .chain(BUFFERS)
            .copied()
            .chain(motions)
            .chain(PROMPT.iter().copied())
            .collect();
        Commands { list }
    }

    /// Adds `command`, replacing the one of the same name and scope (the collaborative layer's undo replaces
    /// the local one).
    pub fn register(&mut self, command: Command) {
        match self.list.iter_mut().find(|c| c.name == command.name && c.scope == command.scope) {
            Some(slot) => *slot = command,
            None => self.list.push(command),
        }
    }

    /// The command called `name` in `scope`.
    pub fn get(&self, scope: Scope, name: &str) -> Option<&Command> {
        self.list.iter().find(|c| c.scope == scope && c.name == name)
    }

    /// The commands of `scope`, in help order.
    pub fn iter(&self, scope: Scope) -> impl Iterator<Item = &Command> {
        self.list.iter().filter(move |c| c.scope == scope)
    }
}

const fn normal(name: &'static str, help: &'static str, run: fn(&mut Context<'_>)) -> Command {
    Command { name, help, scope: Scope::Normal, run }
}

const fn prompt(name: &'static str, help: &'static str, run: fn(&mut Context<'_>)) -> Command {
    Command { name, help, scope: Scope::Prompt, run }
}

const EDITING: &[Command] = &[
    normal("save", "Save the file", |cx| cx.editor.save()),
    normal("save_as", "Save under another name", |cx| cx.editor.save_as()),
    normal("quit", "Quit (asks when there are unsaved changes)", |cx| cx.editor.quit()),
    normal("undo", "Undo the last change", |cx| cx.editor.undo()),
    normal("redo", "Redo the last undone change", |cx| cx.editor.redo()),
    normal("find", "Search as you type (Alt-R regex, Alt-C case)", |cx| cx.editor.find()),
    normal("find_next", "Next match of the last search", |cx| cx.editor.find_next()),
    normal("find_prev", "Previous match of the last search", |cx| cx.editor.find_prev()),
    normal("replace", "Replace matches one by one or all", |cx| cx.editor.replace()),
    normal(
        "goto_line",
        "Go to LINE or LINE:COLUMN (display columns, tabs expanded, as the status bar counts)",
        |cx| cx.editor.goto_line(),
    ),
    normal("help", "Show this help", |cx| cx.editor.help()),
    normal("go_online", "Connect a shared document opened with --offline", |cx| {
        cx.editor.request(Request::GoOnline)
    }),
    normal("copy", "Copy the selection (or the line) to the clipboard", |cx| cx.editor.copy_each()),
    normal("cut", "Cut the selection (or the line)", |cx| cx.editor.cut_each()),
    normal("paste", "Paste the clipboard", |cx| cx.editor.paste_each()),
    normal("select_all", "Select the whole buffer", |cx| cx.editor.select_all()),
    normal("toggle_wrap", "Toggle soft wrap", |cx| cx.editor.toggle_wrap()),
    normal("toggle_line_numbers", "Toggle line numbers", |cx| cx.editor.toggle_line_numbers()),
    normal("reload", "Reload the file from disk", |cx| cx.editor.reload()),
    normal("toggle_presence", "Show or hide who is here (shared documents)", |cx| {
        cx.editor.toggle_presence_list()
    }),
    normal(
        "history",
        "Version history of a shared document: preview, restore, name (tandem-server)",
        |cx| cx.editor.request(Request::History),
    ),
    normal(
        "authorship",
        "Colour a shared document's text by who wrote it, with a legend (tandem-server)",
        |cx| cx.editor.request(Request::Authorship),
    ),
    normal("clear", "Clear selection, search highlight and message", |cx| cx.editor.clear()),
    normal("scroll_up", "Scroll up one line", |cx| cx.editor.scroll(-1)),
    normal("scroll_down", "Scroll down one line", |cx| cx.editor.scroll(1)),
    normal(
        "delete_backward",
        "Delete the selection or the grapheme before (an empty pair)",
        |cx| cx.editor.each_cursor(Editor::backspace_pair),
    ),
    normal("delete_forward", "Delete the selection or the grapheme after", |cx| {
        cx.editor.each_cursor(Editor::delete)
    }),
    normal("delete_word_backward", "Delete the word before the cursor", |cx| {
        cx.editor.each_cursor(Editor::delete_word_back)
    }),
    normal("delete_word_forward", "Delete the word after the cursor", |cx| {
        cx.editor.each_cursor(Editor::delete_word_fwd)
    }),
    normal("newline", "Insert a line break, keeping indentation (deeper after a bracket)", |cx| {
        cx.editor.each_cursor(Editor::newline_indent)
    }),
    normal("indent", "Insert a tab (or spaces); with a selection, indent its lines", |cx| {
        cx.editor.each_cursor(Editor::indent)
    }),
    normal(
        "dedent",
        "Remove one level of indentation from the line (or the selected lines)",
        |cx| cx.editor.each_cursor(Editor::dedent),
    ),
];

/// Multiple cursors and whole-line editing.
const CURSORS: &[Command] = &[
    normal("match_bracket", "Jump to the bracket matching the one at the cursor", |cx| {
        cx.editor.jump_to_bracket()
    }),
    normal("toggle_comment", "Comment or uncomment the lines (the syntax's line comment)", |cx| {
        cx.editor.toggle_comment()
    }),
    normal("duplicate", "Duplicate the line (or the selection)", |cx| {
        cx.editor.each_cursor(Editor::duplicate)
    }),
    normal("move_lines_up", "Move the line (or the selected lines) up", |cx| {
        cx.editor.move_lines(LineMove::Up)
    }),
    normal("move_lines_down", "Move the line (or the selected lines) down", |cx| {
        cx.editor.move_lines(LineMove::Down)
    }),
    normal("join_lines", "Join the line with the next (or the selected lines)", |cx| {
        cx.editor.join_lines()
    }),
    normal("cursor_add_next_match", "Select the word, then add a cursor at its next match", |cx| {
        cx.editor.add_next_match()
    }),
    normal("cursor_add_below", "Add a cursor on the line below", |cx| {
        cx.editor.add_cursor_vertically(VerticalAdd::Below)
    }),
    normal("cursor_add_above", "Add a cursor on the line above", |cx| {
        cx.editor.add_cursor_vertically(VerticalAdd::Above)
    }),
];

/// Buffers and splits: requests the front end acts on.
const BUFFERS: &[Command] = &[
    normal("open_file", "Open a file (fuzzy picker over the working directory)", |cx| {
        cx.editor.request(Request::OpenFile)
    }),
    normal("buffer_list", "Switch to an open buffer by name (fuzzy)", |cx| {
        cx.editor.request(Request::BufferList)
    }),
    normal("buffer_next", "Show the next buffer", |cx| cx.editor.request(Request::NextBuffer)),
    normal("buffer_prev", "Show the previous buffer", |cx| {
        cx.editor.request(Request::PreviousBuffer)
    }),
    normal("buffer_close", "Close the buffer (asks when unsaved)", |cx| {
        cx.editor.request(Request::CloseBuffer)
    }),
    normal("split_right", "Split the view side by side", |cx| {
        cx.editor.request(Request::SplitRight)
    }),
    normal("split_below", "Split the view one above the other", |cx| {
        cx.editor.request(Request::SplitBelow)
    }),
    normal("split_close", "Close the split (the buffer stays open)", |cx| {
        cx.editor.request(Request::CloseSplit)
    }),
    normal("focus_next", "Focus the next split", |cx| cx.editor.request(Request::FocusNext)),
    normal("focus_left", "Focus the split on the left", |cx| {
        cx.editor.request(Request::Focus(Direction::Left))
    }),
    normal("focus_right", "Focus the split on the right", |cx| {
        cx.editor.request(Request::Focus(Direction::Right))
    }),
    normal("focus_up", "Focus the split above", |cx| {
        cx.editor.request(Request::Focus(Direction::Up))
    }),
    normal("focus_down", "Focus the split below", |cx| {
        cx.editor.request(Request::Focus(Direction::Down))
    }),
    normal("split_grow", "Make the split bigger", |cx| {
        cx.editor.request(Request::Resize(Resize::Grow))
    }),
    normal("split_shrink", "Make the split smaller", |cx| {
        cx.editor.request(Request::Resize(Resize::Shrink))
    }),
];

/// Help texts of a move/select pair.
#[derive(Clone, Copy)]
struct MotionHelp {
    move_help: &'static str,
    select_help: &'static str,
}

type Run = fn(&mut Context<'_>);

macro_rules! motions {
    ($($move:literal, $select:literal, $motion:expr, $help:literal;)*) => {
        &[$((
            $move,
            $select,
            |cx| cx.editor.each_cursor(|ed| ed.motion($motion, Movement::Move)),
            |cx| cx.editor.each_cursor(|ed| ed.motion($motion, Movement::Extend)),
            MotionHelp { move_help: concat!("Move ", $help), select_help: concat!("Select ", $help) },
        ),)*]
    };
}

/// Each motion twice: moving the cursor, and extending the selection.
const MOTIONS: &[(&str, &str, Run, Run, MotionHelp)] = motions! {
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

const PROMPT: &[Command] = &[
    prompt("prompt_cancel", "Close the prompt (a search goes back)", |cx| {
        cx.editor.cancel_prompt()
    }),
    prompt("prompt_submit", "Act on the input", |cx| cx.editor.submit_prompt()),
    prompt("prompt_toggle_regex", "Toggle regex search", |cx| {
        cx.editor.toggle_search_flag(SearchFlag::Regex)
    }),
    prompt("prompt_toggle_case", "Toggle ignoring case", |cx| {
        cx.editor.toggle_search_flag(SearchFlag::IgnoreCase)
    }),
    prompt("prompt_find_next", "Next match while searching", |cx| cx.editor.prompt_find_next()),
    prompt("prompt_find_prev", "Previous match while searching", |cx| cx.editor.prompt_find_prev()),
    prompt("prompt_paste", "Paste the clipboard's first line", |cx| cx.editor.paste_into_prompt()),
    prompt("prompt_delete_backward", "Delete the char before the cursor", |cx| {
        cx.editor.edit_prompt(PromptEdit::DeleteBackward)
    }),
    prompt("prompt_delete_forward", "Delete the char under the cursor", |cx| {
        cx.editor.edit_prompt(PromptEdit::DeleteForward)
    }),
    prompt("prompt_left", "Cursor left", |cx| cx.editor.edit_prompt(PromptEdit::Left)),
    prompt("prompt_right", "Cursor right", |cx| cx.editor.edit_prompt(PromptEdit::Right)),
    prompt("prompt_home", "Cursor to the start", |cx| cx.editor.edit_prompt(PromptEdit::Home)),
    prompt("prompt_end", "Cursor to the end", |cx| cx.editor.edit_prompt(PromptEdit::End)),
    prompt("prompt_clear", "Clear the input", |cx| cx.editor.edit_prompt(PromptEdit::Clear)),
    prompt("prompt_delete_word", "Delete the word before the cursor", |cx| {
        cx.editor.edit_prompt(PromptEdit::DeleteWordBackward)
    }),
    prompt("prompt_complete", "Complete a file name (save as)", |cx| cx.editor.complete_prompt()),
];
