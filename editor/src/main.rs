//! `tandem [FILE]…`: the terminal editor, a buffer per file; `tandem ws://HOST:PORT/DOC-ID` (or `tandem --server
//! URL --doc DOC-ID`): the same editor on a shared document — and both at once, side by side; `tandem share DIR
//! URL` and `tandem sync URL DIR`: a directory kept in step with a workspace; `tandem history URL [VERSION]`:
//! a shared document's versions, or one version's text.
//!
//! `share`, `sync` and `history` as the first argument are these commands; to edit a file of that name,
//! write `tandem ./share` (as with git's subcommands).

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use tandem::app::terminal::{Document, Outcome};
use tracing_subscriber::EnvFilter;

/// A fast, Unicode-correct terminal text editor; give a ws:// URL to edit a shared document.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Keep a directory and a workspace in step (the first argument; `tandem ./share` edits a
    /// file named share).
    #[command(subcommand)]
    workspace: Option<WorkspaceCommand>,
    /// Files to open or create, and shared documents: ws://HOST:PORT/DOC-ID (wss:// too). Each gets a buffer.
    files: Vec<PathBuf>,
    /// Server of a shared document, ws://HOST:PORT (with --doc; the same as ws://HOST:PORT/DOC-ID).
    #[arg(long, value_name = "URL", requires = "doc")]
    server: Option<String>,
    /// Id of the shared document on --server.
    #[arg(long, value_name = "DOC-ID", requires = "server")]
    doc: Option<String>,
    /// Access token for tandem-server (shared documents; a --prefix token for workspaces).
    #[arg(long, env = "TANDEM_TOKEN", global = true)]
    token: Option<String>,
    /// Name shown to collaborators (default: config `user_name`, else git's user.name, else the login name).
    #[arg(long)]
    name: Option<String>,
    /// Cursor colour shown to collaborators, #RRGGBB (default: config `user_color`, else picked from the name).
    #[arg(long)]
    color: Option<String>,
    /// Local file linked to the (one) shared document: Ctrl-S writes it; an empty document is seeded from it.
    #[arg(long = "file", value_name = "PATH")]
    linked_file: Option<PathBuf>,
    /// Open the locally stored copy of the shared document without connecting.
    #[arg(long)]
    offline: bool,
    /// Trust this certificate authority (PEM) for wss:// besides the system's (SSL_CERT_FILE and
    /// SSL_CERT_DIR are honoured too).
    #[arg(long, env = "TANDEM_CA_CERT", value_name = "PATH", global = true)]
    ca_cert: Option<PathBuf>,
    /// Where shared documents are stored locally (default: the platform data dir).
    #[arg(long, env = "TANDEM_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Configuration file (default: the platform config dir's tandem/config.toml).
    #[arg(long, env = "TANDEM_CONFIG")]
    config: Option<PathBuf>,
    /// Log file (default: tandem.log in the platform cache dir). Filter with TANDEM_LOG (default "info").
    #[arg(long, env = "TANDEM_LOG_FILE", global = true)]
    log: Option<PathBuf>,
    /// Print where the configuration file is read from, then exit.
    #[arg(long)]
    print_config_path: bool,
    /// Print the default configuration, then exit.
    #[arg(long)]
    print_default_config: bool,
    /// List the files whose unsaved edits the recovery journal holds (path, time, size), then exit.
    #[arg(long)]
    recover: bool,
}

/// `tandem share` and `tandem sync`: the source comes first, and wins when both sides have a
/// file they never agreed on (the other version goes to a conflict file beside it).
#[derive(Debug, Subcommand)]
enum WorkspaceCommand {
    /// Publish DIR as the workspace ws://HOST:PORT/PREFIX and keep them in step until Ctrl-C.
    Share {
        /// The directory.
        dir: PathBuf,
        /// The workspace: ws://HOST:PORT/PREFIX (wss:// too).
        url: String,
        #[command(flatten)]
        limits: WorkspaceLimits,
    },
    /// Make DIR a copy of the workspace ws://HOST:PORT/PREFIX and keep them in step until Ctrl-C.
    Sync {
        /// The workspace: ws://HOST:PORT/PREFIX (wss:// too).
        url: String,
        /// The directory (created if missing).
        dir: PathBuf,
        #[command(flatten)]
        limits: WorkspaceLimits,
    },
    /// Print the versions of the shared document ws://HOST:PORT/DOC-ID on tandem-server, newest
    /// first (id, time, kind, length, authors, name); with VERSION, print that version's text.
    History {
        /// The document: ws://HOST:PORT/DOC-ID (wss:// too).
        url: String,
        /// A version id from the list.
        version: Option<i64>,
    },
}

/// What a workspace shares.
#[derive(Debug, clap::Args)]
struct WorkspaceLimits {
    /// Files larger than this many bytes are not shared.
    #[arg(long, value_name = "BYTES", default_value_t = tandem::workspace::DEFAULT_MAX_FILE_BYTES)]
    max_file_size: u64,
}

/// A document URL, or a workspace's when it ends in `/`.
fn shared(url: String) -> Launch {
    if url.ends_with('/') { Launch::Workspace(url) } else { Launch::Shared(url) }
}

/// One thing the command line asks to open.
#[derive(Debug, PartialEq, Eq)]
enum Launch {
    /// A local file (or an unnamed buffer).
    Local(Option<PathBuf>),
    /// A shared document, `ws://HOST:PORT/DOC-ID`.
    Shared(String),
    /// A workspace, `ws://HOST:PORT/PREFIX/` (the trailing slash).
    Workspace(String),
}

/// A command line whose parts do not fit together.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum UsageError {
    /// A document URL and --server/--doc name the document twice.
    #[error(
        "give the document either as ws://HOST:PORT/DOC-ID or as --server URL --doc DOC-ID, not both"
    )]
    TwoDocuments,
    /// --server with a path: the document id belongs in --doc.
    #[error(
        "--server {0} names a document; give the server only (ws://HOST:PORT) and the id in --doc"
    )]
    ServerWithPath(String),
    /// The document id is empty or is a URL.
    #[error("--doc {0:?} is not a document id")]
    BadDoc(String),
    /// Collaboration flags without a shared document.
    #[error("--file, --offline and --token need a shared document: tandem ws://HOST:PORT/DOC-ID")]
    NotShared,
    /// --file with several shared documents: which one it belongs to is unclear.
    #[error("--file links one shared document; {0} are given")]
    FileForMany(usize),
    /// --file with a workspace: its files are linked by `tandem sync`.
    #[error(
        "--file links a shared document, not a workspace (keep a copy with tandem sync URL DIR)"
    )]
    FileForWorkspace,
    /// Two workspaces at once.
    #[error("one workspace at a time ({0} are given)")]
    ManyWorkspaces(usize),
}

fn is_ws_url(s: &str) -> bool {
    s.starts_with("ws://") || s.starts_with("wss://")
}

impl Args {
    /// What to open, in order (a document given with --server/--doc first); both join forms give the same
    /// `ws://HOST:PORT/DOC-ID`.
    fn launch(&self) -> Result<Vec<Launch>, UsageError> {
        let mut opened = Vec::new();
        let positional_url = self.files.iter().filter_map(|f| f.to_str()).any(is_ws_url);
        match (&self.server, &self.doc) {
            (Some(_), _) if positional_url => return Err(UsageError::TwoDocuments),
            (Some(server), Some(doc)) => {
                let server = server.trim_end_matches('/');
                // A path after HOST:PORT would silently become part of the document id.
                let after_scheme = server.split_once("://").map_or(server, |(_, rest)| rest);
                if after_scheme.contains('/') {
                    return Err(UsageError::ServerWithPath(server.to_owned()));
                }
                let doc = doc.trim_start_matches('/');
                if doc.is_empty() || doc.contains("://") {
                    return Err(UsageError::BadDoc(doc.to_owned()));
                }
                // The scheme is checked with the rest of the URL when the document opens.
                opened.push(shared(format!("{server}/{doc}")));
            }
            // clap's `requires` makes --server and --doc come together.
            (Some(_), None) | (None, Some(_)) => return Err(UsageError::TwoDocuments),
            (None, None) => {}
        }
        for file in &self.files {
            opened.push(match file.to_str().filter(|f| is_ws_url(f)) {
                Some(url) => shared(url.to_owned()),
                None => Launch::Local(Some(file.clone())),
            });
        }
        let shared = opened.iter().filter(|l| matches!(l, Launch::Shared(_))).count();
        let workspaces = opened.iter().filter(|l| matches!(l, Launch::Workspace(_))).count();
        let collaborating = shared + workspaces > 0;
        if !collaborating && (self.linked_file.is_some() || self.offline || self.token.is_some()) {
            return Err(UsageError::NotShared);
        }
        if workspaces > 1 {
            return Err(UsageError::ManyWorkspaces(workspaces));
        }
        if shared == 0 && workspaces > 0 && self.linked_file.is_some() {
            return Err(UsageError::FileForWorkspace);
        }
        if shared > 1 && self.linked_file.is_some() {
            return Err(UsageError::FileForMany(shared));
        }
        if opened.is_empty() {
            opened.push(Launch::Local(None));
        }
        Ok(opened)
    }
}

fn init_logging(path: Option<PathBuf>) -> anyhow::Result<()> {
    let path = match path {
        Some(p) => p,
        None => {
            let dirs = directories::ProjectDirs::from("", "", "tandem")
                .context("no home directory for the log")?;
            std::fs::create_dir_all(dirs.cache_dir())
                .with_context(|| format!("creating {}", dirs.cache_dir().display()))?;
            dirs.cache_dir().join("tandem.log")
        }
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening log file {}", path.display()))?;
    let filter = EnvFilter::try_from_env("TANDEM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .init();
    Ok(())
}

/// `tandem --recover`: one line per journal, oldest first; a note on stderr when there is none.
fn list_recoverable(data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = data_dir
        .map(|d| d.join("journal"))
        .or_else(tandem::journal::default_dir)
        .context("no home directory for the recovery journal (pass --data-dir)")?;
    let found = tandem::journal::recoverable(&dir)
        .with_context(|| format!("listing the recovery journal {}", dir.display()))?;
    if found.is_empty() {
        eprintln!("tandem: no unsaved edits to recover (journal: {})", dir.display());
    }
    for recoverable in found {
        println!("{}", recoverable.line());
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.workspace.is_none()
        && let Err(e) = args.launch()
    {
        // A usage error, reported like clap's own (usage line, exit code 2).
        Args::command().error(clap::error::ErrorKind::ArgumentConflict, e).exit();
    }
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.print_config_path {
        let path = args
            .config
            .or_else(tandem::Config::default_path)
            .context("no config directory on this system")?;
        println!("{}", path.display());
        return Ok(());
    }
    if args.print_default_config {
        print!("{}", tandem::DEFAULT_CONFIG);
        return Ok(());
    }
    if args.recover {
        return list_recoverable(args.data_dir);
    }
    // Logging is best effort: an unwritable log must not stop the editor.
    if let Err(e) = init_logging(args.log.clone()) {
        eprintln!("tandem: logging disabled: {e:#}");
    }
    if let Some(command) = args.workspace {
        if let WorkspaceCommand::History { url, version } = command {
            return print_history(&url, version, args.token, args.ca_cert.as_deref());
        }
        return run_workspace(command, args.token, args.ca_cert, data_dir(args.data_dir)?);
    }
    // A broken config never stops the editor: the defaults, and the reason on the message line.
    let config = tandem::Config::load_or_defaults(args.config.as_deref());
    // Who this user is matters only for shared documents (and reading it may fail).
    let mut identity = None;
    let mut documents = Vec::new();
    for launch in args.launch()? {
        documents.push(match launch {
            Launch::Local(file) => Document::File(file),
            Launch::Shared(url) => {
                let base = match &identity {
                    Some(base) => base,
                    None => identity.insert(collaboration(&args, &config)?),
                };
                let file = args.linked_file.clone();
                Document::Shared(tandem::collab::AppOptions { url, file, ..base.clone() })
            }
            Launch::Workspace(url) => {
                let base = match &identity {
                    Some(base) => base,
                    None => identity.insert(collaboration(&args, &config)?),
                };
                Document::Workspace(tandem::collab::AppOptions { url, file: None, ..base.clone() })
            }
        });
    }
    let journal = args.data_dir.map(|d| d.join("journal")).or_else(tandem::journal::default_dir);
    match tandem::app::terminal::run(&config, documents, journal)? {
        Outcome::Quit => Ok(()),
        Outcome::Signalled(signal, kept) => exit_signalled(signal, &kept),
    }
}

/// Ended by a signal, with the unsaved work on disk and the terminal restored: says where it went and exits
/// with `128 + signal`, as a shell reports a process the signal killed.
fn exit_signalled(signal: tandem::app::Signal, kept: &[String]) -> ! {
    eprintln!("tandem: {}: unsaved edits kept (`tandem --recover` lists them)", signal.name());
    for line in kept {
        eprintln!("  {line}");
    }
    std::process::exit(signal.exit_code().into())
}

/// Who this user is and where shared documents are kept: the options every shared document opens with.
fn collaboration(
    args: &Args,
    config: &tandem::Config,
) -> anyhow::Result<tandem::collab::AppOptions> {
    let name = tandem::collab::user_name(args.name.as_deref().or(config.user_name.as_deref()));
    let color =
        tandem::collab::user_color(args.color.as_deref().or(config.user_color.as_deref()), &name)?;
    Ok(tandem::collab::AppOptions {
        url: String::new(),
        token: args.token.clone(),
        name,
        color,
        file: None,
        offline: args.offline,
        ca_cert: args.ca_cert.clone(),
        data_dir: data_dir(args.data_dir.clone())?,
    })
}

/// The local store's root: `--data-dir`, else the platform data dir.
fn data_dir(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(dir) => Ok(dir),
        None => Ok(directories::ProjectDirs::from("", "", "tandem")
            .context("no home directory for the local store (pass --data-dir)")?
            .data_dir()
            .to_owned()),
    }
}

/// `tandem history URL [VERSION]`: the version list, or one version's text as it is.
fn print_history(
    url: &str,
    version: Option<i64>,
    token: Option<String>,
    ca_cert: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let connector = tandem_connect::Connector::new(ca_cert).context("--ca-cert")?;
    let history = tandem::collab::HistoryClient::new(url, token, connector)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        match version {
            Some(id) => print!("{}", history.text(id).await?),
            None => {
                let versions = history.list().await?;
                if versions.is_empty() {
                    eprintln!("tandem: {url} has no versions yet");
                }
                for version in versions {
                    println!("{}", tandem::collab::version_line(&version));
                }
            }
        }
        Ok(())
    })
}

fn run_workspace(
    command: WorkspaceCommand,
    token: Option<String>,
    ca_cert: Option<PathBuf>,
    data_dir: PathBuf,
) -> anyhow::Result<()> {
    use tandem::workspace::{Source, WorkspaceOptions};
    let (root, url, source, limits) = match command {
        WorkspaceCommand::Share { dir, url, limits } => (dir, url, Source::Directory, limits),
        WorkspaceCommand::Sync { url, dir, limits } => (dir, url, Source::Workspace, limits),
        WorkspaceCommand::History { .. } => anyhow::bail!("history is not a workspace command"),
    };
    let options = WorkspaceOptions {
        root,
        url,
        token,
        data_dir,
        source,
        max_file_bytes: limits.max_file_size,
        ca_cert,
    };
    tandem::workspace::run(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(args: &[&str]) -> Result<Vec<Launch>, UsageError> {
        let parsed = Args::try_parse_from(std::iter::once("tandem").chain(args.iter().copied()));
        parsed.unwrap_or_else(|e| panic!("clap refused {args:?}: {e}")).launch()
    }

    fn clap_refuses(args: &[&str]) -> String {
        match Args::try_parse_from(std::iter::once("tandem").chain(args.iter().copied())) {
            Ok(_) => panic!("clap accepted {args:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn shared(url: &str) -> Launch {
        Launch::Shared(url.into())
    }

    fn local(path: &str) -> Launch {
        Launch::Local(Some(path.into()))
    }

    #[test]
    fn both_join_forms_give_the_same_document() {
        let url = "ws://127.0.0.1:8080/notes";
        assert_eq!(launch(&[url]), Ok(vec![shared(url)]));
        assert_eq!(
            launch(&["--server", "ws://127.0.0.1:8080", "--doc", "notes"]),
            Ok(vec![shared(url)])
        );
        assert_eq!(
            launch(&["--doc", "a", "--server", "wss://host:443/"]),
            Ok(vec![shared("wss://host:443/a")])
        );
    }

    #[test]
    fn server_form_takes_the_collaboration_flags() {
        let args = Args::try_parse_from([
            "tandem",
            "--server",
            "ws://h:1",
            "--doc",
            "d",
            "--file",
            "notes.md",
            "--offline",
            "--token",
            "t",
            "--name",
            "Ada",
        ])
        .unwrap();
        assert_eq!(args.launch(), Ok(vec![shared("ws://h:1/d")]));
        assert_eq!(args.linked_file.as_deref(), Some(std::path::Path::new("notes.md")));
        assert!(args.offline);
        assert_eq!(args.name.as_deref(), Some("Ada"));
    }

    #[test]
    fn local_files_stay_local() {
        assert_eq!(launch(&["notes.md"]), Ok(vec![local("notes.md")]));
        assert_eq!(launch(&[]), Ok(vec![Launch::Local(None)]));
        assert_eq!(launch(&["--file", "a.md"]), Err(UsageError::NotShared));
        assert_eq!(launch(&["a.md", "--offline"]), Err(UsageError::NotShared));
    }

    #[test]
    fn issue_15_several_files_and_shared_documents_open_side_by_side() {
        assert_eq!(launch(&["a.txt", "b.txt"]), Ok(vec![local("a.txt"), local("b.txt")]));
        assert_eq!(
            launch(&["a.txt", "ws://h:1/notes", "b.txt"]),
            Ok(vec![local("a.txt"), shared("ws://h:1/notes"), local("b.txt")])
        );
        assert_eq!(
            launch(&["notes.md", "--server", "ws://h:1", "--doc", "d"]),
            Ok(vec![shared("ws://h:1/d"), local("notes.md")])
        );
        assert_eq!(
            launch(&["ws://h:1/a", "ws://h:1/b", "--file", "x"]),
            Err(UsageError::FileForMany(2))
        );
        assert!(launch(&["ws://h:1/a", "local.txt", "--file", "x", "--offline"]).is_ok());
    }

    #[test]
    fn mixed_forms_are_refused_with_a_reason() {
        let both = ["ws://h:1/d", "--server", "ws://h:1", "--doc", "d"];
        assert_eq!(launch(&both), Err(UsageError::TwoDocuments));
        assert_eq!(
            launch(&["--server", "ws://h:1/other", "--doc", "d"]),
            Err(UsageError::ServerWithPath("ws://h:1/other".into()))
        );
        assert_eq!(
            launch(&["--server", "ws://h:1", "--doc", "ws://h:1/d"]),
            Err(UsageError::BadDoc("ws://h:1/d".into()))
        );
        assert!(clap_refuses(&["--server", "ws://h:1"]).contains("--doc"));
        assert!(clap_refuses(&["--doc", "d"]).contains("--server"));
    }

    #[test]
    fn share_and_sync_take_the_source_first_and_dot_slash_edits_a_file_of_that_name() {
        let parse = |args: &[&str]| {
            Args::try_parse_from(std::iter::once("tandem").chain(args.iter().copied())).unwrap()
        };
        let args = parse(&["share", "proj", "ws://h:1/team", "--token", "t"]);
        assert!(matches!(
            args.workspace,
            Some(WorkspaceCommand::Share { ref dir, ref url, .. })
                if dir == std::path::Path::new("proj") && url == "ws://h:1/team"
        ));
        assert_eq!(args.token.as_deref(), Some("t"));
        let args = parse(&["--data-dir", "d", "sync", "ws://h:1/team", "copy"]);
        assert!(matches!(args.workspace, Some(WorkspaceCommand::Sync { .. })));
        assert_eq!(args.data_dir.as_deref(), Some(std::path::Path::new("d")));
        assert_eq!(parse(&["./share"]).launch(), Ok(vec![Launch::Local(Some("./share".into()))]));
        assert!(clap_refuses(&["share", "proj"]).contains("URL"));
    }

    #[test]
    fn issue_16_a_trailing_slash_opens_a_workspace() {
        let ws = |url: &str| Launch::Workspace(url.into());
        assert_eq!(launch(&["ws://h:1/team/"]), Ok(vec![ws("ws://h:1/team/")]));
        assert_eq!(launch(&["ws://h:1/team"]), Ok(vec![shared("ws://h:1/team")]));
        assert_eq!(
            launch(&["--server", "ws://h:1", "--doc", "team/", "--token", "t"]),
            Ok(vec![ws("ws://h:1/team/")])
        );
        assert_eq!(
            launch(&["ws://h:1/team/", "notes.md", "ws://h:1/plan"]),
            Ok(vec![ws("ws://h:1/team/"), local("notes.md"), shared("ws://h:1/plan")])
        );
        assert_eq!(launch(&["ws://h:1/a/", "ws://h:1/b/"]), Err(UsageError::ManyWorkspaces(2)));
        assert_eq!(launch(&["ws://h:1/a/", "--file", "x"]), Err(UsageError::FileForWorkspace));
    }

    #[test]
    fn usage_errors_say_what_to_do() {
        assert!(UsageError::TwoDocuments.to_string().contains("not both"));
        assert!(UsageError::FileForMany(2).to_string().contains("one shared document"));
    }
}
