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

/// The shell command running tandem on `file` with its config, log and data dir in `dir`; `exec ` in `prefix`
/// makes the pane's process tandem itself.
fn tandem(dir: &Path, file: &Path, prefix: &str) -> String {
    let config = dir.join("config.toml");
    std::fs::write(&config, "theme = \"dark\"\n").unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_tandem"));
    format!(
        "TANDEM_DATA_DIR={} {prefix}{} --config {} --log {} {}",
        dir.join("data").display(),
        bin.display(),
        config.display(),
        dir.join("tandem.log").display(),
        file.display()
    )
}

fn command_line(dir: &Path, file: &Path) -> String {
    format!("{}; echo TANDEM-EXIT=$?; sleep 30", tandem(dir, file, ""))
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
    assert_eq!(recover(dir.path()), "", "discarding the edits leaves nothing to recover");
}

/// `tandem --recover` with the data dir of [`command_line`].
fn recover(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("--recover")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--log")
        .arg(dir.join("tandem.log"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kill_9_loses_at_most_the_last_second_of_typing() {
    if !tmux_available("kill_9_loses_at_most_the_last_second_of_typing") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("draft.txt");
    std::fs::write(&file, "draft\n").unwrap();
    // exec: the pane's process is tandem itself, so its pid is the one to kill.
    let tmux = Tmux::start("kill", &tandem(dir.path(), &file, "exec ")).unwrap();
    tmux.wait_for("UTF-8");
    let pid = tmux.run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]).unwrap();
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_owned();
    tmux.text("unsaved words");
    tmux.wait_for("unsaved words");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-9", &pid]).status().unwrap().success());
    let listed = recover(dir.path());
    let canonical = std::fs::canonicalize(&file).unwrap();
    assert!(listed.starts_with(&format!("{}  ", canonical.display())), "{listed}");
    let journal = tandem::journal::load(&dir.path().join("data").join("journal"), &file).unwrap();
    assert_eq!(journal.unwrap().text, "unsaved wordsdraft\n");
    assert_eq!(std::fs::read(&file).unwrap(), b"draft\n");
}

/// The shell command running tandem on several files, as [`command_line`] does for one.
fn command_line_files(dir: &Path, files: &[&Path]) -> String {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    command_line(dir, Path::new(&names.join(" ")))
}

#[test]
fn issue_15_two_files_in_two_splits_are_edited_and_saved() {
    if !tmux_available("issue_15_two_files_in_two_splits_are_edited_and_saved") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("left.txt"), dir.path().join("right.txt"));
    std::fs::write(&a, "left file\n").unwrap();
    std::fs::write(&b, "right file\n").unwrap();
    let tmux = Tmux::start("splits", &command_line_files(dir.path(), &[&a, &b])).unwrap();
    tmux.wait_for("left file");
    // Split side by side, show the next buffer in the new split: both files on screen.
    tmux.keys(&["M-v"]);
    tmux.keys(&["M-."]);
    let screen = tmux.wait_for("right file");
    assert!(screen.contains("left file") && screen.contains('│'), "{screen}");
    tmux.text("R ");
    tmux.keys(&["C-s"]);
    tmux.wait_for("saved");
    // Back to the left split with the keyboard.
    tmux.keys(&["C-M-Left"]);
    tmux.text("L ");
    tmux.wait_for("L left file");
    tmux.keys(&["C-s"]);
    tmux.keys(&["C-q"]);
    tmux.wait_for("TANDEM-EXIT=0");
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "L left file\n");
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "R right file\n");
}

/// The pid of the tandem the pane's shell runs (the pane's process is the shell of [`command_line`]).
fn tandem_pid(tmux: &Tmux) -> String {
    let shell = tmux.run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]).unwrap();
    let shell = String::from_utf8_lossy(&shell.stdout).trim().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !pid.is_empty() {
            return pid;
        }
        assert!(Instant::now() < deadline, "no tandem under the shell {shell}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A tmux format variable of the pane (`alternate_on`, `mouse_any_flag`).
fn pane_flag(tmux: &Tmux, name: &str) -> String {
    let out = tmux.run(&["display-message", "-p", "-t", "e2e", &format!("#{{{name}}}")]).unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn issue_11_sigterm_keeps_unsaved_edits_restores_the_terminal_and_exits_non_zero() {
    if !tmux_available(
        "issue_11_sigterm_keeps_unsaved_edits_restores_the_terminal_and_exits_non_zero",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("letter.txt");
    std::fs::write(&file, "dear\n").unwrap();
    let tmux = Tmux::start("term", &command_line(dir.path(), &file)).unwrap();
    tmux.wait_for("UTF-8");
    assert_eq!(pane_flag(&tmux, "alternate_on"), "1");
    assert_eq!(pane_flag(&tmux, "mouse_any_flag"), "1");
    let pid = tandem_pid(&tmux);
    tmux.text("typed just now ");
    tmux.wait_for("typed just now");
    // At once: the edits are not yet due on disk (half a second), the signal must write them.
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let screen = tmux.wait_for("TANDEM-EXIT=143");
    assert!(screen.contains("SIGTERM: unsaved edits kept"), "{screen}");
    assert_eq!(pane_flag(&tmux, "alternate_on"), "0", "the alternate screen is left");
    assert_eq!(pane_flag(&tmux, "mouse_any_flag"), "0", "mouse reporting is off");
    let journal = tandem::journal::load(&dir.path().join("data").join("journal"), &file).unwrap();
    assert_eq!(journal.unwrap().text, "typed just now dear\n");
    assert_eq!(std::fs::read(&file).unwrap(), b"dear\n", "the file itself is untouched");
}

#[test]
fn issue_11_the_terminal_closing_keeps_unsaved_edits() {
    if !tmux_available("issue_11_the_terminal_closing_keeps_unsaved_edits") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ssh.txt");
    std::fs::write(&file, "remote\n").unwrap();
    // exec: tandem leads the pane's session, so closing the pane hangs up its terminal (SIGHUP).
    let tmux = Tmux::start("hup", &tandem(dir.path(), &file, "exec ")).unwrap();
    tmux.wait_for("UTF-8");
    tmux.text("before the drop ");
    tmux.wait_for("before the drop");
    tmux.run(&["kill-pane", "-t", "e2e"]);
    let journal_dir = dir.path().join("data").join("journal");
    let deadline = Instant::now() + Duration::from_secs(10);
    let recovered = loop {
        if let Ok(Some(found)) = tandem::journal::load(&journal_dir, &file) {
            break found;
        }
        assert!(Instant::now() < deadline, "nothing journaled after the hang-up");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(recovered.text, "before the drop remote\n");
}

#[test]
fn issue_11_sigquit_keeps_an_unnamed_buffer() {
    if !tmux_available("issue_11_sigquit_keeps_an_unnamed_buffer") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("quit-unnamed", &command_line(dir.path(), Path::new(""))).unwrap();
    tmux.wait_for("[new]");
    let pid = tandem_pid(&tmux);
    tmux.text("scratch thoughts");
    tmux.wait_for("scratch thoughts");
    assert!(Command::new("kill").args(["-QUIT", &pid]).status().unwrap().success());
    tmux.wait_for("TANDEM-EXIT=131");
    let listed = recover(dir.path());
    let rescued = listed.split("  ").next().unwrap();
    assert!(rescued.contains("unnamed-1"), "{listed}");
    let journal_dir = dir.path().join("data").join("journal");
    let recovered = tandem::journal::load(&journal_dir, Path::new(rescued)).unwrap().unwrap();
    assert_eq!(recovered.text, "scratch thoughts");
}

#[test]
fn issue_11_reopening_after_a_crash_offers_to_recover() {
    if !tmux_available("issue_11_reopening_after_a_crash_offers_to_recover") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.txt");
    std::fs::write(&file, "one\ntwo\n").unwrap();
    let tmux = Tmux::start("crash", &tandem(dir.path(), &file, "exec ")).unwrap();
    tmux.wait_for("UTF-8");
    let pid = tmux.run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]).unwrap();
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_owned();
    tmux.keys(&["Down"]);
    tmux.text("lost? ");
    tmux.wait_for("lost? two");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-9", &pid]).status().unwrap().success());
    drop(tmux);

    let tmux = Tmux::start("reopen", &command_line(dir.path(), &file)).unwrap();
    let screen = tmux.wait_for("(r)ecover (d)iscard (o)pen read-only");
    assert!(screen.contains("line 2 differs"), "{screen}");
    tmux.keys(&["r"]);
    let screen = tmux.wait_for("recovered: line 2 differs");
    assert!(screen.contains("lost? two") && screen.contains("[+]"), "{screen}");
    tmux.keys(&["C-s"]);
    tmux.wait_for("saved");
    tmux.keys(&["C-q"]);
    tmux.wait_for("TANDEM-EXIT=0");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "one\nlost? two\n");
    assert_eq!(recover(dir.path()), "", "saving removes the journal");
}

#[test]
fn issue_11_backspace_sent_as_0x08_deletes_one_character() {
    if !tmux_available("issue_11_backspace_sent_as_0x08_deletes_one_character") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bs.txt");
    std::fs::write(&file, "").unwrap();
    let tmux = Tmux::start("bs", &command_line(dir.path(), &file)).unwrap();
    tmux.wait_for("UTF-8");
    tmux.text("one two");
    tmux.wait_for("one two");
    // tmux sends C-h as the byte 0x08, as many terminals send Backspace.
    tmux.keys(&["C-h"]);
    tmux.keys(&["C-s"]);
    tmux.wait_for("saved");
    tmux.keys(&["C-q"]);
    tmux.wait_for("TANDEM-EXIT=0");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "one tw");
}

#[test]
fn issue_11_shift_f3_finds_the_previous_match() {
    if !tmux_available("issue_11_shift_f3_finds_the_previous_match") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("find.txt");
    std::fs::write(&file, "target one\ntarget two\ntarget three\n").unwrap();
    let tmux = Tmux::start("sf3", &command_line(dir.path(), &file)).unwrap();
    tmux.wait_for("UTF-8");
    tmux.keys(&["C-f"]);
    tmux.text("target");
    tmux.keys(&["Enter"]);
    // The status bar's LINE:COL says which match is selected (its end).
    tmux.wait_for(" 1:7 ");
    tmux.keys(&["F3"]);
    tmux.wait_for(" 2:7 ");
    // tmux sends Shift-F3 as ESC [ 1 ; 2 R, which reads like a cursor position report.
    tmux.keys(&["S-F3"]);
    let screen = tmux.wait_for(" 1:7 ");
    assert!(!screen.contains("not bound"), "{screen}");
    tmux.keys(&["C-q"]);
    tmux.wait_for("TANDEM-EXIT=0");
}

/// tandem reads the terminal's bytes itself (issue 11, Shift-F3): a resize still redraws at once and a bracketed
/// paste still arrives as one paste.
#[test]
fn issue_11_resize_and_bracketed_paste_reach_the_editor() {
    if !tmux_available("issue_11_resize_and_bracketed_paste_reach_the_editor") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paste.txt");
    std::fs::write(&file, "").unwrap();
    let tmux = Tmux::start("paste", &command_line(dir.path(), &file)).unwrap();
    tmux.wait_for("UTF-8");
    tmux.run(&["resize-window", "-t", "e2e", "-x", "60", "-y", "10"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let screen = tmux.screen();
        let status = screen.lines().nth(8).unwrap_or_default();
        if status.contains("UTF-8") {
            break;
        }
        assert!(Instant::now() < deadline, "no redraw at 60x10:\n{screen}");
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.run(&["set-buffer", "-b", "p", "pasted\tline\nsecond"]);
    tmux.run(&["paste-buffer", "-p", "-b", "p", "-t", "e2e"]);
    tmux.wait_for("second");
    tmux.keys(&["C-s"]);
    tmux.wait_for("saved");
    tmux.keys(&["C-q"]);
    tmux.wait_for("TANDEM-EXIT=0");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "pasted\tline\nsecond");
}
