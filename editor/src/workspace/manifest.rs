//! The workspace manifest, pure: which files a workspace holds and which document holds each.
//!
//! The manifest is an ordinary shared document, `PREFIX/.tandem/manifest`, whose text has one
//! line per file: `ID<TAB>PATH<LF>`, where the document holding the file is `PREFIX/ID` and
//! `PATH` is the file's path relative to the workspace's root, `/`-separated. Neither can hold a
//! tab or a newline (the document-id rule refuses control characters), so the format needs no
//! escaping, and anyone can read it: `GET /api/docs/PREFIX/.tandem/manifest/text`.
//!
//! **Why a path maps to a document id, rather than the id being the path.** A file starts as the
//! document `PREFIX/PATH` (its id is its path), but a rename only changes its line: the document
//! — its history, and every editor that has it open — stays the same. Moving the text to a new id
//! instead would need a copy of the CRDT state and would strand whoever is still typing in the
//! old one. A new file whose path's id is taken (by a file renamed away) gets `PATH~2`, `~3`….
//!
//! **Concurrency.** Every change inserts or deletes whole lines at line boundaries, so concurrent
//! changes merged by the CRDT still give whole lines. What merging can produce — the same line
//! twice, one id on two lines (renamed two ways at once), two ids on one path (created or renamed
//! onto one path at once) — is resolved by one deterministic rule ([`Manifest::files`]): every
//! replica that has the same text reads the same files, and [`Manifest::fixes`] rewrites the
//! text to that reading (identical fixes made concurrently converge too). Lines that do not parse
//! are ignored.
//!
//! All positions are char offsets into the manifest's text.

use std::collections::{BTreeMap, BTreeSet};

use crate::text::Edit;

/// The manifest's document id under a workspace's prefix.
pub const MANIFEST_NAME: &str = ".tandem/manifest";

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// Char range of the line, newline included.
    range: std::ops::Range<usize>,
    id: String,
    path: String,
}

/// A parsed manifest text.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    lines: Vec<Line>,
    /// Lines that did not parse.
    ignored: usize,
}

impl Manifest {
    /// Parses a manifest's text; malformed lines are counted and otherwise ignored.
    pub fn parse(text: &str) -> Self {
        let mut lines = Vec::new();
        let mut ignored = 0;
        let mut pos = 0;
        for raw in text.split_inclusive('\n') {
            let len = raw.chars().count();
            let range = pos..pos + len;
            pos += len;
            let Some(body) = raw.strip_suffix('\n') else {
                // A torn last line: only whole lines are ever written.
                ignored += 1;
                continue;
            };
            match body.split_once('\t') {
                Some((id, path)) if valid_relative(id) && valid_relative(path) => {
                    lines.push(Line { range, id: id.to_owned(), path: path.to_owned() });
                }
                _ => ignored += usize::from(!body.is_empty()),
            }
        }
        Self { lines, ignored }
    }

    /// How many lines did not parse (for a warning).
    pub fn ignored_lines(&self) -> usize {
        self.ignored
    }

    /// The files: path to document id (relative to the prefix), resolved deterministically.
    /// One id on several paths keeps the first path in byte order; several ids on one path: the
    /// first id in byte order keeps it, each other one moves to [`conflict_path`] with tag
    /// `conflict`.
    pub fn files(&self) -> BTreeMap<String, String> {
        let mut path_of: BTreeMap<&str, &str> = BTreeMap::new();
        for line in &self.lines {
            let path = path_of.entry(&line.id).or_insert(&line.path);
            if line.path.as_str() < *path {
                *path = &line.path;
            }
        }
        let mut ids_at: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (id, path) in &path_of {
            ids_at.entry(path).or_default().insert(id);
        }
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        let mut losers = Vec::new();
        for (path, ids) in ids_at {
            let mut ids = ids.into_iter();
            if let Some(first) = ids.next() {
                files.insert(path.to_owned(), first.to_owned());
            }
            losers.extend(ids.map(|id| (path, id)));
        }
        for (path, id) in losers {
            let new_path = conflict_path(path, "conflict", |p| files.contains_key(p));
            files.insert(new_path, id.to_owned());
        }
        files
    }

    /// The edits that make the text say exactly what [`Manifest::files`] reads: duplicate and
    /// losing lines deleted, moved files' lines added. Empty for a canonical text.
    pub fn fixes(&self) -> Vec<Edit> {
        let files = self.files();
        let mut seen = BTreeSet::new();
        let mut edits: Vec<Edit> = Vec::new();
        for line in &self.lines {
            let keep = files.get(&line.path) == Some(&line.id) && seen.insert(&line.path);
            if !keep {
                edits.push(Edit::delete(line.range.clone()));
            }
        }
        // A set, not a scan of the lines for every file: this runs after every batch, and a
        // scan made it quadratic (4 million comparisons at 2,000 files, most of a batch's time).
        let lines: BTreeSet<(&str, &str)> =
            self.lines.iter().map(|l| (l.path.as_str(), l.id.as_str())).collect();
        for (path, id) in &files {
            if !lines.contains(&(path.as_str(), id.as_str())) {
                edits.push(self.add(path, id));
            }
        }
        sorted(edits)
    }

    /// The edit that adds a file (its line goes in path order).
    pub fn add(&self, path: &str, id: &str) -> Edit {
        let mut edits = self.add_all(&[(path.to_owned(), id.to_owned())]);
        edits.pop().unwrap_or_else(|| Edit::insert(0, ""))
    }

    /// The edits that add files, `(path, id)` each: one pass, in path order, so that adding
    /// thousands at once stays linear.
    pub fn add_all(&self, files: &[(String, String)]) -> Vec<Edit> {
        let mut files: Vec<&(String, String)> = files.iter().collect();
        files.sort();
        // After the last parsed line: a line boundary even before a torn tail.
        let last_end = self.lines.last().map_or(0, |l| l.range.end);
        let mut lines = self.lines.iter().peekable();
        let mut edits: Vec<Edit> = Vec::with_capacity(files.len());
        for (path, id) in files {
            while lines.next_if(|l| l.path.as_str() <= path.as_str()).is_some() {}
            let at = lines.peek().map_or(last_end, |l| l.range.start);
            match edits.last_mut() {
                // Lines for one place go in one insert, in path order.
                Some(last) if last.range.start == at => {
                    last.text.push_str(&format!("{id}\t{path}\n"))
                }
                _ => edits.push(Edit::insert(at, format!("{id}\t{path}\n"))),
            }
        }
        edits
    }

    /// The edits that remove every line of `path`.
    pub fn remove(&self, path: &str) -> Vec<Edit> {
        let edits = self.lines.iter().filter(|l| l.path == path);
        sorted(edits.map(|l| Edit::delete(l.range.clone())).collect())
    }

    /// The edits that move the file `from` to `to` (same document).
    pub fn rename(&self, from: &str, to: &str) -> Vec<Edit> {
        let Some(id) = self.files().remove(from) else { return Vec::new() };
        let mut edits = self.remove(from);
        edits.extend(self.remove(to));
        edits.push(self.add(to, &id));
        sorted(edits)
    }

    /// The id for a new file at `path`: the path itself, else `PATH~2`, `PATH~3`… whichever no
    /// line uses.
    pub fn allocate_id(&self, path: &str) -> String {
        let used: BTreeSet<&str> = self.lines.iter().map(|l| l.id.as_str()).collect();
        if !used.contains(path) {
            return path.to_owned();
        }
        (2..)
            .map(|n| format!("{path}~{n}"))
            .find(|id| !used.contains(id.as_str()))
            .unwrap_or_default()
    }
}

/// Sorts edits by position and drops duplicates, the order [`super::diff::apply`] expects.
fn sorted(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    edits.dedup();
    edits
}

/// Whether `path` can be a workspace-relative path and id: a valid document-id tail.
pub fn valid_relative(path: &str) -> bool {
    tandem_crdt::validate_doc_id(path).is_ok() && !path.contains('\t')
}

/// `dir/stem.TAG.ext` (or `dir/name.TAG` without an extension), then `.TAG-2`, `.TAG-3`… until
/// `taken` says no: where the losing version of a file goes.
pub fn conflict_path(path: &str, tag: &str, taken: impl Fn(&str) -> bool) -> String {
    let (dir, name) = path.rsplit_once('/').map_or(("", path), |(d, n)| (d, n));
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
        _ => (name, None),
    };
    let candidate = |n: usize| {
        let tag = if n == 1 { tag.to_owned() } else { format!("{tag}-{n}") };
        let name = match ext {
            Some(ext) => format!("{stem}.{tag}.{ext}"),
            None => format!("{stem}.{tag}"),
        };
        if dir.is_empty() { name } else { format!("{dir}/{name}") }
    };
    (1..).map(candidate).find(|p| !taken(p)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::diff::apply;

    fn files(text: &str) -> Vec<(String, String)> {
        Manifest::parse(text).files().into_iter().collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(p, i)| (p.to_string(), i.to_string())).collect()
    }

    #[test]
    fn lines_map_paths_to_documents() {
        let text = "README.md\tREADME.md\nsrc/a.rs\tsrc/b.rs\n";
        assert_eq!(files(text), pairs(&[("README.md", "README.md"), ("src/b.rs", "src/a.rs")]));
    }

    #[test]
    fn adding_keeps_path_order_and_whole_lines() {
        let mut text = String::new();
        for path in ["m.txt", "a.txt", "z/z.txt", "b.txt"] {
            let m = Manifest::parse(&text);
            let id = m.allocate_id(path);
            text = apply(&text, &[m.add(path, &id)]);
        }
        assert_eq!(text, "a.txt\ta.txt\nb.txt\tb.txt\nm.txt\tm.txt\nz/z.txt\tz/z.txt\n");
    }

    #[test]
    fn adding_many_at_once_is_adding_one_by_one() {
        let text = "b\tb\nd\td\n";
        let new: Vec<(String, String)> =
            ["e", "a", "c", "a2"].iter().map(|p| (p.to_string(), p.to_string())).collect();
        let at_once = apply(text, &Manifest::parse(text).add_all(&new));
        let mut one_by_one = text.to_owned();
        for (path, id) in &new {
            one_by_one = apply(&one_by_one, &[Manifest::parse(&one_by_one).add(path, id)]);
        }
        assert_eq!(at_once, one_by_one);
        assert_eq!(at_once, "a\ta\na2\ta2\nb\tb\nc\tc\nd\td\ne\te\n");
        assert!(Manifest::parse("").add_all(&[]).is_empty());
    }

    #[test]
    fn a_rename_keeps_the_document_and_frees_nothing() {
        let text = "a.txt\ta.txt\n";
        let m = Manifest::parse(text);
        let text = apply(text, &m.rename("a.txt", "b.txt"));
        assert_eq!(files(&text), pairs(&[("b.txt", "a.txt")]));
        // A new a.txt cannot take the renamed file's document.
        let m = Manifest::parse(&text);
        assert_eq!(m.allocate_id("a.txt"), "a.txt~2");
        let text = apply(&text, &[m.add("a.txt", "a.txt~2")]);
        assert_eq!(files(&text), pairs(&[("a.txt", "a.txt~2"), ("b.txt", "a.txt")]));
        assert!(Manifest::parse(&text).fixes().is_empty());
    }

    #[test]
    fn removing_deletes_every_line_of_the_path() {
        let text = "x\tp\ny\tq\nx\tp\n";
        let m = Manifest::parse(text);
        assert_eq!(apply(text, &m.remove("p")), "y\tq\n");
    }

    #[test]
    fn merged_conflicts_resolve_the_same_everywhere_and_fixes_converge() {
        // The same file created twice, renamed two ways, and two files renamed onto one path.
        let text = "a\ta\na\ta\nb\tb1\nb\tb2\nc\tp\nd\tp\n";
        let resolved = files(text);
        assert_eq!(resolved, pairs(&[("a", "a"), ("b1", "b"), ("p", "c"), ("p.conflict", "d")]));
        let fixed = apply(text, &Manifest::parse(text).fixes());
        assert_eq!(files(&fixed), resolved);
        assert!(Manifest::parse(&fixed).fixes().is_empty(), "{fixed}");
        // Two replicas applying the same fixes at once insert the same line twice: still the
        // same files, and one more round of fixes is canonical.
        let mut twice = Manifest::parse(text).fixes();
        let inserts: Vec<Edit> = twice.iter().filter(|e| e.range.is_empty()).cloned().collect();
        twice.extend(inserts);
        twice.sort_by_key(|e| (e.range.start, e.range.end));
        let doubled = apply(text, &twice);
        assert_eq!(files(&doubled), resolved);
        let refixed = apply(&doubled, &Manifest::parse(&doubled).fixes());
        assert!(Manifest::parse(&refixed).fixes().is_empty(), "{refixed}");
    }

    #[test]
    fn malformed_lines_are_ignored() {
        let text = "garbage\n\tno-id\nok\tok\n../x\tx\ntorn\tt";
        let m = Manifest::parse(text);
        assert_eq!(files(text), pairs(&[("ok", "ok")]));
        assert_eq!(m.ignored_lines(), 4);
        let with_new = apply(text, &[m.add("zz", "zz")]);
        assert!(with_new.contains("ok\tok\nzz\tzz\n"), "{with_new:?}");
    }

    #[test]
    fn conflict_paths_keep_the_extension() {
        let none = |_: &str| false;
        assert_eq!(conflict_path("src/a.rs", "local-conflict", none), "src/a.local-conflict.rs");
        assert_eq!(conflict_path("Makefile", "conflict", none), "Makefile.conflict");
        assert_eq!(conflict_path(".env", "conflict", none), ".env.conflict");
        let taken = |p: &str| p == "a.conflict.txt";
        assert_eq!(conflict_path("a.txt", "conflict", taken), "a.conflict-2.txt");
    }
}
