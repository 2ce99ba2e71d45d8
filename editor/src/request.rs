//! What a command asks of the front end around the editor: the set of buffers, the split layout, the pickers and
//! following other users. A command cannot reach these itself (it works on one [`crate::Editor`]), so it leaves a
//! [`Request`] among the editor's effects and the front end ([`crate::app::App`]) acts on it after the key.

/// A direction on screen, between splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Towards the left edge.
    Left,
    /// Towards the right edge.
    Right,
    /// Towards the top.
    Up,
    /// Towards the bottom.
    Down,
}

/// Something only the front end can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Show the next buffer in the focused split.
    NextBuffer,
    /// Show the previous buffer.
    PreviousBuffer,
    /// Close the focused buffer (asks when it has unsaved changes).
    CloseBuffer,
    /// Pick a buffer by name (fuzzy).
    BufferList,
    /// Pick a file to open (fuzzy, over the working directory).
    OpenFile,
    /// Split the focused view: the new view below it.
    SplitBelow,
    /// Split the focused view: the new view to its right.
    SplitRight,
    /// Focus the split next to the focused one in this direction.
    Focus(Direction),
    /// Focus the next split (in reading order, wrapping).
    FocusNext,
    /// Close the focused split (the buffer stays open).
    CloseSplit,
    /// Make the focused split bigger or smaller.
    Resize(Resize),
    /// Connect the focused shared document opened with `--offline`.
    GoOnline,
    /// Open the focused shared document's version history.
    History,
    /// Colour the focused shared document by who wrote it, or stop.
    Authorship,
}

/// Which way [`Request::Resize`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resize {
    /// The focused split takes more room.
    Grow,
    /// The focused split gives room back.
    Shrink,
}
