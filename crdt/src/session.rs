//! [`SyncSession`]: the y-protocols conversation with one peer, bytes in and bytes out.
//!
//! The session does no IO. A server keeps one per connection over the room's shared
//! [`Document`] and [`Presence`]; a client keeps one per connection attempt. Both feed it every
//! frame the peer sends ([`SyncSession::receive`]) and send back what it returns.

use std::collections::BTreeSet;

use crate::delta::Delta;
use crate::document::Document;
use crate::error::{Error, Result};
use crate::presence::{Presence, PresenceChange};
use crate::protocol::Message;

/// Which end of the connection this session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that opened the connection (editor, browser, load tool).
    Client,
    /// The side that accepted it (tandem-server).
    Server,
}

/// How a session behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Which end this is.
    pub role: Role,
    /// Whether the peer asked for tandem's extension messages (type ≥ 100).
    pub extensions: bool,
    /// Server side: the peer may read but not write; its updates are refused.
    pub read_only: bool,
}

impl SessionConfig {
    /// A client session; `extensions` when talking to a tandem server that was asked for them.
    pub fn client(extensions: bool) -> Self {
        Self { role: Role::Client, extensions, read_only: false }
    }

    /// A server session.
    pub fn server(extensions: bool, read_only: bool) -> Self {
        Self { role: Role::Server, extensions, read_only }
    }
}

/// What one incoming frame did, and what to do about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Incoming {
    /// Frames to send back to this peer, in order.
    pub replies: Vec<Vec<u8>>,
    /// Document updates from the peer that were applied: a server stores them and sends each
    /// to every other peer as an Update frame ([`SyncSession::update_frame`]).
    pub applied_updates: Vec<Vec<u8>>,
    /// Server: the number of update messages received from this peer so far; once the updates
    /// are stored, send [`SyncSession::durable_frame`] with it.
    pub update_seq: Option<u64>,
    /// What the peer's updates changed in the text, one delta per applied update, to apply in
    /// order (empty when the document does not track deltas).
    pub deltas: Vec<Delta>,
    /// Awareness updates that were applied, raw (a server relays them) and what they changed.
    pub presence: Vec<(Vec<u8>, PresenceChange)>,
    /// This frame completed the initial sync (the peer's SyncStep2 arrived).
    pub synced: bool,
    /// Client: the server stored this connection's first `n` update messages.
    pub durable: Option<u64>,
    /// Client: the server refused access, with its reason.
    pub auth_denied: Option<String>,
    /// Server: a read-only peer sent an update, which was dropped.
    pub refused_update: bool,
}

/// The protocol state of one connection.
#[derive(Debug, Clone)]
pub struct SyncSession {
    config: SessionConfig,
    synced: bool,
    updates_sent: u64,
    updates_received: u64,
    peer_clients: BTreeSet<u64>,
}

impl SyncSession {
    /// A session that has not started yet.
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            synced: false,
            updates_sent: 0,
            updates_received: 0,
            peer_clients: BTreeSet::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> SessionConfig {
        self.config
    }

    /// Frames that open the conversation: SyncStep1 and the awareness this side knows
    /// (a server: every client's; a client: its own, once set).
    pub fn open(&mut self, document: &Document, presence: &Presence) -> Result<Vec<Vec<u8>>> {
        let mut frames =
            vec![Message::SyncStep1 { state_vector: document.state_vector() }.encode()];
        let awareness = match self.config.role {
            Role::Server if !presence.is_empty() => Some(presence.encode_all()?),
            Role::Client if presence.local_state().is_some() => {
                Some(presence.encode_clients(&[presence.client_id()])?)
            }
            _ => None,
        };
        if let Some(update) = awareness {
            frames.push(Message::Awareness { update }.encode());
        }
        Ok(frames)
    }

    /// Handles one frame from the peer. An `Err` means the peer sent something malformed: the
    /// connection should be closed with the error as the reason; the document is untouched by
    /// the bad message.
    pub fn receive(
        &mut self,
        frame: &[u8],
        document: &mut Document,
        presence: &mut Presence,
        now_ms: u64,
    ) -> Result<Incoming> {
        let mut incoming = Incoming::default();
        for message in Message::decode_frame(frame)? {
            self.handle(message, document, presence, now_ms, &mut incoming)?;
        }
        Ok(incoming)
    }

    fn handle(
        &mut self,
        message: Message,
        document: &mut Document,
        presence: &mut Presence,
        now_ms: u64,
        incoming: &mut Incoming,
    ) -> Result<()> {
        match message {
            Message::SyncStep1 { state_vector } => {
                let update = document.encode_diff(&state_vector)?;
                incoming.replies.push(Message::SyncStep2 { update }.encode());
                if self.config.role == Role::Client {
                    self.updates_sent += 1;
                }
            }
            Message::SyncStep2 { update } => {
                self.apply(update, document, incoming)?;
                if !self.synced {
                    self.synced = true;
                    incoming.synced = true;
                }
            }
            Message::Update { update } => self.apply(update, document, incoming)?,
            Message::Awareness { update } => {
                let change = presence.apply_update(&update, now_ms)?;
                if self.config.role == Role::Server {
                    for (client, present) in Presence::clients_in_update(&update)? {
                        if present {
                            self.peer_clients.insert(client);
                        } else {
                            self.peer_clients.remove(&client);
                        }
                    }
                }
                incoming.presence.push((update, change));
            }
            Message::QueryAwareness => {
                incoming
                    .replies
                    .push(Message::Awareness { update: presence.encode_all()? }.encode());
            }
            Message::AuthDenied { reason } => incoming.auth_denied = Some(reason),
            Message::AuthGranted => {}
            Message::Durable { seq, .. } => match self.config.role {
                Role::Client => incoming.durable = Some(seq),
                Role::Server => {
                    return Err(Error::UnknownMessageType(crate::protocol::MSG_DURABLE));
                }
            },
        }
        Ok(())
    }

    fn apply(
        &mut self,
        update: Vec<u8>,
        document: &mut Document,
        incoming: &mut Incoming,
    ) -> Result<()> {
        if self.config.role == Role::Server {
            self.updates_received += 1;
            if self.config.read_only {
                incoming.refused_update = true;
                return Ok(());
            }
        }
        let delta = document.apply_update(&update)?;
        if !delta.is_empty() {
            incoming.deltas.push(delta);
        }
        incoming.applied_updates.push(update);
        if self.config.role == Role::Server {
            incoming.update_seq = Some(self.updates_received);
        }
        Ok(())
    }

    /// Client: frames a local update for sending and counts it, so a later durable message can
    /// be matched to it. Returns the frame and the update's number on this connection.
    pub fn send_update(&mut self, update: &[u8]) -> (Vec<u8>, u64) {
        self.updates_sent += 1;
        (Self::update_frame(update), self.updates_sent)
    }

    /// An Update frame for `update` (a server relays peers' updates with it).
    pub fn update_frame(update: &[u8]) -> Vec<u8> {
        Message::Update { update: update.to_vec() }.encode()
    }

    /// An awareness frame.
    pub fn awareness_frame(update: &[u8]) -> Vec<u8> {
        Message::Awareness { update: update.to_vec() }.encode()
    }

    /// Server: the durable message for this peer, if it negotiated extensions.
    pub fn durable_frame(&self, seq: u64, document: &Document) -> Option<Vec<u8>> {
        self.config
            .extensions
            .then(|| Message::Durable { seq, state_vector: document.state_vector() }.encode())
    }

    /// Number of update messages this client has sent on this connection (SyncStep2 included).
    pub fn updates_sent(&self) -> u64 {
        self.updates_sent
    }

    /// Whether the peer's SyncStep2 has arrived.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Server: the awareness client ids this peer announced and has not withdrawn; announce
    /// their departure when the connection drops ([`Presence::remove_clients`]).
    pub fn peer_clients(&self) -> Vec<u64> {
        self.peer_clients.iter().copied().collect()
    }
}
