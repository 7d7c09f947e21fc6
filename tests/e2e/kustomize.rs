//! The kustomize engine through the real plugin: `kiln render` prints what
//! `kubectl kustomize` printed for every golden case Kiln matches, and the
//! gRPC API returns the same objects as JSON.

use std::{path::Path, process::Command};

use crate::support::*;

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/kustomize")
}

#[test]
fn kiln_render_prints_what_kubectl_kustomize_prints() {
    let root = corpus();
    let known = std::fs::read_to_string(root.join("known-differences.txt")).unwrap();
    let known: Vec<&str> = known
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut cases: Vec<_> = std::fs::read_dir(root.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expected = root.join("expected").join(format!("{name}.yaml"));
        if known.contains(&name.as_str()) || !expected.is_file() {
            continue;
        }
        let build = std::fs::read_to_string(case.join("build-path"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| ".".into());
        let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["render", "--root"])
            .arg(&case)
            .arg(case.join(&build))
            .env("KILN_CLI_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = std::fs::read_to_string(&expected).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{name}");
        checked += 1;
    }
    assert!(checked >= 190, "only {checked} cases checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlay_renders_over_grpc_as_json_objects() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(
        &[
            (
                "base/kustomization.yaml",
                "resources: [deploy.yaml]\nconfigMapGenerator:\n- name: web-config\n  literals: [MODE=base]\n",
            ),
            (
                "base/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        envFrom:\n        - configMapRef:\n            name: web-config\n",
            ),
            (
                "overlays/prod/kustomization.yaml",
                "resources: [../../base]\nnamespace: prod\nnamePrefix: prod-\nimages:\n- name: nginx\n  newTag: \"1.27\"\nconfigMapGenerator:\n- name: web-config\n  behavior: merge\n  literals: [MODE=prod]\n",
            ),
        ],
        "overlay",
    );
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/*"]);
    let mut c = kiln.client().await;
    let msgs = generate(
        &mut c,
        gen_req(&daemon.url("apps"), "main", "overlays/prod"),
    )
    .await
    .unwrap();
    assert_eq!(msgs[0].engine, "kustomize");
    let objs: Vec<serde_json::Value> = msgs
        .iter()
        .flat_map(|m| m.manifests.iter())
        .map(|m| serde_json::from_str(m).unwrap())
        .collect();
    assert_eq!(objs.len(), 2);
    let (cm, deploy) = (&objs[0], &objs[1]);
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["data"]["MODE"], "prod");
    assert_eq!(cm["metadata"]["namespace"], "prod");
    let cm_name = cm["metadata"]["name"].as_str().unwrap();
    assert!(cm_name.starts_with("prod-web-config-"), "{cm_name}");
    assert_eq!(deploy["metadata"]["name"], "prod-web");
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.27");
    assert_eq!(container["envFrom"][0]["configMapRef"]["name"], cm_name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_charts_are_inflated_in_the_kustomize_engine_over_grpc() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(
        &[
            (
                "app/kustomization.yaml",
                "namePrefix: prod-\nhelmCharts:\n- name: web\n  releaseName: shop\n  namespace: shop\n  valuesInline:\n    replicas: 3\npatches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: add\n      path: /metadata/labels\n      value: {patched: \"yes\"}\n",
            ),
            (
                "app/charts/web/Chart.yaml",
                "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            ),
            ("app/charts/web/values.yaml", "replicas: 1\nimage: nginx:1.25\n"),
            (
                "app/charts/web/templates/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\n  annotations:\n    ns: {{ .Release.Namespace }}\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {{ .Values.image }}\n",
            ),
        ],
        "chart",
    );
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/*"]);
    let mut c = kiln.client().await;
    let msgs = generate(&mut c, gen_req(&daemon.url("apps"), "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].engine, "kustomize");
    let objs = objects_of(&msgs);
    assert_eq!(objs.len(), 1, "{objs:?}");
    let deploy = &objs[0];
    assert_eq!(deploy["metadata"]["name"], "prod-shop-web");
    assert_eq!(deploy["metadata"]["annotations"]["ns"], "shop");
    assert_eq!(deploy["metadata"]["labels"]["patched"], "yes");
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );

    // A chart only in a remote chart repository is refused, by name.
    let sha = repo.commit(
        &[(
            "app/kustomization.yaml",
            "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n  version: 1.0.0\n",
        )],
        "remote chart",
    );
    let err = generate(&mut c, gen_req(&daemon.url("apps"), &sha, "app"))
        .await
        .unwrap_err();
    assert!(
        err.message().contains("app/kustomization.yaml")
            && err.message().contains("remote chart repositories"),
        "{err:?}"
    );
}

/// Objects of a GenerateManifests answer, parsed.
fn objects_of(msgs: &[kiln_proto::kiln::v1::GenerateManifestsResponse]) -> Vec<serde_json::Value> {
    msgs.iter()
        .flat_map(|m| m.manifests.iter())
        .map(|m| serde_json::from_str(m).unwrap())
        .collect()
}

const BASE_KUSTOMIZATION: &str = "resources: [deploy.yaml]\ncommonLabels:\n  team: core\nconfigMapGenerator:\n- name: web-config\n  literals: [MODE=base]\n";
const BASE_DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        envFrom:\n        - configMapRef:\n            name: web-config\n";
const OVERLAY_REST: &str = "namespace: prod\nnamePrefix: prod-\nimages:\n- name: nginx\n  newTag: \"1.27\"\nconfigMapGenerator:\n- name: web-config\n  behavior: merge\n  literals: [MODE=prod]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_base_is_read_through_the_git_cache_and_its_allowlist() {
    let root = tempfile::tempdir().unwrap();
    let daemon = GitDaemon::start(root.path());
    let bases = Repo::init(root.path(), "bases");
    bases.commit(
        &[
            ("web/kustomization.yaml", BASE_KUSTOMIZATION),
            ("web/deploy.yaml", BASE_DEPLOY),
        ],
        "base",
    );
    let private = Repo::init(root.path(), "private");
    private.commit(
        &[
            ("web/kustomization.yaml", BASE_KUSTOMIZATION),
            ("web/deploy.yaml", BASE_DEPLOY),
        ],
        "base",
    );
    let remote = format!("{}//web?ref=main&timeout=30s", daemon.url("bases"));
    let denied = format!("{}//web?ref=main", daemon.url("private"));
    let apps = Repo::init(root.path(), "apps");
    apps.commit(
        &[
            (
                "overlay/kustomization.yaml",
                &format!("resources:\n- {remote}\n{OVERLAY_REST}"),
            ),
            (
                "denied/kustomization.yaml",
                &format!("resources:\n- {denied}\n"),
            ),
        ],
        "overlay",
    );
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/apps",
            "--allow-repo",
            "git://127.0.0.1:*/bases",
            "--fetch-interval",
            "0s",
        ],
    );
    let mut c = kiln.client().await;
    let got = objects_of(
        &generate(&mut c, gen_req(&daemon.url("apps"), "main", "overlay"))
            .await
            .unwrap(),
    );

    // The same files checked out side by side, the base as a relative path.
    let local = tempfile::tempdir().unwrap();
    for (path, body) in [
        ("base/kustomization.yaml", BASE_KUSTOMIZATION.to_owned()),
        ("base/deploy.yaml", BASE_DEPLOY.to_owned()),
        (
            "overlay/kustomization.yaml",
            format!("resources:\n- ../base\n{OVERLAY_REST}"),
        ),
    ] {
        let p = local.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["render", "-o", "json", "--root"])
        .arg(local.path())
        .arg(local.path().join("overlay"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["metadata"]["labels"]["team"], "core");

    // The base's branch moves: the next render sees it (a render that read
    // a remote base at a branch is not reused).
    bases.commit(
        &[(
            "web/kustomization.yaml",
            &BASE_KUSTOMIZATION.replace("team: core", "team: platform"),
        )],
        "relabel",
    );
    let mut later = Vec::new();
    for _ in 0..50 {
        later = objects_of(
            &generate(&mut c, gen_req(&daemon.url("apps"), "main", "overlay"))
                .await
                .unwrap(),
        );
        if later[1]["metadata"]["labels"]["team"] == "platform" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(later[1]["metadata"]["labels"]["team"], "platform");

    // A repository the allowlist does not name is refused, naming the
    // kustomization file, the entry and the allowlist.
    let e = generate(&mut c, gen_req(&daemon.url("apps"), "main", "denied"))
        .await
        .unwrap_err();
    let msg = e.message();
    assert!(msg.contains("denied/kustomization.yaml"), "{msg}");
    assert!(msg.contains(&denied), "{msg}");
    assert!(
        msg.contains("allowlist") && msg.contains("git://127.0.0.1:*/bases"),
        "{msg}"
    );
    assert_eq!(daemon.fetches("private"), 0);
}
