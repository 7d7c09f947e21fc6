//! A render that needs a chart from an HTTP chart repository (a Helm chart's
//! dependency) and cannot get it fails with the fetch's own class and words,
//! whatever the renderer made of the failed read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::{process::Command, sync::Arc};

use kiln_chartrepo::testing::{FileServer, chart_archive};
use kiln_git::{CacheOptions, GitCache};
use kiln_render::{
    ErrorKind, GenerateRequest, Pipeline, PipelineError, PipelineOptions, RenderError, RenderInput,
    Renderer, RendererInfo,
};
use sha2::{Digest, Sha256};

/// Reads the chart archive its parameters name through the host's chart
/// repository folder, as the helm engine does for a dependency, and reports
/// a failed read as an internal error (the source interface's class).
struct NeedsChart(RendererInfo);

impl Renderer for NeedsChart {
    fn info(&self) -> &RendererInfo {
        &self.0
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<String>, RenderError> {
        let seg = |k: &str| -> String {
            input.parameters[k]
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        let path = format!(
            ".kiln-chartrepo/{}/{}/{}",
            seg("repo"),
            seg("chart"),
            seg("version")
        );
        let archive = input.source.read_file(&path).map_err(|e| RenderError {
            kind: ErrorKind::Internal,
            file: None,
            line: None,
            message: format!("dependency: {e}"),
        })?;
        Ok(vec![
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "dep"},
                "data": {"bytes": archive.len().to_string()},
            })
            .to_string(),
        ])
    }
}

fn origin() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("app")).unwrap();
    std::fs::write(d.path().join("app/needs.yaml"), "x: 1\n").unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=Ada",
            "-c",
            "user.email=ada@example.com",
            "commit",
            "-q",
            "-m",
            "app",
        ],
    ] {
        let out = Command::new("git")
            .args(args)
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    d
}

#[tokio::test]
async fn a_dependency_that_cannot_be_fetched_fails_the_render_with_its_own_class() {
    let tgz = chart_archive(
        "cache",
        &[(
            "Chart.yaml",
            "apiVersion: v2\nname: cache\nversion: 1.2.0\n",
        )],
    );
    let mut index = String::from("apiVersion: v1\nentries:\n  cache:\n");
    for (version, digest) in [
        ("1.2.0", hex::encode(Sha256::digest(&tgz))),
        ("1.3.0", "0".repeat(64)),
    ] {
        index.push_str(&format!(
            "  - name: cache\n    version: {version}\n    digest: {digest}\n    urls: [cache-{version}.tgz]\n"
        ));
    }
    let server = FileServer::start(
        [
            ("/charts/index.yaml".to_owned(), index.into_bytes()),
            ("/charts/cache-1.2.0.tgz".to_owned(), tgz.clone()),
            ("/charts/cache-1.3.0.tgz".to_owned(), tgz.clone()),
        ]
        .into_iter()
        .collect(),
    );
    let origin = origin();
    let cache = tempfile::tempdir().unwrap();
    let git = Arc::new(GitCache::open(CacheOptions::new(cache.path()).allow(["**"])).unwrap());
    let pipeline = Pipeline::with_renderers(
        git,
        PipelineOptions::default(),
        vec![Arc::new(NeedsChart(RendererInfo {
            name: "needs".into(),
            version: "1".into(),
            digest: "needs-1".into(),
            markers: vec!["needs.yaml".into()],
            interface_version: "0.1.0".into(),
            parameters: Vec::new(),
            transformer: false,
            origin: "test:needs".into(),
        }))],
    );
    let url = format!("file://{}", origin.path().display());
    let repo = server.url();
    let render = |repo: &str, chart: &str, version: &str| {
        let mut req = GenerateRequest::new(&url, "main", "app");
        for (k, v) in [("repo", repo), ("chart", chart), ("version", version)] {
            req.parameters.insert(k.into(), v.into());
        }
        req.no_cache = true;
        pipeline.generate(req)
    };
    let kind = |e: &PipelineError| match e {
        PipelineError::Render { source, .. } => Some(source.kind),
        _ => None,
    };

    // Fetched and verified: the render sees the archive.
    let ok = render(&repo, "cache", "~1.2.0").await.unwrap();
    assert!(ok.manifests[0].contains(&tgz.len().to_string()));

    // No such version: not found, naming the chart, version and repository.
    let e = render(&repo, "cache", "^9").await.unwrap_err();
    assert_eq!(kind(&e), Some(ErrorKind::NotFound), "{e}");
    for part in [
        "'cache'",
        "'^9'",
        &repo,
        "rendering 'app'",
        "no version matches",
    ] {
        assert!(e.to_string().contains(part), "{part}: {e}");
    }
    // An archive that is not what the index says: invalid input.
    let e = render(&repo, "cache", "1.3.0").await.unwrap_err();
    assert_eq!(kind(&e), Some(ErrorKind::InvalidInput), "{e}");
    assert!(e.to_string().contains("the index says"), "{e}");

    // A repository nothing answers at: unavailable, as an unreachable Git
    // remote is.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/charts", l.local_addr().unwrap().port())
    };
    let e = render(&closed, "other", "1.0.0").await.unwrap_err();
    assert!(
        matches!(e, PipelineError::Git(kiln_git::Error::Unavailable { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("'other'"), "{e}");
}
