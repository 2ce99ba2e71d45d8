//! Document ids: the one rule every server endpoint and client applies, and the one way an id
//! is read out of a URL path.
//!
//! Ids are path-like so that a workspace's files are documents under a prefix
//! (`team/src/main.rs`): UTF-8, 1 to [`MAX_DOC_ID_BYTES`] bytes, segments separated by `/`, no
//! empty, `.` or `..` segment, no control characters. Storage treats an id as an opaque key.
//!
//! In a URL the id is percent-encoded per segment and decoded exactly once, so `/%61` and
//! `/ws/%61` both name `a`. A `%2F` inside one segment decodes to `/` too: the browser client
//! encodes a whole id with `encodeURIComponent`, and two spellings of one id must not name two
//! documents.
//!
//! ```
//! use tandem_crdt::{doc_id_from_path, validate_doc_id};
//!
//! assert_eq!(validate_doc_id("team/src/main.rs"), Ok(()));
//! assert!(validate_doc_id("a/../b").is_err());
//! assert_eq!(doc_id_from_path("%E4%BC%9A%E8%AE%AE/x%2Fy").unwrap(), "会议/x/y");
//! ```

/// Longest document id, in UTF-8 bytes.
pub const MAX_DOC_ID_BYTES: usize = 512;

/// Why a document id (or the URL path meant to carry one) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocIdError {
    /// No id at all.
    #[error("document id is empty")]
    Empty,
    /// More than [`MAX_DOC_ID_BYTES`] bytes.
    #[error("document id is {0} bytes; the limit is {MAX_DOC_ID_BYTES}")]
    TooLong(usize),
    /// `a//b`, `/a` or `a/`.
    #[error("document id has an empty segment")]
    EmptySegment,
    /// A `.` or `..` segment (ids may become paths: nothing may climb out of a directory).
    #[error("document id has a '.' or '..' segment")]
    DotSegment,
    /// A control character (U+0000–U+001F, U+007F–U+009F).
    #[error("document id contains a control character")]
    ControlCharacter,
    /// A `%` not followed by two hex digits.
    #[error("document id has a malformed percent escape")]
    BadEscape,
    /// The decoded bytes are not UTF-8.
    #[error("document id is not UTF-8")]
    NotUtf8,
}

/// Checks a document id against the rule in the [module docs](self).
pub fn validate_doc_id(id: &str) -> Result<(), DocIdError> {
    if id.is_empty() {
        return Err(DocIdError::Empty);
    }
    if id.len() > MAX_DOC_ID_BYTES {
        return Err(DocIdError::TooLong(id.len()));
    }
    if id.chars().any(char::is_control) {
        return Err(DocIdError::ControlCharacter);
    }
    for segment in id.split('/') {
        match segment {
            "" => return Err(DocIdError::EmptySegment),
            "." | ".." => return Err(DocIdError::DotSegment),
            _ => {}
        }
    }
    Ok(())
}

/// Reads the document id out of the URL path that follows an endpoint's prefix (`a%20b/c` for
/// `/ws/a%20b/c`): percent-decoded exactly once, then checked with [`validate_doc_id`].
pub fn doc_id_from_path(raw: &str) -> Result<String, DocIdError> {
    let id = String::from_utf8(percent_decode(raw.as_bytes())?).map_err(|_| DocIdError::NotUtf8)?;
    validate_doc_id(&id)?;
    Ok(id)
}

/// Encodes an id for a URL path: each segment percent-encoded as JavaScript's
/// `encodeURIComponent` does (the browser client's links), the `/` between them kept, so
/// `doc_id_from_path(&doc_id_to_path(id)) == id` for every valid id.
pub fn doc_id_to_path(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~' | b'!' | b'*' | b'\'' | b'(' | b')')
        {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(raw: &[u8]) -> Result<Vec<u8>, DocIdError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        if byte != b'%' {
            out.push(byte);
            continue;
        }
        let high = bytes.next().and_then(|&b| char::from(b).to_digit(16));
        let low = bytes.next().and_then(|&b| char::from(b).to_digit(16));
        match (high, low) {
            // Two hex digits are at most 0xFF.
            (Some(high), Some(low)) => out.push((high * 16 + low) as u8),
            _ => return Err(DocIdError::BadEscape),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_path_like_and_existing_ids() {
        for ok in [
            "会议记录",
            "My Notes Ü 2024!",
            "team/src/main.rs",
            "notes",
            "a.b_c-d",
            "...",
            ".hidden/x",
            &"x".repeat(MAX_DOC_ID_BYTES),
        ] {
            assert_eq!(validate_doc_id(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_what_could_escape_or_confuse() {
        let long = "x".repeat(MAX_DOC_ID_BYTES + 1);
        for (bad, why) in [
            ("a//b", DocIdError::EmptySegment),
            ("/a", DocIdError::EmptySegment),
            ("a/", DocIdError::EmptySegment),
            ("./x", DocIdError::DotSegment),
            ("a/../b", DocIdError::DotSegment),
            ("..", DocIdError::DotSegment),
            ("", DocIdError::Empty),
            (long.as_str(), DocIdError::TooLong(513)),
            ("\u{7}", DocIdError::ControlCharacter),
            ("a\nb", DocIdError::ControlCharacter),
        ] {
            assert_eq!(validate_doc_id(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn a_path_is_decoded_exactly_once() {
        assert_eq!(doc_id_from_path("%61").unwrap(), "a");
        assert_eq!(doc_id_from_path("%2561").unwrap(), "%61");
        assert_eq!(doc_id_from_path("team%2Fsrc/main.rs").unwrap(), "team/src/main.rs");
        assert_eq!(doc_id_from_path("My%20Notes%20%C3%9C%202024!").unwrap(), "My Notes Ü 2024!");
        assert_eq!(doc_id_from_path("a/%2E%2E/b"), Err(DocIdError::DotSegment));
        assert_eq!(doc_id_from_path("a%2F%2Fb"), Err(DocIdError::EmptySegment));
        assert_eq!(doc_id_from_path("%07"), Err(DocIdError::ControlCharacter));
        assert_eq!(doc_id_from_path("%zz"), Err(DocIdError::BadEscape));
        assert_eq!(doc_id_from_path("%6"), Err(DocIdError::BadEscape));
        assert_eq!(doc_id_from_path("%FF"), Err(DocIdError::NotUtf8));
    }

    #[test]
    fn encoding_is_the_browsers() {
        assert_eq!(doc_id_to_path("My Notes Ü 2024!"), "My%20Notes%20%C3%9C%202024!");
        assert_eq!(doc_id_to_path("会议/a%b"), "%E4%BC%9A%E8%AE%AE/a%25b");
    }

    #[test]
    fn encoding_round_trips() {
        for id in ["会议记录", "My Notes Ü 2024!", "team/src/main.rs", "100%/?#"] {
            assert_eq!(doc_id_from_path(&doc_id_to_path(id)).unwrap(), id);
        }
    }
}
