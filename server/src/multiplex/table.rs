//! [`SessionTable`]: the documents open on one multiplexed connection, up to
//! `--max-docs-per-connection`.
//!
//! Each opening gets a generation number, so the end of an old session of a document (reported
//! after the client already reopened it) never removes the new one.

use std::collections::HashMap;

/// The sessions of one multiplexed connection, by document id.
#[derive(Debug)]
pub(crate) struct SessionTable<S> {
    sessions: HashMap<String, Entry<S>>,
    limit: usize,
    last_generation: u64,
}

#[derive(Debug)]
struct Entry<S> {
    generation: u64,
    session: S,
}

/// Every document the table may hold is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

impl<S> SessionTable<S> {
    /// An empty table for at most `limit` documents.
    pub fn new(limit: usize) -> Self {
        Self { sessions: HashMap::new(), limit, last_generation: 0 }
    }

    /// The session of `doc`, if one is in the table.
    pub fn get_mut(&mut self, doc: &str) -> Option<&mut S> {
        self.sessions.get_mut(doc).map(|entry| &mut entry.session)
    }

    /// Adds a session for `doc` (none may be in the table), made by `make` from its generation.
    pub fn open(&mut self, doc: &str, make: impl FnOnce(u64) -> S) -> Result<(), Full> {
        debug_assert!(!self.sessions.contains_key(doc), "{doc} is open already");
        if self.sessions.len() >= self.limit {
            return Err(Full);
        }
        self.last_generation += 1;
        let generation = self.last_generation;
        self.sessions.insert(doc.to_owned(), Entry { generation, session: make(generation) });
        Ok(())
    }

    /// Removes `doc`'s session whatever its generation.
    pub fn take(&mut self, doc: &str) -> Option<S> {
        self.sessions.remove(doc).map(|entry| entry.session)
    }

    /// Removes `doc`'s session if it is still the one of `generation`, which ended.
    pub fn ended(&mut self, doc: &str, generation: u64) -> Option<S> {
        match self.sessions.get(doc) {
            Some(entry) if entry.generation == generation => self.take(doc),
            _ => None,
        }
    }

    /// Empties the table.
    pub fn drain(&mut self) -> impl Iterator<Item = S> + '_ {
        self.sessions.drain().map(|(_, entry)| entry.session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_open_documents() {
        let mut table = SessionTable::new(2);
        assert_eq!(table.open("a", |g| g), Ok(()));
        assert_eq!(table.open("b", |g| g), Ok(()));
        assert_eq!(table.open("c", |g| g), Err(Full));
        assert_eq!(table.take("a"), Some(1));
        assert_eq!(table.open("c", |g| g), Ok(()));
        assert_eq!(table.get_mut("c").copied(), Some(3));
        assert_eq!(table.open("d", |g| g), Err(Full));
    }

    #[test]
    fn an_old_sessions_end_leaves_the_reopened_one() {
        let mut table = SessionTable::new(10);
        table.open("a", |g| g).unwrap();
        assert_eq!(table.take("a"), Some(1));
        table.open("a", |g| g).unwrap();
        // Generation 1's end arrives after the reopening.
        assert_eq!(table.ended("a", 1), None);
        assert_eq!(table.get_mut("a").copied(), Some(2));
        assert_eq!(table.ended("a", 2), Some(2));
        assert_eq!(table.ended("a", 2), None);
        assert_eq!(table.drain().count(), 0);
    }

    #[test]
    fn drain_empties_the_table() {
        let mut table = SessionTable::new(10);
        table.open("a", |g| g).unwrap();
        table.open("b", |g| g).unwrap();
        let mut drained: Vec<u64> = table.drain().collect();
        drained.sort_unstable();
        assert_eq!(drained, [1, 2]);
        assert_eq!(table.drain().count(), 0);
    }
}
