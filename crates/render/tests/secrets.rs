//! Decrypt-as-read in the pipeline: renderers get plaintext, a file the
//! repository may not open fails the render as permission denied whatever
//! the renderer does with the error, and renders that decrypted something
//! stay out of the cache when the settings say so.
//!
//! The opener here is a stand-in (files starting `SEALED:` hold reversed
//! text, openable only by repositories whose key contains `allowed`); the
//! SOPS opener itself is tested in kiln-secrets and end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::{path::Path, process::Command, sync::Arc};

use kiln_git::{CacheOptions, GitCache};
use kiln_render::{
    ErrorKind, GenerateRequest, Pipeline, PipelineError, PipelineOptions, RenderError, RenderInput,
    Renderer, RendererInfo, SecretError, SecretOpener, SecretSettings,
};

struct Reversing;

impl SecretOpener for Reversing {
    fn open(&self, repo: &str, path: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, SecretError> {
        let Some(sealed) = bytes.strip_prefix(b"SEALED:") else {
            return Ok(None);
        };
        if sealed.contains(&b'!') {
            return Err(SecretError {
                denied: false,
                message: format!("{path}: MAC mismatch"),
            });
        }
        if !repo.contains("allowed") {
            return Err(SecretError {
                denied: true,
                message: format!("no key that {repo} may use opens {path}"),
            });
        }
        Ok(Some(sealed.iter().rev().copied().collect()))
    }
}

/// Emits one ConfigMap per file of the app folder, holding its text; with
/// `lenient`, files it cannot read are skipped (as a careless plugin might).
struct Files {
    info: RendererInfo,
    lenient: bool,
}

impl Renderer for Files {
    fn info(&self) -> &RendererInfo {
        &self.info
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<String>, RenderError> {
        let mut out = Vec::new();
        for e in input.source.list_dir(input.app_path)? {
            let path = format!("{}/{}", input.app_path, e.name);
            let text = match input.source.read_file(&path) {
                Ok(b) => String::from_utf8(b).unwrap(),
                Err(_) if self.lenient => continue,
                Err(e) => return Err(e.into()),
            };
            out.push(
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": e.name}, "data": {"text": text}})
                .to_string(),
            );
        }
        Ok(out)
    }
}

fn files(name: &str, lenient: bool) -> Arc<dyn Renderer> {
    Arc::new(Files {
        info: RendererInfo {
            name: name.into(),
            version: "1".into(),
            digest: name.into(),
            markers: Vec::new(),
            interface_version: "0.1.0".into(),
            parameters: Vec::new(),
            transformer: false,
            origin: "test".into(),
        },
        lenient,
    })
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

fn repo(parent: &Path, name: &str) -> String {
    let d = parent.join(name);
    std::fs::create_dir_all(d.join("app")).unwrap();
    git(&d, &["init", "-q", "-b", "main"]);
    std::fs::write(d.join("app/plain.txt"), "hello").unwrap();
    std::fs::write(d.join("app/secret.txt"), "SEALED:terces-pot").unwrap();
    git(&d, &["add", "-A"]);
    git(&d, &["commit", "-q", "-m", "app"]);
    d.display().to_string()
}

fn pipeline(cache_dir: &Path, cache_secrets: bool) -> Pipeline {
    let git = Arc::new(GitCache::open(CacheOptions::new(cache_dir).allow(["**"])).unwrap());
    let p = Pipeline::with_renderers(
        git,
        PipelineOptions::default(),
        vec![files("files", false), files("lenient", true)],
    );
    p.set_secrets(Some(SecretSettings {
        opener: Arc::new(Reversing),
        cache: cache_secrets,
    }));
    p
}

fn request(url: &str, engine: &str) -> GenerateRequest {
    let mut r = GenerateRequest::new(url, "main", "app");
    r.engine = engine.into();
    r
}

#[tokio::test]
async fn renderers_read_plaintext_and_denied_files_fail_the_render() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = repo(dir.path(), "allowed-repo");
    let other = repo(dir.path(), "other-repo");
    let cache = tempfile::tempdir().unwrap();
    let p = pipeline(cache.path(), true);

    let out = p.generate(request(&allowed, "files")).await.unwrap();
    assert!(
        out.manifests.iter().any(|m| m.contains("top-secret")),
        "{:?}",
        out.manifests
    );
    assert!(out.manifests.iter().all(|m| !m.contains("SEALED")));

    for engine in ["files", "lenient"] {
        let err = p.generate(request(&other, engine)).await.unwrap_err();
        let PipelineError::Render { source, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(source.kind, ErrorKind::PermissionDenied, "{engine}: {err}");
        let text = err.to_string();
        assert!(text.contains("app/secret.txt"), "{text}");
        assert!(!text.contains("terces"), "{text}");
    }
}

#[tokio::test]
async fn a_tampered_file_is_invalid_input_and_never_partial() {
    let dir = tempfile::tempdir().unwrap();
    let url = repo(dir.path(), "allowed-repo");
    std::fs::write(
        dir.path().join("allowed-repo/app/secret.txt"),
        "SEALED:ter!ces",
    )
    .unwrap();
    git(
        &dir.path().join("allowed-repo"),
        &["commit", "-qam", "tamper"],
    );
    let cache = tempfile::tempdir().unwrap();
    let p = pipeline(cache.path(), true);
    let err = p.generate(request(&url, "lenient")).await.unwrap_err();
    let PipelineError::Render { source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(source.kind, ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("MAC mismatch"), "{err}");
}

#[tokio::test]
async fn renders_with_secrets_skip_the_cache_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let url = repo(dir.path(), "allowed-repo");
    for (cache_secrets, second_cached) in [(true, true), (false, false)] {
        let cache = tempfile::tempdir().unwrap();
        let p = pipeline(cache.path(), cache_secrets);
        let first = p.generate(request(&url, "files")).await.unwrap();
        assert!(!first.cached);
        let second = p.generate(request(&url, "files")).await.unwrap();
        assert_eq!(
            second.cached, second_cached,
            "cache secrets: {cache_secrets}"
        );
        assert_eq!(first.manifests, second.manifests);
    }
}
