//! The helm engine through the real plugin: `kiln render` with Helm's flags
//! and GenerateManifests with the engine's parameters give the objects real
//! Helm v4 rendered for the golden cases (`tests/helm`), in Helm's order.

use std::{path::Path, process::Command};

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
