//! The y-protocols wire format as y-websocket speaks it, plus tandem's extension messages.
//!
//! A websocket binary frame carries one message: `varUint(type)` then its payload (lib0:
//! varUint is LEB128, varUint8Array is a varUint length then bytes, varString a varUint8Array of
//! UTF-8). tandem always sends one message per frame, because older y-websocket clients read only
//! the first; it accepts several per frame, because some servers pack them.
//!
//! | type | payload |
//! |------|---------|
//! | 0 sync | `varUint(step)` + `varUint8Array(data)`: step 0 SyncStep1 (state vector), 1 SyncStep2 (update), 2 Update (update) |
//! | 1 awareness | `varUint8Array(awareness update)` |
//! | 2 auth | `varUint(0)` + `varString(reason)` denied, or `varUint(1)` granted |
//! | 3 query awareness | nothing |
//! | 100 durable (tandem) | `varUint8Array(varUint(seq) + varUint8Array(state vector))` |
//! | 101 access (tandem) | `varUint8Array(varUint(read_only: 1 or 0))`: what this connection may do, sent once after the server's SyncStep1 |
//! | 102 gone (tandem) | `varUint8Array(varUint(0))` deleted, or `varUint8Array(varUint(1) + varString(new id))` renamed: the document left this id; the server closes the connection after it |
//!
//! Extension messages (type ≥ 100) go only to peers that asked for them when connecting, so a
//! stock Yjs client never sees one.

use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;

use crate::decode;
use crate::error::{Error, Result};

/// Message type of sync messages.
pub const MSG_SYNC: u64 = 0;
/// Message type of awareness messages.
pub const MSG_AWARENESS: u64 = 1;
/// Message type of auth messages.
pub const MSG_AUTH: u64 = 2;
/// Message type of awareness queries.
pub const MSG_QUERY_AWARENESS: u64 = 3;
/// tandem extension: "your updates through number `seq` on this connection are durable".
pub const MSG_DURABLE: u64 = 100;
/// tandem extension: "on this connection you may read (and write, unless `read_only`)".
pub const MSG_ACCESS: u64 = 101;
/// tandem extension: "this document is no longer at this id" (see [`Removal`]).
pub const MSG_GONE: u64 = 102;

const SYNC_STEP1: u64 = 0;
const SYNC_STEP2: u64 = 1;
const SYNC_UPDATE: u64 = 2;
const AUTH_DENIED: u64 = 0;
const AUTH_GRANTED: u64 = 1;
const GONE_DELETED: u64 = 0;
const GONE_RENAMED: u64 = 1;

/// How a document left its id (the [`Message::Gone`] extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// It was deleted: a client keeps its local copy for export and stops reconnecting.
    Deleted,
    /// It lives on under another id: a client reopens it there.
    Renamed {
        /// The new id.
        to: String,
    },
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// "Here is what I have": an encoded state vector; the answer is a [`Message::SyncStep2`].
    SyncStep1 {
        /// Encoded state vector (lib0 v1).
        state_vector: Vec<u8>,
    },
    /// "Here is what you miss": an encoded update.
    SyncStep2 {
        /// Encoded update (lib0 v1).
        update: Vec<u8>,
    },
    /// A live change: an encoded update.
    Update {
        /// Encoded update (lib0 v1).
        update: Vec<u8>,
    },
    /// Presence of one or more clients: an encoded awareness update.
    Awareness {
        /// Encoded awareness update.
        update: Vec<u8>,
    },
    /// "Send me everyone's awareness".
    QueryAwareness,
    /// Access refused, with the reason.
    AuthDenied {
        /// Why.
        reason: String,
    },
    /// Access granted.
    AuthGranted,
    /// tandem extension: the first `seq` update-carrying messages (SyncStep2 and Update) that the
    /// receiver sent on this connection are durably stored; `state_vector` is the stored state.
    Durable {
        /// How many of the receiver's update messages are durable.
        seq: u64,
        /// Encoded state vector of the stored document.
        state_vector: Vec<u8>,
    },
    /// tandem extension: what the server lets this connection do, so a client can lock its
    /// editor up front instead of discovering refused edits.
    Access {
        /// Whether the receiver's updates are refused.
        read_only: bool,
    },
    /// tandem extension: the document left this id, so a client must not reconnect to it (that
    /// would bring a deleted document back with its local copy).
    Gone(Removal),
}

impl Message {
    /// The message as one frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Message::SyncStep1 { state_vector } => sync(&mut out, SYNC_STEP1, state_vector),
            Message::SyncStep2 { update } => sync(&mut out, SYNC_STEP2, update),
            Message::Update { update } => sync(&mut out, SYNC_UPDATE, update),
            Message::Awareness { update } => {
                out.write_var(MSG_AWARENESS);
                out.write_buf(update);
            }
            Message::QueryAwareness => out.write_var(MSG_QUERY_AWARENESS),
            Message::AuthDenied { reason } => {
                out.write_var(MSG_AUTH);
                out.write_var(AUTH_DENIED);
                out.write_string(reason);
            }
            Message::AuthGranted => {
                out.write_var(MSG_AUTH);
                out.write_var(AUTH_GRANTED);
            }
            Message::Durable { seq, state_vector } => {
                let mut payload = Vec::new();
                payload.write_var(*seq);
                payload.write_buf(state_vector);
                out.write_var(MSG_DURABLE);
                out.write_buf(payload);
            }
            Message::Access { read_only } => {
                // A payload of its own, like Durable's, so later fields can follow unread.
                let mut payload = Vec::new();
                payload.write_var(u64::from(*read_only));
                out.write_var(MSG_ACCESS);
                out.write_buf(payload);
            }
            Message::Gone(removal) => {
                let mut payload = Vec::new();
                match removal {
                    Removal::Deleted => payload.write_var(GONE_DELETED),
                    Removal::Renamed { to } => {
                        payload.write_var(GONE_RENAMED);
                        payload.write_string(to);
                    }
                }
                out.write_var(MSG_GONE);
                out.write_buf(payload);
            }
        }
        out
    }

    /// Whether this is an extension message (only for peers that negotiated extensions).
    pub fn is_extension(&self) -> bool {
        matches!(self, Message::Durable { .. } | Message::Access { .. } | Message::Gone(_))
    }

    /// Decodes every message in a frame. Malformed bytes, unknown types and empty frames are
    /// errors; nothing here panics on any input.
    pub fn decode_frame(frame: &[u8]) -> Result<Vec<Message>> {
        if frame.is_empty() {
            return Err(Error::EmptyMessage);
        }
        let mut cursor = Cursor::new(frame);
        let mut messages = Vec::with_capacity(1);
        while cursor.has_content() {
            messages.push(decode_one(&mut cursor)?);
        }
        Ok(messages)
    }
}

fn sync(out: &mut Vec<u8>, step: u64, data: &[u8]) {
    out.write_var(MSG_SYNC);
    out.write_var(step);
    out.write_buf(data);
}

fn malformed(e: impl std::fmt::Display) -> Error {
    Error::MalformedMessage(e.to_string())
}

fn decode_one(cursor: &mut Cursor<'_>) -> Result<Message> {
    let kind: u64 = cursor.read_var().map_err(malformed)?;
    match kind {
        MSG_SYNC => {
            let step: u64 = cursor.read_var().map_err(malformed)?;
            let data = cursor.read_buf().map_err(malformed)?.to_vec();
            match step {
                SYNC_STEP1 => {
                    decode::state_vector(&data)?;
                    Ok(Message::SyncStep1 { state_vector: data })
                }
                SYNC_STEP2 => Ok(Message::SyncStep2 { update: data }),
                SYNC_UPDATE => Ok(Message::Update { update: data }),
                other => Err(malformed(format!("unknown sync step {other}"))),
            }
        }
        MSG_AWARENESS => {
            Ok(Message::Awareness { update: cursor.read_buf().map_err(malformed)?.to_vec() })
        }
        MSG_AUTH => match cursor.read_var::<u64>().map_err(malformed)? {
            AUTH_DENIED => Ok(Message::AuthDenied {
                reason: cursor.read_string().map_err(malformed)?.to_owned(),
            }),
            _ => Ok(Message::AuthGranted),
        },
        MSG_QUERY_AWARENESS => Ok(Message::QueryAwareness),
        MSG_DURABLE => {
            let payload = cursor.read_buf().map_err(malformed)?;
            let mut inner = Cursor::new(payload);
            let seq = inner.read_var().map_err(malformed)?;
            let state_vector = inner.read_buf().map_err(malformed)?.to_vec();
            Ok(Message::Durable { seq, state_vector })
        }
        MSG_ACCESS => {
            let payload = cursor.read_buf().map_err(malformed)?;
            let read_only: u64 = Cursor::new(payload).read_var().map_err(malformed)?;
            Ok(Message::Access { read_only: read_only != 0 })
        }
        MSG_GONE => {
            let payload = cursor.read_buf().map_err(malformed)?;
            let mut inner = Cursor::new(payload);
            let kind: u64 = inner.read_var().map_err(malformed)?;
            match kind {
                GONE_DELETED => Ok(Message::Gone(Removal::Deleted)),
                GONE_RENAMED => {
                    let to = inner.read_string().map_err(malformed)?.to_owned();
                    Ok(Message::Gone(Removal::Renamed { to }))
                }
                other => Err(Error::MalformedMessage(format!("unknown removal {other}"))),
            }
        }
        other => Err(Error::UnknownMessageType(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::EMPTY_UPDATE;

    fn every_message() -> Vec<Message> {
        vec![
            Message::SyncStep1 { state_vector: vec![1, 5, 3] },
            Message::SyncStep1 { state_vector: vec![0] },
            Message::SyncStep2 { update: EMPTY_UPDATE.to_vec() },
            Message::Update { update: vec![1, 2, 3, 200, 7] },
            Message::Awareness { update: vec![1, 9, 0, 4, b'n', b'u', b'l', b'l'] },
            Message::QueryAwareness,
            Message::AuthDenied { reason: "read-only token ✋".into() },
            Message::AuthGranted,
            Message::Durable { seq: 300, state_vector: vec![1, 5, 3] },
            Message::Access { read_only: true },
            Message::Access { read_only: false },
            Message::Gone(Removal::Deleted),
            Message::Gone(Removal::Renamed { to: "会议/记录.md".into() }),
        ]
    }

    #[test]
    fn every_message_round_trips_alone_and_packed() {
        let mut packed = Vec::new();
        for message in every_message() {
            let frame = message.encode();
            assert_eq!(Message::decode_frame(&frame).unwrap(), vec![message.clone()]);
            packed.extend(frame);
        }
        assert_eq!(Message::decode_frame(&packed).unwrap(), every_message());
    }

    #[test]
    fn only_durable_access_and_gone_are_extensions() {
        let extensions: Vec<bool> = every_message().iter().map(Message::is_extension).collect();
        assert_eq!(
            extensions,
            [false, false, false, false, false, false, false, false, true, true, true, true, true]
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        for message in every_message() {
            let frame = message.encode();
            for cut in 0..frame.len() {
                // Cutting a frame short either fails or (for trailing payload bytes of a
                // self-delimiting message) is impossible: every prefix must fail.
                assert!(
                    Message::decode_frame(&frame[..cut]).is_err(),
                    "{message:?} cut at {cut} decoded"
                );
            }
        }
    }

    #[test]
    fn unknown_and_malformed_frames_are_errors() {
        assert!(matches!(Message::decode_frame(&[]), Err(Error::EmptyMessage)));
        assert!(matches!(Message::decode_frame(&[4]), Err(Error::UnknownMessageType(4))));
        assert!(matches!(Message::decode_frame(&[103, 0]), Err(Error::UnknownMessageType(103))));
        // A gone message of an unknown kind.
        assert!(matches!(Message::decode_frame(&[102, 1, 7]), Err(Error::MalformedMessage(_))));
        // An access message whose payload is empty.
        assert!(matches!(Message::decode_frame(&[101, 0]), Err(Error::MalformedMessage(_))));
        assert!(matches!(Message::decode_frame(&[0, 3, 0]), Err(Error::MalformedMessage(_))));
        // SyncStep1 must carry a decodable state vector.
        assert!(matches!(
            Message::decode_frame(&[0, 0, 2, 1, 0x80]),
            Err(Error::MalformedStateVector(_))
        ));
        // A length past the end of the frame.
        assert!(Message::decode_frame(&[0, 2, 5, 1]).is_err());
        // Auth reason that is not UTF-8.
        assert!(Message::decode_frame(&[2, 0, 1, 0xff]).is_err());
        // A varint longer than 64 bits.
        assert!(Message::decode_frame(&[0xff; 12]).is_err());
    }
}
