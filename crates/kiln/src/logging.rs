//! Process-wide tracing setup; logs go to stderr.

use tracing_subscriber::{EnvFilter, fmt};

use crate::cli::{Cli, Command, LogFormat};

/// Installs the subscriber: `serve` logs at info by default, the other
/// commands only warnings.
pub fn init(cli: &Cli) {
    let default = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    let filter = EnvFilter::try_new(cli.log.as_deref().unwrap_or(default))
        .unwrap_or_else(|_| EnvFilter::new(default));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
