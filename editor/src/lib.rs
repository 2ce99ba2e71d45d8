//! tandem's terminal editor.
//!
//! The model — [`Editor`] with its buffer, selection, history, search and viewport — is plain data driven by the
//! editor's own [`KeyEvent`]s and [`MouseEvent`]s, so it runs and is tested without a terminal. The [`ui`] module
//! renders it with ratatui and converts crossterm events at the edge.
//!
//! All positions in the model are char offsets into the buffer (ropey's unit).
//!
//! ```
//! use tandem::{Editor, KeyEvent, Key};
//!
//! let mut ed = Editor::new("hello");
//! ed.handle_key(KeyEvent::ctrl(Key::End));
//! for key in KeyEvent::typed(" world") {
//!     ed.handle_key(key);
//! }
//! assert_eq!(ed.rope().to_string(), "hello world");
//! ed.handle_key(KeyEvent::ctrl(Key::Char('z')));
//! assert_eq!(ed.rope().to_string(), "hello");
//! ```
#![deny(missing_docs)]

mod buffer;
pub mod collab;
mod commands;
mod config;
mod editor;
mod file;
mod highlight;
mod history;
mod input;
pub mod journal;
mod keymap;
mod layout;
pub mod notation;
mod records;
mod search;
mod selection;
mod text;
mod theme;
pub mod ui;

pub use buffer::LineDamage;
pub use commands::Command;
pub use config::{Config, ConfigError, DEFAULT_CONFIG};
pub use editor::{
    Confirm, Editor, Effect, Message, MessageKind, Mode, Motion, Options, Prompt, PromptKind,
    Status, Viewport,
};
pub use file::{DiskStamp, FileError};
pub use highlight::{Budget, Highlighter, Syntaxes};
pub use history::{Change, ChangeKind, LinearHistory, Revert, UndoHistory};
pub use input::{Key, KeyEvent, KeyParseError, Modifiers, MouseEvent, MouseKind};
pub use keymap::Keymap;
pub use layout::{Glyph, Glyphs, LayoutOptions};
pub use search::{Query, SearchOptions};
pub use selection::Selection;
pub use text::{Edit, LineEnding};
pub use theme::{Rgb, Theme, UiColours};
