//! `kiln apply`, `kiln status` and `kiln diff`: the applier's commands.
//!
//! Manifests always come from a Kiln repo-server over gRPC (`--server`): the
//! applier renders nothing and has no Git of its own. The cluster side is
//! `kiln_applier`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use kiln_applier::health::{self, HealthStatus};
use kiln_applier::reconcile::{self, Applied, HealthWait};
use kiln_applier::sync::{PruneSkip, read_record, record_status};
use kiln_applier::{Application, SyncParams, drift, load_applications};
use kiln_proto::kiln::v1::{
    GenerateManifestsRequest, WatchRevisionRequest, repo_server_client::RepoServerClient,
};
use tonic::transport::Channel;
use tracing::Instrument;

use crate::client::ClientTlsArgs;

/// The repo-server to pull rendered manifests from.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Kiln repo-server address (`host:port` or URL).
    #[arg(long, env = "KILN_SERVER", default_value = "http://127.0.0.1:8081")]
    pub server: String,
    /// Deadline of each render call.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    pub render_timeout: Duration,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
}

/// Where the clusters are.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context of applications that name none in
    /// `spec.destination.context` (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
}

/// `kiln apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Application files, or folders of them (`*.yaml`, `*.yml`).
    #[arg(required = true, value_name = "APPS")]
    pub apps: Vec<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Server-side dry run: the API server validates and defaults every
    /// object, nothing is persisted.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not wait for health after applying.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for applied objects (and CRDs) to become healthy.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Prune even when the render shares no object with the inventory.
    #[arg(long)]
    pub force_prune: bool,
    /// Keep reconciling: sync each new commit of the source revision (as
    /// followed with WatchRevision) and re-check drift every
    /// `syncPolicy.interval`.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: serve the applications' status as Prometheus metrics at
    /// http://ADDR/metrics (plaintext, no authentication).
    #[arg(long, value_name = "ADDR", requires = "watch")]
    pub metrics_listen: Option<String>,
}

/// Output formats of `kiln status`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusOutput {
    /// A table.
    Text,
    /// One JSON object per application.
    Json,
}

/// `kiln status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Application files, or folders of them.
    #[arg(required = true, value_name = "APPS")]
    pub apps: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Check drift now against this repo-server's render (otherwise the
    /// drift recorded by the last sync or check is shown).
    #[arg(long, env = "KILN_SERVER")]
    pub server: Option<String>,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = StatusOutput::Text)]
    pub output: StatusOutput,
}

/// `kiln diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Application files, or folders of them.
    #[arg(required = true, value_name = "APPS")]
    pub apps: Vec<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn load(paths: &[PathBuf]) -> Result<Vec<Application>> {
    let mut apps: Vec<Application> = Vec::new();
    for path in paths {
        for app in load_applications(path)? {
            if apps.iter().any(|a| a.metadata.name == app.metadata.name) {
                bail!(
                    "application {:?} is declared twice (second time in {})",
                    app.metadata.name,
                    path.display()
                );
            }
            apps.push(app);
        }
    }
    if apps.is_empty() {
        bail!("no Application found in the given files");
    }
    Ok(apps)
}

/// kube clients by context, built on first use.
struct Clusters {
    args: ClusterArgs,
    clients: BTreeMap<Option<String>, kube::Client>,
}

impl Clusters {
    fn new(args: ClusterArgs) -> Self {
        // kube's TLS uses the process-wide rustls provider.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Clusters {
            args,
            clients: BTreeMap::new(),
        }
    }

    async fn client(&mut self, app: &Application) -> Result<kube::Client> {
        let context = app
            .spec
            .destination
            .context
            .clone()
            .or_else(|| self.args.context.clone());
        if let Some(client) = self.clients.get(&context) {
            return Ok(client.clone());
        }
        let options = kube::config::KubeConfigOptions {
            context: context.clone(),
            ..Default::default()
        };
        let named = context.as_deref().unwrap_or("(current)");
        let config = match &self.args.kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path)
                    .with_context(|| format!("reading kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .with_context(|| format!("kubeconfig {}: context {named}", path.display()))?
            }
            // No context named: a kubeconfig when there is one, else the
            // pod's own service account (in-cluster), as kubectl does.
            None if context.is_none() => kube::Config::infer()
                .await
                .context("no kubeconfig found and not running in a cluster")?,
            None => kube::Config::from_kubeconfig(&options)
                .await
                .with_context(|| format!("kubeconfig: context {named}"))?,
        };
        let client = kube::Client::try_from(config)
            .with_context(|| format!("kubernetes client for context {named}"))?;
        self.clients.insert(context, client.clone());
        Ok(client)
    }
}

/// A render of an application at one commit.
struct Rendered {
    commit: String,
    manifests: Vec<String>,
}

/// A client of the repo-server replica that serves `repo_url`: with several
/// `--server` replicas, the one rendezvous hashing picks for the repository
/// (the next one when it is unreachable), so each mirror stays on few replicas.
async fn connect(server: &ServerArgs, repo_url: &str) -> Result<RepoServerClient<Channel>> {
    let (_, client) = server.tls.client_for(&server.server, repo_url).await?;
    Ok(client)
}

/// Asks the repo-server to render `app` at `revision` (the app's own when
/// `None`).
async fn render(
    grpc: &mut RepoServerClient<Channel>,
    app: &Application,
    revision: Option<&str>,
    timeout: Duration,
) -> Result<Rendered> {
    let source = &app.spec.source;
    let revision = revision.unwrap_or(&source.revision);
    let mut request = tonic::Request::new(GenerateManifestsRequest {
        repo_url: source.repo_url.clone(),
        revision: revision.to_owned(),
        path: source.path.clone(),
        engine: source.engine.clone(),
        parameters: source.parameters.clone().into_iter().collect(),
        namespace: app.spec.destination.namespace.clone(),
        no_cache: false,
        transformers: Vec::new(),
        chart: String::new(),
    });
    request.set_timeout(timeout);
    let what = || {
        format!(
            "rendering {} at {revision} (path {:?})",
            source.repo_url, source.path
        )
    };
    let mut stream = grpc
        .generate_manifests(request)
        .await
        .map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))
        .with_context(what)?
        .into_inner();
    let mut rendered = Rendered {
        commit: String::new(),
        manifests: Vec::new(),
    };
    while let Some(message) = stream
        .message()
        .await
        .map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))
        .with_context(what)?
    {
        if rendered.commit.is_empty() {
            rendered.commit = message.commit_sha;
        }
        rendered.manifests.extend(message.manifests);
    }
    Ok(rendered)
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// Prints what a sync and health wait did.
fn print_applied(
    out: &mut impl Write,
    app: &Application,
    commit: &str,
    applied: &Applied,
) -> Result<()> {
    let report = &applied.report;
    let verdict = match (report.dry_run, report.is_synced()) {
        (true, true) => "dry run ok",
        (true, false) => "dry run failed",
        (false, true) => "synced",
        (false, false) => "NOT synced",
    };
    let health = applied
        .health
        .map_or(String::new(), |h| format!(", health {h}"));
    writeln!(
        out,
        "{}: {verdict} at {} ({} applied, {} pruned{}{health})",
        app.metadata.name,
        short(commit),
        report.applied.len(),
        report.pruned.len(),
        if report.created_namespace {
            ", namespace created"
        } else {
            ""
        },
    )?;
    for failure in &report.failed {
        writeln!(out, "  failed: {failure}")?;
    }
    if !report.not_attempted.is_empty() {
        writeln!(
            out,
            "  not attempted after a failure: {}",
            join(&report.not_attempted)
        )?;
    }
    if !report.skipped_unknown_kind.is_empty() {
        writeln!(
            out,
            "  not dry-run (their CRD is not installed yet): {}",
            join(&report.skipped_unknown_kind)
        )?;
    }
    for (id, why) in &report.prune_skipped {
        let why = match why {
            PruneSkip::PolicyDisabled => "not pruned: syncPolicy.prune is false",
            PruneSkip::ApplyFailed => "not pruned: an apply failed",
            PruneSkip::DisjointRender => {
                "not pruned: the render shares no object with the inventory (--force-prune)"
            }
            PruneSkip::OptedOut => "kept: prune disabled by annotation",
            PruneSkip::AlreadyGone => "already gone",
        };
        writeln!(out, "  {id}: {why}")?;
    }
    for (id, h) in &applied.unhealthy {
        writeln!(out, "  not healthy: {id}: {}: {}", h.status, h.message)?;
    }
    Ok(())
}

fn join(ids: &[kiln_applier::ObjectId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `kiln apply`.
pub async fn apply(args: ApplyArgs) -> Result<()> {
    let apps = load(&args.apps)?;
    let mut clusters = Clusters::new(args.cluster.clone());
    if args.watch {
        return watch(args, apps, clusters).await;
    }
    let wait = HealthWait {
        timeout: args.timeout,
        poll: Duration::from_secs(2),
    };
    let mut bad = Vec::new();
    for app in &apps {
        let span = tracing::info_span!("apply", app = %app.metadata.name);
        let result = async {
            let client = clusters.client(app).await?;
            let mut grpc = connect(&args.server, &app.spec.source.repo_url).await?;
            let applied = sync_app(&client, &mut grpc, app, &args, &wait, None).await?;
            anyhow::Ok(applied.ok())
        }
        .instrument(span)
        .await;
        match result {
            Ok(true) => {}
            Ok(false) => bad.push(app.metadata.name.clone()),
            Err(e) => {
                writeln!(
                    std::io::stdout().lock(),
                    "{}: error: {e:#}",
                    app.metadata.name
                )?;
                bad.push(app.metadata.name.clone());
            }
        }
    }
    if !bad.is_empty() {
        bail!("not synced and healthy: {}", bad.join(", "));
    }
    Ok(())
}

/// Renders (at `revision`, or the app's own) and syncs one application,
/// printing the outcome; a render error is recorded in the status.
async fn sync_app(
    client: &kube::Client,
    grpc: &mut RepoServerClient<Channel>,
    app: &Application,
    args: &ApplyArgs,
    wait: &HealthWait,
    revision: Option<&str>,
) -> Result<Applied> {
    let rendered = match render(grpc, app, revision, args.server.render_timeout).await {
        Ok(r) => r,
        Err(e) => {
            let message = format!("{e:#}");
            if !args.dry_run {
                // Best effort: the inventory may not exist yet.
                let _ = record_status(client, app, |s| {
                    s.synced = false;
                    s.last_error = message;
                })
                .await;
            }
            return Err(e);
        }
    };
    let params = SyncParams {
        dry_run: args.dry_run,
        commit: rendered.commit.clone(),
        force_prune: args.force_prune,
        crd_timeout: args.timeout,
        ..SyncParams::default()
    };
    let wait = (!args.no_wait).then_some(wait);
    let applied = match reconcile::apply(client, app, &rendered.manifests, &params, wait).await {
        Ok(applied) => applied,
        Err(e) => {
            // A refused sync (empty render, invalid manifest, unreadable
            // inventory) changes nothing; record why, best effort.
            if !args.dry_run {
                let message = e.to_string();
                let commit = rendered.commit.clone();
                let _ = record_status(client, app, |s| {
                    s.synced = false;
                    s.attempted_commit = commit;
                    s.last_error = message;
                })
                .await;
            }
            return Err(e).with_context(|| format!("syncing {}", short(&rendered.commit)));
        }
    };
    print_applied(
        &mut std::io::stdout().lock(),
        app,
        &rendered.commit,
        &applied,
    )?;
    Ok(applied)
}

/// `kiln apply --watch`: one task per application.
async fn watch(args: ApplyArgs, apps: Vec<Application>, mut clusters: Clusters) -> Result<()> {
    let args = std::sync::Arc::new(args);
    let metrics = std::sync::Arc::new(crate::apply_metrics::Metrics::default());
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(addr) = &args.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--metrics-listen {addr}"))?;
        tracing::info!(addr = %listener.local_addr()?, "serving applier metrics");
        tasks.spawn(crate::apply_metrics::serve(listener, metrics.clone()));
    }
    for app in apps {
        let client = clusters.client(&app).await?;
        let args = args.clone();
        let metrics = metrics.clone();
        let span = tracing::info_span!("watch", app = %app.metadata.name);
        tasks.spawn(async move { watch_app(client, app, args, metrics).await }.instrument(span));
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("interrupted; stopping");
            Ok(())
        }
        Some(done) = tasks.join_next() => {
            done.map_err(|e| anyhow!("watch task: {e}"))?
        }
    }
}

/// Follows the app's revision: syncs each new commit (when automated, or on
/// the first pass) and re-checks drift every interval. Failures back off
/// exponentially (`syncPolicy.retry.backoff`) and never end the loop.
async fn watch_app(
    client: kube::Client,
    app: Application,
    args: std::sync::Arc<ApplyArgs>,
    metrics: std::sync::Arc<crate::apply_metrics::Metrics>,
) -> Result<()> {
    let name = app.metadata.name.clone();
    let wait = HealthWait {
        timeout: args.timeout,
        poll: Duration::from_secs(2),
    };
    let retry = app.spec.sync_policy.retry.clone();
    let interval = app.spec.sync_policy.interval.max(Duration::from_secs(1));
    let mut failures = 0u32;
    let mut synced: Option<String> = None;
    loop {
        let result: Result<()> = async {
            let mut grpc = connect(&args.server, &app.spec.source.repo_url).await?;
            let mut stream = grpc
                .watch_revision(WatchRevisionRequest {
                    repo_url: app.spec.source.repo_url.clone(),
                    revision: app.spec.source.revision.clone(),
                })
                .await
                .map_err(|s| anyhow!("WatchRevision: {:?}: {}", s.code(), s.message()))?
                .into_inner();
            let mut ticker = tokio::time::interval(interval);
            // A sync longer than the interval delays the next check; no burst.
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            let mut current: Option<String> = None;
            loop {
                tokio::select! {
                    message = stream.message() => {
                        let message = message
                            .map_err(|s| anyhow!("WatchRevision: {:?}: {}", s.code(), s.message()))?
                            .ok_or_else(|| anyhow!("WatchRevision stream ended"))?;
                        tracing::info!(commit = %message.commit_sha, "revision");
                        current = Some(message.commit_sha.clone());
                        let first = synced.is_none();
                        if synced.as_deref() != Some(message.commit_sha.as_str())
                            && (app.spec.sync_policy.automated || first)
                        {
                            // Health is reported, not retried: a slow rollout
                            // is not a reason to apply again.
                            let applied = sync_app(&client, &mut grpc, &app, &args, &wait, Some(&message.commit_sha))
                                .await
                                .inspect_err(|_| metrics.sync_failed(&name))?;
                            metrics.applied(&name, &message.commit_sha, &applied);
                            if applied.report.is_synced() {
                                synced = Some(message.commit_sha.clone());
                            } else {
                                anyhow::bail!("sync of {} incomplete", short(&message.commit_sha));
                            }
                        } else if synced.as_deref() != Some(message.commit_sha.as_str()) {
                            tracing::warn!(commit = %message.commit_sha, "new commit; not automated, so not synced (OutOfSync)");
                            // Report only: self-heal restores what was synced,
                            // it never syncs a commit on its own.
                            let mut report_only = app.clone();
                            report_only.spec.sync_policy.self_heal = false;
                            let checked = check_app(&client, &mut grpc, &report_only, &args, &wait, Some(&message.commit_sha)).await?;
                            metrics.checked(&name, &message.commit_sha, &checked);
                        }
                    }
                    _ = ticker.tick() => {
                        // Drift is judged against what was synced: self-heal
                        // restores it, never a commit not yet synced.
                        let at = synced.clone().or_else(|| current.clone());
                        let checked = check_app(&client, &mut grpc, &app, &args, &wait, at.as_deref()).await?;
                        metrics.checked(&name, at.as_deref().unwrap_or(""), &checked);
                    }
                }
                failures = 0;
            }
        }
        .await;
        if let Err(e) = result {
            let delay = kiln_applier::sync::backoff_delay(&retry, failures.min(10));
            failures = failures.saturating_add(1);
            tracing::warn!(error = %format!("{e:#}"), retry_in = ?delay, "reconcile failed; backing off");
            writeln!(
                std::io::stdout().lock(),
                "{}: error: {e:#}",
                app.metadata.name
            )?;
            tokio::time::sleep(delay).await;
        }
    }
}

/// Re-checks drift at `revision`; self-heals when the policy says so.
async fn check_app(
    client: &kube::Client,
    grpc: &mut RepoServerClient<Channel>,
    app: &Application,
    args: &ApplyArgs,
    wait: &HealthWait,
    revision: Option<&str>,
) -> Result<reconcile::Checked> {
    let rendered = render(grpc, app, revision, args.server.render_timeout).await?;
    let params = SyncParams {
        dry_run: args.dry_run,
        commit: rendered.commit.clone(),
        force_prune: args.force_prune,
        crd_timeout: args.timeout,
        ..SyncParams::default()
    };
    let wait = (!args.no_wait).then_some(wait);
    let checked = reconcile::check(client, app, &rendered.manifests, &params, wait).await?;
    let mut out = std::io::stdout().lock();
    if let Some(healed) = &checked.healed {
        writeln!(
            out,
            "{}: drift corrected (self-heal): {}",
            app.metadata.name,
            checked.drift.summary().join(", ")
        )?;
        print_applied(&mut out, app, &rendered.commit, healed)?;
    } else if !checked.drift.in_sync() {
        writeln!(
            out,
            "{}: OutOfSync at {}: {}",
            app.metadata.name,
            short(&rendered.commit),
            checked.drift.summary().join(", ")
        )?;
        for failure in &checked.drift.failed {
            writeln!(out, "  cannot compare: {failure}")?;
        }
    }
    Ok(checked)
}

/// `kiln status`.
pub async fn status(args: StatusArgs) -> Result<()> {
    let apps = load(&args.apps)?;
    let mut clusters = Clusters::new(args.cluster.clone());
    let mut out = std::io::stdout().lock();
    if matches!(args.output, StatusOutput::Text) {
        writeln!(
            out,
            "{:<20} {:<12} {:<10} {:<12} {:<6} LAST ERROR",
            "NAME", "COMMIT", "SYNC", "HEALTH", "DRIFT"
        )?;
    }
    for app in &apps {
        let client = clusters.client(app).await?;
        let record = read_record(&client, app).await?;
        let ids: Vec<_> = record.objects.iter().cloned().collect();
        let unhealthy: Vec<_> = health::check(&client, &ids)
            .await
            .into_iter()
            .filter(|(_, h)| h.status != HealthStatus::Healthy)
            .collect();
        let health = if record.exists {
            health::overall(&unhealthy).to_string()
        } else {
            "Unknown".to_owned()
        };
        let drift = match &args.server {
            Some(servers) => {
                let (_, mut grpc) = args
                    .tls
                    .client_for(servers, &app.spec.source.repo_url)
                    .await?;
                let rendered = render(&mut grpc, app, None, Duration::from_secs(120)).await?;
                drift::detect(&client, app, &rendered.manifests)
                    .await?
                    .summary()
            }
            None => record.status.drift.clone(),
        };
        let sync = match (record.exists, record.status.synced, drift.is_empty()) {
            (false, _, _) => "Unknown",
            (true, true, true) => "Synced",
            _ => "OutOfSync",
        };
        match args.output {
            StatusOutput::Json => {
                let value = serde_json::json!({
                    "name": app.metadata.name,
                    "syncedCommit": record.status.synced_commit,
                    "attemptedCommit": record.status.attempted_commit,
                    "sync": sync,
                    "health": health,
                    "unhealthy": unhealthy.iter().map(|(id, h)| format!("{id}: {}: {}", h.status, h.message)).collect::<Vec<_>>(),
                    "drift": drift,
                    "lastError": record.status.last_error,
                    "objects": record.objects.len(),
                });
                writeln!(out, "{value}")?;
            }
            StatusOutput::Text => {
                writeln!(
                    out,
                    "{:<20} {:<12} {:<10} {:<12} {:<6} {}",
                    app.metadata.name,
                    short(&record.status.synced_commit),
                    sync,
                    health,
                    drift.len(),
                    record.status.last_error
                )?;
                for (id, h) in &unhealthy {
                    writeln!(out, "  not healthy: {id}: {}: {}", h.status, h.message)?;
                }
                for d in &drift {
                    writeln!(out, "  drift: {d}")?;
                }
            }
        }
    }
    Ok(())
}

/// `kiln diff`: what `kiln apply` would change, as a unified diff of live
/// objects against the server-side dry-run apply of the render.
pub async fn diff(args: DiffArgs) -> Result<()> {
    let apps = load(&args.apps)?;
    let mut clusters = Clusters::new(args.cluster.clone());
    let mut differ = 0;
    let mut out = std::io::stdout().lock();
    for app in &apps {
        let client = clusters.client(app).await?;
        let mut grpc = connect(&args.server, &app.spec.source.repo_url).await?;
        let rendered = render(&mut grpc, app, None, args.server.render_timeout).await?;
        let report = drift::detect(&client, app, &rendered.manifests).await?;
        out.write_all(report.unified_diff().as_bytes())?;
        for failure in &report.failed {
            writeln!(out, "# {}: cannot compare: {failure}", app.metadata.name)?;
        }
        differ += report.drifted.len() + report.failed.len();
    }
    out.flush()?;
    if differ > 0 {
        bail!("{differ} objects differ");
    }
    Ok(())
}
