//! Append-only files of CRC'd records, shared by the offline store of shared documents and the recovery journal of
//! local files.
//!
//! A record is `kind` (one byte), `u32` length, the payload, and a `u32` CRC-32 of kind+length+payload, all little
//! endian. Reading stops at the first record that is torn (a crash mid-append), corrupt or of an unknown kind;
//! everything before it is kept and the bad tail is cut off, so that later appends follow the last good record.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Appends one record to `buf`.
pub(crate) fn encode(buf: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let start = buf.len();
    buf.push(kind);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(payload);
    let crc = crc32fast::hash(&buf[start..]);
    buf.extend_from_slice(&crc.to_le_bytes());
}

/// The good records of `bytes` whose kind is in `kinds`, and the byte length they span.
pub(crate) fn parse(mut bytes: &[u8], kinds: &[u8]) -> (Vec<(u8, Vec<u8>)>, usize) {
    let total = bytes.len();
    let mut records = Vec::new();
    while let Some(record) = next(&mut bytes, kinds) {
        records.push(record);
    }
    (records, total - bytes.len())
}

fn next(bytes: &mut &[u8], kinds: &[u8]) -> Option<(u8, Vec<u8>)> {
    let (&kind, rest) = bytes.split_first()?;
    if !kinds.contains(&kind) {
        return None;
    }
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let payload = rest.get(4..4 + len)?;
    let crc = u32::from_le_bytes(rest.get(4 + len..8 + len)?.try_into().ok()?);
    let record_len = 1 + 8 + len;
    if crc32fast::hash(&bytes[..record_len - 4]) != crc {
        return None;
    }
    let payload = payload.to_vec();
    *bytes = &bytes[record_len..];
    Some((kind, payload))
}

/// What [`AppendLog::read`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Read {
    /// The good records, kind and payload.
    pub records: Vec<(u8, Vec<u8>)>,
    /// Whether a torn or corrupt tail was dropped.
    pub torn_tail: bool,
}

/// One log file, opened (and its directory created) on first write.
#[derive(Debug)]
pub(crate) struct AppendLog {
    path: PathBuf,
    file: Option<File>,
    len: u64,
    /// Records were written since the last fsync.
    unsynced: bool,
}

impl AppendLog {
    /// The log at `path`; nothing is touched yet.
    pub fn new(path: PathBuf) -> Self {
        Self { path, file: None, len: 0, unsynced: false }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of good records in the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Reads the records of the kinds given (`None` when there is no file) and cuts a torn tail off.
    pub fn read(&mut self, kinds: &[u8]) -> io::Result<Option<Read>> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let (records, valid) = parse(&bytes, kinds);
        self.len = valid as u64;
        let torn_tail = valid < bytes.len();
        if torn_tail {
            let len = self.len;
            self.open()?.set_len(len)?;
        }
        Ok(Some(Read { records, torn_tail }))
    }

    /// Appends encoded records and fsyncs: after this returns they survive a crash.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write(bytes)?;
        self.sync()
    }

    /// Appends encoded records without waiting for the disk: once this returns they survive the
    /// process being killed (the kernel holds them), and a crash of the machine after
    /// [`AppendLog::sync`].
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let file = self.open()?;
        file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    /// Waits until every record written is on disk.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.unsynced {
            self.open()?.sync_data()?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Empties the log (durably).
    pub fn clear(&mut self) -> io::Result<()> {
        let file = self.open()?;
        file.set_len(0)?;
        file.sync_all()?;
        self.len = 0;
        self.unsynced = false;
        Ok(())
    }

    /// Deletes the file (a later append starts a new one).
    pub fn remove(&mut self) -> io::Result<()> {
        // Closed first: appends through a handle to a deleted file would be lost.
        self.file = None;
        self.len = 0;
        self.unsynced = false;
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                fs::create_dir_all(dir)?;
            }
            let file = OpenOptions::new().create(true).append(true).read(true).open(&self.path)?;
            self.file = Some(file);
        }
        // Just set when it was missing.
        self.file.as_mut().ok_or_else(|| io::Error::other("log not open"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_parsing_stops_at_damage() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, b"one");
        encode(&mut buf, 2, b"");
        let good = buf.len();
        encode(&mut buf, 1, b"three");
        assert_eq!(
            parse(&buf, &[1, 2]).0,
            vec![(1, b"one".to_vec()), (2, vec![]), (1, b"three".to_vec())]
        );
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert_eq!(parse(&buf, &[1, 2]), (vec![(1, b"one".to_vec()), (2, vec![])], good));
        assert_eq!(parse(&buf, &[1]).0, vec![(1, b"one".to_vec())], "unknown kinds end the log");
        assert_eq!(parse(&buf[..good + 3], &[1, 2]).1, good, "a torn record is dropped");
    }

    #[test]
    fn a_torn_tail_is_cut_off_so_appends_follow_the_good_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("log");
        let mut log = AppendLog::new(path.clone());
        assert_eq!(log.read(&[1]).unwrap(), None);
        let mut buf = Vec::new();
        encode(&mut buf, 1, b"good");
        log.append(&buf).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(&[1, 9, 0, 0, 0, b'x']);
        fs::write(&path, bytes).unwrap();

        let mut log = AppendLog::new(path.clone());
        let read = log.read(&[1]).unwrap().unwrap();
        assert!(read.torn_tail);
        assert_eq!(read.records, vec![(1, b"good".to_vec())]);
        let mut next = Vec::new();
        encode(&mut next, 1, b"next");
        log.append(&next).unwrap();
        let read = AppendLog::new(path).read(&[1]).unwrap().unwrap();
        assert_eq!(
            read,
            Read { records: vec![(1, b"good".to_vec()), (1, b"next".to_vec())], torn_tail: false }
        );
    }
}
