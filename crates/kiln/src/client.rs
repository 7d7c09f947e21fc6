//! gRPC client commands: `kiln get`, and `kiln resolve --server`.

use std::{io::Write, sync::Arc};

use anyhow::{Context, Result, anyhow};
use kiln_git::{CacheOptions, GitCache};
use kiln_proto::kiln::v1::{
    GenerateManifestsRequest, ResolveRevisionRequest, repo_server_client::RepoServerClient,
};

use crate::cli::{GetArgs, ResolveArgs, default_cache_dir};

fn status_error(s: tonic::Status) -> anyhow::Error {
    anyhow!("{:?}: {}", s.code(), s.message())
}

async fn connect(server: &str) -> Result<RepoServerClient<tonic::transport::Channel>> {
    let url = if server.contains("://") {
        server.to_owned()
    } else {
        format!("http://{server}")
    };
    RepoServerClient::connect(url.clone())
        .await
        .with_context(|| format!("connecting to {url}"))
}

/// Prints the commit a revision resolves to.
pub async fn resolve(args: ResolveArgs) -> Result<()> {
    let sha = if let Some(server) = &args.server {
        let mut client = connect(server).await?;
        client
            .resolve_revision(ResolveRevisionRequest {
                repo_url: args.repo.clone(),
                revision: args.revision.clone(),
            })
            .await
            .map_err(status_error)?
            .into_inner()
            .commit_sha
    } else {
        let dir = args
            .cache_dir
            .clone()
            .unwrap_or_else(|| default_cache_dir("cli"));
        let git = Arc::new(GitCache::open(CacheOptions::new(&dir).allow(["**"]))?);
        git.resolve(&args.repo, &args.revision)
            .await?
            .commit
            .to_hex()
    };
    writeln!(std::io::stdout().lock(), "{sha}")?;
    Ok(())
}

/// Asks a server to render an app and prints the manifests.
pub async fn get(args: GetArgs) -> Result<()> {
    let mut client = connect(&args.server).await?;
    let mut request = tonic::Request::new(GenerateManifestsRequest {
        repo_url: args.repo.clone(),
        revision: args.revision.clone(),
        path: args.path.clone(),
        engine: args.engine.clone(),
        parameters: args.params.iter().cloned().collect(),
        namespace: args.namespace.clone(),
        no_cache: false,
        transformers: Vec::new(),
    });
    request.set_timeout(args.timeout);
    let mut stream = client
        .generate_manifests(request)
        .await
        .map_err(status_error)?
        .into_inner();
    let mut manifests = Vec::new();
    while let Some(msg) = stream.message().await.map_err(status_error)? {
        manifests.extend(msg.manifests);
    }
    crate::render::print_manifests(&manifests, args.output)
}
