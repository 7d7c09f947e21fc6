//! Command-line flags. Every flag of `serve` is also a `KILN_*` variable.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Kiln: a GitOps rendering service.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about)]
pub struct Cli {
    /// Log filter (tracing EnvFilter syntax, e.g. `info`, `kiln_git=debug`).
    #[arg(long, global = true, env = "KILN_LOG")]
    pub log: Option<String>,
    /// Log format.
    #[arg(long, global = true, env = "KILN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
// Parsed once per process; boxing a variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run the repo-server (gRPC).
    Serve(ServeArgs),
    /// Render an app in-process and print it as YAML, like `kustomize build`.
    Render(RenderArgs),
    /// Resolve a revision to a commit sha.
    Resolve(ResolveArgs),
    /// Ask a running server to render an app and print it as YAML.
    Get(GetArgs),
    /// List, inspect or check renderer plugins.
    Plugins(PluginsArgs),
    /// Encrypt, decrypt, edit and re-key SOPS files, as sops does.
    Secrets(crate::secrets::SecretsArgs),
    /// Sync applications to their clusters from a repo-server's renders
    /// (server-side apply, prune, health); `--watch` keeps reconciling.
    Apply(crate::apply::ApplyArgs),
    /// Show each application's synced commit, health, drift and last error.
    Status(crate::apply::StatusArgs),
    /// Print what `kiln apply` would change, as a unified diff.
    Diff(crate::apply::DiffArgs),
}

/// `kiln plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PluginsCommand,
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Directory for compiled plugin code (default: $XDG_CACHE_HOME/kiln/cli).
    #[arg(long, global = true, env = "KILN_CLI_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `kiln plugins` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the built-in plugins and those of --plugin-dir.
    List,
    /// Print everything a plugin says about itself (by name, or a .wasm file).
    Inspect {
        /// Plugin name or path to a .wasm component.
        plugin: String,
    },
    /// Load a .wasm file as the server would, and report whether it is a
    /// valid Kiln plugin.
    Check {
        /// The component to check.
        file: PathBuf,
    },
}

/// Read limits shared by `serve` and `render`.
#[derive(Debug, Args, Clone, Copy)]
pub struct LimitArgs {
    /// Largest file a render may read, in bytes.
    #[arg(long, env = "KILN_MAX_FILE_SIZE", default_value_t = 16 << 20)]
    pub max_file_size: u64,
    /// Most distinct files one render may read.
    #[arg(long, env = "KILN_MAX_FILES_READ", default_value_t = 10_000)]
    pub max_files_read: u64,
    /// Most bytes one render may read in total.
    #[arg(long, env = "KILN_MAX_TOTAL_BYTES", default_value_t = 256 << 20)]
    pub max_total_bytes: u64,
}

/// Plugin flags shared by `serve` and `render`.
#[derive(Debug, Args, Clone)]
pub struct PluginArgs {
    /// Directory of third-party plugins (`*.wasm` components) to load
    /// beside the built-in ones.
    #[arg(long, global = true, env = "KILN_PLUGIN_DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// Largest linear memory of one plugin instance, in bytes.
    #[arg(long, global = true, env = "KILN_PLUGIN_MAX_MEMORY", default_value_t = 512 << 20)]
    pub plugin_max_memory: usize,
    /// Time limit of one plugin call.
    #[arg(long, global = true, env = "KILN_PLUGIN_DEADLINE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub plugin_deadline: Duration,
    /// Largest total size of the manifests one plugin call may return, in bytes.
    #[arg(long, global = true, env = "KILN_PLUGIN_MAX_OUTPUT", default_value_t = 64 << 20)]
    pub plugin_max_output: usize,
    /// Plugin calls running at once.
    #[arg(
        long,
        global = true,
        env = "KILN_PLUGIN_CONCURRENCY",
        default_value_t = 8
    )]
    pub plugin_concurrency: usize,
    /// Plugin calls that may wait for a slot before calls are refused.
    #[arg(long, global = true, env = "KILN_PLUGIN_QUEUE", default_value_t = 256)]
    pub plugin_queue: usize,
    /// sha256 digests (hex, optionally `sha256:`-prefixed) of the only
    /// third-party plugins allowed to load; repeat or comma-separate. Empty
    /// allows any plugin in --plugin-dir.
    #[arg(
        long = "plugin-allow-digest",
        global = true,
        env = "KILN_PLUGIN_ALLOW_DIGEST",
        value_delimiter = ','
    )]
    pub plugin_allow_digest: Vec<String>,
}

/// `kiln serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KILN_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: String,
    /// Directory for the Git mirrors (default: $XDG_CACHE_HOME/kiln/server).
    #[arg(long, env = "KILN_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// URL pattern of repositories that may be read; repeat, or
    /// comma-separate in KILN_ALLOW_REPO. `*` stays within a path segment,
    /// `**` crosses them.
    #[arg(long = "allow-repo", env = "KILN_ALLOW_REPO", value_delimiter = ',')]
    pub allow_repo: Vec<String>,
    /// How long fetched branches and tags are trusted before the remote is
    /// asked again; also the WatchRevision poll interval.
    #[arg(long, env = "KILN_FETCH_INTERVAL", default_value = "15s", value_parser = humantime::parse_duration)]
    pub fetch_interval: Duration,
    /// Renders kept in memory per cache level.
    #[arg(long, env = "KILN_RENDER_CACHE_CAPACITY", default_value_t = 10_000)]
    pub render_cache_capacity: u64,
    /// Estimated bytes of renders kept in memory per cache level (output,
    /// read sets and bookkeeping); the least recently useful go first.
    #[arg(long, env = "KILN_RENDER_CACHE_MAX_BYTES", default_value_t = 256 << 20)]
    pub render_cache_max_bytes: u64,
    /// YAML file with repository credentials (see README).
    #[arg(long, env = "KILN_CONFIG")]
    pub config: Option<PathBuf>,
    /// How often the `auth:` section of --config and its token files are
    /// looked at for changes (also on SIGHUP); 0s turns reloading off.
    #[arg(long, env = "KILN_AUTH_RELOAD_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub auth_reload_interval: Duration,
    /// How often --plugin-dir is looked at for added, removed or replaced
    /// plugins; 0s turns reloading off.
    #[arg(long, env = "KILN_PLUGIN_RELOAD_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub plugin_reload_interval: Duration,
    /// Also serve Argo CD's repo-server protocol
    /// (`repository.RepoServerService`) on the same listener; turn it off
    /// with `--argocd-api=false` or KILN_ARGOCD_API=false.
    #[arg(long, env = "KILN_ARGOCD_API", default_value_t = true, action = clap::ArgAction::Set)]
    pub argocd_api: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (a separate
    /// listener, plaintext, no authentication).
    #[arg(long, env = "KILN_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Export tracing spans over OTLP/gRPC to this collector endpoint
    /// (`http://collector:4317`); service name from OTEL_SERVICE_NAME,
    /// else `kiln-repo-server`. Only in binaries built with `--features otel`.
    #[cfg(feature = "otel")]
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    #[command(flatten)]
    pub tls: crate::serve::ServeTlsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub plugins: PluginArgs,
}

/// `kiln render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// App directory: relative to the repository root with --repo, else a
    /// local folder (unused with --helm-repo).
    #[arg(default_value = ".")]
    pub path: String,
    /// Render from this Git repository (URL or local path) through the Git cache.
    #[arg(long)]
    pub repo: Option<String>,
    /// Revision to render with --repo.
    #[arg(long, default_value = "HEAD")]
    pub revision: String,
    /// Render a chart from this HTTP chart repository (the URL holding
    /// index.yaml) with the helm engine, instead of a folder; needs --chart.
    #[arg(long, requires = "chart", conflicts_with_all = ["repo", "root"])]
    pub helm_repo: Option<String>,
    /// Chart name in --helm-repo's index.
    #[arg(long, requires = "helm_repo")]
    pub chart: Option<String>,
    /// With --helm-repo: chart version or semver constraint (~1.2.0, ^1,
    /// ">=1.0.0 <2.0.0", 1.2.x); default: the latest stable version.
    #[arg(long = "version", default_value = "", requires = "helm_repo")]
    pub chart_version: String,
    /// Root of a local render: reads may not leave it (default: the top of
    /// the enclosing Git work tree, else the current directory).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Engine; detected from the app folder when not given.
    #[arg(long, default_value = "")]
    pub engine: String,
    /// Engine parameter as KEY=VALUE; repeatable.
    #[arg(long = "param", short = 'p', value_parser = parse_kv)]
    pub params: Vec<(String, String)>,
    /// Default namespace for namespaced objects.
    #[arg(long, short = 'n', default_value = "")]
    pub namespace: String,
    #[command(flatten)]
    pub helm: HelmArgs,
    /// Transformer to run after the generator, as ENGINE or
    /// ENGINE=CONFIG_JSON; repeatable, in order.
    #[arg(long = "transform", value_parser = parse_transform)]
    pub transforms: Vec<(String, Option<String>)>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Yaml)]
    pub output: Output,
    /// Directory for the Git mirrors with --repo (default: $XDG_CACHE_HOME/kiln/cli).
    #[arg(long, env = "KILN_CLI_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub plugins: PluginArgs,
}

/// Output formats of rendered manifests.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Output {
    /// A YAML stream, `---` between objects.
    Yaml,
    /// One JSON object per line.
    Json,
}

/// `kiln resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Repository URL or local path.
    #[arg(long)]
    pub repo: String,
    /// Branch, tag, sha or HEAD.
    #[arg(long, default_value = "HEAD")]
    pub revision: String,
    /// Ask this running server instead of resolving in-process (replicas
    /// comma-separated, routed by repository as for `kiln get`).
    #[arg(long, env = "KILN_SERVER")]
    pub server: Option<String>,
    /// Directory for the Git mirrors when resolving in-process.
    #[arg(long, env = "KILN_CLI_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    #[command(flatten)]
    pub tls: crate::client::ClientTlsArgs,
}

/// `kiln get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// App directory relative to the repository root.
    pub path: String,
    /// Repository URL.
    #[arg(long)]
    pub repo: String,
    /// Branch, tag, sha or HEAD.
    #[arg(long, default_value = "HEAD")]
    pub revision: String,
    /// Server address; several comma-separated replicas (or a name that
    /// resolves to several addresses) are routed by repository, with
    /// rendezvous hashing, falling over to the next one when unreachable.
    #[arg(long, env = "KILN_SERVER", default_value = "http://127.0.0.1:8081")]
    pub server: String,
    /// Engine; detected when not given.
    #[arg(long, default_value = "")]
    pub engine: String,
    /// Engine parameter as KEY=VALUE; repeatable.
    #[arg(long = "param", short = 'p', value_parser = parse_kv)]
    pub params: Vec<(String, String)>,
    /// Default namespace.
    #[arg(long, short = 'n', default_value = "")]
    pub namespace: String,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Yaml)]
    pub output: Output,
    /// Deadline for the call.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub tls: crate::client::ClientTlsArgs,
}

fn parse_transform(s: &str) -> Result<(String, Option<String>), String> {
    match s.split_once('=') {
        None => Ok((s.to_owned(), None)),
        Some((engine, json)) => {
            serde_json::from_str::<serde_json::Value>(json)
                .map_err(|e| format!("--transform {engine}: config is not JSON: {e}"))?;
            Ok((engine.to_owned(), Some(json.to_owned())))
        }
    }
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got '{s}'"))
}

/// The default cache directory for `sub` ("server" or "cli").
pub fn default_cache_dir(sub: &str) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kiln").join(sub)
}

/// Helm's flags of `kiln render`, with `helm template`'s meanings; they
/// become the `helm` engine's parameters.
#[derive(Debug, Args, Default)]
pub struct HelmArgs {
    /// Helm: release name (.Release.Name).
    #[arg(long)]
    pub release_name: Option<String>,
    /// Helm: values file, relative to the current directory; repeatable, in order.
    #[arg(long = "values", short = 'f')]
    pub values: Vec<String>,
    /// Helm: set a value (a.b=c, list[0]=x, escaped a\.b=c); repeatable.
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Helm: set a value as a string; repeatable.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Helm: set a value from JSON; repeatable.
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// Helm: set a value from a file's contents (K=PATH); repeatable.
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// Helm: Kubernetes version for .Capabilities.
    #[arg(long)]
    pub kube_version: Option<String>,
    /// Helm: extra API versions for .Capabilities; repeatable.
    #[arg(long = "api-versions")]
    pub api_versions: Vec<String>,
    /// Helm: leave out crds/.
    #[arg(long)]
    pub skip_crds: bool,
    /// Helm: leave out test hooks.
    #[arg(long)]
    pub skip_tests: bool,
    /// Helm: do not validate values against values.schema.json.
    #[arg(long)]
    pub skip_schema_validation: bool,
}

impl HelmArgs {
    /// The `helm` engine parameters these flags give; `rebase` turns a
    /// path given on the command line into one relative to the chart.
    pub fn parameters(&self, rebase: &dyn Fn(&str) -> String) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let list = |out: &mut Vec<(String, String)>, key: &str, items: Vec<String>| {
            if !items.is_empty() {
                out.push((key.to_owned(), serde_json::Value::from(items).to_string()));
            }
        };
        if let Some(n) = &self.release_name {
            out.push(("release-name".into(), n.clone()));
        }
        list(
            &mut out,
            "values",
            self.values.iter().map(|v| rebase(v)).collect(),
        );
        list(&mut out, "set", self.set.clone());
        list(&mut out, "set-string", self.set_string.clone());
        list(&mut out, "set-json", self.set_json.clone());
        let files = self
            .set_file
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, p)) => format!("{k}={}", rebase(p)),
                None => kv.clone(),
            })
            .collect();
        list(&mut out, "set-file", files);
        if let Some(v) = &self.kube_version {
            out.push(("kube-version".into(), v.clone()));
        }
        list(&mut out, "api-versions", self.api_versions.clone());
        for (on, key) in [
            (self.skip_crds, "skip-crds"),
            (self.skip_tests, "skip-tests"),
            (self.skip_schema_validation, "skip-schema-validation"),
        ] {
            if on {
                out.push((key.into(), "true".into()));
            }
        }
        out
    }
}
