//! "Who wrote this": which author each Yjs client id of a document belongs to, and the current
//! text's runs by author (`GET /api/docs/ID/authors`). Pure; the room feeds [`Authorship`].
//!
//! A client id is credited to the connection whose update first carried it, by the same name
//! the version history uses (the token's `name` claim, else the connection's presence name).
//! A connection that writes before it has a name (its presence comes later) is named once it
//! has one, or when it leaves. Names are stored per document ([`super::HistoryStore`]), so they
//! survive a restart; the first name stored for a client id stays.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use tandem_crdt::ClientRun;

/// A room's knowledge of its writers' names.
#[derive(Debug, Default)]
pub(crate) struct Authorship {
    /// Client ids named since the room loaded.
    names: HashMap<u64, String>,
    /// Client ids written by connections that had no name yet, by connection.
    unnamed: HashMap<u64, BTreeSet<u64>>,
    /// Names learnt and not yet handed to the store.
    fresh: Vec<(u64, String)>,
}

impl Authorship {
    /// `connection` sent an update carrying `clients`' items. `name` gives its name; it is
    /// asked only when a client id is new, so a known writer costs a lookup per update.
    pub fn wrote(
        &mut self,
        connection: u64,
        clients: &[u64],
        name: impl FnOnce() -> Option<String>,
    ) {
        let waiting = self.unnamed.get(&connection);
        let new: Vec<u64> = clients
            .iter()
            .copied()
            .filter(|client| !self.names.contains_key(client))
            .filter(|client| !waiting.is_some_and(|w| w.contains(client)))
            .collect();
        if new.is_empty() {
            return;
        }
        match name() {
            Some(name) => self.learn(new, &name),
            None => self.unnamed.entry(connection).or_default().extend(new),
        }
    }

    /// Whether `connection` wrote while it had no name.
    pub fn is_unnamed(&self, connection: u64) -> bool {
        self.unnamed.contains_key(&connection)
    }

    /// Connections that wrote while they had no name.
    pub fn unnamed(&self) -> Vec<u64> {
        self.unnamed.keys().copied().collect()
    }

    /// `connection` has a name now: what it wrote unnamed is credited to it.
    pub fn named(&mut self, connection: u64, name: &str) {
        if let Some(clients) = self.unnamed.remove(&connection) {
            self.learn(clients.into_iter().collect(), name);
        }
    }

    /// `connection` left: what it wrote unnamed stays without an author.
    pub fn forget(&mut self, connection: u64) {
        self.unnamed.remove(&connection);
    }

    /// Names learnt since the last call, to store.
    pub fn take_fresh(&mut self) -> Vec<(u64, String)> {
        std::mem::take(&mut self.fresh)
    }

    /// Every name learnt since the room loaded.
    pub fn names(&self) -> &HashMap<u64, String> {
        &self.names
    }

    fn learn(&mut self, clients: Vec<u64>, name: &str) {
        for client in clients {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.names.entry(client) {
                slot.insert(name.to_owned());
                self.fresh.push((client, name.to_owned()));
            }
        }
    }
}

/// A stretch of the current text written by one author, as `GET /api/docs/ID/authors` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorRun {
    /// Its length in chars (at least 1).
    pub chars: usize,
    /// Its length in UTF-16 code units (at least 1).
    pub utf16: usize,
    /// Who wrote it; `None` when nobody named inserted it (a stock client without a name, a
    /// restore, or text older than authorship).
    pub author: Option<String>,
}

/// The text's runs by author, from its runs by client and each client's name; adjacent runs of
/// one author are merged.
pub fn author_runs<'a>(
    runs: &[ClientRun],
    name_of: impl Fn(u64) -> Option<&'a str>,
) -> Vec<AuthorRun> {
    let mut merged: Vec<AuthorRun> = Vec::with_capacity(runs.len());
    for run in runs {
        let author = name_of(run.client);
        match merged.last_mut() {
            Some(last) if last.author.as_deref() == author => {
                last.chars += run.chars;
                last.utf16 += run.utf16;
            }
            _ => merged.push(AuthorRun {
                chars: run.chars,
                utf16: run.utf16,
                author: author.map(str::to_owned),
            }),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_with_a_name_is_credited_at_once_and_once() {
        let mut authorship = Authorship::default();
        let mut asked = 0;
        authorship.wrote(1, &[10, 11], || {
            asked += 1;
            Some("ada".into())
        });
        authorship.wrote(1, &[10], || {
            asked += 1;
            Some("ada".into())
        });
        assert_eq!(asked, 1, "a known client asks for no name");
        assert_eq!(authorship.take_fresh(), vec![(10, "ada".into()), (11, "ada".into())]);
        assert!(authorship.take_fresh().is_empty());
        // The first connection to carry a client id keeps it (a relayed update credits no one).
        authorship.wrote(2, &[10, 20], || Some("bob".into()));
        assert_eq!(authorship.take_fresh(), vec![(20, "bob".into())]);
        assert_eq!(authorship.names()[&10], "ada");
    }

    #[test]
    fn a_writer_without_a_name_is_credited_once_it_has_one_or_never() {
        let mut authorship = Authorship::default();
        authorship.wrote(1, &[10], || None);
        authorship.wrote(1, &[10], || panic!("already waiting for this connection's name"));
        authorship.wrote(2, &[20], || None);
        assert!(authorship.is_unnamed(1));
        let mut unnamed = authorship.unnamed();
        unnamed.sort();
        assert_eq!(unnamed, vec![1, 2]);
        assert!(authorship.take_fresh().is_empty());
        authorship.named(1, "ada");
        authorship.forget(2);
        assert!(!authorship.is_unnamed(1) && !authorship.is_unnamed(2));
        assert_eq!(authorship.take_fresh(), vec![(10, "ada".into())]);
        authorship.named(2, "too late");
        assert!(authorship.take_fresh().is_empty());
        assert!(!authorship.names().contains_key(&20));
    }

    #[test]
    fn runs_by_author_merge_neighbours_and_keep_unknown_writers() {
        let run = |client, chars, utf16| ClientRun { client, chars, utf16 };
        let names: HashMap<u64, String> =
            [(1, "ada".to_owned()), (2, "ada".to_owned()), (3, "bob".to_owned())].into();
        let runs = [run(1, 3, 3), run(2, 2, 4), run(9, 1, 1), run(8, 1, 2), run(3, 5, 5)];
        let author = |name: &str| Some(name.to_owned());
        assert_eq!(
            author_runs(&runs, |client| names.get(&client).map(String::as_str)),
            vec![
                AuthorRun { chars: 5, utf16: 7, author: author("ada") },
                AuthorRun { chars: 2, utf16: 3, author: None },
                AuthorRun { chars: 5, utf16: 5, author: author("bob") },
            ]
        );
        assert_eq!(author_runs(&[], |_| None), vec![]);
        let json = serde_json::to_string(&author_runs(&runs[4..], |_| None)).unwrap();
        assert_eq!(json, r#"[{"chars":5,"utf16":5,"author":null}]"#);
    }
}
