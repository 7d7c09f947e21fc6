//! `kiln render`: the pipeline in-process, printing YAML like `kustomize build`.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, Result};
use kiln_git::{CacheOptions, GitCache};
use kiln_render::{GenerateRequest, Pipeline, PipelineOptions, manifests_to_yaml};

use crate::cli::{Output, RenderArgs, default_cache_dir};

/// Renders one app and prints it.
pub async fn run(args: RenderArgs) -> Result<()> {
    let mut req = GenerateRequest {
        engine: args.engine.clone(),
        parameters: args.params.iter().cloned().collect(),
        namespace: args.namespace.clone(),
        transformers: args
            .transforms
            .iter()
            .map(|(engine, config)| kiln_render::TransformerSpec {
                engine: engine.clone(),
                config: config.clone(),
            })
            .collect(),
        ..GenerateRequest::default()
    };
    let options = PipelineOptions {
        limits: crate::serve::limits(&args.limits),
        ..PipelineOptions::default()
    };
    let dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| default_cache_dir("cli"));
    let renderers = crate::plugins::load(&args.plugins, &dir)?;
    let generated = if let (Some(helm_repo), Some(chart)) = (&args.helm_repo, &args.chart) {
        // The local user may read any chart repository they name.
        let git = Arc::new(
            GitCache::open(CacheOptions::new(&dir).allow(["**"]))
                .with_context(|| format!("opening cache directory {}", dir.display()))?,
        );
        let pipeline = Pipeline::with_renderers(git, options, renderers);
        let mut parameters = req.parameters.clone();
        parameters.extend(args.helm.parameters(&|p: &str| p.to_owned()));
        pipeline
            .generate_chart(kiln_render::ChartRequest {
                repo_url: helm_repo.clone(),
                chart: chart.clone(),
                version: args.chart_version.clone(),
                parameters,
                namespace: req.namespace.clone(),
                no_cache: false,
                transformers: req.transformers.clone(),
            })
            .await?
    } else if let Some(repo) = &args.repo {
        // The local user may read any repository they name.
        let git = Arc::new(
            GitCache::open(CacheOptions::new(&dir).allow(["**"]))
                .with_context(|| format!("opening cache directory {}", dir.display()))?,
        );
        let pipeline = Pipeline::with_renderers(git, options, renderers);
        pipeline.set_secrets(crate::secrets::env_settings()?);
        req.parameters
            .extend(args.helm.parameters(&|p: &str| p.to_owned()));
        req.repo_url = repo.clone();
        req.revision = args.revision.clone();
        req.path = args.path.clone();
        pipeline.generate(req).await?
    } else {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let app = absolute(&cwd, Path::new(&args.path));
        let root = match &args.root {
            Some(r) => absolute(&cwd, r),
            None => enclosing_work_tree(&app).unwrap_or_else(|| cwd.clone()),
        };
        let root = root
            .canonicalize()
            .with_context(|| format!("root {}", root.display()))?;
        let app = app
            .canonicalize()
            .with_context(|| format!("app folder {}", args.path))?;
        let rel = app.strip_prefix(&root).with_context(|| {
            format!(
                "app folder {} is outside the root {} (set --root)",
                app.display(),
                root.display()
            )
        })?;
        req.path = rel.to_string_lossy().into_owned();
        // Helm's file flags name files from the current directory; the
        // engine reads them relative to the chart folder.
        req.parameters.extend(
            args.helm
                .parameters(&|p: &str| relative_to(&app, &absolute(&cwd, Path::new(p)))),
        );
        // No Git cache is used; the pipeline still needs one to exist, so it
        // gets an empty one in a private temporary directory.
        let scratch = std::env::temp_dir().join(format!("kiln-local-{}", std::process::id()));
        let git = Arc::new(GitCache::open(CacheOptions::new(&scratch))?);
        let pipeline = Pipeline::with_renderers(git, options, renderers);
        pipeline.set_secrets(crate::secrets::env_settings()?);
        // Chart dependencies from HTTP repositories: the local user may read
        // any, cached beside the CLI's Git mirrors.
        pipeline.set_chart_repos(Some(Arc::new(kiln_chartrepo::ChartRepos::open(
            kiln_chartrepo::RepoOptions::new(dir.join("charts")).allow(["**"]),
        )?)));
        let out = pipeline.render_local(&root, &req);
        let _ = std::fs::remove_dir_all(&scratch);
        out?
    };
    print_manifests(&generated.manifests, args.output)
}

/// Prints manifests as YAML or JSON lines on stdout.
pub fn print_manifests(manifests: &[String], output: Output) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match output {
        Output::Yaml => stdout.write_all(manifests_to_yaml(manifests)?.as_bytes())?,
        Output::Json => {
            for m in manifests {
                writeln!(stdout, "{m}")?;
            }
        }
    }
    stdout.flush()?;
    Ok(())
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

fn enclosing_work_tree(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `to` as a `/`-separated path relative to the folder `from`, both absolute
/// (`..` where `to` is outside `from`).
fn relative_to(from: &Path, to: &Path) -> String {
    let to = to.canonicalize().unwrap_or_else(|_| to.to_path_buf());
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}
