//! Process-wide tracing setup; logs go to stderr.

use tracing_subscriber::{EnvFilter, Layer, fmt, prelude::*};

use crate::cli::{Cli, Command, LogFormat};

/// Installs the subscriber: `serve` logs at info by default, the other
/// commands only warnings. Beside the log output, `serve` feeds the Git
/// cache's and plugin host's spans to the metrics (which record nothing
/// unless `--metrics-listen` is given); they see what the filter lets
/// through, so fetch and plugin metrics need `kiln_git` and
/// `kiln_plugin_host` at `info` or finer (as the default is).
///
/// The filter stays global (not per layer): per-layer filtering made a
/// filter with `trace` directives several times slower at startup, when
/// wasmtime's compiler emits a flood of `log` records.
pub fn init(cli: &Cli) {
    let serve = matches!(cli.command, Command::Serve(_));
    let default = if serve { "info" } else { "warn" };
    let filter = EnvFilter::try_new(cli.log.as_deref().unwrap_or(default))
        .unwrap_or_else(|_| EnvFilter::new(default));
    let output = match cli.log_format {
        LogFormat::Text => fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(serve.then_some(kiln_server::metrics::MetricsLayer))
        .init();
}
