//! `tandem [FILE]`: the terminal editor; `tandem ws://HOST:PORT/DOC-ID` (or `tandem --server URL --doc DOC-ID`):
//! the same editor on a shared document.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use tandem::app::terminal::Document;
use tracing_subscriber::EnvFilter;

/// A fast, Unicode-correct terminal text editor; give a ws:// URL to edit a shared document.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// File to open or create, or a shared document: ws://HOST:PORT/DOC-ID (wss:// too).
    file: Option<PathBuf>,
    /// Server of a shared document, ws://HOST:PORT (with --doc; the same as ws://HOST:PORT/DOC-ID).
    #[arg(long, value_name = "URL", requires = "doc")]
    server: Option<String>,
    /// Id of the shared document on --server.
    #[arg(long, value_name = "DOC-ID", requires = "server")]
    doc: Option<String>,
    /// Access token for tandem-server (shared documents).
    #[arg(long, env = "TANDEM_TOKEN")]
    token: Option<String>,
    /// Name shown to collaborators (default: config `user_name`, else git's user.name, else the login name).
    #[arg(long)]
    name: Option<String>,
    /// Cursor colour shown to collaborators, #RRGGBB (default: config `user_color`, else picked from the name).
    #[arg(long)]
    color: Option<String>,
    /// Local file linked to the shared document: Ctrl-S writes it; an empty document is seeded from it.
    #[arg(long = "file", value_name = "PATH")]
    linked_file: Option<PathBuf>,
    /// Open the locally stored copy of the shared document without connecting.
    #[arg(long)]
    offline: bool,
    /// Trust this certificate authority (PEM) for wss:// besides the system's (SSL_CERT_FILE and
    /// SSL_CERT_DIR are honoured too).
    #[arg(long, env = "TANDEM_CA_CERT", value_name = "PATH")]
    ca_cert: Option<PathBuf>,
    /// Where shared documents are stored locally (default: the platform data dir).
    #[arg(long, env = "TANDEM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Configuration file (default: the platform config dir's tandem/config.toml).
    #[arg(long, env = "TANDEM_CONFIG")]
    config: Option<PathBuf>,
    /// Log file (default: tandem.log in the platform cache dir). Filter with TANDEM_LOG (default "info").
    #[arg(long, env = "TANDEM_LOG_FILE")]
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

/// What the command line asks to open.
#[derive(Debug, PartialEq, Eq)]
enum Launch {
    /// A local file (or an unnamed buffer).
    Local(Option<PathBuf>),
    /// A shared document, `ws://HOST:PORT/DOC-ID`.
    Shared(String),
}

/// A command line whose parts do not fit together.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum UsageError {
    /// A document URL and --server/--doc name the document twice.
    #[error(
        "give the document either as ws://HOST:PORT/DOC-ID or as --server URL --doc DOC-ID, not both"
    )]
    TwoDocuments,
    /// A positional file beside --server/--doc: the linked file goes in --file.
    #[error("{0} beside --server/--doc: link a local file with --file {0}")]
    FileWithServer(String),
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
}

fn is_ws_url(s: &str) -> bool {
    s.starts_with("ws://") || s.starts_with("wss://")
}

impl Args {
    /// The file or shared document to open; both join forms give the same `ws://HOST:PORT/DOC-ID`.
    fn launch(&self) -> Result<Launch, UsageError> {
        let positional_url = self.file.as_ref().and_then(|f| f.to_str()).filter(|f| is_ws_url(f));
        let url = match (&self.server, &self.doc, positional_url) {
            (Some(_), _, Some(_)) => return Err(UsageError::TwoDocuments),
            (Some(server), Some(doc), None) => {
                if let Some(file) = &self.file {
                    return Err(UsageError::FileWithServer(file.display().to_string()));
                }
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
                format!("{server}/{doc}")
            }
            // clap's `requires` makes --server and --doc come together.
            (Some(_), None, None) | (None, Some(_), _) => return Err(UsageError::TwoDocuments),
            (None, None, Some(url)) => url.to_owned(),
            (None, None, None) => {
                if self.linked_file.is_some() || self.offline || self.token.is_some() {
                    return Err(UsageError::NotShared);
                }
                return Ok(Launch::Local(self.file.clone()));
            }
        };
        Ok(Launch::Shared(url))
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
    if let Err(e) = args.launch() {
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
    let config =
        tandem::Config::load(args.config.as_deref()).context("loading the configuration")?;
    let url = match args.launch()? {
        Launch::Local(file) => return tandem::app::terminal::run(&config, Document::File(file)),
        Launch::Shared(url) => url,
    };
    let name = tandem::collab::user_name(args.name.as_deref().or(config.user_name.as_deref()));
    let color =
        tandem::collab::user_color(args.color.as_deref().or(config.user_color.as_deref()), &name)?;
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => directories::ProjectDirs::from("", "", "tandem")
            .context("no home directory for the local store (pass --data-dir)")?
            .data_dir()
            .to_owned(),
    };
    let options = tandem::collab::AppOptions {
        url,
        token: args.token,
        name,
        color,
        file: args.linked_file,
        offline: args.offline,
        ca_cert: args.ca_cert,
        data_dir,
    };
    tandem::app::terminal::run(&config, Document::Shared(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(args: &[&str]) -> Result<Launch, UsageError> {
        let parsed = Args::try_parse_from(std::iter::once("tandem").chain(args.iter().copied()));
        parsed.unwrap_or_else(|e| panic!("clap refused {args:?}: {e}")).launch()
    }

    fn clap_refuses(args: &[&str]) -> String {
        match Args::try_parse_from(std::iter::once("tandem").chain(args.iter().copied())) {
            Ok(_) => panic!("clap accepted {args:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn both_join_forms_give_the_same_document() {
        let url = Launch::Shared("ws://127.0.0.1:8080/notes".into());
        assert_eq!(launch(&["ws://127.0.0.1:8080/notes"]), Ok(url));
        let url = Launch::Shared("ws://127.0.0.1:8080/notes".into());
        assert_eq!(launch(&["--server", "ws://127.0.0.1:8080", "--doc", "notes"]), Ok(url));
        let url = Launch::Shared("wss://host:443/a".into());
        assert_eq!(launch(&["--doc", "a", "--server", "wss://host:443/"]), Ok(url));
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
        assert_eq!(args.launch(), Ok(Launch::Shared("ws://h:1/d".into())));
        assert_eq!(args.linked_file.as_deref(), Some(std::path::Path::new("notes.md")));
        assert!(args.offline);
        assert_eq!(args.name.as_deref(), Some("Ada"));
    }

    #[test]
    fn local_files_stay_local() {
        assert_eq!(launch(&["notes.md"]), Ok(Launch::Local(Some("notes.md".into()))));
        assert_eq!(launch(&[]), Ok(Launch::Local(None)));
        assert_eq!(launch(&["--file", "a.md"]), Err(UsageError::NotShared));
        assert_eq!(launch(&["a.md", "--offline"]), Err(UsageError::NotShared));
    }

    #[test]
    fn mixed_forms_are_refused_with_a_reason() {
        let both = ["ws://h:1/d", "--server", "ws://h:1", "--doc", "d"];
        assert_eq!(launch(&both), Err(UsageError::TwoDocuments));
        assert_eq!(
            launch(&["notes.md", "--server", "ws://h:1", "--doc", "d"]),
            Err(UsageError::FileWithServer("notes.md".into()))
        );
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
    fn usage_errors_say_what_to_do() {
        let msg = UsageError::FileWithServer("notes.md".into()).to_string();
        assert!(msg.contains("--file notes.md"), "{msg}");
        assert!(UsageError::TwoDocuments.to_string().contains("not both"));
    }
}
