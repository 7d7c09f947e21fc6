//! `kiln serve`: wiring of Git cache, pipeline and gRPC server.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use kiln_git::{CacheOptions, GitCache};
use kiln_render::{Pipeline, PipelineOptions};
use kiln_source::ReadLimits;
use tracing::{info, warn};

use crate::cli::{LimitArgs, ServeArgs, default_cache_dir};

/// Read limits from the flags.
pub fn limits(l: &LimitArgs) -> ReadLimits {
    ReadLimits {
        max_file_size: l.max_file_size,
        max_files: l.max_files_read,
        max_total_bytes: l.max_total_bytes,
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<()> {
    let dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| default_cache_dir("server"));
    let allow: Vec<String> = args
        .allow_repo
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if allow.is_empty() {
        warn!(
            "no --allow-repo pattern given: every repository will be refused (PERMISSION_DENIED)"
        );
    }
    let mut opts = CacheOptions::new(&dir).allow(allow);
    opts.fetch_interval = args.fetch_interval;
    if let Some(path) = &args.config {
        opts.credentials = crate::config::load_credentials(path)?;
        opts.signatures = crate::config::load_signatures(path)?;
    }
    let git = Arc::new(
        GitCache::open(opts)
            .with_context(|| format!("opening cache directory {}", dir.display()))?,
    );
    let plugins = crate::plugins::Plugins::open(&args.plugins, &dir)?;
    let pipeline = Pipeline::with_renderers(
        git,
        PipelineOptions {
            limits: limits(&args.limits),
            cache_capacity: args.render_cache_capacity,
            cache_max_bytes: args.render_cache_max_bytes,
        },
        plugins.renderers(),
    );
    if let Some(path) = &args.config
        && let Some(secrets) = crate::config::load_secrets(path)?
    {
        let settings = crate::secrets::server_settings(&secrets)
            .with_context(|| format!("config {}: secrets", path.display()))?;
        pipeline.set_secrets(Some(settings));
    }
    let _reload = (args.plugins.plugin_dir.is_some() && !args.plugin_reload_interval.is_zero())
        .then(|| {
            let p = pipeline.clone();
            AbortOnDrop(crate::plugins::watch(
                plugins,
                args.plugin_reload_interval,
                move |set| p.set_renderers(set),
            ))
        });
    // Tokens and limits are read before anything listens.
    let auth = match &args.config {
        Some(path) => crate::config::load_auth(path)?,
        None => None,
    };
    let auth = match auth {
        Some(a) => {
            info!(tokens = a.len(), "callers must present a bearer token");
            Some(kiln_server::auth::AuthHandle::new(a))
        }
        None => {
            warn!("no auth section in --config: every caller may render every allowed repository");
            None
        }
    };
    let _auth_reload = match (&auth, &args.config) {
        (Some(handle), Some(path)) if !args.auth_reload_interval.is_zero() => {
            Some(AbortOnDrop(tokio::spawn(reload_auth(
                handle.clone(),
                path.clone(),
                args.auth_reload_interval,
            ))))
        }
        _ => None,
    };
    let limits = crate::config::load_limits(args.config.as_deref())?;
    // TLS settings are checked (and a self-signed certificate made) before
    // the listener is announced.
    let tls = args.tls.options().server_config()?;
    let _metrics = match &args.metrics_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("metrics: listening on {addr}"))?;
            let bound = listener.local_addr()?;
            kiln_server::metrics::install().watch_pipeline(pipeline.clone());
            eprintln!("kiln: metrics on http://{bound}/metrics");
            Some(AbortOnDrop(tokio::spawn(kiln_server::serve_metrics(
                listener,
                std::future::pending(),
            ))))
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    info!(%addr, cache_dir = %dir.display(), engines = ?pipeline.engines(), "kiln repo-server starting");
    // Scripts and tests read the bound address from this line (useful with port 0).
    eprintln!("kiln: listening on {addr}");
    let shutdown = async {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
        info!("shutting down");
    };
    let options = kiln_server::ServerOptions {
        guard: kiln_server::GuardOptions { auth, limits },
    };
    let (mut router, health) = kiln_server::router_with_options(pipeline.clone(), tls, options)?;
    if args.argocd_api {
        info!("serving Argo CD's repository.RepoServerService too");
        router = router.add_service(kiln_argocd::service(
            pipeline,
            kiln_argocd::ArgoCdOptions::default(),
        ));
        tokio::spawn(async move {
            health
                .set_serving::<kiln_argocd::proto::repository::repo_server_service_server::RepoServerServiceServer<kiln_argocd::ArgoRepoServer>>()
                .await;
        });
    }
    if let Err(e) = kiln_server::serve_router(listener, router, shutdown).await {
        bail!("{e}");
    }
    Ok(())
}

/// TLS flags of `kiln serve`; with none of them the listener is plaintext (h2c).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeTlsArgs {
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "KILN_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Private key of --tls-cert (PEM).
    #[arg(long, env = "KILN_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Serve TLS with a self-signed certificate made in memory at start, as
    /// Argo CD's repo-server does by default.
    #[arg(long, env = "KILN_TLS_SELF_SIGNED", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_self_signed: bool,
    /// Extra DNS name or IP address of the self-signed certificate
    /// (besides localhost, 127.0.0.1, ::1 and kiln); repeatable.
    #[arg(
        long,
        env = "KILN_TLS_SELF_SIGNED_NAME",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub tls_self_signed_name: Vec<String>,
    /// Mutual TLS: refuse clients that do not present a certificate signed
    /// by this CA (PEM).
    #[arg(long, env = "KILN_TLS_CLIENT_CA", value_name = "FILE")]
    pub tls_client_ca: Option<std::path::PathBuf>,
}

impl ServeTlsArgs {
    /// The server crate's TLS options.
    pub fn options(&self) -> kiln_server::TlsOptions {
        kiln_server::TlsOptions {
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            self_signed: self.tls_self_signed,
            self_signed_names: self.tls_self_signed_name.clone(),
            client_ca: self.tls_client_ca.clone(),
        }
    }
}

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Puts a changed `auth:` section (or token file) in force while serving:
/// looks every `interval` and on SIGHUP. A configuration that does not load
/// keeps the tokens in force and says why; removing the section does not
/// turn authentication off (that takes a restart).
async fn reload_auth(
    handle: kiln_server::auth::AuthHandle,
    path: std::path::PathBuf,
    interval: std::time::Duration,
) {
    let mut seen = crate::config::auth_inputs_fingerprint(&path);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let hangup = async {
            match hup.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(interval) => {},
            _ = hangup => {},
        }
        let now = crate::config::auth_inputs_fingerprint(&path);
        if now == seen {
            continue;
        }
        seen = now;
        match crate::config::load_auth(&path) {
            Ok(Some(auth)) => {
                info!(config = %path.display(), tokens = auth.len(), "auth reloaded");
                handle.replace(auth);
            }
            Ok(None) => tracing::error!(
                config = %path.display(),
                "auth not reloaded: the auth section is gone; the previous tokens stay in force (restart to turn authentication off)"
            ),
            Err(e) => tracing::error!(
                config = %path.display(),
                "auth not reloaded; the previous tokens stay in force: {e:#}"
            ),
        }
    }
}
