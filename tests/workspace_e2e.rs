//! Workspaces end to end: `tandem share` and `tandem sync` as real processes in two directories,
//! the real server (killed with SIGKILL and restarted on the same port), plain `echo >>`-style
//! appends on disk and a tandem editor in tmux typing into one of the files.

mod collab;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use collab::{FixedServer, Pane, free_port, tandem_binary, tmux_available, wait_until};
use tandem_e2e::http_get;

/// After the server comes back, engines and editors reconnect with a backoff of up to ~22 s.
const RECONNECT: Duration = Duration::from_secs(60);

/// A `tandem share` or `tandem sync` process; its stdout goes to a file. Dropping it kills it.
struct Engine {
    child: Child,
    out: PathBuf,
}

impl Engine {
    fn start(name: &str, home: &Path, args: &[&str]) -> Self {
        std::fs::create_dir_all(home).unwrap();
        let out = home.join(format!("{name}.out"));
        let child = Command::new(tandem_binary().unwrap())
            .args(args)
            .arg("--data-dir")
            .arg(home.join("data"))
            .arg("--log")
            .arg(home.join(format!("{name}.log")))
            .env("TANDEM_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(home.join(format!("{name}.err"))).unwrap())
            .spawn()
            .unwrap();
        Self { child, out }
    }

    /// SIGTERM, as Ctrl-C would; waits for a clean exit.
    fn stop(mut self) {
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}: {}", self.output());
    }

    fn output(&self) -> String {
        let err = self.out.with_extension("err");
        format!(
            "{}{}",
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(err).unwrap_or_default()
        )
    }

    fn wait_output(&self, needle: &str) -> String {
        wait_until(
            &format!("{needle:?} from the engine"),
            RECONNECT,
            || {
                let out = self.output();
                out.contains(needle).then_some(out)
            },
            || self.output(),
        )
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `root`, relative path to contents (`.git` excluded).
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                files.insert(rel, bytes);
            }
        }
    }
    files
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_default()
}

/// The value of the unlabelled metric `name` in a `/metrics` text.
fn gauge(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// The server's view: the manifest's files and each document's text.
async fn server_tree(addr: std::net::SocketAddr) -> Option<BTreeMap<String, Vec<u8>>> {
    let (status, manifest) = http_get(addr, "/api/docs/team/.tandem/manifest/text").await.ok()?;
    if status != 200 {
        return None;
    }
    let mut files = BTreeMap::new();
    for line in manifest.lines() {
        let (id, path) = line.split_once('\t')?;
        let (status, text) = http_get(addr, &format!("/api/docs/team/{id}/text")).await.ok()?;
        if status != 200 {
            return None;
        }
        files.insert(path.to_owned(), text.into_bytes());
    }
    Some(files)
}

#[tokio::test(flavor = "multi_thread")]
async fn share_sync_edit_rename_delete_and_a_server_crash_end_byte_identical() {
    if !tmux_available("workspace_share_sync") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    write(&one, "README.md", b"# Project\n");
    write(&one, "src/main.rs", b"fn main() {}\n");
    write(&one, "docs/guide.md", "Guide 会议 👋\r\n".as_bytes());
    write(&one, ".gitignore", b"secret.env\nbuild/\n");
    write(&one, "secret.env", b"TOKEN=do-not-upload\n");
    write(&one, "logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");

    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let server_dir = dir.path().join("server");
    let mut server = FixedServer::start(addr, &server_dir).await.unwrap();
    let url = server.ws_url("team");
    let one_arg = one.display().to_string();
    let two_arg = two.display().to_string();
    let share = Engine::start("share", &dir.path().join("e1"), &["share", &one_arg, &url]);
    let out = share.wait_output("published 4 files");
    assert!(out.contains("logo.png: binary"), "the binary file is skipped with a message: {out}");
    // Issue 16: the manifest and the four files share one websocket.
    let (_, metrics) = http_get(addr, "/metrics").await.unwrap();
    assert_eq!(gauge(&metrics, "tandem_connections"), Some(1.0), "{metrics}");
    assert_eq!(gauge(&metrics, "tandem_mux_documents"), Some(5.0), "{metrics}");
    let sync = Engine::start("sync", &dir.path().join("e2"), &["sync", &url, &two_arg]);
    sync.wait_output("synced 4 files");
    let shared = |root: &Path| {
        let mut files = tree(root);
        files.remove("secret.env");
        files.remove("logo.png");
        files.remove("build/gen/out.txt");
        files
    };
    assert_eq!(tree(&two), shared(&one));
    let (_, listing) = http_get(addr, "/api/docs").await.unwrap();
    assert!(!listing.contains("secret"), "a .gitignored file is never uploaded: {listing}");

    // A tandem editor on the synced side's README (through the server), `echo >>` on the other.
    let editor_url = format!("{url}/README.md");
    let pane =
        Pane::start("ed", &dir.path().join("ed"), &[editor_url, "--name".into(), "ed".into()])
            .unwrap();
    pane.wait_for(&["# Project", "connected"]);
    append(&one.join("README.md"), "echo one\n");
    pane.wait_for(&["echo one"]);
    let both_have = |path: &str, needle: &str| {
        let what = format!("{needle:?} in {path} on both sides");
        wait_until(
            &what,
            RECONNECT,
            || {
                (read(&one, path).contains(needle) && read(&two, path).contains(needle))
                    .then_some(())
            },
            || format!("one: {:?}\ntwo: {:?}", read(&one, path), read(&two, path)),
        )
    };
    both_have("README.md", "echo one");
    pane.keys(&["C-End"]);
    pane.type_text("typed in tandem");
    pane.keys(&["Enter"]);
    both_have("README.md", "typed in tandem\n");
    append(&two.join("src/main.rs"), "// echo two\n");
    both_have("src/main.rs", "// echo two");

    // Renames (a file, a directory) and a deletion, from either side; a file made in an ignored
    // directory after the start (a watcher event names it) stays here.
    write(&one, "build/gen/out.txt", b"generated\n");
    std::fs::rename(two.join("src/main.rs"), two.join("src/lib.rs")).unwrap();
    std::fs::rename(one.join("docs"), one.join("manual")).unwrap();
    write(&two, "notes/todo.txt", b"- ship it\n");
    let same_paths = |want: &[&str]| {
        wait_until(
            &format!("both trees to hold {want:?}"),
            RECONNECT,
            || {
                let (a, b) = (shared(&one), tree(&two));
                let keys: Vec<&str> = b.keys().map(String::as_str).collect();
                (a.keys().eq(b.keys()) && keys == want).then_some(())
            },
            || format!("one: {:?}\ntwo: {:?}", shared(&one).keys(), tree(&two).keys()),
        )
    };
    same_paths(&[".gitignore", "README.md", "manual/guide.md", "notes/todo.txt", "src/lib.rs"]);
    std::fs::remove_file(one.join("notes/todo.txt")).unwrap();
    same_paths(&[".gitignore", "README.md", "manual/guide.md", "src/lib.rs"]);
    assert!(!two.join("notes").exists(), "the emptied directory goes too");

    // The server dies; everyone keeps editing; it comes back on the same port.
    server.kill();
    append(&one.join("src/lib.rs"), "// offline one\n");
    append(&two.join("src/lib.rs"), "// offline two\n");
    append(&two.join("manual/guide.md"), "offline guide\r\n");
    write(&one, "new.txt", b"made offline\n");
    pane.type_text("offline editor");
    pane.wait_for(&["offline editor"]);
    let server = FixedServer::start(addr, &server_dir).await.unwrap();

    let expected: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("README.md", &["# Project\n", "echo one\n", "typed in tandem\n", "offline editor"][..]),
        (
            "src/lib.rs",
            &["fn main() {}\n", "// echo two\n", "// offline one\n", "// offline two\n"][..],
        ),
        ("manual/guide.md", &["Guide 会议 👋\r\n", "offline guide\r\n"][..]),
        ("new.txt", &["made offline\n"][..]),
        (".gitignore", &["secret.env\nbuild/\n"][..]),
    ]);
    let settled = |files: &BTreeMap<String, Vec<u8>>| {
        files.len() == expected.len()
            && expected.iter().all(|(path, parts)| {
                let text = files.get(*path).map(|b| String::from_utf8_lossy(b).into_owned());
                text.is_some_and(|t| {
                    parts.iter().all(|p| t.matches(p).count() == 1)
                        && t.len() == parts.iter().map(|p| p.len()).sum::<usize>()
                })
            })
    };
    wait_until(
        "both directories to hold every edit exactly once",
        RECONNECT,
        || (settled(&shared(&one)) && shared(&one) == tree(&two)).then_some(()),
        || format!("one: {:#?}\ntwo: {:#?}", shared(&one), tree(&two)),
    );
    let deadline = std::time::Instant::now() + RECONNECT;
    loop {
        let on_server = server_tree(server.addr).await;
        if on_server.as_ref() == Some(&shared(&one)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server: {on_server:#?}\none: {:#?}",
            shared(&one)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(read(&one, "secret.env").contains("do-not-upload"), "ignored files stay put");
    let (_, listing) = http_get(addr, "/api/docs").await.unwrap();
    assert!(!listing.contains("secret") && !listing.contains("build"), "{listing}");
    drop(pane);
    drop((share, sync));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_contact_keeps_both_versions_and_edits_made_while_stopped_merge_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    write(&one, "a.txt", b"base\n");
    write(&two, "a.txt", b"mine, never shared\n");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let _server = FixedServer::start(addr, &dir.path().join("server")).await.unwrap();
    let url = format!("ws://{addr}/ws");
    let (one_arg, two_arg) = (one.display().to_string(), two.display().to_string());
    let share = Engine::start("share", &dir.path().join("e1"), &["share", &one_arg, &url]);
    share.wait_output("published 1 files");
    let sync_args = ["sync", url.as_str(), two_arg.as_str()];
    let sync = Engine::start("sync", &dir.path().join("e2"), &sync_args);
    let out = sync.wait_output("synced 2 files");
    assert!(
        out.contains("the workspace's version wins, yours is in a.local-conflict.txt"),
        "{out}"
    );
    assert_eq!(read(&two, "a.txt"), "base\n");
    assert_eq!(read(&two, "a.local-conflict.txt"), "mine, never shared\n");
    wait_until(
        "the conflict copy to reach the sharing side",
        RECONNECT,
        || (read(&one, "a.local-conflict.txt") == "mine, never shared\n").then_some(()),
        || share.output(),
    );

    // The synced side stops; both sides edit; it starts again and finds its own edit on disk.
    sync.stop();
    append(&two.join("a.txt"), "edited while stopped\n");
    append(&one.join("a.txt"), "edited meanwhile there\n");
    let sync = Engine::start("sync2", &dir.path().join("e2"), &sync_args);
    sync.wait_output("synced 2 files");
    let merged = |text: &str| {
        ["base\n", "edited while stopped\n", "edited meanwhile there\n"]
            .iter()
            .all(|part| text.matches(part).count() == 1)
            && text.len() == "base\nedited while stopped\nedited meanwhile there\n".len()
    };
    wait_until(
        "both copies to hold both edits once",
        RECONNECT,
        || {
            (merged(&read(&one, "a.txt")) && read(&one, "a.txt") == read(&two, "a.txt"))
                .then_some(())
        },
        || format!("one: {:?}\ntwo: {:?}", read(&one, "a.txt"), read(&two, "a.txt")),
    );
    drop((share, sync));
}

/// Waits until the file at `path` under `root` holds exactly `want`.
fn wait_file(root: &Path, path: &str, want: &str) {
    wait_until(
        &format!("{path} to hold {want:?}"),
        RECONNECT,
        || (read(root, path) == want).then_some(()),
        || format!("{path}: {:?}", read(root, path)),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn issue_16_the_editor_opens_a_workspace_makes_files_and_follows_across_them() {
    if !tmux_available("issue_16_the_editor_opens_a_workspace") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    // Name flags sit over the line above a cursor: wait for the end of a line.
    write(&one, "a.txt", b"alpha is the first letter\n");
    write(&one, "src/main.rs", b"fn main() {}\n");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let server = FixedServer::start(addr, &dir.path().join("server")).await.unwrap();
    let url = server.ws_url("team");
    let share = Engine::start(
        "share",
        &dir.path().join("e1"),
        &["share", &one.display().to_string(), &url],
    );
    share.wait_output("published 2 files");

    // `tandem ws://HOST/team/` opens with the picker over the workspace's files.
    let workspace = format!("{url}/");
    let start = |name: &str| {
        let args = [workspace.clone(), "--name".into(), name.into()];
        Pane::start(name, &dir.path().join(name), &args).unwrap()
    };
    let ann = start("ann");
    ann.wait_for(&["a.txt", "src/main.rs", "2/2"]);
    ann.type_text("main");
    ann.keys(&["Enter"]);
    ann.wait_for(&["fn main() {}", "src/main.rs", "connected"]);
    ann.keys(&["C-End"]);
    ann.type_text("// by ann");
    wait_file(&one, "src/main.rs", "fn main() {}\n// by ann");

    // A new file made from the picker is a file of the workspace: the sharing side writes it.
    ann.keys(&["C-o"]);
    ann.type_text("notes/todo.md");
    ann.keys(&["Enter"]);
    ann.wait_for(&["notes/todo.md: a file of the workspace"]);
    ann.type_text("todo: write tests");
    wait_file(&one, "notes/todo.md", "todo: write tests");
    let (_, manifest) = http_get(addr, "/api/docs/team/.tandem/manifest/text").await.unwrap();
    assert!(manifest.contains("notes/todo.md\tnotes/todo.md\n"), "{manifest}");

    // Bob opens a file Ann has not opened; her presence list says who is where.
    let bob = start("bob");
    bob.wait_for(&["a.txt", "notes/todo.md"]);
    bob.type_text("a.txt");
    bob.keys(&["Enter"]);
    bob.wait_for(&["the first letter", "connected"]);
    ann.keys(&["F2"]);
    ann.wait_for(&["bob  a.txt"]);
    // Following him opens his file here, and crosses into the next one he opens.
    ann.keys(&["Enter"]);
    let screen = ann.wait_for(&["following bob", "the first letter"]);
    assert!(!screen.contains("todo: write tests"), "{screen}");
    bob.keys(&["C-o"]);
    bob.type_text("todo");
    bob.keys(&["Enter"]);
    bob.wait_for(&["todo: write tests"]);
    let screen = ann.wait_for(&["todo: write tests"]);
    assert!(!screen.contains("the first letter"), "{screen}");
    bob.keys(&["C-End"]);
    bob.type_text("!");
    wait_file(&one, "notes/todo.md", "todo: write tests!");
    drop((ann, bob, share));
}
