//! [`Pending`]: what a room owes its next version — whether its text changed since the last
//! one, who changed it, and when the last one was made. Pure; the room feeds it.

use std::collections::BTreeSet;

/// A room's changes since its last version.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// Connections whose updates arrived since the last version; named when the version is
    /// made (or when they leave), so applying an update costs one set insertion.
    editors: BTreeSet<u64>,
    /// Names of editors already resolved (connections that left, or unnamed no longer).
    authors: BTreeSet<String>,
    changed: bool,
    last_version_ms: u64,
}

impl Pending {
    /// Nothing owed; the interval counts from `now_ms` (a room just loaded).
    pub fn new(now_ms: u64) -> Self {
        Self {
            editors: BTreeSet::new(),
            authors: BTreeSet::new(),
            changed: false,
            last_version_ms: now_ms,
        }
    }

    /// `connection` changed the text.
    pub fn edited(&mut self, connection: u64) {
        self.changed = true;
        if !self.editors.contains(&connection) {
            self.editors.insert(connection);
        }
    }

    /// Whether `connection` edited since the last version (it must be named before it goes).
    pub fn is_editor(&self, connection: u64) -> bool {
        self.editors.contains(&connection)
    }

    /// Replaces an editing connection by its name (`None`: it had none to give).
    pub fn name_editor(&mut self, connection: u64, name: Option<String>) {
        if self.editors.remove(&connection)
            && let Some(name) = name
        {
            self.authors.insert(name);
        }
    }

    /// Connections still to be named.
    pub fn editors(&self) -> Vec<u64> {
        self.editors.iter().copied().collect()
    }

    /// Whether the text changed since the last version.
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// Whether an automatic version is due: changed, and `interval_ms` passed since the last.
    pub fn is_due(&self, now_ms: u64, interval_ms: u64) -> bool {
        self.changed && now_ms.saturating_sub(self.last_version_ms) >= interval_ms
    }

    /// Starts a new version at `now_ms`: returns the authors of the one made now (every editor
    /// must have been named first) and owes nothing more.
    pub fn take(&mut self, now_ms: u64) -> Vec<String> {
        self.changed = false;
        self.last_version_ms = now_ms;
        self.editors.clear();
        std::mem::take(&mut self.authors).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_due_once_changed_and_the_interval_passed() {
        let mut pending = Pending::new(1_000);
        assert!(!pending.is_due(1_000_000, 300_000), "nothing changed");
        pending.edited(7);
        assert!(!pending.is_due(300_999, 300_000));
        assert!(pending.is_due(301_000, 300_000));
        pending.name_editor(7, Some("ada".into()));
        assert_eq!(pending.take(301_000), vec!["ada".to_owned()]);
        assert!(!pending.is_changed());
        pending.edited(8);
        assert!(!pending.is_due(601_000 - 1, 300_000), "counts from the last version");
        assert!(pending.is_due(601_000, 300_000));
    }

    #[test]
    fn authors_are_named_once_and_sorted() {
        let mut pending = Pending::new(0);
        for connection in [3, 1, 3, 2] {
            pending.edited(connection);
        }
        assert_eq!(pending.editors(), vec![1, 2, 3]);
        pending.name_editor(3, Some("zoe".into()));
        pending.name_editor(1, Some("ada".into()));
        pending.name_editor(2, None);
        pending.name_editor(9, Some("never edited".into()));
        assert!(!pending.is_editor(3));
        assert_eq!(pending.take(5), vec!["ada".to_owned(), "zoe".to_owned()]);
        assert_eq!(pending.take(6), Vec::<String>::new());
    }
}
