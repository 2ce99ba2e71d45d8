//! Many documents over one websocket: the framing of tandem-server's multiplexed connection
//! (`/api/mux`). A workspace has a document per file; a connection per document would cost a
//! socket, a task and buffers per file on both sides, so a client that holds many documents
//! opens one connection and names the document in every message.
//!
//! Every websocket message, both ways, is
//!
//! ```text
//! varString(doc) varUint(kind) body
//! ```
//!
//! (lib0 encoding, as in y-protocols) with these kinds:
//!
//! - [`KIND_FRAME`]: `body` is one y-protocol message, exactly the bytes a connection to that
//!   document alone would carry. The client's first frame for a document opens its session on
//!   the server (with the connection's token and extensions); every session behaves as its own
//!   connection would (access, limits, durability numbering).
//! - [`KIND_CLOSE`]: `body` is `varUint(code) varString(reason)`, with websocket close codes.
//!   From the server: that document's session ended (1008: refused for good — bad token, bad id;
//!   others: the client may open it again). From the client: it leaves that document; the
//!   server answers with a close once the last message of that session is out (unless its own
//!   close crossed the client's: exactly one close from the server ends each session). A client
//!   opens a document again only after that close, so no message of the old session (a durable
//!   count, say) is ever taken for the new one's.
//! - [`KIND_HELLO`]: `doc` is empty and `body` is `varUint(version)`; the server's first message,
//!   so a client can tell a server that speaks this framing from one that treats `/api/mux` as a
//!   document's name (a stock y-websocket server's first message starts with two zero bytes).

use thiserror::Error;
use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;

/// The version of this framing the [`KIND_HELLO`] message carries.
pub const MUX_VERSION: u64 = 1;
/// The path of the multiplexed websocket on tandem-server.
pub const MUX_PATH: &str = "/api/mux";
/// A y-protocol message for one document.
pub const KIND_FRAME: u64 = 0;
/// One document's session ends (or, from a client, is left).
pub const KIND_CLOSE: u64 = 1;
/// The server's greeting, first on every multiplexed connection.
pub const KIND_HELLO: u64 = 2;

/// One message of a multiplexed connection, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuxMessage<'a> {
    /// The server speaks this framing, at `version`.
    Hello {
        /// [`MUX_VERSION`] of the server.
        version: u64,
    },
    /// A y-protocol message for `doc`.
    Frame {
        /// The document id.
        doc: &'a str,
        /// The message's bytes.
        frame: &'a [u8],
    },
    /// `doc`'s session ended (from the server) or is left (from the client).
    Close {
        /// The document id.
        doc: &'a str,
        /// A websocket close code (1008 from the server: refused for good).
        code: u16,
        /// Why, for people.
        reason: &'a str,
    },
}

/// Why bytes are not a multiplexed message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MuxError {
    /// The message ends inside a field.
    #[error("multiplexed message truncated")]
    Truncated,
    /// The document id is not UTF-8.
    #[error("multiplexed message: document id is not UTF-8")]
    BadUtf8,
    /// A kind this version does not know.
    #[error("multiplexed message of unknown kind {0}")]
    UnknownKind(u64),
    /// A frame or close without a document id, or a hello with one.
    #[error("multiplexed message: {0}")]
    Misplaced(&'static str),
    /// A close code outside 0..=65535.
    #[error("multiplexed close code {0} out of range")]
    BadCode(u64),
    /// Bytes after a close or hello.
    #[error("multiplexed message: {0} bytes after its end")]
    Trailing(usize),
}

impl<'a> MuxMessage<'a> {
    /// Decodes one websocket message.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, MuxError> {
        let mut cursor = Cursor::new(bytes);
        let doc = read_str(&mut cursor)?;
        let kind: u64 = cursor.read_var().map_err(|_| MuxError::Truncated)?;
        let message = match kind {
            KIND_FRAME => {
                if doc.is_empty() {
                    return Err(MuxError::Misplaced("a frame names no document"));
                }
                return Ok(MuxMessage::Frame { doc, frame: &bytes[cursor.next..] });
            }
            KIND_CLOSE => {
                if doc.is_empty() {
                    return Err(MuxError::Misplaced("a close names no document"));
                }
                let code: u64 = cursor.read_var().map_err(|_| MuxError::Truncated)?;
                let code = u16::try_from(code).map_err(|_| MuxError::BadCode(code))?;
                let reason = read_str(&mut cursor)?;
                MuxMessage::Close { doc, code, reason }
            }
            KIND_HELLO => {
                if !doc.is_empty() {
                    return Err(MuxError::Misplaced("a hello names a document"));
                }
                let version = cursor.read_var().map_err(|_| MuxError::Truncated)?;
                MuxMessage::Hello { version }
            }
            other => return Err(MuxError::UnknownKind(other)),
        };
        match bytes.len() - cursor.next {
            0 => Ok(message),
            extra => Err(MuxError::Trailing(extra)),
        }
    }

    /// Encodes the message as one websocket message.
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            MuxMessage::Hello { version } => {
                let mut out = Vec::with_capacity(4);
                out.write_string("");
                out.write_var(KIND_HELLO);
                out.write_var(version);
                out
            }
            MuxMessage::Frame { doc, frame } => encode_frame(doc, frame),
            MuxMessage::Close { doc, code, reason } => {
                let mut out = Vec::with_capacity(doc.len() + reason.len() + 8);
                out.write_string(doc);
                out.write_var(KIND_CLOSE);
                out.write_var(u64::from(code));
                out.write_string(reason);
                out
            }
        }
    }
}

/// `frame` for `doc`, encoded as a [`MuxMessage::Frame`] (one copy of the frame).
pub fn encode_frame(doc: &str, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.len() + frame.len() + 6);
    out.write_string(doc);
    out.write_var(KIND_FRAME);
    out.extend_from_slice(frame);
    out
}

fn read_str<'a>(cursor: &mut Cursor<'a>) -> Result<&'a str, MuxError> {
    let len: u64 = cursor.read_var().map_err(|_| MuxError::Truncated)?;
    let len = usize::try_from(len).map_err(|_| MuxError::Truncated)?;
    let start = cursor.next;
    let end = start.checked_add(len).ok_or(MuxError::Truncated)?;
    let bytes = cursor.buf.get(start..end).ok_or(MuxError::Truncated)?;
    cursor.next = end;
    std::str::from_utf8(bytes).map_err(|_| MuxError::BadUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let messages = [
            MuxMessage::Hello { version: MUX_VERSION },
            MuxMessage::Frame { doc: "team/src/main.rs", frame: &[0, 0, 1, 0] },
            MuxMessage::Frame { doc: "é/👋", frame: &[] },
            MuxMessage::Close { doc: "team/a", code: 1008, reason: "token expired" },
        ];
        for message in messages {
            assert_eq!(MuxMessage::decode(&message.encode()), Ok(message));
        }
    }

    #[test]
    fn a_stock_servers_first_message_is_no_hello() {
        // y-websocket's sync step 1: [0 (sync), 0 (step 1), len, state vector…].
        let stock = [0u8, 0, 1, 0];
        assert!(!matches!(MuxMessage::decode(&stock), Ok(MuxMessage::Hello { .. })));
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let cases: [(&[u8], MuxError); 7] = [
            (&[], MuxError::Truncated),
            (&[5, b'a'], MuxError::Truncated),
            (&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], MuxError::Truncated),
            (&[1, 0xff, 0], MuxError::BadUtf8),
            (&[1, b'a', 9], MuxError::UnknownKind(9)),
            (&[0, 0, 1], MuxError::Misplaced("a frame names no document")),
            (&[1, b'a', 1, 0xe8, 0x07, 0, 7], MuxError::Trailing(1)),
        ];
        for (bytes, error) in cases {
            assert_eq!(MuxMessage::decode(bytes), Err(error), "{bytes:?}");
        }
        assert_eq!(
            MuxMessage::decode(&[1, b'a', 1, 0x80, 0x80, 0x04]),
            Err(MuxError::BadCode(65536))
        );
    }

    #[test]
    fn a_frame_is_its_bytes_after_the_header() {
        let encoded = encode_frame("d", &[7, 8, 9]);
        assert_eq!(encoded, [1, b'd', 0, 7, 8, 9]);
    }
}
