//! `tandem [FILE]`: the terminal editor.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A fast, Unicode-correct terminal text editor (collaborative editing comes with a server).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// File to open or create.
    file: Option<PathBuf>,
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
    tandem::ui::terminal::run(&config, args.file)
}
