//! The helm engine through the real plugin: `kiln render` with Helm's flags
//! and GenerateManifests with the engine's parameters give the objects real
//! Helm v4 rendered for the golden cases (`tests/helm`), in Helm's order.

use std::{path::Path, process::Command};

use kiln_chartrepo::testing::FileServer;

use crate::support::*;

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/helm")
}

/// The objects of an expected `helm template` output, in order.
fn expected_objects(case: &str) -> Vec<serde_json::Value> {
    let path = corpus().join("expected").join(format!("{case}.yaml"));
    let text = std::fs::read(&path).unwrap();
    kiln_plugin_sdk::manifests::parse(&path.to_string_lossy(), &text).unwrap()
}

fn copy_tree(from: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = format!("{prefix}/{}", p.file_name().unwrap().to_string_lossy());
        if p.is_dir() {
            copy_tree(&p, &name, out);
        } else {
            out.push((name, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

#[test]
fn kiln_render_takes_helms_flags() {
    let root = corpus();
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .current_dir(&root)
        .args([
            "render",
            "--root",
            ".",
            "charts/app",
            "--release-name",
            "web",
            "--param",
            "release-namespace=prod",
            "-f",
            "values/app-prod.yaml",
            "--set",
            "autoscaling.enabled=false",
            "--set",
            "ingress.className=traefik",
            "--set-string",
            "replicaCount=9",
            "-o",
            "json",
        ])
        .env("KILN_CLI_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got, expected_objects("app-set-over-values"));
}

#[test]
fn kiln_render_reports_helms_errors() {
    let root = corpus();
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .current_dir(&root)
        .args([
            "render",
            "--root",
            ".",
            "charts/errors",
            "--engine",
            "helm",
            "--set",
            "mode=fail",
        ])
        .env("KILN_CLI_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("execution error at (errors/templates/cm.yaml:2:4): mode 'fail' is not supported: pick ok"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_renders_over_grpc_with_values_outside_the_chart() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "charts");
    let mut files = Vec::new();
    copy_tree(&corpus().join("charts/app"), "charts/app", &mut files);
    files.push((
        "env/prod.yaml".into(),
        std::fs::read_to_string(corpus().join("values/app-prod.yaml")).unwrap(),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    repo.commit(&refs, "chart");
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/*"]);
    let mut c = kiln.client().await;
    let mut req = gen_req(&daemon.url("charts"), "main", "charts/app");
    req.parameters.insert("release-name".into(), "web".into());
    req.parameters
        .insert("release-namespace".into(), "prod".into());
    req.parameters
        .insert("values".into(), r#"["../../env/prod.yaml"]"#.into());
    let msgs = generate(&mut c, req.clone()).await.unwrap();
    assert_eq!(msgs[0].engine, "helm");
    let objs: Vec<serde_json::Value> = msgs
        .iter()
        .flat_map(|m| m.manifests.iter())
        .map(|m| serde_json::from_str(m).unwrap())
        .collect();
    assert_eq!(objs, expected_objects("app-prod-values"));

    req.parameters
        .insert("set".into(), r#"["image.repository=null"]"#.into());
    let err = generate(&mut c, req).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("image.repository is required"),
        "{err:?}"
    );
}

/// The `cache` chart of the umbrella corpus case, served as a repository:
/// 1.2.0 (the real archive), 1.3.0 (an index digest that does not match),
/// 2.0.0 (an archive that is not there).
fn cache_chart_repo() -> (FileServer, String) {
    use sha2::Digest;
    let tgz = std::fs::read(corpus().join("charts/umbrella/charts/cache-1.2.0.tgz")).unwrap();
    let digest = hex::encode(sha2::Sha256::digest(&tgz));
    let mut index = String::from("apiVersion: v1\nentries:\n  cache:\n");
    let (bad, gone) = ("0".repeat(64), "1".repeat(64));
    for (version, sum) in [("2.0.0", &gone), ("1.3.0", &bad), ("1.2.0", &digest)] {
        index.push_str(&format!(
            "  - name: cache\n    version: {version}\n    digest: {sum}\n    urls: [cache-{version}.tgz]\n"
        ));
    }
    let files = [
        ("/charts/index.yaml".to_owned(), index.into_bytes()),
        ("/charts/cache-1.2.0.tgz".to_owned(), tgz.clone()),
        ("/charts/cache-1.3.0.tgz".to_owned(), tgz),
    ]
    .into_iter()
    .collect();
    (FileServer::start(files), digest)
}

fn objects(msgs: &[kiln_proto::kiln::v1::GenerateManifestsResponse]) -> Vec<serde_json::Value> {
    msgs.iter()
        .flat_map(|m| m.manifests.iter())
        .map(|m| serde_json::from_str(m).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_repository_dependencies_and_sources_are_fetched_by_the_host() {
    let (mut server, digest) = cache_chart_repo();
    // The umbrella chart without its vendored `cache` archive; Chart.yaml
    // asks the repository on 127.0.0.1 for `~1.2.0` instead.
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "charts");
    let mut files = Vec::new();
    copy_tree_skipping(&corpus().join("charts/umbrella"), "umbrella", &mut files);
    for (path, text) in &mut files {
        if path == "umbrella/Chart.yaml" {
            *text = text
                .replace("version: 1.2.0", "version: ~1.2.0")
                .replace("https://charts.example.invalid", &server.url());
            assert!(text.contains(&server.url()));
        }
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    repo.commit(&refs, "umbrella without its repository dependency");
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let allow = format!("http://127.0.0.1:{}/**", server.port());
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/*",
            "--allow-repo",
            &allow,
        ],
    );
    let mut c = kiln.client().await;

    // (a) The dependency is fetched, checked and rendered: the objects real
    // Helm renders with the subchart vendored.
    let mut req = gen_req(&daemon.url("charts"), "main", "umbrella");
    req.parameters.insert("release-name".into(), "plat".into());
    req.parameters
        .insert("release-namespace".into(), "platform".into());
    let msgs = generate(&mut c, req.clone()).await.unwrap();
    assert_eq!(objects(&msgs), expected_objects("umbrella-default"));

    // (b) A chart of the repository as the source, by exact version and by
    // constraint; the answer names the archive's digest.
    let server_url = server.url();
    let chart_req = |version: &str| {
        let mut r = gen_req(&server_url, version, "");
        r.chart = "cache".into();
        r.parameters.insert("release-name".into(), "plat".into());
        // Installed on its own, the chart needs the global its parent gives.
        r.parameters.insert(
            "set".into(),
            r#"["global.imageRegistry=mirror.local"]"#.into(),
        );
        r
    };
    let exact = generate(&mut c, chart_req("1.2.0")).await.unwrap();
    assert_eq!(exact[0].engine, "helm");
    assert_eq!(exact[0].commit_sha, format!("sha256:{digest}"));
    let direct = objects(&exact);
    assert!(!direct.is_empty());
    let constrained = generate(&mut c, chart_req(">=1.0.0 <1.3.0")).await.unwrap();
    assert_eq!(objects(&constrained), direct);

    // A digest that does not match the index is refused and names it all.
    let e = generate(&mut c, chart_req("1.3.0")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    for part in ["'cache' of ", &server_url, " at 1.3.0", "the index says"] {
        assert!(e.message().contains(part), "{e:?}");
    }
    // A version whose archive is missing, and one that does not exist.
    let e = generate(&mut c, chart_req("2.0.0")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
    assert!(e.message().contains("cache-2.0.0.tgz: HTTP 404"), "{e:?}");
    let e = generate(&mut c, chart_req("^3")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
    assert!(e.message().contains("no version matches"), "{e:?}");

    // A repository the allowlist does not name is refused without a request.
    let (other, _) = cache_chart_repo();
    let mut denied = chart_req("1.2.0");
    denied.repo_url = other.url();
    let e = generate(&mut c, denied).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    assert!(
        e.message().contains("allowlist") && e.message().contains(&allow),
        "{e:?}"
    );

    // With the repository gone, the cached archive still renders (no
    // render cache: the fetch itself is answered from the digest cache).
    server.stop();
    let mut again = chart_req("1.2.0");
    again.no_cache = true;
    let msgs = generate(&mut c, again).await.unwrap();
    assert!(!msgs[0].cached);
    assert_eq!(objects(&msgs), direct);
    let mut dep = req.clone();
    dep.no_cache = true;
    assert_eq!(
        objects(&generate(&mut c, dep).await.unwrap()),
        expected_objects("umbrella-default")
    );
    let blobs: Vec<_> = std::fs::read_dir(cache.path().join("charts/blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(blobs, vec![format!("sha256-{digest}.tgz")]);
}

#[test]
fn kiln_render_takes_a_chart_from_a_chart_repository() {
    let (server, _) = cache_chart_repo();
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["render", "--helm-repo", &server.url(), "--chart", "cache"])
        .args(["--version", "~1.2", "--release-name", "plat", "-o", "json"])
        .args(["--set", "global.imageRegistry=mirror.local"])
        .env("KILN_CLI_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"kind\""), "{text}");
    assert!(text.contains("plat-cache"), "{text}");

    // A local chart folder whose dependency is in the repository.
    let work = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    copy_tree_skipping(&corpus().join("charts/umbrella"), "umbrella", &mut files);
    for (path, text) in &files {
        let text = text.replace("https://charts.example.invalid", &server.url());
        let p = work.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .current_dir(work.path())
        .args([
            "render",
            "--root",
            ".",
            "umbrella",
            "--release-name",
            "plat",
        ])
        .args(["--param", "release-namespace=platform", "-o", "json"])
        .env("KILN_CLI_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got, expected_objects("umbrella-default"));
}

/// [`copy_tree`] without chart archives (`.tgz`).
fn copy_tree_skipping(from: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = format!("{prefix}/{}", p.file_name().unwrap().to_string_lossy());
        if p.is_dir() {
            copy_tree_skipping(&p, &name, out);
        } else if p.extension().is_none_or(|e| e != "tgz") {
            out.push((name, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argo_cd_helm_repository_sources_render_through_the_host() {
    use kiln_argocd::proto::{
        repository::repo_server_service_client::RepoServerServiceClient, v1alpha1 as v1,
    };
    let (server, _) = cache_chart_repo();
    let cache = tempfile::tempdir().unwrap();
    let allow = format!("http://127.0.0.1:{}/**", server.port());
    let kiln = Kiln::start(cache.path(), &["--allow-repo", &allow]);
    let mut c = RepoServerServiceClient::connect(kiln.channel_url())
        .await
        .unwrap();
    let source = v1::ApplicationSource {
        repo_url: Some(server.url()),
        chart: Some("cache".into()),
        target_revision: Some("1.2.x".into()),
        helm: Some(v1::ApplicationSourceHelm {
            release_name: Some("plat".into()),
            parameters: vec![v1::HelmParameter {
                name: Some("global.imageRegistry".into()),
                value: Some("mirror.local".into()),
                force_string: Some(false),
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut req = crate::argocd::manifest_request(&server.url(), source);
    if let Some(r) = req.repo.as_mut() {
        r.r#type = Some("helm".into());
    }
    let r = c.generate_manifest(req).await.unwrap().into_inner();
    assert_eq!(r.source_type, "Helm");
    assert_eq!(r.revision, "1.2.0");
    let names: Vec<String> = r
        .manifests
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(m).unwrap()["metadata"]["name"].to_string()
        })
        .collect();
    assert!(names.iter().all(|n| n == "\"plat-cache\""), "{names:?}");
    assert!(!names.is_empty());
}
