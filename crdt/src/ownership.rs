//! [`Ownership`]: on a server, which connection may publish each client's presence.
//!
//! A connection owns the client ids it announced first or wrote updates as; no other connection
//! may rename, move or remove those cursors. A client that reconnects gets a new connection,
//! and the server may hear it announce itself before it has seen the old connection close (the
//! old socket is still being read, or is half-open until the idle timeout): that announcement
//! is refused, but kept as the client's *claim*. When the owner lets the client go (its
//! connection closed, or the client fell silent for [`PRESENCE_TIMEOUT_MS`]) a fresh claim takes
//! it over at once, so peers see the client again instead of its departure. Handing a freed id
//! to whoever claimed it last is what its next announcement would do anyway; the claim only
//! closes the gap.
//!
//! Connections are numbers unique among a process's connections; times are milliseconds.

use std::collections::HashMap;

use yrs::sync::awareness::AwarenessUpdateEntry;

use crate::presence::PRESENCE_TIMEOUT_MS;

/// An announcement refused because another connection owned the client.
#[derive(Debug, Clone)]
struct Claim {
    connection: u64,
    entry: AwarenessUpdateEntry,
    at_ms: u64,
}

/// Who owns a client id.
#[derive(Debug, Clone, Copy)]
struct Owner {
    connection: u64,
    /// Whether it published the client's presence (else it only wrote as it): only then is the
    /// client's departure its to announce (another server's clients it wrote as are not).
    published: bool,
}

/// A client its owner let go, and what becomes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LetGo {
    /// The client id.
    pub client: u64,
    /// Whether the owner had published the client's presence.
    pub published: bool,
    /// The entry of the fresh claim that took it over, if one did.
    pub claim: Option<AwarenessUpdateEntry>,
}

/// Owners and claims of client ids (see the module's documentation).
#[derive(Debug, Default)]
pub(crate) struct Ownership {
    owners: HashMap<u64, Owner>,
    claims: HashMap<u64, Claim>,
}

impl Ownership {
    /// Whether `connection` may publish `client`: it owns it, or no one does.
    pub fn may_publish(&self, client: u64, connection: u64) -> bool {
        self.owners.get(&client).is_none_or(|owner| owner.connection == connection)
    }

    /// `connection` wrote as `client`: the client is its unless someone owns it.
    pub fn wrote_as(&mut self, client: u64, connection: u64) {
        self.owners.entry(client).or_insert(Owner { connection, published: false });
    }

    /// `connection` published `client`'s presence (it [`Ownership::may_publish`]): it is its.
    pub fn published(&mut self, client: u64, connection: u64) {
        self.owners.insert(client, Owner { connection, published: true });
    }

    /// `connection` was refused publishing `entry` for `client` at `now_ms`: the claim to hand
    /// the client to when its owner lets it go (the latest claim wins).
    pub fn refuse(
        &mut self,
        client: u64,
        connection: u64,
        entry: AwarenessUpdateEntry,
        now_ms: u64,
    ) {
        self.claims.insert(client, Claim { connection, entry, at_ms: now_ms });
    }

    /// The clients whose presence `connection` published, in order.
    pub fn published_by(&self, connection: u64) -> Vec<u64> {
        self.owned_by(connection).filter(|(_, owner)| owner.published).map(|(c, _)| c).collect()
    }

    /// The clients `connection` owns, in order.
    fn owned_by(&self, connection: u64) -> impl Iterator<Item = (u64, Owner)> {
        let mut owned: Vec<(u64, Owner)> = self
            .owners
            .iter()
            .filter(|(_, owner)| owner.connection == connection)
            .map(|(client, owner)| (*client, *owner))
            .collect();
        owned.sort_unstable_by_key(|(client, _)| *client);
        owned.into_iter()
    }

    /// `connection` closed: its claims are dropped and every client it owned is let go.
    pub fn release(&mut self, connection: u64, now_ms: u64) -> Vec<LetGo> {
        self.claims.retain(|_, claim| claim.connection != connection);
        let owned: Vec<(u64, Owner)> = self.owned_by(connection).collect();
        owned
            .into_iter()
            .map(|(client, owner)| LetGo {
                client,
                published: owner.published,
                claim: self.let_go(client, now_ms),
            })
            .collect()
    }

    /// `client` fell silent: whoever owned it lets it go. Returns the claim's entry that took it
    /// over, if one did.
    pub fn let_go(&mut self, client: u64, now_ms: u64) -> Option<AwarenessUpdateEntry> {
        self.owners.remove(&client);
        let claim = self.claims.remove(&client)?;
        // A live claimant renews its presence within the timeout; an older claim is left over.
        if now_ms.saturating_sub(claim.at_ms) >= PRESENCE_TIMEOUT_MS {
            return None;
        }
        self.owners.insert(client, Owner { connection: claim.connection, published: true });
        Some(claim.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(clock: u32) -> AwarenessUpdateEntry {
        AwarenessUpdateEntry { clock, json: "{}".into() }
    }

    fn let_go(client: u64, published: bool, claim: Option<u32>) -> LetGo {
        LetGo { client, published, claim: claim.map(entry) }
    }

    #[test]
    fn the_first_to_publish_or_write_owns_and_a_release_frees() {
        let mut ownership = Ownership::default();
        assert!(ownership.may_publish(7, 1));
        ownership.published(7, 1);
        ownership.wrote_as(7, 2);
        ownership.wrote_as(8, 1);
        assert!(ownership.may_publish(7, 1));
        assert!(!ownership.may_publish(7, 2));
        assert!(!ownership.may_publish(8, 2));
        assert_eq!(ownership.published_by(1), [7], "8 it only wrote as");
        assert_eq!(ownership.release(1, 0), [let_go(7, true, None), let_go(8, false, None)]);
        assert!(ownership.may_publish(7, 2));
    }

    #[test]
    fn a_fresh_claim_takes_over_what_its_owner_lets_go() {
        let mut ownership = Ownership::default();
        ownership.published(7, 1);
        ownership.refuse(7, 2, entry(5), 1_000);
        assert_eq!(ownership.release(1, 2_000), [let_go(7, true, Some(5))]);
        assert!(!ownership.may_publish(7, 1), "the claimant owns it now");
        assert_eq!(ownership.published_by(2), [7]);
        ownership.published(9, 3);
        ownership.refuse(9, 2, entry(2), 3_000);
        assert_eq!(ownership.let_go(9, 4_000), Some(entry(2)), "fell silent");
        assert_eq!(ownership.published_by(2), [7, 9]);
    }

    #[test]
    fn stale_claims_and_claims_of_closed_connections_take_nothing() {
        let mut ownership = Ownership::default();
        ownership.published(7, 1);
        ownership.refuse(7, 2, entry(5), 0);
        assert_eq!(ownership.let_go(7, PRESENCE_TIMEOUT_MS), None, "older than a renewal");
        ownership.published(7, 1);
        ownership.refuse(7, 2, entry(6), 0);
        assert!(ownership.release(2, 0).is_empty(), "the claimant owned nothing");
        assert_eq!(ownership.release(1, 0), [let_go(7, true, None)], "its claim went with it");
    }
}
