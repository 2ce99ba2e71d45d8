//! Saving without clobbering: how the new text replaces the old file.
//!
//! The usual way is atomic: a temporary file in the same directory is written, fsync'd, given the original's
//! permissions and renamed over it, so a crash leaves either the old or the new file. A rename makes a new inode,
//! though, and three kinds of file must keep theirs (vim's `backupcopy=auto` makes the same choice):
//! - a file owned by someone else: the new inode would belong to us (the owner and group a new file in that
//!   directory gets, read off the temporary file itself rather than guessed from uid, gid and setgid bits);
//! - a file with more than one hard link: the other names would keep the old text;
//! - a file in a directory we cannot write: the temporary file cannot even be created.
//!
//! Those are written in place, after an fsync'd backup copy of the old content, removed once the new content is
//! on disk; if writing fails part way the backup is kept and the error names it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use ropey::Rope;
use tempfile::NamedTempFile;

use super::{Bom, DiskStamp, FileError};

/// Who owns a file: user and group ids (always equal on platforms without them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Owner {
    uid: u32,
    gid: u32,
}

/// The facts about an existing file that decide how it is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Existing {
    owner: Owner,
    links: u64,
}

/// Whether the directory lets us create the temporary file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NewFile {
    /// Created; it belongs to this owner.
    Created(Owner),
    /// Refused for lack of permission.
    Refused,
}

/// Why a file is written in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InPlace {
    Owner,
    HardLinks,
    Directory,
}

/// How a save replaces the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    /// Rename the temporary file over it (or create it).
    Rename,
    /// Overwrite its content, keeping the inode.
    InPlace(InPlace),
}

/// The pure decision. A file that does not exist yet is always created by rename.
fn strategy(existing: Option<Existing>, new_file: NewFile) -> Strategy {
    let Some(existing) = existing else { return Strategy::Rename };
    match new_file {
        NewFile::Refused => Strategy::InPlace(InPlace::Directory),
        _ if existing.links > 1 => Strategy::InPlace(InPlace::HardLinks),
        NewFile::Created(owner) if owner != existing.owner => Strategy::InPlace(InPlace::Owner),
        NewFile::Created(_) => Strategy::Rename,
    }
}

/// Writes `rope` (after the BOM when `bom` says so) to `path` without clobbering it: see the module doc. A
/// symlink is followed so that the link survives.
pub fn save(path: &Path, rope: &Rope, bom: Bom) -> Result<DiskStamp, FileError> {
    let write_err = |source| FileError::Write { path: path.to_owned(), source };
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let dir = parent(&target);
    let meta = fs::metadata(&target).ok().filter(fs::Metadata::is_file);
    let tmp = tempfile::Builder::new().prefix(".tandem-").suffix(".tmp").tempfile_in(&dir);
    let (tmp, new_file) = match tmp {
        Ok(t) => {
            let owner = owner(&t.as_file().metadata().map_err(write_err)?);
            (Some(t), NewFile::Created(owner))
        }
        // Only a refusal means "write in place": on a full disk that would truncate the file for nothing.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && meta.is_some() => {
            (None, NewFile::Refused)
        }
        Err(e) => return Err(write_err(e)),
    };
    let existing = meta.as_ref().map(|m| Existing { owner: owner(m), links: links(m) });
    match strategy(existing, new_file) {
        Strategy::Rename => {
            let tmp = tmp.ok_or_else(|| write_err(io::ErrorKind::PermissionDenied.into()))?;
            let permissions = meta.map(|m| m.permissions());
            replace_by_rename(tmp, &target, &dir, rope, bom, permissions).map_err(write_err)
        }
        Strategy::InPlace(why) => {
            tracing::info!(path = %target.display(), ?why, "saving in place");
            drop(tmp);
            write_in_place(&target, &dir, rope, bom)
        }
    }
}

fn parent(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn write_text(file: &mut File, rope: &Rope, bom: Bom) -> io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let mut written = 0;
    if bom == Bom::Present {
        let mut buf = [0; 4];
        let bytes = super::BOM.encode_utf8(&mut buf).as_bytes();
        w.write_all(bytes)?;
        written += bytes.len() as u64;
    }
    for chunk in rope.chunks() {
        w.write_all(chunk.as_bytes())?;
        written += chunk.len() as u64;
    }
    w.flush()?;
    Ok(written)
}

fn replace_by_rename(
    mut tmp: NamedTempFile,
    target: &Path,
    dir: &Path,
    rope: &Rope,
    bom: Bom,
    permissions: Option<fs::Permissions>,
) -> io::Result<DiskStamp> {
    write_text(tmp.as_file_mut(), rope, bom)?;
    match permissions {
        Some(p) => tmp.as_file().set_permissions(p)?,
        None => set_new_file_permissions(tmp.as_file())?,
    }
    tmp.as_file().sync_all()?;
    let file = tmp.persist(target).map_err(|e| e.error)?;
    // Make the rename itself durable; not every platform lets a directory be synced, so failure is ignored.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(DiskStamp::of(&file.metadata()?))
}

fn write_in_place(
    target: &Path,
    dir: &Path,
    rope: &Rope,
    bom: Bom,
) -> Result<DiskStamp, FileError> {
    let write_err = |source| FileError::Write { path: target.to_owned(), source };
    let backup = backup_copy(target, dir).map_err(write_err)?;
    let result = (|| {
        let mut file = OpenOptions::new().write(true).open(target)?;
        // Not truncated first: until set_len the file holds the new text followed by the old tail, never nothing.
        let len = write_text(&mut file, rope, bom)?;
        file.set_len(len)?;
        file.sync_all()?;
        Ok(DiskStamp::of(&file.metadata()?))
    })();
    match result {
        Ok(stamp) => Ok(stamp),
        Err(source) => match backup.keep() {
            Ok((_, backup)) => Err(FileError::InPlace { path: target.to_owned(), backup, source }),
            Err(e) => Err(write_err(io::Error::new(source.kind(), format!("{source} ({e})")))),
        },
    }
}

/// An fsync'd copy of `target`'s current bytes, beside it when the directory allows, else in the platform state
/// dir's `backup/`, else the temporary dir. Deleted on drop unless kept.
fn backup_copy(target: &Path, dir: &Path) -> io::Result<NamedTempFile> {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut places = vec![dir.to_owned()];
    places.extend(crate::journal::default_dir().map(|d| d.join("backup")));
    places.push(std::env::temp_dir());
    let mut last = io::Error::other("no place for a backup copy");
    for place in places {
        let _ = fs::create_dir_all(&place);
        let made = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tandem-backup")
            .tempfile_in(&place);
        match made {
            Ok(mut backup) => {
                io::copy(&mut File::open(target)?, backup.as_file_mut())?;
                backup.as_file().sync_all()?;
                return Ok(backup);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(unix)]
fn owner(meta: &fs::Metadata) -> Owner {
    use std::os::unix::fs::MetadataExt;
    Owner { uid: meta.uid(), gid: meta.gid() }
}

#[cfg(not(unix))]
fn owner(_meta: &fs::Metadata) -> Owner {
    Owner { uid: 0, gid: 0 }
}

#[cfg(unix)]
fn links(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

#[cfg(not(unix))]
fn links(_meta: &fs::Metadata) -> u64 {
    1
}

/// Temporary files are created private (0600); a new file gets the usual 0644 instead.
#[cfg(unix)]
fn set_new_file_permissions(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_new_file_permissions(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests;
