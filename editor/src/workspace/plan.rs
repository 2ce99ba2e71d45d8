//! What to do about each path, pure: the three-way decision between the **base** (what this
//! directory and the workspace last agreed on, kept by the engine), the **disk** and the
//! **workspace** (the manifest). Paths are workspace-relative, `/`-separated.
//!
//! The rules, for a path:
//!
//! | base | disk | workspace | action |
//! |---|---|---|---|
//! | — | file | — | [`Action::Publish`] (a new file here) |
//! | — | — | id | [`Action::Download`] (a new file there) |
//! | — | file | id | [`Action::Meet`]: equal texts agree; otherwise the source wins (below) |
//! | id | file | id | [`Action::Merge`] when either side changed (three-way, nothing dropped) |
//! | id | — | id | [`Action::Unpublish`] (deleted here) |
//! | id | unchanged | — | [`Action::DeleteLocal`] (deleted there) |
//! | id | changed | — | [`Action::Republish`]: a change here beats a deletion there |
//! | id | — | — | [`Action::Forget`] (deleted on both sides) |
//! | X | file | Y | X moved away there: [`Action::MoveLocal`]; else Y replaced X: [`Action::SetAside`] a changed file, then Y is downloaded |
//!
//! Renames: the workspace moving id X from `a` to `b` is [`Action::MoveLocal`]; a file gone from
//! `a` here while a new file at `b` holds `a`'s last agreed text (or the watcher saw the rename)
//! is [`Action::MoveRemote`]. Renames are planned alone: the caller carries them out and plans
//! again, so every other rule sees the paths where they now are.
//!
//! **Who wins on first contact** ([`Source`]): the first argument of the command.
//! `tandem share DIR URL` — the directory's version stays at the path and the workspace's goes to
//! `NAME.workspace-conflict.EXT`; `tandem sync URL DIR` — the workspace's version stays and the
//! directory's goes to `NAME.local-conflict.EXT`. Either way the loser is a new file of the
//! workspace, so both sides have both versions.
//!
//! **An empty workspace never deletes anything**: a manifest without a single file beside a
//! non-empty base means the server lost the workspace (or it was never there); every file is
//! published again rather than deleted here.

use std::collections::{BTreeMap, BTreeSet};

/// Which side wins when both have a file and never agreed on it before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `tandem share DIR URL`: the directory.
    Directory,
    /// `tandem sync URL DIR`: the workspace.
    Workspace,
}

/// A path on disk, as the caller found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disk {
    /// No file (or an ignored one).
    Absent,
    /// A text file. `changed`: it may differ from the base (size or time moved, or the watcher
    /// named it); the merge compares the texts.
    Text {
        /// Whether it may differ from the base.
        changed: bool,
    },
    /// A file that cannot be shared (binary, too large, not UTF-8): left alone.
    Unshareable,
}

impl Disk {
    fn present(self) -> bool {
        !matches!(self, Disk::Absent)
    }
}

/// What the caller knows, for every path it cares about.
#[derive(Debug, Clone, Default)]
pub struct Sides {
    /// Base: path to document id.
    pub base: BTreeMap<String, String>,
    /// Disk: every path present or named by an event.
    pub disk: BTreeMap<String, Disk>,
    /// The workspace's files (the manifest): path to document id.
    pub remote: BTreeMap<String, String>,
    /// Documents whose text changed since their file was last reconciled.
    pub changed_docs: BTreeSet<String>,
    /// Renames the watcher saw here, `(from, to)`.
    pub renamed_here: Vec<(String, String)>,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A file new here: give it a document and a manifest line.
    Publish {
        /// The path.
        path: String,
    },
    /// A file new in the workspace: write it here.
    Download {
        /// The path.
        path: String,
        /// Its document.
        id: String,
    },
    /// Both have a file the base does not know: agree if equal, else the source wins.
    Meet {
        /// The path.
        path: String,
        /// The workspace's document.
        id: String,
    },
    /// Reconcile the file and its document (three-way with the base text).
    Merge {
        /// The path.
        path: String,
        /// Its document.
        id: String,
    },
    /// Deleted here: remove it from the manifest (the document keeps its text).
    Unpublish {
        /// The path.
        path: String,
    },
    /// Deleted in the workspace and unchanged here: delete the file.
    DeleteLocal {
        /// The path.
        path: String,
    },
    /// Deleted in the workspace but changed here: add it back, with the change.
    Republish {
        /// The path.
        path: String,
        /// Its document.
        id: String,
    },
    /// Gone on both sides: forget the base.
    Forget {
        /// The path.
        path: String,
    },
    /// The workspace renamed the file: rename it here.
    MoveLocal {
        /// Old path.
        from: String,
        /// New path.
        to: String,
    },
    /// Renamed here: rename it in the manifest.
    MoveRemote {
        /// Old path.
        from: String,
        /// New path.
        to: String,
    },
    /// A changed file here whose path the workspace gave to another document: move it to a
    /// conflict path (it is published from there), so the workspace's file can take its place.
    SetAside {
        /// The path.
        path: String,
    },
}

/// The actions for `sides`. `same_as_base(old, new)` tells whether the file at `new` holds the
/// base text of `old` (a rename the watcher did not see, say while the engine was stopped).
pub fn plan(sides: &Sides, same_as_base: impl FnMut(&str, &str) -> bool) -> Vec<Action> {
    let renames = renames(sides, same_as_base);
    if !renames.is_empty() {
        return renames;
    }
    let workspace_lost = sides.remote.is_empty() && !sides.base.is_empty();
    let paths: BTreeSet<&String> =
        sides.base.keys().chain(sides.disk.keys()).chain(sides.remote.keys()).collect();
    let mut actions = Vec::new();
    for path in paths {
        let base = sides.base.get(path);
        let disk = sides.disk.get(path).copied().unwrap_or(Disk::Absent);
        let remote = sides.remote.get(path);
        let path = path.clone();
        let action = match (base, disk, remote) {
            (_, Disk::Unshareable, _) => None,
            (None, Disk::Absent, None) => None,
            (None, Disk::Text { .. }, None) => Some(Action::Publish { path }),
            (None, Disk::Absent, Some(id)) => Some(Action::Download { path, id: id.clone() }),
            (None, Disk::Text { .. }, Some(id)) => Some(Action::Meet { path, id: id.clone() }),
            (Some(b), Disk::Text { changed }, Some(r)) if b == r => (changed
                || sides.changed_docs.contains(r))
            .then(|| Action::Merge { path, id: r.clone() }),
            (Some(b), Disk::Absent, Some(r)) if b == r => Some(Action::Unpublish { path }),
            (Some(_), Disk::Absent, Some(_)) => Some(Action::Forget { path }),
            // Another document took the path: the file here is the old one's.
            (Some(_), Disk::Text { changed: true }, Some(_)) => Some(Action::SetAside { path }),
            (Some(_), Disk::Text { changed: false }, Some(id)) => {
                Some(Action::Download { path, id: id.clone() })
            }
            (Some(id), Disk::Text { changed }, None) if workspace_lost || changed => {
                Some(Action::Republish { path, id: id.clone() })
            }
            (Some(_), Disk::Text { .. }, None) => Some(Action::DeleteLocal { path }),
            (Some(_), Disk::Absent, None) => Some(Action::Forget { path }),
        };
        actions.extend(action);
    }
    actions
}

/// Renames on either side; empty when there are none.
fn renames(sides: &Sides, mut same_as_base: impl FnMut(&str, &str) -> bool) -> Vec<Action> {
    let mut actions = Vec::new();
    let remote_path_of: BTreeMap<&String, &String> =
        sides.remote.iter().map(|(path, id)| (id, path)).collect();
    let disk = |p: &str| sides.disk.get(p).copied().unwrap_or(Disk::Absent);
    // The workspace moved a document this directory has.
    for (from, id) in &sides.base {
        let Some(&to) = remote_path_of.get(id) else { continue };
        if to == from || !disk(from).present() || disk(from) == Disk::Unshareable {
            continue;
        }
        // A file of our own already at the target: keep it, it is set aside by the next plan.
        if disk(to).present() && sides.base.get(to).is_none_or(|b| b == id) {
            continue;
        }
        actions.push(Action::MoveLocal { from: from.clone(), to: to.clone() });
    }
    if !actions.is_empty() {
        return actions;
    }
    // Files gone from a path the workspace still has, and new files here.
    let gone: Vec<&String> = sides
        .base
        .iter()
        .filter(|(path, id)| disk(path) == Disk::Absent && sides.remote.get(*path) == Some(id))
        .map(|(path, _)| path)
        .collect();
    let new: BTreeSet<&String> = sides
        .disk
        .iter()
        .filter(|(path, d)| {
            matches!(d, Disk::Text { .. })
                && !sides.base.contains_key(*path)
                && !sides.remote.contains_key(*path)
        })
        .map(|(path, _)| path)
        .collect();
    let mut taken = BTreeSet::new();
    for from in gone {
        let seen = sides.renamed_here.iter().find(|(f, t)| f == from && new.contains(t));
        let to = match seen {
            Some((_, to)) => Some(to),
            None => new.iter().copied().find(|to| !taken.contains(to) && same_as_base(from, to)),
        };
        if let Some(to) = to.filter(|to| taken.insert(*to)) {
            actions.push(Action::MoveRemote { from: from.clone(), to: to.clone() });
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(p, i)| (p.to_string(), i.to_string())).collect()
    }

    fn disk(list: &[(&str, Disk)]) -> BTreeMap<String, Disk> {
        list.iter().map(|(p, d)| (p.to_string(), *d)).collect()
    }

    const CHANGED: Disk = Disk::Text { changed: true };
    const SAME: Disk = Disk::Text { changed: false };

    fn never(_: &str, _: &str) -> bool {
        false
    }

    #[test]
    fn new_files_go_where_they_are_missing_and_meet_when_on_both_sides() {
        let sides = Sides {
            disk: disk(&[
                ("here.txt", CHANGED),
                ("both.txt", CHANGED),
                ("a.png", Disk::Unshareable),
            ]),
            remote: map(&[("there.txt", "there.txt"), ("both.txt", "both.txt")]),
            ..Sides::default()
        };
        assert_eq!(
            plan(&sides, never),
            vec![
                Action::Meet { path: "both.txt".into(), id: "both.txt".into() },
                Action::Publish { path: "here.txt".into() },
                Action::Download { path: "there.txt".into(), id: "there.txt".into() },
            ]
        );
    }

    #[test]
    fn changes_merge_only_when_something_changed() {
        let mut sides = Sides {
            base: map(&[("a", "a"), ("b", "b"), ("c", "c")]),
            disk: disk(&[("a", SAME), ("b", CHANGED), ("c", SAME)]),
            remote: map(&[("a", "a"), ("b", "b"), ("c", "c")]),
            ..Sides::default()
        };
        sides.changed_docs.insert("c".into());
        assert_eq!(
            plan(&sides, never),
            vec![
                Action::Merge { path: "b".into(), id: "b".into() },
                Action::Merge { path: "c".into(), id: "c".into() },
            ]
        );
    }

    #[test]
    fn deletions_propagate_but_a_change_beats_a_deletion() {
        let sides = Sides {
            base: map(&[("gone-here", "1"), ("gone-there", "2"), ("edited", "3"), ("both", "4")]),
            disk: disk(&[("gone-there", SAME), ("edited", CHANGED)]),
            remote: map(&[("gone-here", "1"), ("keep", "5")]),
            ..Sides::default()
        };
        let actions = plan(&sides, never);
        assert!(actions.contains(&Action::Unpublish { path: "gone-here".into() }));
        assert!(actions.contains(&Action::DeleteLocal { path: "gone-there".into() }));
        assert!(actions.contains(&Action::Republish { path: "edited".into(), id: "3".into() }));
        assert!(actions.contains(&Action::Forget { path: "both".into() }));
    }

    #[test]
    fn an_empty_workspace_deletes_nothing_here() {
        let sides = Sides {
            base: map(&[("a", "a"), ("b", "b")]),
            disk: disk(&[("a", SAME), ("b", SAME)]),
            ..Sides::default()
        };
        assert_eq!(
            plan(&sides, never),
            vec![
                Action::Republish { path: "a".into(), id: "a".into() },
                Action::Republish { path: "b".into(), id: "b".into() },
            ]
        );
    }

    #[test]
    fn a_rename_there_is_a_rename_here_keeping_local_changes() {
        let sides = Sides {
            base: map(&[("old/a.rs", "old/a.rs")]),
            disk: disk(&[("old/a.rs", CHANGED)]),
            remote: map(&[("new/a.rs", "old/a.rs")]),
            ..Sides::default()
        };
        assert_eq!(
            plan(&sides, never),
            vec![Action::MoveLocal { from: "old/a.rs".into(), to: "new/a.rs".into() }]
        );
    }

    #[test]
    fn a_rename_here_is_found_by_the_watcher_or_by_content() {
        let mut sides = Sides {
            base: map(&[("a", "a"), ("b", "b")]),
            disk: disk(&[("a2", SAME), ("b2", SAME)]),
            remote: map(&[("a", "a"), ("b", "b")]),
            ..Sides::default()
        };
        sides.renamed_here.push(("a".into(), "a2".into()));
        let actions = plan(&sides, |old, new| old == "b" && new == "b2");
        assert_eq!(
            actions,
            vec![
                Action::MoveRemote { from: "a".into(), to: "a2".into() },
                Action::MoveRemote { from: "b".into(), to: "b2".into() },
            ]
        );
        // Without either clue it is a deletion and a new file.
        sides.renamed_here.clear();
        let actions = plan(&sides, never);
        assert!(actions.contains(&Action::Unpublish { path: "a".into() }));
        assert!(actions.contains(&Action::Publish { path: "a2".into() }));
    }

    #[test]
    fn a_changed_file_whose_path_went_to_another_document_is_set_aside() {
        let sides = Sides {
            base: map(&[("p", "old")]),
            disk: disk(&[("p", CHANGED)]),
            remote: map(&[("p", "new")]),
            ..Sides::default()
        };
        assert_eq!(plan(&sides, never), vec![Action::SetAside { path: "p".into() }]);
        let unchanged = Sides { disk: disk(&[("p", SAME)]), ..sides };
        let download = Action::Download { path: "p".into(), id: "new".into() };
        assert_eq!(plan(&unchanged, never), vec![download]);
    }
}
