//! Prometheus metrics of the server (`prometheus-client`), one registry per
//! process, installed by `kiln serve --metrics-listen` ([`install`]).
//!
//! Sources:
//! * the guard layer (`guard.rs`): calls by RPC and status code, latency,
//!   limits hit;
//! * the pipeline's render cache counters, read at each scrape;
//! * [`MetricsLayer`], a `tracing` layer that turns the Git cache's and the
//!   plugin host's spans and events into fetch and plugin metrics, so those
//!   crates need no metrics dependency;
//! * the process's resident set size, read from `/proc/self/statm`.
//!
//! Label cardinality is bounded: at most [`MAX_REPOSITORIES`] repository
//! labels and [`MAX_RPCS`] RPC labels; later ones are counted as `other`.

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock, atomic::AtomicU64},
    time::Instant,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use tracing::{
    Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{layer::Context, registry::LookupSpan};

/// Distinct repository labels kept; further repositories are `other`.
pub const MAX_REPOSITORIES: usize = 100;
/// Distinct RPC labels kept; further methods are `other`.
pub const MAX_RPCS: usize = 64;
/// Distinct plugin labels kept.
const MAX_PLUGINS: usize = 64;

/// A label value set of bounded size: values seen first are kept, later
/// ones become `other`.
struct LabelCap {
    cap: usize,
    seen: Mutex<HashSet<String>>,
}

impl LabelCap {
    fn new(cap: usize) -> Self {
        LabelCap {
            cap,
            seen: Mutex::new(HashSet::new()),
        }
    }

    fn label(&self, value: &str) -> String {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(value) {
            return value.to_owned();
        }
        if seen.len() < self.cap {
            seen.insert(value.to_owned());
            return value.to_owned();
        }
        "other".to_owned()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcCode {
    rpc: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Rpc {
    rpc: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Limit {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RepoResult {
    repository: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Repo {
    repository: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Plugin {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheResult {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RemovalCause {
    cause: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RpcCode, Counter>,
    latency: HistogramFamily<Rpc>,
    limits: Family<Limit, Counter>,
    fetches: Family<RepoResult, Counter>,
    fetch_seconds: HistogramFamily<Repo>,
    plugin_runs: Family<Plugin, Counter>,
    plugin_seconds: HistogramFamily<Plugin>,
    render_cache: Family<CacheResult, Counter<u64, AtomicU64>>,
    render_cache_removals: Family<RemovalCause, Counter<u64, AtomicU64>>,
    render_cache_bytes: Gauge,
    render_cache_entries: Gauge,
    rss: Gauge,
    rpcs: LabelCap,
    repositories: LabelCap,
    plugins: LabelCap,
    pipeline: Mutex<Option<kiln_render::Pipeline>>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// Creates the process's metrics (once) and returns them.
pub fn install() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

/// The process's metrics, if [`install`] was called.
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("kiln");
        let requests = Family::<RpcCode, Counter>::default();
        registry.register(
            "grpc_requests",
            "gRPC calls answered, by method and status code",
            requests.clone(),
        );
        let latency: HistogramFamily<Rpc> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "grpc_request_duration_seconds",
            "Time from a call's arrival to the end of its answer (its last streamed message)",
            latency.clone(),
        );
        let limits = Family::<Limit, Counter>::default();
        registry.register(
            "limits_hit",
            "Calls refused by a limit (rate, concurrency, render queue, response size)",
            limits.clone(),
        );
        let fetches = Family::<RepoResult, Counter>::default();
        registry.register(
            "git_fetches",
            "Git fetches by repository and result (ok, failed)",
            fetches.clone(),
        );
        let fetch_seconds: HistogramFamily<Repo> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "git_fetch_duration_seconds",
            "Duration of successful Git fetches by repository",
            fetch_seconds.clone(),
        );
        let plugin_runs = Family::<Plugin, Counter>::default();
        registry.register(
            "plugin_runs",
            "Plugin calls (generate or transform) by plugin",
            plugin_runs.clone(),
        );
        let plugin_seconds: HistogramFamily<Plugin> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "plugin_run_duration_seconds",
            "Duration of plugin calls by plugin",
            plugin_seconds.clone(),
        );
        let render_cache = Family::<CacheResult, Counter<u64, AtomicU64>>::default();
        registry.register(
            "render_cache",
            "Render requests by cache result: hit (same commit), input_hit (new commit, same reads), miss (a renderer ran)",
            render_cache.clone(),
        );
        let render_cache_removals = Family::<RemovalCause, Counter<u64, AtomicU64>>::default();
        registry.register(
            "render_cache_evictions",
            "Renders dropped from the render cache by cause: size (over --render-cache-max-bytes or the entry capacity), stale (made by a replaced renderer, or not to be kept), replaced (a newer render for the key)",
            render_cache_removals.clone(),
        );
        let render_cache_bytes = Gauge::default();
        registry.register(
            "render_cache_bytes",
            "Estimated bytes held by the render cache (both levels)",
            render_cache_bytes.clone(),
        );
        let render_cache_entries = Gauge::default();
        registry.register(
            "render_cache_entries",
            "Entries held by the render cache (both levels)",
            render_cache_entries.clone(),
        );
        let rss = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident set size of the process",
            rss.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            limits,
            fetches,
            fetch_seconds,
            plugin_runs,
            plugin_seconds,
            render_cache,
            render_cache_removals,
            render_cache_bytes,
            render_cache_entries,
            rss,
            rpcs: LabelCap::new(MAX_RPCS),
            repositories: LabelCap::new(MAX_REPOSITORIES),
            plugins: LabelCap::new(MAX_PLUGINS),
            pipeline: Mutex::new(None),
        }
    }

    /// Reads the render cache counters of `pipeline` at each scrape.
    pub fn watch_pipeline(&self, pipeline: kiln_render::Pipeline) {
        *self.pipeline.lock().unwrap_or_else(|e| e.into_inner()) = Some(pipeline);
    }

    /// Lets the render cache finish pending evictions and size accounting,
    /// so a scrape reports settled figures.
    pub async fn settle(&self) {
        let pipeline = self
            .pipeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(p) = pipeline {
            p.cache().settle().await;
        }
    }

    /// Counts one answered call.
    pub(crate) fn request(&self, path: &str, code: tonic::Code, seconds: f64) {
        let rpc = self.rpcs.label(path.trim_start_matches('/'));
        self.requests
            .get_or_create(&RpcCode {
                rpc: rpc.clone(),
                code: code_name(code),
            })
            .inc();
        self.latency.get_or_create(&Rpc { rpc }).observe(seconds);
    }

    /// Counts one refusal by a limit.
    pub(crate) fn limit_hit(&self, kind: crate::limits::LimitKind) {
        self.limits
            .get_or_create(&Limit {
                limit: kind.as_str(),
            })
            .inc();
    }

    fn fetch(&self, repository: &str, ok: bool, seconds: Option<f64>) {
        let repository = self.repositories.label(repository);
        self.fetches
            .get_or_create(&RepoResult {
                repository: repository.clone(),
                result: if ok { "ok" } else { "failed" },
            })
            .inc();
        if let Some(s) = seconds {
            self.fetch_seconds
                .get_or_create(&Repo { repository })
                .observe(s);
        }
    }

    fn plugin_run(&self, plugin: &str, seconds: f64) {
        let plugin = self.plugins.label(plugin);
        self.plugin_runs
            .get_or_create(&Plugin {
                plugin: plugin.clone(),
            })
            .inc();
        self.plugin_seconds
            .get_or_create(&Plugin { plugin })
            .observe(seconds);
    }

    /// The text exposition of every metric (OpenMetrics text, which
    /// Prometheus scrapes).
    pub fn encode(&self) -> String {
        if let Some(p) = self
            .pipeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let c = p.cache().counters();
            let set = |result: &'static str, v: u64| {
                self.render_cache
                    .get_or_create(&CacheResult { result })
                    .inner()
                    .store(v, std::sync::atomic::Ordering::Relaxed);
            };
            set("hit", c.exact_hits);
            set("input_hit", c.input_hits);
            set("miss", c.renders);
            let u = p.cache().usage();
            for (cause, v) in [
                ("size", u.evicted),
                ("stale", u.invalidated),
                ("replaced", u.replaced),
            ] {
                self.render_cache_removals
                    .get_or_create(&RemovalCause { cause })
                    .inner()
                    .store(v, std::sync::atomic::Ordering::Relaxed);
            }
            self.render_cache_bytes
                .set(i64::try_from(u.bytes).unwrap_or(i64::MAX));
            self.render_cache_entries
                .set(i64::try_from(u.entries).unwrap_or(i64::MAX));
        }
        if let Some(rss) = resident_bytes() {
            self.rss.set(rss);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Resident set size from `/proc/self/statm` (Linux), assuming 4 KiB pages.
fn resident_bytes() -> Option<i64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The canonical name of a gRPC status code.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A `tracing` layer feeding fetch and plugin metrics from the spans and
/// events of `kiln-git` (`fetched`, `fetch failed`) and `kiln-plugin-host`
/// (the `plugin` span). Records nothing until [`install`] ran.
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsLayer;

/// What the layer keeps of a `plugin` span.
struct PluginSpan {
    plugin: String,
    started: Instant,
}

/// The fields of an event or span the layer reads.
#[derive(Default)]
struct Fields {
    message: String,
    repo: String,
    plugin: String,
    ms: Option<u64>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "repo" => self.repo = format!("{value:?}"),
            "plugin" => self.plugin = format!("{value:?}"),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_owned(),
            "repo" => self.repo = value.to_owned(),
            "plugin" => self.plugin = value.to_owned(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "ms" {
            self.ms = Some(value);
        }
    }
}

/// The `repo` field of a span, kept for events inside it.
struct RepoField(String);

impl<S> tracing_subscriber::Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if get().is_none() {
            return;
        }
        let target = attrs.metadata().target();
        let is_plugin =
            attrs.metadata().name() == "plugin" && target.starts_with("kiln_plugin_host");
        let is_git = target.starts_with("kiln_git");
        if !is_plugin && !is_git {
            return;
        }
        let mut f = Fields::default();
        attrs.record(&mut f);
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if is_plugin {
            ext.insert(PluginSpan {
                plugin: f.plugin,
                started: Instant::now(),
            });
        } else if !f.repo.is_empty() {
            ext.insert(RepoField(f.repo));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let Some(m) = get() else { return };
        if !event.metadata().target().starts_with("kiln_git") {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let ok = f.message == "fetched";
        let failed = f.message.starts_with("fetch failed");
        if !ok && !failed {
            return;
        }
        let mut repo = f.repo;
        if repo.is_empty()
            && let Some(scope) = ctx.event_scope(event)
        {
            for span in scope {
                if let Some(r) = span.extensions().get::<RepoField>() {
                    repo = r.0.clone();
                    break;
                }
            }
        }
        if repo.is_empty() {
            repo = "unknown".to_owned();
        }
        m.fetch(&repo, ok, f.ms.map(|ms| ms as f64 / 1000.0));
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(m) = get() else { return };
        let Some(span) = ctx.span(&id) else { return };
        if let Some(p) = span.extensions().get::<PluginSpan>() {
            m.plugin_run(&p.plugin, p.started.elapsed().as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_label_values() {
        let c = LabelCap::new(2);
        assert_eq!(c.label("a"), "a");
        assert_eq!(c.label("b"), "b");
        assert_eq!(c.label("c"), "other");
        assert_eq!(c.label("a"), "a");
    }

    #[test]
    fn encodes_counters_and_histograms() {
        let m = Metrics::new();
        m.request("/kiln.v1.RepoServer/ListApps", tonic::Code::Ok, 0.01);
        m.request(
            "/kiln.v1.RepoServer/ListApps",
            tonic::Code::PermissionDenied,
            0.01,
        );
        m.limit_hit(crate::limits::LimitKind::Rate);
        m.fetch("https://git.example/a", true, Some(0.2));
        m.plugin_run("directory", 0.003);
        let text = m.encode();
        assert!(text.contains(
            r#"kiln_grpc_requests_total{rpc="kiln.v1.RepoServer/ListApps",code="PERMISSION_DENIED"} 1"#
        ), "{text}");
        assert!(
            text.contains(r#"kiln_limits_hit_total{limit="rate"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"kiln_git_fetches_total{repository="https://git.example/a",result="ok"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"kiln_plugin_runs_total{plugin="directory"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("kiln_grpc_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains("kiln_process_resident_memory_bytes"),
            "{text}"
        );
    }
}
