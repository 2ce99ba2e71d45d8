//! End to end: the real `tandem` binary in a tmux pane, driven with send-keys and read with capture-pane. Skipped
//! with the reason printed when tmux is not installed, failed under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A private tmux server, so the test never touches the user's sessions.
    fn start(name: &str, cmd: &str) -> Option<Tmux> {
        let socket = format!("tandem-e2e-{}-{name}", std::process::id());
        let t = Tmux { socket };
        let out = t.run(&["new-session", "-d", "-s", "e2e", "-x", "80", "-y", "20", cmd])?;
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(t)
    }

    fn run(&self, args: &[&str]) -> Option<Output> {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env("LANG", "C.UTF-8")
            .output()
            .ok()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn text(&self, text: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", text]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

fn tmux_available(test: &str) -> bool {
    let ok = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    if !ok {
        tandem_require::require_or_skip(test, "tmux is not installed");
    }
    ok
}

fn command_line(dir: &Path, file: &Path) -> String {
    let config = dir.join("config.toml");
    std::fs::write(&config, "theme = \"dark\"\n").unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_tandem"));
    format!(
        "{} --config {} --log {} {}; echo TANDEM-EXIT=$?; sleep 30",
        bin.display(),
        config.display(),
        dir.join("tandem.log").display(),
        file.display()
    )
}

#[test]
fn edit_emoji_and_cjk_file_save_and_quit() {
    if !tmux_available("edit_emoji_and_cjk_file_save_and_quit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    // CRLF line endings and no final newline must survive the round trip.
    std::fs::write(&file, "héllo 👍🏽\r\n中文\r\nlast").unwrap();
    let tmux = Tmux::start("edit", &command_line(dir.path(), &file)).unwrap();
    tmux.wait_for("CRLF");
    tmux.keys(&["Down", "End"]);
    tmux.text(" 世界🎉");
    tmux.keys(&["Enter"]);
    tmux.text("新");
    tmux.keys(&["C-Home", "Delete"]);
    tmux.wait_for("[+]");
    tmux.keys(&["C-s"]);
    tmux.wait_for("saved");
    tmux.keys(&["C-q"]);
    tmux.wait_for("TANDEM-EXIT=0");
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(String::from_utf8_lossy(&bytes), "éllo 👍🏽\r\n中文 世界🎉\r\n新\r\nlast");
    assert_eq!(bytes, "éllo 👍🏽\r\n中文 世界🎉\r\n新\r\nlast".as_bytes());
}

#[test]
fn quit_with_unsaved_changes_asks_and_discards() {
    if !tmux_available("quit_with_unsaved_changes_asks_and_discards") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keep.txt");
    std::fs::write(&file, "keep me\n").unwrap();
    let tmux = Tmux::start("quit", &command_line(dir.path(), &file)).unwrap();
    tmux.wait_for("UTF-8");
    tmux.text("junk");
    tmux.keys(&["C-q"]);
    tmux.wait_for("Save changes before quitting?");
    tmux.keys(&["n"]);
    tmux.wait_for("TANDEM-EXIT=0");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me\n");
}
