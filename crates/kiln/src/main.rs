//! The `kiln` binary: the repo-server (`kiln serve`), the in-process renderer
//! (`kiln render`), and gRPC client commands (`kiln get`, `kiln resolve`).
//!
//! This is the only crate that uses `anyhow`; libraries return typed errors.

#![forbid(unsafe_code)]

mod apply;
mod apply_metrics;
mod cli;
mod client;
mod config;
mod logging;
mod plugins;
mod render;
mod secrets;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Inside the runtime's context: an OTLP exporter's gRPC client needs it.
    let _telemetry = {
        let _in_runtime = runtime.enter();
        logging::init(&cli)
    };
    let result = runtime.block_on(async {
        match cli.command {
            cli::Command::Serve(args) => serve::run(args).await,
            cli::Command::Render(args) => render::run(args).await,
            cli::Command::Resolve(args) => client::resolve(args).await,
            cli::Command::Get(args) => client::get(args).await,
            cli::Command::Plugins(args) => plugins::command(args),
            cli::Command::Secrets(args) => secrets::command(args),
            cli::Command::Apply(args) => apply::apply(args).await,
            cli::Command::Status(args) => apply::status(args).await,
            cli::Command::Diff(args) => apply::diff(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text
/// an outer message already quotes (library errors often include their
/// source in their own message).
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
