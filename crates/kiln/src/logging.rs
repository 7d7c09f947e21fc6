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
pub fn init(cli: &Cli) -> Telemetry {
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
    let telemetry = Telemetry::start(cli);
    tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(serve.then_some(kiln_server::metrics::MetricsLayer))
        .with(telemetry.layer())
        .init();
    telemetry.report();
    telemetry
}

/// The OpenTelemetry exporter when one runs (feature `otel` and
/// `--otlp-endpoint`); flushes what is pending when dropped. Must be started
/// and dropped inside the Tokio runtime's context (the gRPC client needs it).
#[derive(Default)]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    #[cfg(feature = "otel")]
    failure: Option<String>,
}

#[cfg(not(feature = "otel"))]
impl Telemetry {
    fn start(_: &Cli) -> Self {
        Telemetry {}
    }

    fn layer(&self) -> Option<tracing_subscriber::layer::Identity> {
        None
    }

    fn report(&self) {}
}

#[cfg(feature = "otel")]
impl Telemetry {
    fn start(cli: &Cli) -> Self {
        use opentelemetry_otlp::WithExportConfig;
        let Command::Serve(args) = &cli.command else {
            return Telemetry::default();
        };
        let Some(endpoint) = &args.otlp_endpoint else {
            return Telemetry::default();
        };
        let exporter = match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
        {
            Ok(e) => e,
            Err(e) => {
                return Telemetry {
                    provider: None,
                    failure: Some(format!("OTLP exporter to {endpoint}: {e}")),
                };
            }
        };
        let service = std::env::var("OTEL_SERVICE_NAME")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "kiln-repo-server".to_owned());
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name(service)
                    .build(),
            )
            .with_batch_exporter(exporter)
            .build();
        Telemetry {
            provider: Some(provider),
            failure: None,
        }
    }

    fn layer<S>(&self) -> Option<impl Layer<S> + use<S>>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use opentelemetry::trace::TracerProvider as _;
        self.provider
            .as_ref()
            .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("kiln")))
    }

    fn report(&self) {
        if let Some(f) = &self.failure {
            tracing::error!("spans are not exported: {f}");
        } else if self.provider.is_some() {
            tracing::info!("exporting spans over OTLP");
        }
    }
}

#[cfg(feature = "otel")]
impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            tracing::warn!("flushing spans at exit: {e}");
        }
    }
}
