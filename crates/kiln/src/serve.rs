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
        },
        plugins.renderers(),
    );
    let _reload = (args.plugins.plugin_dir.is_some() && !args.plugin_reload_interval.is_zero())
        .then(|| {
            let p = pipeline.clone();
            AbortOnDrop(crate::plugins::watch(
                plugins,
                args.plugin_reload_interval,
                move |set| p.set_renderers(set),
            ))
        });
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
    let mut router = kiln_server::router(pipeline.clone())?;
    if args.argocd_api {
        info!("serving Argo CD's repository.RepoServerService too");
        router = router.add_service(kiln_argocd::service(
            pipeline,
            kiln_argocd::ArgoCdOptions::default(),
        ));
    }
    if let Err(e) = kiln_server::serve_router(listener, router, shutdown).await {
        bail!("{e}");
    }
    Ok(())
}

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
