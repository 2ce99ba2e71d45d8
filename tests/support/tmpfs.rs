//! [`Tmpfs`]: a small file system of its own for a test (a disk that fills up, or turns
//! read-only). Mounting needs root, which CI has.

use std::path::Path;

use crate::require_or_skip;

/// A tmpfs mounted for one test, unmounted when dropped (drop it after whatever writes on it).
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `2m`); `None` (printed) when mounting is not possible
    /// here, which fails the test under `CI=true`.
    pub fn mount(test: &str, size: &str) -> Option<Self> {
        let dir = tempfile::Builder::new().prefix("tandem-tmpfs-").tempdir().unwrap();
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let reason = match output {
            Ok(out) if out.status.success() => return Some(Self { dir }),
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            Err(error) => error.to_string(),
        };
        let reason = format!("cannot mount a tmpfs (needs root): {reason}");
        require_or_skip(test, &reason);
        None
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system with the file `name`, then frees `leave` bytes of it.
    pub fn fill(&self, name: &str, leave: u64) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.path().join(name)).unwrap();
        let chunk = vec![0x55u8; 16 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.flush();
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(leave)).unwrap();
        file.sync_all().unwrap();
    }

    /// Makes the file system read-only.
    pub fn remount_read_only(&self) {
        let status = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success(), "remounting read-only failed: {status}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process that still holds a file open must not keep the mount alive.
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}
