use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use kiln_chartrepo::{ChartRepos, RepoOptions};
use kiln_git::{GitCache, Mirror, Resolved};
use kiln_source::{Backend, FsBackend, Locked, Oid, ReadLimits, ReadSet, Source, Tree, normalize};
use sha2::{Digest, Sha256};
use tracing::{Instrument, debug, info, info_span};

use crate::{
    App, PipelineError, RenderCache, RenderError, RenderInput, Renderer, RendererInfo,
    TransformInput,
    cache::{AppKey, Rendered},
    chart_source::{ArchiveBackend, ChartRequest, digest_oid, fetch_error},
    list_apps,
    registry::{Registry, Used},
    remote::{RemoteReads, RemoteUse},
    secrets::{Decrypting, Outcome, SecretSettings},
};

/// Settings of a [`Pipeline`]. `Default` lists every default.
#[derive(Clone, Copy, Debug)]
pub struct PipelineOptions {
    /// Bounds on what one render reads (default [`ReadLimits::default`]).
    pub limits: ReadLimits,
    /// Renders kept in memory per cache level (default 10 000).
    pub cache_capacity: u64,
    /// Estimated bytes of renders kept in memory per cache level
    /// (default 256 MiB).
    pub cache_max_bytes: u64,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            limits: ReadLimits::default(),
            cache_capacity: 10_000,
            cache_max_bytes: 256 << 20,
        }
    }
}

/// One request to render an app.
#[derive(Clone, Debug, Default)]
pub struct GenerateRequest {
    /// Repository URL.
    pub repo_url: String,
    /// Branch, tag, sha or HEAD.
    pub revision: String,
    /// App directory relative to the repository root.
    pub path: String,
    /// Engine name; empty detects it.
    pub engine: String,
    /// Engine parameters.
    pub parameters: BTreeMap<String, String>,
    /// Default namespace; empty leaves objects as written.
    pub namespace: String,
    /// Always run the renderer (the result still refreshes the cache).
    pub no_cache: bool,
    /// Transformers to run, in order, after any the app's pipeline file names.
    pub transformers: Vec<TransformerSpec>,
}

/// One transformer of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TransformerSpec {
    /// Engine name of a plugin that is a transformer.
    pub engine: String,
    /// Its configuration (KRM functionConfig) as JSON.
    pub config: Option<String>,
}

impl GenerateRequest {
    /// A request with no engine, parameters or namespace.
    pub fn new(
        repo_url: impl Into<String>,
        revision: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        GenerateRequest {
            repo_url: repo_url.into(),
            revision: revision.into(),
            path: path.into(),
            ..Default::default()
        }
    }
}

/// Time spent per phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Resolving the revision (including any fetch).
    pub resolve: Duration,
    /// Finding or producing the render.
    pub render: Duration,
    /// The whole request.
    pub total: Duration,
}

/// The answer to a [`GenerateRequest`].
#[derive(Clone, Debug)]
pub struct Generated {
    /// The commit rendered (hex), empty for a local folder.
    pub commit: String,
    /// One JSON object per manifest.
    pub manifests: Arc<Vec<String>>,
    /// Digest of renderer, parameters and every read.
    pub input_digest: String,
    /// True when no renderer ran for this request.
    pub cached: bool,
    /// The engine that rendered the app.
    pub engine: String,
    /// Time per phase.
    pub timings: Timings,
    /// True when the render decrypted a SOPS file (the caller must be
    /// allowed to receive secrets).
    pub secret: bool,
}

/// The render pipeline: Git cache, renderers and render cache. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    git: Arc<GitCache>,
    registry: RwLock<Arc<Registry>>,
    cache: RenderCache,
    options: PipelineOptions,
    secrets: RwLock<Option<SecretSettings>>,
    /// Chart repositories (dependencies and chart sources).
    charts: RwLock<Option<Arc<ChartRepos>>>,
}

impl Pipeline {
    /// A pipeline with exactly these renderers.
    pub fn with_renderers(
        git: Arc<GitCache>,
        options: PipelineOptions,
        renderers: Vec<Arc<dyn Renderer>>,
    ) -> Self {
        let charts = default_chart_repos(&git);
        Pipeline {
            inner: Arc::new(Inner {
                git,
                registry: RwLock::new(Arc::new(Registry::new(renderers))),
                cache: RenderCache::new(options.cache_capacity, options.cache_max_bytes),
                options,
                secrets: RwLock::new(None),
                charts: RwLock::new(charts),
            }),
        }
    }

    /// The Git cache.
    pub fn git(&self) -> &Arc<GitCache> {
        &self.inner.git
    }

    /// The render cache (for counters).
    pub fn cache(&self) -> &RenderCache {
        &self.inner.cache
    }

    /// Names of the available engines.
    pub fn engines(&self) -> Vec<String> {
        self.inner.registry().by_name.keys().cloned().collect()
    }

    /// Every renderer, by name.
    pub fn renderers(&self) -> Vec<RendererInfo> {
        self.inner
            .registry()
            .by_name
            .values()
            .map(|r| r.info().clone())
            .collect()
    }

    /// Opens encrypted files with `settings` from now on (`None`: files are
    /// passed to renderers as stored).
    pub fn set_secrets(&self, settings: Option<SecretSettings>) {
        *self
            .inner
            .secrets
            .write()
            .unwrap_or_else(|e| e.into_inner()) = settings;
    }

    /// Replaces the set of renderers. Requests already running finish with
    /// the set they started with; cached renders stay valid exactly when
    /// every renderer they used is unchanged (and, for a detected engine,
    /// when detection would still pick the same one).
    pub fn set_renderers(&self, renderers: Vec<Arc<dyn Renderer>>) {
        let next = Arc::new(Registry::new(renderers));
        info!(engines = ?next.by_name.keys().collect::<Vec<_>>(), "renderer set replaced");
        *self
            .inner
            .registry
            .write()
            .unwrap_or_else(|e| e.into_inner()) = next;
    }

    /// Resolves the revision and renders the app, from cache when the app's
    /// inputs are unchanged.
    pub async fn generate(&self, req: GenerateRequest) -> Result<Generated, PipelineError> {
        let span =
            info_span!("generate", repo = %req.repo_url, revision = %req.revision, app = %req.path);
        self.generate_inner(req).instrument(span).await
    }

    async fn generate_inner(&self, req: GenerateRequest) -> Result<Generated, PipelineError> {
        let start = Instant::now();
        let registry = self.inner.registry();
        let resolved = self.inner.git.resolve(&req.repo_url, &req.revision).await?;
        // A repository whose signature policy requires it renders only
        // verified commits (one object read and one signature check).
        self.inner
            .git
            .enforce_signature(&resolved.mirror, resolved.commit, &req.revision)?;
        let resolve = start.elapsed();
        let app_path =
            normalize(&req.path).map_err(|e| PipelineError::InvalidRequest(e.to_string()))?;
        let key = self
            .inner
            .app_key(resolved.mirror.url().key(), &app_path, &req);
        let commit = resolved.commit;
        let render_start = Instant::now();
        let finish = |r: Arc<Rendered>, cached: bool| Generated {
            commit: commit.to_hex(),
            manifests: r.manifests.clone(),
            input_digest: r.input_digest.clone(),
            cached,
            engine: r.engine.clone(),
            secret: r.secret,
            timings: Timings {
                resolve,
                render: render_start.elapsed(),
                total: start.elapsed(),
            },
        };
        let ran = Arc::new(AtomicBool::new(false));
        let init = {
            let inner = self.inner.clone();
            let ran = ran.clone();
            let mirror = resolved.mirror.clone();
            let req = req.clone();
            let registry = registry.clone();
            // The blocking thread renders inside the request's span.
            let span = tracing::Span::current();
            async move {
                tokio::task::spawn_blocking(move || {
                    let _in = span.enter();
                    inner.render_commit(&registry, &mirror, commit, &app_path, &req, key, &ran)
                })
                .await
                .map_err(|e| PipelineError::Internal(format!("render task: {e}")))?
            }
        };
        let (rendered, cached) = self
            .exact_cached((key, commit), req.no_cache, &registry, &ran, init)
            .await?;
        Ok(finish(rendered, cached))
    }

    /// The exact-cache step Git and chart-repository sources share. A cached
    /// render whose renderers are all still current answers at once (one made
    /// by a renderer replaced since is dropped); otherwise `render` runs, once
    /// for concurrent callers of the same key unless `no_cache`, and stays
    /// cached only when worth keeping. `ran` is set by `render` when it runs.
    /// Returns the render and whether it came from the cache.
    async fn exact_cached<F>(
        &self,
        key: (AppKey, Oid),
        no_cache: bool,
        registry: &Registry,
        ran: &AtomicBool,
        render: F,
    ) -> Result<(Arc<Rendered>, bool), PipelineError>
    where
        F: Future<Output = Result<Arc<Rendered>, PipelineError>>,
    {
        let cache = &self.inner.cache;
        if !no_cache && let Some(hit) = cache.exact.get(&key).await {
            if hit.used.still_current(registry) {
                cache.count_exact_hit();
                return Ok((hit, true));
            }
            // A renderer it used was replaced since.
            cache.exact.invalidate(&key).await;
        }
        let rendered = if no_cache {
            let r = render.await?;
            if self.inner.keep(&r) {
                cache.exact.insert(key, r.clone()).await;
            }
            r
        } else {
            cache
                .exact
                .try_get_with(key, render)
                .await
                .map_err(|e| (*e).clone())?
        };
        if !self.inner.keep(&rendered) {
            cache.exact.invalidate(&key).await;
        }
        Ok((rendered, !ran.load(Ordering::Relaxed)))
    }

    /// Lists the apps under `path` of a revision.
    pub async fn list_apps(
        &self,
        repo_url: &str,
        revision: &str,
        path: &str,
    ) -> Result<(Resolved, Vec<App>), PipelineError> {
        let resolved = self.inner.git.resolve(repo_url, revision).await?;
        let root = normalize(path).map_err(|e| PipelineError::InvalidRequest(e.to_string()))?;
        let mirror = resolved.mirror.clone();
        let commit = resolved.commit;
        let limits = self.inner.options.limits;
        let apps = tokio::task::spawn_blocking(move || -> Result<Vec<App>, PipelineError> {
            let tree = Tree::new(mirror.tree(commit)?, limits);
            check_dir(&tree, &root, mirror.url().key(), &commit.to_hex())?;
            list_apps(&tree, &root).map_err(|source| PipelineError::Render {
                source: Box::new(source),
                repo: mirror.url().key().to_owned(),
                revision: commit.to_hex(),
                path: root.clone(),
                engine: "list".into(),
            })
        })
        .await
        .map_err(|e| PipelineError::Internal(format!("list task: {e}")))??;
        Ok((resolved, apps))
    }

    /// Renders an app of a local folder (no Git, no cache), reading through
    /// the same tree rules as a Git revision. `req.path` is relative to `root`.
    pub fn render_local(
        &self,
        root: &Path,
        req: &GenerateRequest,
    ) -> Result<Generated, PipelineError> {
        let start = Instant::now();
        let backend = FsBackend::open(root)
            .map_err(|e| PipelineError::InvalidRequest(format!("{}: {e}", root.display())))?;
        let tree = Tree::new(backend, self.inner.options.limits);
        let app_path =
            normalize(&req.path).map_err(|e| PipelineError::InvalidRequest(e.to_string()))?;
        let repo = root.display().to_string();
        let key = self.inner.app_key(&repo, &app_path, req);
        let registry = self.inner.registry();
        let (manifests, engine, reads, used, secret, remote) = self
            .inner
            .render_tree(&registry, tree, &app_path, req, &repo, "local", &key)?;
        let digest = input_digest(&key, &used, &reads, &remote);
        Ok(Generated {
            commit: String::new(),
            manifests: Arc::new(manifests),
            input_digest: digest,
            cached: false,
            engine,
            secret,
            timings: Timings {
                render: start.elapsed(),
                total: start.elapsed(),
                ..Timings::default()
            },
        })
    }
}

fn check_dir<B: Backend>(
    tree: &Tree<B>,
    path: &str,
    repo: &str,
    revision: &str,
) -> Result<(), PipelineError> {
    match tree.stat(path) {
        Ok(Some(kiln_source::EntryKind::Dir)) => Ok(()),
        Ok(_) => Err(PipelineError::PathNotFound {
            repo: repo.to_owned(),
            revision: revision.to_owned(),
            path: path.to_owned(),
        }),
        Err(e) => Err(PipelineError::Render {
            repo: repo.to_owned(),
            revision: revision.to_owned(),
            path: path.to_owned(),
            engine: "none".into(),
            source: Box::new(e.into()),
        }),
    }
}

/// What [`Inner::render_tree`] returns: manifests, engine, the app tree's
/// reads, the renderers used, whether a file was decrypted, and the remote
/// bases read.
type TreeRender = (Vec<String>, String, ReadSet, Used, bool, RemoteUse);

fn input_digest(key: &AppKey, used: &Used, reads: &ReadSet, remote: &RemoteUse) -> String {
    let mut h = Sha256::new();
    h.update(key);
    used.hash_into(&mut h);
    reads.hash_into(&mut h);
    // The commits remote bases resolved to (nothing when there are none,
    // so digests of renders without them are unchanged).
    for base in &remote.bases {
        h.update((base.len() as u64).to_le_bytes());
        h.update(base.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Inner {
    fn secrets(&self) -> Option<SecretSettings> {
        self.secrets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether a render may stay in the cache: renders that decrypted a
    /// file only when the secret settings allow it; renders that read a
    /// remote base at a ref that may move, never.
    fn keep(&self, r: &Rendered) -> bool {
        !r.remote_unpinned && (!r.secret || self.secrets().is_some_and(|s| s.cache))
    }

    fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Identity of an app request before any read: repository, path,
    /// engine, transformers, parameters and namespace. The renderers a
    /// render used are recorded with it instead (see [`Used`]).
    fn app_key(&self, repo: &str, app_path: &str, req: &GenerateRequest) -> AppKey {
        let mut h = Sha256::new();
        let field = |h: &mut Sha256, s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        field(&mut h, repo);
        field(&mut h, app_path);
        field(&mut h, &req.engine);
        for t in &req.transformers {
            field(&mut h, &t.engine);
            field(&mut h, t.config.as_deref().unwrap_or("-"));
        }
        for (k, v) in &req.parameters {
            field(&mut h, k);
            field(&mut h, v);
        }
        field(&mut h, &req.namespace);
        h.finalize().into()
    }

    #[allow(clippy::too_many_arguments)]
    fn render_commit(
        &self,
        registry: &Registry,
        mirror: &Mirror,
        commit: Oid,
        app_path: &str,
        req: &GenerateRequest,
        key: AppKey,
        ran: &AtomicBool,
    ) -> Result<Arc<Rendered>, PipelineError> {
        let backend = mirror.tree(commit)?;
        let time = backend.commit_time();
        let tree = Tree::new(backend, self.options.limits).with_commit_time(time);
        if !req.no_cache {
            for candidate in self.cache.variants(&key).iter().rev() {
                if candidate.used.still_current(registry) && tree.still_matches(&candidate.read_set)
                {
                    debug!(
                        reads = candidate.read_set.len(),
                        "inputs unchanged; reusing render"
                    );
                    self.cache.count_input_hit();
                    return Ok(candidate.clone());
                }
            }
        }
        ran.store(true, Ordering::Relaxed);
        self.cache.count_render();
        let (manifests, engine, read_set, used, secret, remote) = self.render_tree(
            registry,
            tree,
            app_path,
            req,
            mirror.url().key(),
            &commit.to_hex(),
            &key,
        )?;
        let rendered = Arc::new(Rendered {
            input_digest: input_digest(&key, &used, &read_set, &remote),
            used,
            read_set,
            manifests: Arc::new(manifests),
            engine,
            secret,
            remote_unpinned: remote.unpinned,
        });
        if self.keep(&rendered) {
            self.cache.remember(key, rendered.clone());
        }
        Ok(rendered)
    }

    /// Detects the engine if needed and runs its renderer on `tree`; returns
    /// the manifests, the engine, everything the render read and the
    /// renderers it used.
    #[allow(clippy::too_many_arguments)]
    fn render_tree<B: Backend + Send + 'static>(
        &self,
        registry: &Registry,
        tree: Tree<B>,
        app_path: &str,
        req: &GenerateRequest,
        repo: &str,
        revision: &str,
        key: &AppKey,
    ) -> Result<TreeRender, PipelineError> {
        check_dir(&tree, app_path, repo, revision)?;
        let mut used = Used::default();
        let fail = |engine: &str, source: RenderError| PipelineError::Render {
            repo: repo.to_owned(),
            revision: revision.to_owned(),
            path: app_path.to_owned(),
            engine: engine.to_owned(),
            source: Box::new(source),
        };
        let file_path = kiln_source::join(app_path, crate::PIPELINE_FILE)
            .map_err(|e| PipelineError::InvalidRequest(e.to_string()))?;
        let file = match tree.read_file(&file_path) {
            Ok(bytes) => {
                crate::PipelineFile::parse(&file_path, &bytes).map_err(|e| fail("pipeline", e))?
            }
            Err(kiln_source::SourceError::NotFound { .. }) => crate::PipelineFile::default(),
            Err(e) => return Err(fail("pipeline", e.into())),
        };
        let engine = if !req.engine.is_empty() {
            req.engine.clone()
        } else if let Some(e) = &file.engine {
            e.clone()
        } else {
            let entries = tree
                .list_dir(app_path)
                .map_err(|e| fail("detect", e.into()))?;
            let engine = registry.detect(&entries);
            used.detection = Some((entries, engine.clone()));
            engine
        };
        let mut parameters = file.parameters.clone();
        parameters.extend(req.parameters.iter().map(|(k, v)| (k.clone(), v.clone())));
        let transformers: Vec<&TransformerSpec> =
            file.transformers.iter().chain(&req.transformers).collect();
        let lookup = |name: &str, used: &mut Used| {
            let r = registry
                .by_name
                .get(name)
                .ok_or_else(|| PipelineError::EngineUnavailable {
                    engine: name.to_owned(),
                    available: registry
                        .by_name
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            used.record(r.info());
            Ok::<_, PipelineError>(r)
        };
        let renderer = lookup(&engine, &mut used)?;
        let _span = info_span!("render", engine = %engine, app = %app_path).entered();
        let shared = Arc::new(Locked::new(tree));
        let decrypting = self
            .secrets()
            .map(|s| Arc::new(Decrypting::new(shared.clone(), s.opener, repo)));
        let local: Arc<dyn Source + Send + Sync> = match &decrypting {
            Some(d) => d.clone(),
            None => shared.clone(),
        };
        // `.kiln-remote/...` reads are remote bases, served through the Git
        // cache (see `remote.rs`).
        let remote = Arc::new(
            RemoteReads::new(local, self.git.clone(), self.options.limits)
                .with_charts(self.chart_repos()),
        );
        let source: Arc<dyn Source + Send + Sync> = remote.clone();
        // A file that could not be decrypted fails the render with its own
        // error, whatever the renderer made of it.
        let check = |engine: &str| match decrypting.as_ref().map(|d| d.take_outcome()) {
            Some(Outcome {
                failure: Some(e), ..
            }) => Err(fail(engine, e.into())),
            Some(o) => Ok(o.decrypted),
            None => Ok(false),
        };
        let input = RenderInput {
            app_path,
            parameters: &parameters,
            namespace: &req.namespace,
            source: source.clone(),
            seed: *key,
        };
        let rendered = renderer.render(&input);
        let mut secret = check(&engine)?;
        // A render that needed a chart the host could not fetch fails with
        // the fetch's own error (its class, repository, chart and version).
        let mut manifests = rendered.map_err(|e| match remote.chart_failure() {
            Some(f) => crate::chart_source::dependency_error(f, |r| fail(&engine, r)),
            None => fail(&engine, e),
        })?;
        drop(input);
        for t in transformers {
            let tr = lookup(&t.engine, &mut used)?;
            if !tr.info().transformer {
                return Err(PipelineError::InvalidRequest(format!(
                    "'{}' is not a transformer (see ListPlugins)",
                    t.engine
                )));
            }
            let _span = info_span!("transform", engine = %t.engine).entered();
            let transformed = tr.transform(TransformInput {
                items: manifests,
                config: t.config.as_deref(),
                source: source.clone(),
                seed: *key,
            });
            secret |= check(&t.engine)?;
            manifests = transformed.map_err(|e| fail(&t.engine, e))?;
        }
        let reads = shared.with(|t| t.take_read_set());
        Ok((manifests, engine, reads, used, secret, remote.used()))
    }
}

/// Chart repositories beside the Git cache: `<cache>/charts`, the same
/// allowlist and credentials; `None` (logged) when that directory cannot be
/// created.
fn default_chart_repos(git: &GitCache) -> Option<Arc<ChartRepos>> {
    let o = git.options();
    let mut options = RepoOptions::new(o.dir.join("charts")).allow(o.allow.iter().cloned());
    options.credentials = o.credentials.clone();
    match ChartRepos::open(options) {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            tracing::warn!(error = %e, "chart repositories disabled");
            None
        }
    }
}

impl Inner {
    fn chart_repos(&self) -> Option<Arc<ChartRepos>> {
        self.charts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Pipeline {
    /// Replaces the chart repositories (by default `<cache>/charts` with the
    /// Git cache's allowlist and [`RepoOptions`]' defaults); `None` refuses
    /// every chart repository.
    pub fn set_chart_repos(&self, charts: Option<Arc<ChartRepos>>) {
        *self.inner.charts.write().unwrap_or_else(|e| e.into_inner()) = charts;
    }

    /// The chart repositories, if any.
    pub fn chart_repos(&self) -> Option<Arc<ChartRepos>> {
        self.inner.chart_repos()
    }

    /// Fetches a chart from an HTTP chart repository (the allowlist, limits
    /// and digest cache of [`ChartRepos`]) and renders it with the helm
    /// engine. Renders are cached by (request, archive digest); `commit` of
    /// the answer is `sha256:<digest>`.
    pub async fn generate_chart(&self, req: ChartRequest) -> Result<Generated, PipelineError> {
        let span = info_span!("generate_chart", repo = %req.repo_url, chart = %req.chart, version = %req.version);
        self.generate_chart_inner(req).instrument(span).await
    }

    async fn generate_chart_inner(&self, req: ChartRequest) -> Result<Generated, PipelineError> {
        let start = Instant::now();
        let charts = self.inner.chart_repos().ok_or_else(|| {
            PipelineError::InvalidRequest("chart repositories are not available".into())
        })?;
        let (repo, chart, version) = (req.repo_url.clone(), req.chart.clone(), req.version.clone());
        let span = tracing::Span::current();
        let fetched = tokio::task::spawn_blocking(move || {
            let _in = span.enter();
            charts.fetch(&repo, &chart, &version)
        })
        .await
        .map_err(|e| PipelineError::Internal(format!("chart fetch task: {e}")))?
        .map_err(fetch_error)?;
        let resolve = start.elapsed();
        let registry = self.inner.registry();
        let label = format!("{} {}", fetched.repo, fetched.chart);
        let greq = GenerateRequest {
            repo_url: label.clone(),
            revision: fetched.version.clone(),
            path: fetched.chart.clone(),
            engine: "helm".into(),
            parameters: req.parameters.clone(),
            namespace: req.namespace.clone(),
            no_cache: req.no_cache,
            transformers: req.transformers.clone(),
        };
        let key = self
            .inner
            .app_key(&format!("chart {label}"), &fetched.chart, &greq);
        let commit = digest_oid(&fetched.digest);
        let render_start = Instant::now();
        let finish = |r: Arc<Rendered>, cached: bool| Generated {
            commit: format!("sha256:{}", fetched.digest),
            manifests: r.manifests.clone(),
            input_digest: r.input_digest.clone(),
            cached,
            engine: r.engine.clone(),
            secret: r.secret,
            timings: Timings {
                resolve,
                render: render_start.elapsed(),
                total: start.elapsed(),
            },
        };
        let ran = Arc::new(AtomicBool::new(false));
        let init = {
            let inner = self.inner.clone();
            let ran = ran.clone();
            let fetched = fetched.clone();
            let registry = registry.clone();
            let span = tracing::Span::current();
            async move {
                tokio::task::spawn_blocking(move || -> Result<Arc<Rendered>, PipelineError> {
                    let _in = span.enter();
                    ran.store(true, Ordering::Relaxed);
                    inner.cache.count_render();
                    let (backend, top) = ArchiveBackend::open(&fetched).map_err(|m| {
                        fetch_error(kiln_chartrepo::Error {
                            kind: kiln_chartrepo::ErrorKind::Corrupt,
                            repo: fetched.repo.clone(),
                            chart: fetched.chart.clone(),
                            version: fetched.version.clone(),
                            cause: format!("unreadable chart archive: {m}"),
                        })
                    })?;
                    let tree = Tree::new(backend, inner.options.limits).with_commit_time(0);
                    let mut greq = greq;
                    greq.path = top.clone();
                    let (manifests, engine, read_set, used, secret, remote) = inner.render_tree(
                        &registry,
                        tree,
                        &top,
                        &greq,
                        &fetched.repo,
                        &fetched.version,
                        &key,
                    )?;
                    Ok(Arc::new(Rendered {
                        input_digest: input_digest(&key, &used, &read_set, &remote),
                        used,
                        read_set,
                        manifests: Arc::new(manifests),
                        engine,
                        secret,
                        remote_unpinned: remote.unpinned,
                    }))
                })
                .await
                .map_err(|e| PipelineError::Internal(format!("render task: {e}")))?
            }
        };
        let (rendered, cached) = self
            .exact_cached((key, commit), req.no_cache, &registry, &ran, init)
            .await?;
        Ok(finish(rendered, cached))
    }
}

impl Pipeline {
    /// [`Pipeline::generate`], or [`Pipeline::generate_chart`] when `chart`
    /// names a chart of the chart repository at `req.repo_url` (see
    /// [`ChartRequest::from_generate`]).
    pub async fn generate_with_chart(
        &self,
        req: GenerateRequest,
        chart: &str,
    ) -> Result<Generated, PipelineError> {
        if chart.is_empty() {
            self.generate(req).await
        } else {
            self.generate_chart(ChartRequest::from_generate(req, chart)?)
                .await
        }
    }
}
