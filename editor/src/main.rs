//! `tandem [FILE]`: the terminal editor; `tandem ws://HOST:PORT/DOC-ID`: the same editor on a shared document.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A fast, Unicode-correct terminal text editor; give a ws:// URL to edit a shared document.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// File to open or create, or a shared document: ws://HOST:PORT/DOC-ID (wss:// too).
    file: Option<PathBuf>,
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

fn main() -> std::process::ExitCode {
    let args = Args::parse();
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
    // Logging is best effort: an unwritable log must not stop the editor.
    if let Err(e) = init_logging(args.log) {
        eprintln!("tandem: logging disabled: {e:#}");
    }
    let config =
        tandem::Config::load(args.config.as_deref()).context("loading the configuration")?;
    let url = args
        .file
        .as_ref()
        .and_then(|f| f.to_str())
        .filter(|f| f.starts_with("ws://") || f.starts_with("wss://"));
    let Some(url) = url else {
        anyhow::ensure!(
            args.linked_file.is_none() && !args.offline && args.token.is_none(),
            "--file, --offline and --token need a shared document: tandem ws://HOST:PORT/DOC-ID"
        );
        return tandem::ui::terminal::run(&config, args.file);
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
        url: url.to_owned(),
        token: args.token,
        name,
        color,
        file: args.linked_file,
        offline: args.offline,
        data_dir,
    };
    tandem::collab::run(&config, options)
}
