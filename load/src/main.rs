//! `tandem-load`: see the crate docs of `tandem_load`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tandem_load::{Args, run};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tandem-load: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let config = args.validate()?;
    // Every simulated client is a socket; ten thousand of them need more than the usual 1024.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if (limit as usize) < config.total_clients() + 64 => {
            tracing::warn!(limit, clients = config.total_clients(), "file descriptor limit is low")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot raise the file descriptor limit"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let report = runtime.block_on(run(config))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).context("encoding the report")?);
    } else {
        print!("{}", report.human());
    }
    // A failed verification is a failed run, so scripts can tell.
    let failed = report.verify.as_ref().is_some_and(|v| !v.ok);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
