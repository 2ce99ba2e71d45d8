//! [`SyncSession`]: the y-protocols conversation with one peer, bytes in and bytes out.
//!
//! The session does no IO. A server keeps one per connection over the room's shared
//! [`Document`] and [`Presence`]; a client keeps one per connection attempt. Both feed it every
//! frame the peer sends ([`SyncSession::receive`]) and send back what it returns.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::delta::Delta;
use crate::document::Document;
use crate::error::{Error, Result};
use crate::presence::{Presence, PresenceChange};
use crate::protocol::{Message, Removal};

/// Which end of the connection this session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that opened the connection (editor, browser, load tool).
    Client,
    /// The side that accepted it (tandem-server).
    Server,
}

/// Which messages a connection carries beyond the stock y-protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extensions {
    /// Stock y-protocols only: no message of type ≥ 100 is ever sent (stock Yjs peers).
    Stock,
    /// Also tandem's extension messages (type ≥ 100: durability confirmations), which the
    /// client asked a tandem server for when it connected.
    Tandem,
}

impl Extensions {
    /// Whether tandem's extension messages are on.
    pub fn tandem(self) -> bool {
        self == Extensions::Tandem
    }
}

/// What a server lets a peer do with the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerAccess {
    /// Read and write.
    ReadWrite,
    /// Read only: the peer's updates are refused (dropped, the connection stays open).
    ReadOnly,
}

/// How a session behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Which end this is.
    pub role: Role,
    /// Whether the peer asked for tandem's extension messages (type ≥ 100).
    pub extensions: Extensions,
    /// Server side: whether the peer's updates are applied or refused.
    pub access: PeerAccess,
}

impl SessionConfig {
    /// A client session; [`Extensions::Tandem`] when talking to a tandem server that was asked
    /// for them.
    pub fn client(extensions: Extensions) -> Self {
        Self { role: Role::Client, extensions, access: PeerAccess::ReadWrite }
    }

    /// A server session.
    pub fn server(extensions: Extensions, access: PeerAccess) -> Self {
        Self { role: Role::Server, extensions, access }
    }
}

/// What one incoming frame did, and what to do about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Incoming {
    /// Frames to send back to this peer, in order.
    pub replies: Vec<Vec<u8>>,
    /// Document updates from the peer that were applied: a server stores them and sends each
    /// to every other peer as an Update frame ([`SyncSession::update_frame`]). On a server each
    /// is the re-encoding of what its replica took in ([`crate::Integrated::update`]), not the
    /// peer's bytes; `[0, 0]` when the update changed nothing.
    pub applied_updates: Vec<Vec<u8>>,
    /// Server: the client ids whose items the applied updates carried, i.e. who wrote them (a
    /// server credits them to this connection's author).
    pub writers: Vec<u64>,
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
    /// Server: clients whose presence the peer tried to publish or remove but another
    /// connection owns; left out of what was applied and relayed.
    pub refused_presence: Vec<u64>,
    /// Client: the server said what this connection may do (tandem extension).
    pub access: Option<PeerAccess>,
    /// Client: the document left this id (tandem extension); do not reconnect to it.
    pub gone: Option<Removal>,
}

/// The protocol state of one connection.
#[derive(Debug, Clone)]
pub struct SyncSession {
    config: SessionConfig,
    synced: bool,
    updates_sent: u64,
    updates_received: u64,
    /// This session's number among all sessions of the process: who owns a client's presence
    /// (see [`Presence::apply_owned_update`]).
    owner: u64,
}

/// The last session number handed out.
static LAST_OWNER: AtomicU64 = AtomicU64::new(0);

impl SyncSession {
    /// A session that has not started yet.
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            synced: false,
            updates_sent: 0,
            updates_received: 0,
            owner: LAST_OWNER.fetch_add(1, Ordering::Relaxed) + 1,
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
        if self.config.role == Role::Server && self.config.extensions.tandem() {
            let read_only = self.config.access == PeerAccess::ReadOnly;
            frames.push(Message::Access { read_only }.encode());
        }
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
                let (update, held) = document.encode_diff_and_held(&state_vector)?;
                incoming.replies.push(Message::SyncStep2 { update }.encode());
                if self.config.role == Role::Client {
                    self.updates_sent += 1;
                }
                // Held updates follow on their own, so the peer can integrate what precedes
                // their gaps (see `Document::encode_diff_and_held`).
                if let Some(update) = held {
                    incoming.replies.push(Message::Update { update }.encode());
                    if self.config.role == Role::Client {
                        self.updates_sent += 1;
                    }
                }
            }
            Message::SyncStep2 { update } => {
                self.apply(update, document, presence, incoming)?;
                if !self.synced {
                    self.synced = true;
                    incoming.synced = true;
                }
            }
            Message::Update { update } => self.apply(update, document, presence, incoming)?,
            Message::Awareness { update } => match self.config.role {
                Role::Client => {
                    let change = presence.apply_update(&update, now_ms)?;
                    incoming.presence.push((update, change));
                }
                Role::Server => {
                    let owned = presence.apply_owned_update(&update, self.owner, now_ms)?;
                    incoming.refused_presence.extend(owned.refused);
                    if let Some(update) = owned.update {
                        incoming.presence.push((update, owned.change));
                    }
                }
            },
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
            Message::Access { read_only } => match self.config.role {
                Role::Client => {
                    let access =
                        if read_only { PeerAccess::ReadOnly } else { PeerAccess::ReadWrite };
                    self.config.access = access;
                    incoming.access = Some(access);
                }
                Role::Server => {
                    return Err(Error::UnknownMessageType(crate::protocol::MSG_ACCESS));
                }
            },
            Message::Gone(removal) => match self.config.role {
                Role::Client => incoming.gone = Some(removal),
                Role::Server => {
                    return Err(Error::UnknownMessageType(crate::protocol::MSG_GONE));
                }
            },
        }
        Ok(())
    }

    fn apply(
        &mut self,
        update: Vec<u8>,
        document: &mut Document,
        presence: &mut Presence,
        incoming: &mut Incoming,
    ) -> Result<()> {
        if self.config.role == Role::Server {
            self.updates_received += 1;
            if self.config.access == PeerAccess::ReadOnly {
                incoming.refused_update = true;
                return Ok(());
            }
        }
        let (delta, applied) = match self.config.role {
            // What the server's replica integrated, re-encoded: the bytes the peer sent may
            // integrate differently elsewhere (see `Document::integrate_update`).
            Role::Server => {
                let integrated = document.integrate_update(&update)?;
                // Writing as a client makes its presence this connection's to publish.
                presence.claim(self.owner, &integrated.writers);
                incoming.writers.extend(&integrated.writers);
                (integrated.delta, integrated.update)
            }
            Role::Client => (document.apply_update(&update)?, update),
        };
        if !delta.is_empty() {
            incoming.deltas.push(delta);
        }
        incoming.applied_updates.push(applied);
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

    /// Server: the peer is gone. Its clients go to the connections that claimed them meanwhile
    /// (reconnects) or are marked gone; returns the update telling the others, if any
    /// presence changed (see [`Presence::release`]).
    pub fn leave(&self, presence: &mut Presence, now_ms: u64) -> Result<Option<Vec<u8>>> {
        presence.release(self.owner, now_ms)
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
            .tandem()
            .then(|| Message::Durable { seq, state_vector: document.state_vector() }.encode())
    }

    /// Server: the frame telling this peer the document left its id, if the peer asked for
    /// extensions (a stock client learns it only from the close).
    pub fn gone_frame(&self, removal: &Removal) -> Option<Vec<u8>> {
        self.config.extensions.tandem().then(|| Message::Gone(removal.clone()).encode())
    }

    /// Number of update messages this client has sent on this connection (SyncStep2 included).
    pub fn updates_sent(&self) -> u64 {
        self.updates_sent
    }

    /// Whether the peer's SyncStep2 has arrived.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Server: the awareness client ids this peer publishes that have a state, in order.
    pub fn peer_clients(&self, presence: &Presence) -> Vec<u64> {
        presence.published_by(self.owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocumentConfig;
    use crate::presence::{PresenceState, UserInfo};

    struct Side {
        session: SyncSession,
        document: Document,
        presence: Presence,
    }

    impl Side {
        fn new(config: SessionConfig, client_id: u64) -> Self {
            Self {
                session: SyncSession::new(config),
                document: Document::new(DocumentConfig::new(client_id)).unwrap(),
                presence: Presence::new(client_id),
            }
        }

        fn receive(&mut self, frame: &[u8]) -> Result<Incoming> {
            self.session.receive(frame, &mut self.document, &mut self.presence, 0)
        }
    }

    /// Delivers frames both ways until both sides are quiet; returns everything each received.
    fn pump(
        a: &mut Side,
        b: &mut Side,
        mut to_a: Vec<Vec<u8>>,
        mut to_b: Vec<Vec<u8>>,
    ) -> (Vec<Incoming>, Vec<Incoming>) {
        let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
        while !to_a.is_empty() || !to_b.is_empty() {
            for frame in std::mem::take(&mut to_b) {
                let incoming = b.receive(&frame).unwrap();
                to_a.extend(incoming.replies.clone());
                got_b.push(incoming);
            }
            for frame in std::mem::take(&mut to_a) {
                let incoming = a.receive(&frame).unwrap();
                to_b.extend(incoming.replies.clone());
                got_a.push(incoming);
            }
        }
        (got_a, got_b)
    }

    /// An awareness frame from a peer with client id `client` named `name`, sent `times` times
    /// over (each raises its clock, as renewals do).
    fn announce(client: u64, name: &str, times: usize) -> Vec<u8> {
        let mut presence = Presence::new(client);
        let state = PresenceState {
            user: Some(UserInfo { name: name.into(), color: "#000000".into(), color_light: None }),
            cursor: None,
        };
        let mut update = Vec::new();
        for _ in 0..times {
            update = presence.set_local_state(&state, 0).unwrap();
        }
        SyncSession::awareness_frame(&update)
    }

    fn names(presence: &Presence) -> Vec<(u64, String)> {
        presence
            .peers()
            .into_values()
            .map(|peer| (peer.client_id, peer.state.user.map(|u| u.name).unwrap_or_default()))
            .collect()
    }

    /// Issue 18: a connection may publish or remove presence only for the clients it owns (the
    /// ids it announced first or wrote updates as); one room, sessions sharing its replica.
    #[test]
    fn no_connection_can_speak_for_another_connections_clients() {
        let config = SessionConfig::server(Extensions::Stock, PeerAccess::ReadWrite);
        let mut room = Side::new(config, 100);
        let mut alice = SyncSession::new(config);
        let mut bob = SyncSession::new(config);
        let mut mallory = SyncSession::new(config);
        let (document, presence) = (&mut room.document, &mut room.presence);

        let got = alice.receive(&announce(1, "alice", 1), document, presence, 0).unwrap();
        assert_eq!(got.presence.len(), 1);
        // Bob writes as client 5 before announcing anything.
        let mut bobs = Document::new(DocumentConfig::new(5)).unwrap();
        let update = bobs.insert(0, "bob", 0).unwrap();
        bob.receive(&SyncSession::update_frame(&update), document, presence, 0).unwrap();

        // Mallory renames alice, removes her, and claims bob's id: all refused, nothing relayed.
        let mut forged = Presence::new(1);
        forged.set_local_state(&PresenceState::default(), 0).unwrap();
        let removal = SyncSession::awareness_frame(&forged.clear_local_state(0).unwrap());
        for frame in [announce(1, "mallory-as-alice", 3), removal, announce(5, "not bob", 2)] {
            let got = mallory.receive(&frame, document, presence, 0).unwrap();
            assert!(got.presence.is_empty(), "{got:?}");
            assert_eq!(got.refused_presence.len(), 1);
        }
        // Her own client is fine.
        let got = mallory.receive(&announce(7, "mallory", 1), document, presence, 0).unwrap();
        assert_eq!(got.presence.len(), 1);
        assert_eq!(names(presence), [(1, "alice".to_owned()), (7, "mallory".to_owned())]);
        assert_eq!(mallory.peer_clients(presence), [7]);
        let got = bob.receive(&announce(5, "bob", 1), document, presence, 0).unwrap();
        assert_eq!(got.presence.len(), 1);

        // Mallory leaving removes only her own client.
        mallory.leave(presence, 0).unwrap();
        assert_eq!(names(presence), [(1, "alice".to_owned()), (5, "bob".to_owned())]);
        // Alice leaving frees her id (a reconnect of hers claims it again).
        alice.leave(presence, 0).unwrap();
        let mut again = SyncSession::new(config);
        let got = again.receive(&announce(1, "alice", 5), document, presence, 0).unwrap();
        assert_eq!(got.presence.len(), 1);
    }

    #[test]
    fn handshake_syncs_both_ways_and_counts_updates() {
        let mut client = Side::new(SessionConfig::client(Extensions::Tandem), 1);
        let mut server =
            Side::new(SessionConfig::server(Extensions::Tandem, PeerAccess::ReadWrite), 2);
        client.document.insert(0, "offline 👋", 0).unwrap();
        server.document.insert(0, "stored ", 0).unwrap();
        client
            .presence
            .set_local_state(
                &PresenceState {
                    user: Some(UserInfo {
                        name: "c".into(),
                        color: "#000000".into(),
                        color_light: None,
                    }),
                    cursor: None,
                },
                0,
            )
            .unwrap();
        let to_server = client.session.open(&client.document, &client.presence).unwrap();
        assert_eq!(to_server.len(), 2, "SyncStep1 and the client's awareness, one per frame");
        let to_client = server.session.open(&server.document, &server.presence).unwrap();
        assert_eq!(to_client.len(), 2, "SyncStep1 and access; no awareness to send yet");
        let (at_client, at_server) = pump(&mut client, &mut server, to_client, to_server);
        assert_eq!(client.document.text(), server.document.text());
        assert!(client.session.is_synced() && server.session.is_synced());
        assert_eq!(at_client.iter().filter(|i| i.synced).count(), 1);
        assert_eq!(client.session.updates_sent(), 1, "the SyncStep2 is update message 1");
        let seqs: Vec<u64> = at_server.iter().filter_map(|i| i.update_seq).collect();
        assert_eq!(seqs, vec![1]);
        assert_eq!(server.session.peer_clients(&server.presence), vec![1]);

        // A live update, then the server's durable confirmation of it.
        let update = client.document.insert(0, "!", 0).unwrap();
        let (frame, seq) = client.session.send_update(&update);
        assert_eq!(seq, 2);
        let incoming = server.receive(&frame).unwrap();
        assert_eq!(incoming.update_seq, Some(2));
        assert_eq!(incoming.applied_updates, vec![update]);
        let durable = server.session.durable_frame(2, &server.document).unwrap();
        assert_eq!(client.receive(&durable).unwrap().durable, Some(2));
    }

    #[test]
    fn read_only_peers_cannot_write() {
        let mut server =
            Side::new(SessionConfig::server(Extensions::Stock, PeerAccess::ReadOnly), 2);
        let mut writer = Document::new(DocumentConfig::new(1)).unwrap();
        let frame = SyncSession::update_frame(&writer.insert(0, "x", 0).unwrap());
        let incoming = server.receive(&frame).unwrap();
        assert!(incoming.refused_update);
        assert!(incoming.applied_updates.is_empty());
        assert_eq!(server.document.text(), "");
        assert!(server.session.durable_frame(1, &server.document).is_none(), "no extensions");
    }

    #[test]
    fn access_goes_only_to_clients_that_asked_and_is_exposed() {
        let document = Document::new(DocumentConfig::new(2)).unwrap();
        let presence = Presence::new(2);
        let open = |extensions, access| {
            SyncSession::new(SessionConfig::server(extensions, access))
                .open(&document, &presence)
                .unwrap()
                .iter()
                .flat_map(|frame| Message::decode_frame(frame).unwrap())
                .filter(Message::is_extension)
                .collect::<Vec<_>>()
        };
        assert_eq!(open(Extensions::Stock, PeerAccess::ReadOnly), []);
        assert_eq!(
            open(Extensions::Tandem, PeerAccess::ReadOnly),
            [Message::Access { read_only: true }]
        );
        assert_eq!(
            open(Extensions::Tandem, PeerAccess::ReadWrite),
            [Message::Access { read_only: false }]
        );
        let mut client = Side::new(SessionConfig::client(Extensions::Tandem), 1);
        let frame = Message::Access { read_only: true }.encode();
        assert_eq!(client.receive(&frame).unwrap().access, Some(PeerAccess::ReadOnly));
        assert_eq!(client.session.config().access, PeerAccess::ReadOnly);
    }

    #[test]
    fn gone_goes_only_to_clients_that_asked_and_is_exposed() {
        let server =
            |extensions| SyncSession::new(SessionConfig::server(extensions, PeerAccess::ReadWrite));
        let renamed = Removal::Renamed { to: "b".into() };
        assert_eq!(server(Extensions::Stock).gone_frame(&Removal::Deleted), None);
        let frame = server(Extensions::Tandem).gone_frame(&renamed);
        assert_eq!(frame, Some(Message::Gone(renamed.clone()).encode()));
        let mut client = Side::new(SessionConfig::client(Extensions::Tandem), 1);
        assert_eq!(client.receive(&frame.unwrap_or_default()).unwrap().gone, Some(renamed));
        let mut server =
            Side::new(SessionConfig::server(Extensions::Tandem, PeerAccess::ReadWrite), 2);
        assert!(server.receive(&Message::Gone(Removal::Deleted).encode()).is_err());
    }

    #[test]
    fn server_answers_queries_and_rejects_client_only_messages() {
        let mut server =
            Side::new(SessionConfig::server(Extensions::Tandem, PeerAccess::ReadWrite), 2);
        let replies = server.receive(&Message::QueryAwareness.encode()).unwrap().replies;
        assert!(matches!(
            &Message::decode_frame(&replies[0]).unwrap()[..],
            [Message::Awareness { .. }]
        ));
        let durable = Message::Durable { seq: 1, state_vector: vec![0] }.encode();
        assert!(matches!(server.receive(&durable), Err(Error::UnknownMessageType(100))));
        let access = Message::Access { read_only: false }.encode();
        assert!(matches!(server.receive(&access), Err(Error::UnknownMessageType(101))));
        let mut client = Side::new(SessionConfig::client(Extensions::Stock), 1);
        let denied = Message::AuthDenied { reason: "no".into() }.encode();
        assert_eq!(client.receive(&denied).unwrap().auth_denied.as_deref(), Some("no"));
        assert!(client.receive(&[0, 2, 1, 0xff]).is_err(), "a malformed update");
        assert_eq!(client.document.text(), "");
    }
}
