//! The applier end to end: `kiln apply`, `kiln status`, `kiln diff` and
//! `kiln apply --watch` pulling renders from a real `kiln serve` over gRPC,
//! following a branch that moves, against a fake Kubernetes API served over
//! HTTP on 127.0.0.1 (server-side apply with merge, dry run, defaults,
//! managedFields, delete).
//!
//! `real_cluster_*` runs against a real cluster only when
//! `KILN_E2E_KUBECONFIG` names a kubeconfig (it creates the namespace
//! `kiln-e2e-applier` and leaves it for inspection); it is skipped otherwise.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::*;

/// The fake API server's state: live objects by URL path, and requests.
#[derive(Default)]
struct Api {
    objects: BTreeMap<String, Value>,
    seen: Vec<String>,
}

type Shared = Arc<Mutex<Api>>;

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn handle(api: &Shared, method: &str, target: &str, body: &[u8]) -> (u16, Value) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut api = api.lock().unwrap();
    api.seen.push(format!("{method} {target}"));
    match method {
        "GET" => match api.objects.get(path) {
            Some(o) => (200, o.clone()),
            None => status(404, "NotFound", &format!("{path} not found")),
        },
        "PATCH" => {
            let dry_run = query.contains("dryRun=All");
            let live = api.objects.get(path).cloned();
            let mut object = live.clone().unwrap_or_else(|| json!({}));
            merge(&mut object, &body);
            let generation = live
                .as_ref()
                .and_then(|l| l.pointer("/metadata/generation"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let changed = live.as_ref().map(|l| l.get("spec")) != Some(object.get("spec"));
            let generation = if changed {
                generation + 1
            } else {
                generation.max(1)
            };
            let meta = &mut object["metadata"];
            meta["uid"] = json!(format!("uid{}", path.len()));
            meta["resourceVersion"] = json!(api.seen.len().to_string());
            meta["generation"] = json!(generation);
            meta["managedFields"] = json!([{"manager": "kiln-applier", "operation": "Apply"}]);
            if object["kind"] == "Deployment" {
                // Defaulted by the API server, rolled out at once.
                object["spec"]["progressDeadlineSeconds"] = json!(600);
                let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
                object["status"] = json!({"observedGeneration": generation, "replicas": replicas,
                    "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas});
            }
            if !dry_run {
                api.objects.insert(path.to_owned(), object.clone());
            }
            (200, object)
        }
        "DELETE" => {
            let dry_run = body.get("dryRun").is_some();
            let found = if dry_run {
                api.objects.get(path).cloned()
            } else {
                api.objects.remove(path)
            };
            match found {
                Some(o) => (200, o),
                None => status(404, "NotFound", "not found"),
            }
        }
        _ => status(405, "MethodNotAllowed", method),
    }
}

/// Serves the fake API over HTTP/1.1 with keep-alive; returns the port.
async fn start_api(api: Shared) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let api = api.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let mut line = String::new();
                    if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_owned();
                    let target = parts.next().unwrap_or("").to_owned();
                    let mut length = 0usize;
                    loop {
                        let mut header = String::new();
                        if read.read_line(&mut header).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = header.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if read.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let (code, answer) = handle(&api, &method, &target, &body);
                    let answer = serde_json::to_vec(&answer).unwrap();
                    let head = format!(
                        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        answer.len()
                    );
                    if write.write_all(head.as_bytes()).await.is_err()
                        || write.write_all(&answer).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn kubeconfig(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\n\
             users:\n- name: me\n  user: {{}}\n\
             contexts:\n- name: fake\n  context: {{cluster: fake, user: me}}\n"
        ),
    )
    .unwrap();
    path
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {{app: web}}\n  \
         template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: main\n        image: {image}\n"
    )
}

async fn kiln(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .env("KILN_LOG", "warn")
        .env_remove("KILN_SERVER")
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const INVENTORY: &str = "/api/v1/namespaces/shop/configmaps/kiln-inventory-shop";
const CM: &str = "/api/v1/namespaces/shop/configmaps";
const WEB: &str = "/apis/apps/v1/namespaces/shop/deployments/web";

fn recorded(api: &Shared) -> Value {
    let api = api.lock().unwrap();
    serde_json::from_str(api.objects[INVENTORY]["data"]["status"].as_str().unwrap()).unwrap()
}

/// GET /metrics of the watching applier.
async fn scrape(addr: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap()
}

async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applier_follows_a_moving_branch_through_kiln_serve() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "shop");
    let first = repo.commit(
        &[
            ("app/a.yaml", &configmap("a", "1")),
            ("app/b.yaml", &configmap("b", "1")),
            ("app/web.yaml", &deployment("web:1")),
        ],
        "first",
    );
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let server = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/**",
            "--fetch-interval",
            "200ms",
        ],
    );
    let api: Shared = Arc::default();
    let port = start_api(api.clone()).await;
    let work = tempfile::tempdir().unwrap();
    let kc = kubeconfig(work.path(), port);
    let app_file = work.path().join("shop.yaml");
    std::fs::write(
        &app_file,
        format!(
            "apiVersion: kiln.dev/v1alpha1\nkind: Application\nmetadata: {{name: shop}}\nspec:\n  \
             source: {{repoURL: \"{}\", revision: main, path: app}}\n  destination: {{namespace: shop}}\n  \
             syncPolicy: {{automated: true, prune: true, selfHeal: true, interval: 1s, retry: {{limit: 3, backoff: 100ms}}}}\n  \
             syncOptions: {{createNamespace: true}}\n",
            daemon.url("shop")
        ),
    )
    .unwrap();
    let url = server.channel_url();
    let common = |cmd: &'static str| {
        vec![
            cmd.to_owned(),
            app_file.display().to_string(),
            "--kubeconfig".to_owned(),
            kc.display().to_string(),
        ]
    };
    let run = |mut args: Vec<String>, extra: &[&str]| {
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            kiln(&refs).await
        }
    };

    // A server-side dry run persists nothing.
    let (ok, out, err) = run(common("apply"), &["--server", &url, "--dry-run"]).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("shop: dry run ok"), "{out}");
    assert!(api.lock().unwrap().objects.is_empty());

    // Sync once.
    let (ok, out, err) = run(common("apply"), &["--server", &url]).await;
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains(&format!("shop: synced at {}", &first[..12])),
        "{out}"
    );
    assert!(out.contains("health Healthy"), "{out}");
    assert!(
        api.lock()
            .unwrap()
            .objects
            .contains_key("/api/v1/namespaces/shop")
    );
    assert_eq!(
        api.lock().unwrap().objects[&format!("{CM}/a")]["data"]["value"],
        "1"
    );
    assert_eq!(recorded(&api)["syncedCommit"], first.as_str());

    let (ok, out, err) = run(common("status"), &["-o", "json"]).await;
    assert!(ok, "{out}\n{err}");
    let status: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(status["syncedCommit"], first.as_str());
    assert_eq!(status["sync"], "Synced");
    assert_eq!(status["health"], "Healthy");
    assert_eq!(status["objects"], 3);

    // No drift right after a sync, defaults notwithstanding.
    let (ok, out, err) = run(common("diff"), &["--server", &url]).await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(out, "");

    // Someone edits the live Deployment: `kiln diff` shows it.
    api.lock().unwrap().objects.get_mut(WEB).unwrap()["spec"]["template"]["spec"]["containers"]
        [0]["image"] = json!("web:hotfix");
    let (ok, out, err) = run(common("diff"), &["--server", &url]).await;
    assert!(!ok);
    assert!(err.contains("1 objects differ"), "{err}");
    assert!(
        out.contains("--- live/apps.v1.Deployment.shop.web")
            && out.contains("-      - image: web:hotfix\n+      - image: web:1\n"),
        "{out}"
    );

    // Watch: self-heal on the interval, then follow the branch.
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let mut watch = tokio::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(common("apply"))
        .args([
            "--server",
            &url,
            "--watch",
            "--metrics-listen",
            &metrics_addr,
        ])
        .env("KILN_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let image = |api: &Shared| {
        api.lock().unwrap().objects[WEB]["spec"]["template"]["spec"]["containers"][0]["image"]
            .clone()
    };
    eventually(
        "the first sync of the watch",
        Duration::from_secs(30),
        || image(&api) == json!("web:1"),
    )
    .await;
    // Drift after that is corrected on the next interval (selfHeal).
    api.lock().unwrap().objects.get_mut(WEB).unwrap()["spec"]["template"]["spec"]["containers"]
        [0]["image"] = json!("web:again");
    eventually("self-heal", Duration::from_secs(30), || {
        image(&api) == json!("web:1")
    })
    .await;

    let second = repo.commit(&[("app/a.yaml", &configmap("a", "2"))], "second");
    repo.git(&["rm", "-q", "app/b.yaml"]);
    repo.git(&["commit", "-q", "-m", "drop b"]);
    let third = repo.head();
    assert_ne!(second, third);
    eventually("the new commit synced", Duration::from_secs(30), || {
        let api_ref = &api;
        let done = {
            let a = api_ref.lock().unwrap();
            a.objects
                .get(&format!("{CM}/a"))
                .is_some_and(|o| o["data"]["value"] == "2")
                && !a.objects.contains_key(&format!("{CM}/b"))
        };
        done && recorded(api_ref)["syncedCommit"] == third.as_str()
    })
    .await;
    // The inventory is written before the health wait ends: poll.
    let commit_line =
        format!("kiln_applier_synced_commit_info{{app=\"shop\",commit=\"{third}\"}} 1");
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        let metrics = scrape(&metrics_addr).await;
        if metrics.lines().any(|l| l == commit_line) || Instant::now() > deadline {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for line in [
        "kiln_applier_synced{app=\"shop\"} 1",
        "kiln_applier_health{app=\"shop\",status=\"Healthy\"} 1",
        &format!("kiln_applier_synced_commit_info{{app=\"shop\",commit=\"{third}\"}} 1"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let heals = metrics
        .lines()
        .find_map(|l| l.strip_prefix("kiln_applier_self_heals_total{app=\"shop\"} "))
        .unwrap();
    assert!(heals.parse::<u64>().unwrap() >= 1, "{metrics}");
    let _ = watch.kill().await;

    let (ok, out, err) = run(common("status"), &[]).await;
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains(&third[..12]) && out.contains("Synced"),
        "{out}"
    );
    // The inventory never listed anything it did not apply.
    let inventory = api.lock().unwrap().objects[INVENTORY]["data"]["objects"].clone();
    assert!(
        !inventory.as_str().unwrap().contains("\"b\""),
        "{inventory}"
    );

    // A render error changes nothing in the cluster and is recorded.
    let objects_before = api.lock().unwrap().objects.len();
    let text = std::fs::read_to_string(&app_file).unwrap();
    std::fs::write(&app_file, text.replace("path: app", "path: nowhere")).unwrap();
    let (ok, out, err) = run(common("apply"), &["--server", &url]).await;
    assert!(!ok);
    assert!(
        out.contains("shop: error: rendering") && out.contains("nowhere"),
        "{out}\n{err}"
    );
    assert!(err.contains("not synced and healthy: shop"), "{err}");
    assert_eq!(api.lock().unwrap().objects.len(), objects_before);
    let (_, out, _) = run(common("status"), &["-o", "json"]).await;
    let status: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(status["syncedCommit"], third.as_str());
    assert_eq!(status["sync"], "OutOfSync");
    assert!(
        status["lastError"].as_str().unwrap().contains("nowhere"),
        "{status}"
    );

    // The repo-server unreachable: a clear error, nothing applied.
    let (ok, _, err) = run(common("apply"), &["--server", "127.0.0.1:1"]).await;
    assert!(
        !ok && err.contains("connecting to http://127.0.0.1:1"),
        "{err}"
    );
}

/// Against a real cluster, only with `KILN_E2E_KUBECONFIG` set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_cluster_apply_status_and_prune() {
    let Some(kubeconfig) = std::env::var_os("KILN_E2E_KUBECONFIG") else {
        eprintln!("skipped: set KILN_E2E_KUBECONFIG to run against a real cluster");
        return;
    };
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "real");
    repo.commit(
        &[
            ("app/a.yaml", &configmap("a", "1")),
            ("app/web.yaml", &deployment("registry.k8s.io/pause:3.10")),
        ],
        "first",
    );
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let server = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/**"]);
    let work = tempfile::tempdir().unwrap();
    let app_file = work.path().join("real.yaml");
    std::fs::write(
        &app_file,
        format!(
            "apiVersion: kiln.dev/v1alpha1\nkind: Application\nmetadata: {{name: e2e}}\nspec:\n  \
             source: {{repoURL: \"{}\", revision: main, path: app}}\n  destination: {{namespace: kiln-e2e-applier}}\n  \
             syncPolicy: {{prune: true}}\n  syncOptions: {{createNamespace: true}}\n",
            daemon.url("real")
        ),
    )
    .unwrap();
    let app = app_file.display().to_string();
    let url = server.channel_url();
    let base = ["--kubeconfig", kubeconfig.as_str()];
    let (ok, out, err) = kiln(
        &[
            &["apply", &app, "--server", &url, "--timeout", "3m"],
            &base[..],
        ]
        .concat(),
    )
    .await;
    assert!(ok, "{out}\n{err}");
    let (ok, out, err) = kiln(&[&["diff", &app, "--server", &url], &base[..]].concat()).await;
    assert!(
        ok,
        "no drift after a sync on a real API server:\n{out}\n{err}"
    );
    repo.git(&["rm", "-q", "app/a.yaml"]);
    repo.git(&["commit", "-q", "-m", "drop a"]);
    let (ok, out, err) = kiln(&[&["apply", &app, "--server", &url], &base[..]].concat()).await;
    assert!(ok && out.contains("1 pruned"), "{out}\n{err}");
    let (ok, out, err) = kiln(&[&["status", &app, "-o", "json"], &base[..]].concat()).await;
    assert!(ok && out.contains("\"health\":\"Healthy\""), "{out}\n{err}");
}
