//! The directory side: which files of a workspace's directory are shared, and reading them.
//!
//! A walk (ripgrep's `ignore` crate) respects `.gitignore` (also outside a git repository),
//! `.git/info/exclude` and `.tandemignore` files, which use the same syntax; hidden files are
//! shared (`.gitignore` itself, `.github/`), `.git/` and the root's `.tandem/` never are, and
//! neither are scratch files that editors and tandem itself write beside a file while saving
//! ([`is_scratch`]). Symbolic links are not followed.
//!
//! A file is shared when it is UTF-8 text (no NUL byte) of at most the size limit and its path
//! can be a document id; every other file is [`Skipped`] with the reason, for the summary.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::manifest::valid_relative;

/// The file name of per-directory ignore files in tandem's own syntax (that of `.gitignore`).
pub const TANDEM_IGNORE: &str = ".tandemignore";

/// A file's size and modification time: when both are as last seen, the file is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// Bytes.
    pub len: u64,
    /// Modification time, ns since the Unix epoch.
    pub mtime_ns: u128,
}

impl Stamp {
    /// The stamp of `meta`.
    pub fn of(meta: &fs::Metadata) -> Self {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Self { len: meta.len(), mtime_ns }
    }
}

/// Why a file is not shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Larger than the limit.
    TooLarge(u64),
    /// Has a NUL byte, or is not UTF-8.
    Binary,
    /// A symbolic link (not followed).
    Symlink,
    /// The path cannot be a document id (not UTF-8, a control character, too long).
    BadName,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::TooLarge(len) => write!(f, "over the size limit ({len} bytes)"),
            Skip::Binary => f.write_str("binary (not UTF-8 text)"),
            Skip::Symlink => f.write_str("a symbolic link"),
            Skip::BadName => f.write_str("its name cannot be a document id"),
        }
    }
}

/// A skipped file and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Path relative to the root (lossy for names that are not UTF-8).
    pub path: String,
    /// Why.
    pub reason: Skip,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Candidate files, relative path to stamp (size within the limit; contents not yet read).
    pub files: BTreeMap<String, Stamp>,
    /// Files that are never shared.
    pub skipped: Vec<Skipped>,
}

/// Whether `name` is a file editors or tandem write beside a file while saving: tandem's own
/// temporary files (`.tandem-*.tmp`), vim's swap files and write test (`.x.swp`, `4913`),
/// backup files (`x~`) and Emacs lock and autosave files (`.#x`, `#x#`).
pub fn is_scratch(name: &str) -> bool {
    (name.starts_with(".tandem-") && name.ends_with(".tmp"))
        || [".swp", ".swo", ".swx"].iter().any(|ext| name.starts_with('.') && name.ends_with(ext))
        || name == "4913"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
}

/// Lists the shareable files under `root` (see the module docs); `max_len` is the size limit
/// and `max_path` the longest relative path a document id can take.
pub fn walk(root: &Path, max_len: u64, max_path: usize) -> Listing {
    walk_where(root, max_len, max_path, |_| true)
}

/// [`walk`], but only of `paths` (workspace paths of files or directories, which may be gone)
/// and what lies under them: after a watcher event, a stat of the named paths instead of the
/// whole tree.
///
/// The walk still starts at `root` and only prunes the directories that lead to none of
/// `paths`, so every ignore file on the way applies exactly as in a whole walk: a file created
/// in an ignored directory is not listed, though an event named it. (Walking from the named
/// path itself would not do: the walker never ignores where it starts.)
pub fn walk_paths(root: &Path, max_len: u64, max_path: usize, paths: &BTreeSet<String>) -> Listing {
    let wanted = paths.clone();
    let mut ancestors = BTreeSet::new();
    for path in paths {
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            ancestors.insert(parent.to_owned());
            dir = parent;
        }
    }
    walk_where(root, max_len, max_path, move |rel| ancestors.contains(rel) || within(rel, &wanted))
}

/// Whether `path` is one of `set` or lies under one of them.
pub fn within(path: &str, set: &BTreeSet<String>) -> bool {
    let mut at = path;
    loop {
        if set.contains(at) {
            return true;
        }
        match at.rsplit_once('/') {
            Some((parent, _)) => at = parent,
            None => return false,
        }
    }
}

/// The walk of [`walk`], entering only the entries whose workspace path `keep` accepts.
fn walk_where(
    root: &Path,
    max_len: u64,
    max_path: usize,
    keep: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> Listing {
    let mut listing = Listing::default();
    let prefix = root.to_owned();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .git_global(false)
        .follow_links(false)
        .add_custom_ignore_filename(TANDEM_IGNORE)
        .filter_entry(move |entry| {
            let name = entry.file_name().to_string_lossy();
            let top = entry.depth() == 1;
            if name == ".git" || (top && name == ".tandem") || is_scratch(&name) {
                return false;
            }
            let Ok(rel) = entry.path().strip_prefix(&prefix) else { return false };
            keep(&relative_name(rel).unwrap_or_else(|| lossy(rel)))
        })
        .build();
    for entry in walker {
        let Ok(entry) = entry else { continue };
        let Some(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else { continue };
        let path = relative_name(rel);
        let skip = |reason| Skipped { path: path.clone().unwrap_or_else(|| lossy(rel)), reason };
        if kind.is_symlink() {
            listing.skipped.push(skip(Skip::Symlink));
            continue;
        }
        let Some(name) = path.clone().filter(|p| valid_relative(p) && p.len() <= max_path) else {
            listing.skipped.push(skip(Skip::BadName));
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        if meta.len() > max_len {
            listing.skipped.push(skip(Skip::TooLarge(meta.len())));
            continue;
        }
        listing.files.insert(name, Stamp::of(&meta));
    }
    listing
}

/// A path relative to the root as a workspace path (`/`-separated); `None` when not UTF-8.
fn relative_name(rel: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

fn lossy(rel: &Path) -> String {
    rel.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/")
}

/// The file at workspace path `path` under `root`.
pub fn disk_path(root: &Path, path: &str) -> PathBuf {
    path.split('/').fold(root.to_owned(), |p, part| p.join(part))
}

/// What reading a file found.
#[derive(Debug)]
pub enum Read {
    /// Its text and stamp.
    Text(String, Stamp),
    /// It cannot be shared.
    Skipped(Skip),
    /// It is gone.
    Missing,
}

/// Reads a shareable file: its text, or why it cannot be shared.
pub fn read_text(path: &Path, max_len: u64) -> io::Result<Read> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Read::Missing),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_symlink() {
        return Ok(Read::Skipped(Skip::Symlink));
    }
    if !meta.is_file() {
        return Ok(Read::Missing);
    }
    if meta.len() > max_len {
        return Ok(Read::Skipped(Skip::TooLarge(meta.len())));
    }
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Read::Missing),
        Err(e) => return Err(e),
    };
    if bytes.contains(&0) {
        return Ok(Read::Skipped(Skip::Binary));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Read::Text(text, Stamp::of(&meta))),
        Err(_) => Ok(Read::Skipped(Skip::Binary)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_respect_ignore_files_and_skip_git_and_scratch_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            (".gitignore", "*.log\nbuild/\n"),
            ("src/.tandemignore", "secret.txt\n"),
            ("src/main.rs", "fn main() {}\n"),
            ("src/secret.txt", "x"),
            ("debug.log", "x"),
            ("build/out.txt", "x"),
            (".git/config", "x"),
            (".tandem/manifest", "x"),
            ("sub/.tandem/kept", "x"),
            (".main.rs.swp", "x"),
            (".tandem-abc.tmp", "x"),
            ("notes.md~", "x"),
            (".env", "A=1\n"),
        ] {
            let p = disk_path(root, path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        fs::write(root.join("big.txt"), "y".repeat(100)).unwrap();
        let listing = walk(root, 50, 512);
        let files: Vec<&str> = listing.files.keys().map(String::as_str).collect();
        assert_eq!(
            files,
            [".env", ".gitignore", "src/.tandemignore", "src/main.rs", "sub/.tandem/kept"]
        );
        assert_eq!(
            listing.skipped,
            vec![Skipped { path: "big.txt".into(), reason: Skip::TooLarge(100) }]
        );
    }

    #[test]
    fn issue_16_a_walk_of_named_paths_applies_every_ignore_rule_above_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            (".gitignore", "build/\n*.log\n"),
            ("src/.tandemignore", "private/\n"),
            ("build/gen/out.txt", "x"),
            ("src/private/key.txt", "x"),
            ("src/debug.log", "x"),
            ("src/main.rs", "fn main() {}\n"),
            ("src/lib.rs", "x"),
            ("docs/a.md", "x"),
            ("docs/b.md", "x"),
        ] {
            let p = disk_path(root, path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let named = |paths: &[&str]| {
            let set: BTreeSet<String> = paths.iter().map(|p| p.to_string()).collect();
            let listing = walk_paths(root, 50, 512, &set);
            listing.files.into_keys().collect::<Vec<_>>()
        };
        // Files, and directories, that an ignore file above them excludes: not listed, though
        // an event named them (a walk started at the named path would list them).
        for ignored in ["build/gen/out.txt", "build", "build/gen", "src/private/key.txt"] {
            assert_eq!(named(&[ignored]), Vec::<String>::new(), "{ignored}");
        }
        assert_eq!(named(&["src/debug.log"]), Vec::<String>::new());
        // Named files and everything under a named directory, and nothing else.
        assert_eq!(named(&["src/main.rs", "gone.txt"]), ["src/main.rs"]);
        assert_eq!(named(&["docs"]), ["docs/a.md", "docs/b.md"]);
        assert_eq!(named(&["src"]), ["src/.tandemignore", "src/lib.rs", "src/main.rs"]);
    }

    #[test]
    fn binary_and_non_utf8_files_are_skipped_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("a.png");
        fs::write(&bin, b"\x89PNG\r\n\x1a\n\0\0").unwrap();
        assert!(matches!(read_text(&bin, 100).unwrap(), Read::Skipped(Skip::Binary)));
        fs::write(&bin, b"caf\xe9").unwrap();
        assert!(matches!(read_text(&bin, 100).unwrap(), Read::Skipped(Skip::Binary)));
        fs::write(&bin, "café ☕\r\n").unwrap();
        assert!(matches!(read_text(&bin, 100).unwrap(), Read::Text(t, _) if t == "café ☕\r\n"));
        assert!(matches!(read_text(&dir.path().join("none"), 100).unwrap(), Read::Missing));
    }

    #[test]
    fn scratch_names() {
        for name in [".tandem-x1.tmp", ".a.rs.swp", "4913", "a.rs~", ".#a.rs", "#a.rs#"] {
            assert!(is_scratch(name), "{name}");
        }
        for name in ["a.rs", ".tandemignore", "swp", "#tag"] {
            assert!(!is_scratch(name), "{name}");
        }
    }
}
