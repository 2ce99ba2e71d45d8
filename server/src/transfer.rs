//! Moving documents in and out of tandem as plain files, one command each way:
//! [`export`] writes every document's text as a file whose path is its id (`team/notes.md` →
//! `DIR/team/notes.md`), [`import`] creates a document from every file under a directory, its
//! path as the id. With a prefix, export takes only the ids under it and drops it from the paths;
//! import puts it before every id, so the two round-trip.
//!
//! Both talk to storage directly. Export is safe while a server runs. Import writes new
//! documents only (an existing one is left alone and reported); run it with the server stopped,
//! or for documents nobody has open, since a running server does not see rows it did not write.

use std::path::{Path, PathBuf};

use tandem_crdt::{Document, DocumentConfig, client_id_from_random, validate_doc_id};

use crate::storage::{Storage, StorageError, StoredDocument, WriteOp, unix_ms};

/// The directory on one side and the id prefix on the other.
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    /// The directory written (export) or read (import).
    pub dir: &'a Path,
    /// Ids start with this; paths do not.
    pub prefix: &'a str,
}

/// What a transfer did.
#[derive(Debug, Default)]
pub struct Report {
    /// Documents written or created.
    pub done: usize,
    /// What was left out (an id or a path) and why.
    pub skipped: Vec<(String, String)>,
}

/// Why a transfer stopped.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The directory could not be read or created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes the text of every document whose id starts with `files.prefix` under `files.dir`.
pub async fn export(
    storage: &dyn Storage,
    text_name: &str,
    files: Files<'_>,
) -> Result<Report, TransferError> {
    let io = |source| TransferError::Io { path: files.dir.to_owned(), source };
    std::fs::create_dir_all(files.dir).map_err(io)?;
    let mut ids: Vec<String> = storage
        .list()
        .await?
        .into_iter()
        .map(|d| d.id)
        .filter(|id| id.starts_with(files.prefix))
        .collect();
    ids.sort();
    let mut report = Report::default();
    for id in ids {
        let Some(relative) = relative_path(&id, files.prefix) else {
            report.skipped.push((id, "its id is the prefix itself: no file name is left".into()));
            continue;
        };
        let stored = storage.load(&id).await?;
        let text = match document_text(text_name, &stored) {
            Ok(text) => text,
            Err(error) => {
                report.skipped.push((id, format!("cannot rebuild it: {error}")));
                continue;
            }
        };
        match write_file(&files.dir.join(relative), &text) {
            Ok(()) => report.done += 1,
            Err(reason) => report.skipped.push((id, reason)),
        }
    }
    Ok(report)
}

/// Creates a document from every file under `files.dir`, its id `files.prefix` + the path.
/// Names starting with `.` (`.git`, editor backups) are left out, and so are symbolic links.
pub async fn import(
    storage: &dyn Storage,
    text_name: &str,
    files: Files<'_>,
) -> Result<Report, TransferError> {
    let mut found = Vec::new();
    let mut report = Report::default();
    walk(files.dir, &mut Vec::new(), &mut found, &mut report)?;
    found.sort();
    for components in found {
        let path = components.iter().fold(files.dir.to_owned(), |p, c| p.join(c));
        let shown = path.display().to_string();
        let id = match document_id(&components, files.prefix) {
            Ok(id) => id,
            Err(reason) => {
                report.skipped.push((shown, reason));
                continue;
            }
        };
        let text = match std::fs::read(&path).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                report.skipped.push((shown, "not UTF-8 text".into()));
                continue;
            }
            Err(error) => {
                report.skipped.push((shown, error.to_string()));
                continue;
            }
        };
        if !storage.load(&id).await?.is_empty() {
            report.skipped.push((shown, format!("document {id:?} already exists")));
            continue;
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let update = match new_document(text_name, text) {
            Ok(update) => update,
            Err(error) => {
                report.skipped.push((shown, error.to_string()));
                continue;
            }
        };
        storage.commit(&[WriteOp::Append { doc: id.into(), update }]).await?;
        report.done += 1;
    }
    Ok(report)
}

/// The path of document `id` under the export directory: its id without `prefix`, one path
/// component per segment. `None` when nothing is left of it.
fn relative_path(id: &str, prefix: &str) -> Option<PathBuf> {
    let rest = id.strip_prefix(prefix)?.trim_start_matches('/');
    // Ids are validated on the way in (no empty, `.` or `..` segment), so every segment is a
    // plain file name.
    (!rest.is_empty()).then(|| rest.split('/').collect())
}

/// The id of the file at `components` under the import directory.
fn document_id(components: &[std::ffi::OsString], prefix: &str) -> Result<String, String> {
    let parts: Option<Vec<&str>> = components.iter().map(|c| c.to_str()).collect();
    let parts = parts.ok_or("its path is not UTF-8")?;
    let id = format!("{prefix}{}", parts.join("/"));
    validate_doc_id(&id).map_err(|e| format!("{id:?} is not a document id: {e}"))?;
    Ok(id)
}

/// Collects the files under `dir` as path components relative to the walk's root.
fn walk(
    dir: &Path,
    at: &mut Vec<std::ffi::OsString>,
    found: &mut Vec<Vec<std::ffi::OsString>>,
    report: &mut Report,
) -> Result<(), TransferError> {
    let io = |source| TransferError::Io { path: dir.to_owned(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(io)?;
        at.push(name);
        if kind.is_dir() {
            walk(&entry.path(), at, found, report)?;
        } else if kind.is_file() {
            found.push(at.clone());
        } else {
            report.skipped.push((entry.path().display().to_string(), "not a regular file".into()));
        }
        at.pop();
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "{} is a folder (documents under it are exported there)",
            path.display()
        ));
    }
    if let Some(parent) = path.parent() {
        // A component that is a file (document `a` beside `a/b`) makes this fail.
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn document_text(text_name: &str, stored: &StoredDocument) -> Result<String, tandem_crdt::Error> {
    let config = DocumentConfig {
        text_name: text_name.to_owned(),
        track_deltas: false,
        track_undo: false,
        ..DocumentConfig::new(client_id_from_random(rand::random()))
    };
    let updates = stored.snapshot.iter().chain(&stored.updates).map(Vec::as_slice);
    Ok(Document::from_updates(config, updates)?.text())
}

/// The update that creates a document holding `text`, by a fresh client.
fn new_document(text_name: &str, text: &str) -> Result<Vec<u8>, tandem_crdt::Error> {
    let config = DocumentConfig {
        text_name: text_name.to_owned(),
        track_deltas: false,
        track_undo: false,
        ..DocumentConfig::new(client_id_from_random(rand::random()))
    };
    let mut document = Document::new(config)?;
    if !text.is_empty() {
        document.insert(0, text, unix_ms())?;
    }
    Ok(document.encode_state())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::storage::SqliteStorage;

    #[test]
    fn ids_and_paths() {
        assert_eq!(relative_path("team/a/b.md", ""), Some(PathBuf::from("team/a/b.md")));
        assert_eq!(relative_path("team/a/b.md", "team/"), Some(PathBuf::from("a/b.md")));
        assert_eq!(relative_path("team/a", "team"), Some(PathBuf::from("a")));
        assert_eq!(relative_path("team", "team"), None);
        let components = |parts: &[&str]| parts.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            document_id(&components(&["a", "会议.md"]), "team/"),
            Ok("team/a/会议.md".into())
        );
        assert!(document_id(&components(&["bad\u{1}name"]), "").is_err());
    }

    #[tokio::test]
    async fn export_then_import_round_trips_and_never_overwrites_a_document() {
        let dir = tempfile::tempdir().unwrap();
        let source = SqliteStorage::open(&dir.path().join("a.db")).await.unwrap();
        let files = Files { dir: &dir.path().join("in"), prefix: "" };
        std::fs::create_dir_all(files.dir.join("team/src")).unwrap();
        std::fs::write(files.dir.join("team/src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(files.dir.join("会议记录.md"), "\u{feff}# 会议 😀\n").unwrap();
        std::fs::write(files.dir.join("binary"), [0xff, 0xfe, 0x00]).unwrap();
        std::fs::write(files.dir.join(".hidden"), "left out").unwrap();
        let imported = import(&source, "content", files).await.unwrap();
        assert_eq!(imported.done, 2, "{:?}", imported.skipped);
        assert_eq!(imported.skipped.len(), 1, "{:?}", imported.skipped);
        assert!(imported.skipped[0].1.contains("UTF-8"));
        let again = import(&source, "content", files).await.unwrap();
        assert_eq!(again.done, 0);
        assert!(
            again.skipped.iter().any(|(_, why)| why.contains("already exists")),
            "{:?}",
            again.skipped
        );

        let out = Files { dir: &dir.path().join("out"), prefix: "team/" };
        let exported = export(&source, "content", out).await.unwrap();
        assert_eq!(exported.done, 1);
        assert_eq!(std::fs::read_to_string(out.dir.join("src/main.rs")).unwrap(), "fn main() {}\n");
        let all = Files { dir: &dir.path().join("all"), prefix: "" };
        export(&source, "content", all).await.unwrap();
        assert_eq!(std::fs::read_to_string(all.dir.join("会议记录.md")).unwrap(), "# 会议 😀\n");

        let copy = SqliteStorage::open(&dir.path().join("b.db")).await.unwrap();
        let back = Files { dir: out.dir, prefix: "team/" };
        assert_eq!(import(&copy, "content", back).await.unwrap().done, 1);
        let stored = copy.load("team/src/main.rs").await.unwrap();
        assert_eq!(document_text("content", &stored).unwrap(), "fn main() {}\n");
    }
}
