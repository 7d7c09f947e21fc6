//! Replacing the renderer set invalidates exactly the renders that used a
//! replaced renderer, and nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::{path::Path, process::Command, sync::Arc};

use sha2::{Digest, Sha256};

use kiln_chartrepo::testing::{FileServer, chart_archive};
use kiln_git::{CacheOptions, GitCache};
use kiln_render::{
    CacheCounters, ChartRequest, GenerateRequest, Pipeline, PipelineOptions, RenderError,
    RenderInput, Renderer, RendererInfo,
};

/// A renderer that emits one ConfigMap naming itself and its version, for
/// every app folder holding its marker file.
struct Stamp(RendererInfo);

fn stamp(name: &str, version: &str, marker: &str) -> Arc<dyn Renderer> {
    Arc::new(Stamp(RendererInfo {
        name: name.into(),
        version: version.into(),
        digest: format!("{name}-{version}"),
        markers: vec![marker.into()],
        interface_version: "0.1.0".into(),
        parameters: Vec::new(),
        transformer: false,
        origin: format!("test:{name}"),
    }))
}

impl Renderer for Stamp {
    fn info(&self) -> &RendererInfo {
        &self.0
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<String>, RenderError> {
        let listing = input.source.list_dir(input.app_path)?;
        let files: Vec<&str> = listing.iter().map(|e| e.name.as_str()).collect();
        Ok(vec![
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": input.app_path},
                "data": {"by": format!("{} {}", self.0.name, self.0.version), "files": files.join(",")},
            })
            .to_string(),
        ])
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn origin() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    git(d.path(), &["init", "-q", "-b", "main"]);
    for (file, body) in [
        ("alpha-app/alpha.yaml", "a: 1\n"),
        ("beta-app/beta.yaml", "b: 1\n"),
        ("both-app/beta.yaml", "b: 2\n"),
        ("both-app/gamma.yaml", "g: 1\n"),
    ] {
        let p = d.path().join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    git(d.path(), &["add", "-A"]);
    git(d.path(), &["commit", "-q", "-m", "apps"]);
    d
}

struct Fixture {
    _origin: tempfile::TempDir,
    _cache: tempfile::TempDir,
    url: String,
    pipeline: Pipeline,
}

impl Fixture {
    fn new(renderers: Vec<Arc<dyn Renderer>>) -> Fixture {
        Fixture::with_options(renderers, PipelineOptions::default())
    }

    fn with_options(renderers: Vec<Arc<dyn Renderer>>, options: PipelineOptions) -> Fixture {
        let origin = origin();
        let cache = tempfile::tempdir().unwrap();
        let git = Arc::new(GitCache::open(CacheOptions::new(cache.path()).allow(["**"])).unwrap());
        let url = format!("file://{}", origin.path().display());
        Fixture {
            pipeline: Pipeline::with_renderers(git, options, renderers),
            url,
            _origin: origin,
            _cache: cache,
        }
    }

    /// Renders an app; returns (engine, who rendered it, served from cache).
    async fn render(&self, app: &str) -> (String, String, bool) {
        let out = self
            .pipeline
            .generate(GenerateRequest::new(&self.url, "main", app))
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out.manifests[0]).unwrap();
        (
            out.engine,
            v["data"]["by"].as_str().unwrap().to_owned(),
            out.cached,
        )
    }
}

#[tokio::test]
async fn replacing_one_renderer_invalidates_only_its_renders() {
    let f = Fixture::new(vec![
        stamp("alpha", "1", "alpha.yaml"),
        stamp("beta", "1", "beta.yaml"),
    ]);
    assert_eq!(
        f.render("alpha-app").await,
        ("alpha".into(), "alpha 1".into(), false)
    );
    assert_eq!(
        f.render("beta-app").await,
        ("beta".into(), "beta 1".into(), false)
    );
    assert!(f.render("alpha-app").await.2);

    // alpha gets a new build; beta is the same renderer as before.
    f.pipeline.set_renderers(vec![
        stamp("alpha", "2", "alpha.yaml"),
        stamp("beta", "1", "beta.yaml"),
    ]);
    assert_eq!(
        f.render("beta-app").await,
        ("beta".into(), "beta 1".into(), true)
    );
    assert_eq!(
        f.render("alpha-app").await,
        ("alpha".into(), "alpha 2".into(), false)
    );
    assert!(f.render("alpha-app").await.2);
    assert_eq!(
        f.pipeline.cache().counters(),
        CacheCounters {
            renders: 3,
            exact_hits: 3,
            input_hits: 0
        }
    );
}

#[tokio::test]
async fn a_new_renderer_invalidates_only_apps_whose_detection_it_changes() {
    let f = Fixture::new(vec![stamp("beta", "1", "beta.yaml")]);
    assert_eq!(f.render("beta-app").await.1, "beta 1");
    assert_eq!(f.render("both-app").await.1, "beta 1");

    // Detection tries renderers by name: "beta" before "gamma" keeps
    // both-app with beta, so its render stays valid.
    f.pipeline.set_renderers(vec![
        stamp("beta", "1", "beta.yaml"),
        stamp("gamma", "1", "gamma.yaml"),
    ]);
    assert_eq!(
        f.render("both-app").await,
        ("beta".into(), "beta 1".into(), true)
    );
    // "aaa", with gamma's marker, comes first and takes both-app only.
    f.pipeline.set_renderers(vec![
        stamp("beta", "1", "beta.yaml"),
        stamp("aaa", "1", "gamma.yaml"),
    ]);
    assert_eq!(
        f.render("beta-app").await,
        ("beta".into(), "beta 1".into(), true)
    );
    assert_eq!(
        f.render("both-app").await,
        ("aaa".into(), "aaa 1".into(), false)
    );

    // Without the renderer an app used, its cached render is not served:
    // detection falls back to "directory", which this set lacks.
    f.pipeline
        .set_renderers(vec![stamp("aaa", "1", "gamma.yaml")]);
    let e = f
        .pipeline
        .generate(GenerateRequest::new(&f.url, "main", "beta-app"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("directory"), "{e}");
}

#[tokio::test]
async fn replacing_the_helm_renderer_invalidates_chart_repository_renders() {
    let tgz = chart_archive(
        "web",
        &[("Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")],
    );
    let index = format!(
        "apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 1.0.0\n    digest: {}\n    urls: [web-1.0.0.tgz]\n",
        hex::encode(Sha256::digest(&tgz))
    );
    let server = FileServer::start(
        [
            ("/charts/index.yaml".to_owned(), index.into_bytes()),
            ("/charts/web-1.0.0.tgz".to_owned(), tgz),
        ]
        .into_iter()
        .collect(),
    );
    let f = Fixture::new(vec![stamp("helm", "1", "Chart.yaml")]);
    let render = || async {
        let out = f
            .pipeline
            .generate_chart(ChartRequest {
                repo_url: server.url(),
                chart: "web".into(),
                version: "1.0.0".into(),
                parameters: Default::default(),
                namespace: String::new(),
                no_cache: false,
                transformers: Vec::new(),
            })
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out.manifests[0]).unwrap();
        (v["data"]["by"].as_str().unwrap().to_owned(), out.cached)
    };
    assert_eq!(render().await, ("helm 1".into(), false));
    assert_eq!(render().await, ("helm 1".into(), true));

    // A new build of the helm renderer: the chart's cached render is stale.
    f.pipeline
        .set_renderers(vec![stamp("helm", "2", "Chart.yaml")]);
    assert_eq!(render().await, ("helm 2".into(), false));
    assert_eq!(render().await, ("helm 2".into(), true));
    assert_eq!(f.pipeline.cache().counters().renders, 2);
}

#[tokio::test]
async fn the_byte_budget_evicts_renders_and_counts_them() {
    let renderers = || {
        vec![
            stamp("alpha", "1", "alpha.yaml"),
            stamp("beta", "1", "beta.yaml"),
        ]
    };
    // Room for about two renders per level (each weighs over 1 KiB).
    let small = PipelineOptions {
        cache_max_bytes: 3_000,
        ..PipelineOptions::default()
    };
    let f = Fixture::with_options(renderers(), small);
    for app in ["alpha-app", "beta-app", "both-app"] {
        assert!(!f.render(app).await.2);
    }
    f.pipeline.cache().settle().await;
    let usage = f.pipeline.cache().usage();
    assert!(usage.evicted >= 1, "{usage:?}");
    assert!(usage.bytes <= 2 * 3_000, "{usage:?}");
    assert!(usage.entries <= 4, "{usage:?}");
    // What was evicted is rendered again.
    let mut hits = 0;
    for app in ["alpha-app", "beta-app", "both-app"] {
        hits += usize::from(f.render(app).await.2);
    }
    assert!(hits < 3, "{hits} hits");

    // With the default budget nothing is evicted and repeats are hits.
    let f = Fixture::new(renderers());
    for app in ["alpha-app", "beta-app", "both-app"] {
        assert!(!f.render(app).await.2);
        assert!(f.render(app).await.2);
    }
    f.pipeline.cache().settle().await;
    let usage = f.pipeline.cache().usage();
    assert_eq!(usage.evicted, 0, "{usage:?}");
    assert_eq!(usage.entries, 6, "{usage:?}");
    assert!(usage.bytes > 6 * 1024, "{usage:?}");
}
