//! What the renderer draws for other users: their cursors and selections, and who wrote which
//! text. Its own module so that the collaborative layer, which knows the peers, and the
//! renderer, which draws them, share the types without either importing the other.
//!
//! Positions are char offsets into the buffer.

use std::ops::Range;

use crate::theme::Rgb;

/// Another user's cursor (and selection) to draw, for the collaborative client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoration {
    /// Cursor position (char offset).
    pub pos: usize,
    /// Selected chars, if any.
    pub selection: Option<Range<usize>>,
    /// The user's colour.
    pub colour: Rgb,
    /// Name shown next to the cursor.
    pub label: String,
}

/// A stretch of text coloured by who wrote it (the authorship colouring), clipped to what is on
/// screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorSpan {
    /// The chars (char offsets).
    pub range: Range<usize>,
    /// The author's colour.
    pub colour: Rgb,
}
