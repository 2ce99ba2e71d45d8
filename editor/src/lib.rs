//! tandem's terminal editor.
//!
//! The model — [`Editor`] with its buffer, selection, history, search and viewport — is plain data driven by the
//! editor's own [`KeyEvent`]s and [`MouseEvent`]s, so it runs and is tested without a terminal. The [`ui`] module
//! renders it with ratatui and converts crossterm events at the edge.
//!
//! All positions in the model are char offsets into the buffer (ropey's unit).
//!
//! ```
//! use tandem::{Editor, KeyEvent, Key, Keys};
//!
//! let mut ed = Editor::new("hello");
//! let keys = Keys::default(); // the front end owns the bindings
//! keys.press(&mut ed, KeyEvent::ctrl(Key::End));
//! for key in KeyEvent::typed(" world") {
//!     keys.press(&mut ed, key);
//! }
//! assert_eq!(ed.rope().to_string(), "hello world");
//! keys.press(&mut ed, KeyEvent::ctrl(Key::Char('z')));
//! assert_eq!(ed.rope().to_string(), "hello");
//! ```
#![deny(missing_docs)]

pub mod app;
mod buffer;
pub mod collab;
mod commands;
mod config;
mod decoration;
mod editor;
mod file;
mod highlight;
mod history;
mod input;
pub mod journal;
mod keymap;
mod keys;
mod layout;
mod long_layout;
pub mod notation;
mod records;
mod request;
mod search;
mod selection;
mod settings_file;
mod text;
mod theme;
pub mod ui;
pub mod workspace;

pub use buffer::{LineDamage, PendingCommand};
pub use commands::{Command, Commands, Context, Scope};
pub use config::{Config, DEFAULT_CONFIG};
pub use editor::{
    AfterSave, Confirm, Document, Editor, Effect, LineMove, Message, MessageKind, Mode, Motion,
    Options, Prompt, PromptEdit, PromptKind, RecoveryAnswer, RecoveryOffer, SearchFlag, Status,
    VerticalAdd, View, ViewId, Viewport,
};
pub use file::{DiskStamp, FileError};
pub use highlight::{Budget, Highlighter, Syntaxes};
pub use history::{Change, ChangeKind, LinearHistory, Revert, Step, UndoHistory, UndoStep, joins};
pub use input::{Key, KeyEvent, KeyParseError, Modifiers, MouseEvent, MouseKind};
pub use keymap::{HelpLine, Keymap};
pub use keys::Keys;
pub use layout::{Glyph, Glyphs, LayoutOptions};
pub use long_layout::LineWindow;
pub use request::{Direction, Request, Resize};
pub use search::{Query, SearchOptions};
pub use selection::{Movement, Selection};
pub use settings_file::ConfigError;
pub use text::{Edit, LineEnding};
pub use theme::{Rgb, Theme, UiColours};
