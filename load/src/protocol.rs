//! The wire dialects of the Yjs servers tandem-load measures. Every client speaks y-protocols
//! ([`tandem_crdt::Message`]) inside; a [`Protocol`] says how those frames travel:
//!
//! - **y-websocket** (tandem-server, the stock node server): one document per websocket at
//!   `URL/<doc>`, frames as they are. tandem's extensions are asked for with `?ext=durable`.
//! - **Hocuspocus**: every frame starts with `varString(document name)` (one socket may carry
//!   several documents); the client's first frame must be an auth message (type 2, subtype 0
//!   token); the server answers a SyncStep1 with type 4 (SyncReply, a sync message that asks for
//!   no SyncStep1 back) and confirms each applied update with type 8 (SyncStatus).
//! - **y-sweet**: y-protocols as they are, at `URL/doc/ws/<doc>`; a document must first be
//!   created with `POST URL/doc/new {"docId": ...}` ([`create_document`]).
//!
//! The framing is pure ([`Protocol::wrap`], [`Protocol::unwrap`]); only [`create_document`]
//! does IO.

use std::borrow::Cow;
use std::time::Duration;

use anyhow::Context;
use tandem_crdt::{Extensions, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;

/// Which dialect the server speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// y-websocket's: the URL path names the document (tandem-server, node y-websocket).
    #[default]
    YWebsocket,
    /// Hocuspocus's: document name before every message, an auth message first.
    Hocuspocus,
    /// y-sweet's: documents created over HTTP first, websocket at `/doc/ws/<doc>`.
    YSweet,
}

/// Hocuspocus message types beyond y-protocols' 0–3.
const HOCUSPOCUS_AUTH: u64 = 2;
const HOCUSPOCUS_SYNC_REPLY: u64 = 4;
const HOCUSPOCUS_CLOSE: u64 = 7;
/// Hocuspocus auth subtypes.
const AUTH_TOKEN: u64 = 0;
const AUTH_PERMISSION_DENIED: u64 = 1;
/// y-protocols sync message type.
const MSG_SYNC: u64 = 0;
/// What Hocuspocus clients send as their token when the server wants none.
const HOCUSPOCUS_TOKEN: &str = "tandem-load";
/// How long creating a y-sweet document may take.
const CREATE_TIMEOUT: Duration = Duration::from_secs(10);

/// A frame the client cannot make sense of.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtocolError {
    /// The bytes do not follow the dialect's framing.
    #[error("malformed {protocol:?} frame: {reason}")]
    Malformed {
        /// The dialect.
        protocol: Protocol,
        /// What was wrong.
        reason: String,
    },
    /// A Hocuspocus frame for a document this connection did not open.
    #[error("frame for document {got:?} on the connection of {expected:?}")]
    WrongDocument {
        /// The connection's document.
        expected: String,
        /// The document the frame names.
        got: String,
    },
    /// The server closed the document (Hocuspocus type 7).
    #[error("the server closed the document")]
    Closed,
}

impl Protocol {
    /// The websocket URL of document `doc` on the server at `base` (no trailing slash).
    /// `extensions` asks tandem-server for its extension messages (y-websocket dialect only).
    pub fn doc_url(self, base: &str, doc: &str, extensions: Extensions) -> String {
        match self {
            Protocol::YWebsocket if extensions.tandem() => format!("{base}/{doc}?ext=durable"),
            Protocol::YWebsocket => format!("{base}/{doc}"),
            // Hocuspocus routes by the name inside each frame; the path only helps a load
            // balancer that hashes the URI keep a document on one node.
            Protocol::Hocuspocus => format!("{base}/{doc}"),
            Protocol::YSweet => format!("{base}/doc/ws/{doc}"),
        }
    }

    /// Frames to send right after the websocket opens, before any y-protocols message.
    pub fn opening(self, doc: &str) -> Vec<Vec<u8>> {
        match self {
            Protocol::Hocuspocus => {
                let mut frame = Vec::new();
                frame.write_string(doc);
                frame.write_var(HOCUSPOCUS_AUTH);
                frame.write_var(AUTH_TOKEN);
                frame.write_string(HOCUSPOCUS_TOKEN);
                vec![frame]
            }
            Protocol::YWebsocket | Protocol::YSweet => Vec::new(),
        }
    }

    /// A y-protocols frame of document `doc` as this dialect sends it.
    pub fn wrap(self, doc: &str, frame: Vec<u8>) -> Vec<u8> {
        match self {
            Protocol::Hocuspocus => {
                let mut out = Vec::with_capacity(frame.len() + doc.len() + 2);
                out.write_string(doc);
                out.extend_from_slice(&frame);
                out
            }
            Protocol::YWebsocket | Protocol::YSweet => frame,
        }
    }

    /// The y-protocols frame inside a received frame of document `doc`, or `None` for a
    /// frame of the dialect's own that y-protocols has no word for (Hocuspocus's
    /// "authenticated" and per-update sync status). A refused Hocuspocus auth becomes
    /// y-protocols' auth-denied message.
    pub fn unwrap<'a>(
        self,
        doc: &str,
        frame: &'a [u8],
    ) -> Result<Option<Cow<'a, [u8]>>, ProtocolError> {
        match self {
            Protocol::YWebsocket | Protocol::YSweet => Ok(Some(Cow::Borrowed(frame))),
            Protocol::Hocuspocus => unwrap_hocuspocus(doc, frame),
        }
    }
}

fn malformed(protocol: Protocol, reason: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Malformed { protocol, reason: reason.to_string() }
}

fn unwrap_hocuspocus<'a>(
    doc: &str,
    frame: &'a [u8],
) -> Result<Option<Cow<'a, [u8]>>, ProtocolError> {
    let bad = |e: yrs::encoding::read::Error| malformed(Protocol::Hocuspocus, e);
    let mut cursor = Cursor::new(frame);
    let name = cursor.read_string().map_err(bad)?;
    if name != doc {
        return Err(ProtocolError::WrongDocument {
            expected: doc.to_owned(),
            got: name.to_owned(),
        });
    }
    let message_start = cursor.next;
    let kind: u64 = cursor.read_var().map_err(bad)?;
    let body = &frame[cursor.next..];
    match kind {
        // Sync, awareness and awareness queries are y-protocols' own.
        0 | 1 | 3 => Ok(Some(Cow::Borrowed(&frame[message_start..]))),
        HOCUSPOCUS_SYNC_REPLY => {
            let mut out = Vec::with_capacity(body.len() + 1);
            out.write_var(MSG_SYNC);
            out.extend_from_slice(body);
            Ok(Some(Cow::Owned(out)))
        }
        HOCUSPOCUS_AUTH => {
            let subtype: u64 = cursor.read_var().map_err(bad)?;
            if subtype == AUTH_PERMISSION_DENIED {
                let reason = cursor.read_string().map_err(bad)?.to_owned();
                Ok(Some(Cow::Owned(Message::AuthDenied { reason }.encode())))
            } else {
                Ok(None)
            }
        }
        HOCUSPOCUS_CLOSE => Err(ProtocolError::Closed),
        // Stateless messages, sync status, ping and pong: nothing for a y-protocols client.
        5 | 6 | 8 | 9 | 10 => Ok(None),
        other => Err(malformed(Protocol::Hocuspocus, format!("unknown message type {other}"))),
    }
}

/// Creates document `doc` on the y-sweet server whose websocket base URL is `base`
/// (`ws://HOST:PORT`): `POST /doc/new {"docId": doc}`. Creating one that exists succeeds.
pub async fn create_document(base: &str, doc: &str) -> anyhow::Result<()> {
    let authority = base
        .strip_prefix("ws://")
        .context("creating y-sweet documents needs a ws:// URL (no TLS client for HTTP here)")?;
    let body = serde_json::json!({ "docId": doc }).to_string();
    let request = format!(
        "POST /doc/new HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(CREATE_TIMEOUT, exchange)
        .await
        .context("y-sweet did not answer POST /doc/new in time")?
        .with_context(|| format!("POST /doc/new to {authority}"))?;
    let status_line = response.split(|&b| b == b'\r').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    if status_line.split(' ').nth(1).is_some_and(|code| code.starts_with('2')) {
        Ok(())
    } else {
        anyhow::bail!("POST /doc/new for {doc:?} answered {status_line:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step1() -> Vec<u8> {
        Message::SyncStep1 { state_vector: vec![0] }.encode()
    }

    #[test]
    fn y_websocket_and_y_sweet_frames_travel_as_they_are() {
        for protocol in [Protocol::YWebsocket, Protocol::YSweet] {
            assert!(protocol.opening("d").is_empty());
            assert_eq!(protocol.wrap("d", step1()), step1());
            assert_eq!(protocol.unwrap("d", &step1()).unwrap().as_deref(), Some(&step1()[..]));
        }
    }

    #[test]
    fn urls_follow_each_servers_convention() {
        let base = "ws://h:1";
        assert_eq!(Protocol::YWebsocket.doc_url(base, "a/b", Extensions::Stock), "ws://h:1/a/b");
        assert_eq!(
            Protocol::YWebsocket.doc_url(base, "a", Extensions::Tandem),
            "ws://h:1/a?ext=durable"
        );
        assert_eq!(Protocol::YSweet.doc_url(base, "a", Extensions::Stock), "ws://h:1/doc/ws/a");
        assert_eq!(Protocol::Hocuspocus.doc_url(base, "a", Extensions::Stock), "ws://h:1/a");
    }

    #[test]
    fn hocuspocus_prefixes_the_document_name_and_authenticates_first() {
        let opening = Protocol::Hocuspocus.opening("doc-1");
        // varString("doc-1"), Auth, Token, varString("tandem-load").
        let mut expected = vec![5];
        expected.extend_from_slice(b"doc-1");
        expected.extend_from_slice(&[2, 0, 11]);
        expected.extend_from_slice(b"tandem-load");
        assert_eq!(opening, vec![expected]);

        let wrapped = Protocol::Hocuspocus.wrap("doc-1", step1());
        assert_eq!(&wrapped[..6], b"\x05doc-1");
        assert_eq!(&wrapped[6..], &step1()[..]);
        // What the client sends, the client reads back unchanged.
        assert_eq!(
            Protocol::Hocuspocus.unwrap("doc-1", &wrapped).unwrap().as_deref(),
            Some(&step1()[..])
        );
    }

    #[test]
    fn hocuspocus_sync_reply_becomes_a_sync_message() {
        let update = Message::SyncStep2 { update: vec![0, 0] }.encode();
        let mut reply = b"\x01d".to_vec();
        reply.push(4);
        reply.extend_from_slice(&update[1..]);
        let unwrapped = Protocol::Hocuspocus.unwrap("d", &reply).unwrap().unwrap();
        assert_eq!(
            Message::decode_frame(&unwrapped).unwrap(),
            vec![Message::SyncStep2 { update: vec![0, 0] }]
        );
    }

    #[test]
    fn hocuspocus_own_messages_are_dropped_or_translated() {
        let frame = |body: &[u8]| [b"\x01d".as_slice(), body].concat();
        // Authenticated ("read-write" scope) and a sync status: nothing for y-protocols.
        let authenticated =
            frame(&[2, 2, 10, b'r', b'e', b'a', b'd', b'-', b'w', b'r', b'i', b't', b'e']);
        assert_eq!(Protocol::Hocuspocus.unwrap("d", &authenticated).unwrap(), None);
        assert_eq!(Protocol::Hocuspocus.unwrap("d", &frame(&[8, 1])).unwrap(), None);
        // A refusal keeps its reason.
        let denied = frame(&[2, 1, 2, b'n', b'o']);
        let unwrapped = Protocol::Hocuspocus.unwrap("d", &denied).unwrap().unwrap();
        assert_eq!(
            Message::decode_frame(&unwrapped).unwrap(),
            vec![Message::AuthDenied { reason: "no".into() }]
        );
        assert_eq!(Protocol::Hocuspocus.unwrap("d", &frame(&[7])), Err(ProtocolError::Closed));
    }

    #[test]
    fn malformed_hocuspocus_frames_are_errors_not_panics() {
        let cases: [&[u8]; 4] = [b"", b"\x09d", b"\x01d", b"\x01d\x63"];
        for frame in cases {
            assert!(
                matches!(
                    Protocol::Hocuspocus.unwrap("d", frame),
                    Err(ProtocolError::Malformed { .. })
                ),
                "{frame:?}"
            );
        }
        assert_eq!(
            Protocol::Hocuspocus.unwrap("d", b"\x01e\x00"),
            Err(ProtocolError::WrongDocument { expected: "d".into(), got: "e".into() })
        );
    }
}
