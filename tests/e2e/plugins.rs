//! Third-party plugins from --plugin-dir, over gRPC and the CLI.

use std::{process::Command, time::Duration};

use kiln_proto::kiln::v1::ListPluginsRequest;
use tonic::Code;

use crate::support::*;

fn plugin_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("hostile.wasm"),
        kiln_plugins_builtin::testing::HOSTILE,
    )
    .unwrap();
    std::fs::write(
        d.path().join("hello.wasm"),
        kiln_plugins_builtin::testing::HELLO,
    )
    .unwrap();
    d
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    out.stdin.as_ref().unwrap().write_all(bytes).unwrap();
    let o = out.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_from_a_folder_renders_over_grpc_inside_its_sandbox() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(
        &[
            ("custom/hostile.yaml", "kind: marker\n"),
            ("plain/cm.yaml", &configmap("plain", "p")),
            ("greet/hello.yaml", "greetings:\n  - name: world\n    message: Hello, world\n  - name: team\n    message: Hi, team\n"),
        ],
        "apps",
    );
    let daemon = GitDaemon::start(root.path());
    let plugins = plugin_dir();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/*",
            "--plugin-dir",
            plugins.path().to_str().unwrap(),
            "--plugin-deadline",
            "1s",
        ],
    );
    let mut c = kiln.client().await;
    let list = c
        .list_plugins(ListPluginsRequest {})
        .await
        .unwrap()
        .into_inner()
        .plugins;
    let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "directory",
            "hello",
            "helm",
            "hostile",
            "kustomize",
            "set-labels"
        ]
    );
    let hostile = list.iter().find(|p| p.name == "hostile").unwrap();
    assert_eq!(
        hostile.digest,
        sha256_hex(kiln_plugins_builtin::testing::HOSTILE)
    );
    assert!(hostile.origin.ends_with("hostile.wasm"));
    assert_eq!(hostile.markers, vec!["hostile.yaml".to_owned()]);
    assert_eq!(list[0].origin, "builtin:directory");

    // The template plugin, as an author builds it, renders over gRPC.
    let url = daemon.url("apps");
    let mut req = gen_req(&url, "main", "greet");
    req.parameters.insert("prefix".into(), ">> ".into());
    req.namespace = "demo".into();
    let msgs = generate(&mut c, req).await.unwrap();
    assert_eq!(
        (msgs[0].engine.as_str(), msgs[0].total_manifests),
        ("hello", 2)
    );
    let first: serde_json::Value = serde_json::from_str(&msgs[0].manifests[0]).unwrap();
    assert_eq!(first["metadata"]["name"], "hello-world");
    assert_eq!(first["metadata"]["namespace"], "demo");
    assert_eq!(first["data"]["message"], ">> Hello, world");

    // Detected by its marker file, rendered through the plugin.
    let msgs = generate(&mut c, gen_req(&url, "main", "custom"))
        .await
        .unwrap();
    assert_eq!(msgs[0].engine, "hostile");
    assert!(msgs[0].manifests[0].contains("\"ok\""));

    // Its attempts to leave the sandbox all fail.
    let mut req = gen_req(&url, "main", "custom");
    req.parameters.insert("mode".into(), "escape".into());
    let msgs = generate(&mut c, req).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&msgs[0].manifests[0]).unwrap();
    for key in ["passwd", "cwd", "socket", "dotdot", "absolute"] {
        assert!(
            v["data"][key].as_str().unwrap().starts_with("denied"),
            "{key}: {v}"
        );
    }

    // A looping call fails alone, with DEADLINE_EXCEEDED naming the plugin,
    // while another app renders.
    let mut looping = c.clone();
    let mut req = gen_req(&url, "main", "custom");
    req.parameters.insert("mode".into(), "loop".into());
    let bad = tokio::spawn(async move { generate(&mut looping, req).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let msgs = generate(&mut c, gen_req(&url, "main", "plain"))
        .await
        .unwrap();
    assert_eq!(msgs[0].engine, "directory");
    let e = bad.await.unwrap().unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    assert!(
        e.message().contains("hostile") && e.message().contains("plugin-deadline"),
        "{}",
        e.message()
    );
    let mut req = gen_req(&url, "main", "custom");
    req.parameters.insert("mode".into(), "panic".into());
    let e = generate(&mut c, req).await.unwrap_err();
    assert_eq!(e.code(), Code::Internal, "{e:?}");
    assert!(e.message().contains("panics on purpose"), "{}", e.message());
}

#[test]
fn the_digest_allowlist_refuses_unknown_plugins() {
    let plugins = plugin_dir();
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["serve", "--listen", "127.0.0.1:0", "--cache-dir"])
        .arg(cache.path())
        .args([
            "--plugin-dir",
            plugins.path().to_str().unwrap(),
            "--plugin-allow-digest",
            &"0".repeat(64),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hello.wasm") && err.contains("--plugin-allow-digest"),
        "{err}"
    );
    // With its digest listed it loads.
    let digest = format!(
        "sha256:{},{}",
        sha256_hex(kiln_plugins_builtin::testing::HOSTILE),
        sha256_hex(kiln_plugins_builtin::testing::HELLO)
    );
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--plugin-dir",
            plugins.path().to_str().unwrap(),
            "--plugin-allow-digest",
            &digest,
        ],
    );
    drop(kiln);
}

#[test]
fn the_cli_lists_inspects_and_checks_plugins() {
    let plugins = plugin_dir();
    let cache = tempfile::tempdir().unwrap();
    let kiln = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(args)
            .env("KILN_CLI_CACHE_DIR", cache.path())
            .output()
            .unwrap()
    };
    let o = kiln(&[
        "plugins",
        "list",
        "--plugin-dir",
        plugins.path().to_str().unwrap(),
    ]);
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        list.lines()
            .any(|l| l.starts_with("directory ") && l.contains("builtin:directory")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("hostile ") && l.contains("hostile.wasm")),
        "{list}"
    );

    let file = plugins.path().join("hostile.wasm");
    let o = kiln(&["plugins", "check", file.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.starts_with("ok: ") && out.contains("plugin hostile"),
        "{out}"
    );

    let o = kiln(&["plugins", "inspect", "directory"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("name: directory") && out.contains("- name: recurse"),
        "{out}"
    );

    let junk = plugins.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x0d\0\x01\0garbage").unwrap();
    let o = kiln(&["plugins", "check", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("junk.wasm"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_files_and_requests_chain_a_krm_transformer() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "chain");
    repo.commit(
        &[
            ("labelled/cm.yaml", &configmap("a", "1")),
            (
                "labelled/kiln-pipeline.yaml",
                "generator:\n  engine: directory\ntransformers:\n  - engine: set-labels\n    config: {data: {team: payments}}\n",
            ),
            ("plain/cm.yaml", &configmap("b", "2")),
            ("broken/cm.yaml", &configmap("c", "3")),
            ("broken/kiln-pipeline.yaml", "transformers:\n  - engine: set-labels\n    config: {nothing: here}\n"),
            ("typo/cm.yaml", &configmap("d", "4")),
            ("typo/kiln-pipeline.yaml", "transformer: []\n"),
        ],
        "pipelines",
    );
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/*"]);
    let mut c = kiln.client().await;
    let url = daemon.url("chain");
    let list = c
        .list_plugins(ListPluginsRequest {})
        .await
        .unwrap()
        .into_inner()
        .plugins;
    assert!(list.iter().any(|p| p.name == "set-labels" && p.transformer));

    // Declared by the app's pipeline file.
    let msgs = generate(&mut c, gen_req(&url, "main", "labelled"))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&msgs[0].manifests[0]).unwrap();
    assert_eq!(v["metadata"]["labels"]["team"], "payments", "{v}");

    // Chosen per request.
    let mut req = gen_req(&url, "main", "plain");
    req.transformers
        .push(kiln_proto::kiln::v1::TransformerSpec {
            engine: "set-labels".into(),
            config_json: r#"{"labels": {"env": "prod", "tier": "web"}}"#.into(),
        });
    let msgs = generate(&mut c, req).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&msgs[0].manifests[0]).unwrap();
    assert_eq!(
        (
            v["metadata"]["labels"]["env"].as_str(),
            v["metadata"]["labels"]["tier"].as_str()
        ),
        (Some("prod"), Some("web"))
    );

    // A function's error result fails the render with its message.
    let e = generate(&mut c, gen_req(&url, "main", "broken"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("set-labels") && e.message().contains("functionConfig"),
        "{}",
        e.message()
    );
    // A malformed pipeline file names the file and the field.
    let e = generate(&mut c, gen_req(&url, "main", "typo"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("typo/kiln-pipeline.yaml") && e.message().contains("transformer"),
        "{}",
        e.message()
    );
    // A generator used as a transformer is refused.
    let mut req = gen_req(&url, "main", "plain");
    req.transformers
        .push(kiln_proto::kiln::v1::TransformerSpec {
            engine: "directory".into(),
            config_json: String::new(),
        });
    let e = generate(&mut c, req).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
}

/// The component with a custom section appended: the same code under a new
/// digest, as a rebuild with another toolchain would give.
fn rebuilt(component: &[u8], note: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"kiln-test-build";
    let mut payload = Vec::new();
    leb(name.len(), &mut payload);
    payload.extend_from_slice(name);
    payload.extend_from_slice(note.as_bytes());
    let mut out = component.to_vec();
    out.push(0); // custom section
    leb(payload.len(), &mut out);
    out.extend_from_slice(&payload);
    out
}

/// Writes a file the way a deployment tool does: a new file renamed over
/// the old one.
fn replace(path: &std::path::Path, bytes: &[u8]) {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn plugin_digests(c: &mut Client) -> Vec<(String, String)> {
    c.list_plugins(ListPluginsRequest {})
        .await
        .unwrap()
        .into_inner()
        .plugins
        .into_iter()
        .map(|p| (p.name, p.digest))
        .collect()
}

/// Polls ListPlugins until `done` holds (the server rescans every 100 ms).
async fn until_plugins(c: &mut Client, done: impl Fn(&[(String, String)]) -> bool) {
    for _ in 0..200 {
        if done(&plugin_digests(c).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("plugin set never changed: {:?}", plugin_digests(c).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_plugin_file_invalidates_exactly_its_cached_renders() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(
        &[
            ("plain/cm.yaml", &configmap("plain", "p")),
            (
                "greet/hello.yaml",
                "greetings:\n  - name: world\n    message: Hello, world\n",
            ),
        ],
        "apps",
    );
    let daemon = GitDaemon::start(root.path());
    let url = daemon.url("apps");
    let plugins = tempfile::tempdir().unwrap();
    let hello = plugins.path().join("hello.wasm");
    std::fs::write(&hello, kiln_plugins_builtin::testing::HELLO).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/*",
            "--plugin-dir",
            plugins.path().to_str().unwrap(),
            "--plugin-reload-interval",
            "100ms",
        ],
    );
    let mut c = kiln.client().await;
    let rc = c.clone();
    let render = |app: &'static str| {
        let mut c = rc.clone();
        let url = url.clone();
        async move {
            let m = generate(&mut c, gen_req(&url, "main", app)).await.unwrap();
            (
                m[0].engine.clone(),
                m[0].cached,
                m[0].input_digest.clone(),
                m[0].manifests.clone(),
            )
        }
    };
    let (engine, cached, greet_digest, greet_out) = render("greet").await;
    assert_eq!((engine.as_str(), cached), ("hello", false));
    let (engine, cached, plain_digest, _) = render("plain").await;
    assert_eq!((engine.as_str(), cached), ("directory", false));
    assert!(render("greet").await.1);

    // A new build of hello replaces the file in the running server.
    let new_build = rebuilt(kiln_plugins_builtin::testing::HELLO, "2");
    replace(&hello, &new_build);
    let new_digest = sha256_hex(&new_build);
    until_plugins(&mut c, |p| {
        p.iter().any(|(n, d)| n == "hello" && *d == new_digest)
    })
    .await;

    // Its render runs again (same code, so the same objects) under a new
    // input digest; the directory app's render is still served from cache.
    let (_, cached, digest, out) = render("greet").await;
    assert!(!cached);
    assert_ne!(digest, greet_digest);
    assert_eq!(out, greet_out);
    assert!(render("greet").await.1);
    let (_, cached, digest, _) = render("plain").await;
    assert!(cached);
    assert_eq!(digest, plain_digest);

    // A broken file is refused whole: the server keeps the plugins it has
    // and says which file and why.
    let broken = plugins.path().join("broken.wasm");
    replace(&broken, b"\0asm not really");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let names: Vec<String> = plugin_digests(&mut c)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        ["directory", "hello", "helm", "kustomize", "set-labels"]
    );
    assert!(render("greet").await.1);
    let log = kiln.log_text();
    assert!(
        log.contains("broken.wasm") && log.contains("not reloaded"),
        "{log}"
    );
    std::fs::remove_file(&broken).unwrap();

    // Added and removed plugins come and go.
    let hostile = plugins.path().join("hostile.wasm");
    replace(&hostile, kiln_plugins_builtin::testing::HOSTILE);
    until_plugins(&mut c, |p| p.iter().any(|(n, _)| n == "hostile")).await;
    std::fs::remove_file(&hello).unwrap();
    until_plugins(&mut c, |p| !p.iter().any(|(n, _)| n == "hello")).await;
    let e = {
        let mut req = gen_req(&url, "main", "greet");
        req.engine = "hello".into();
        generate(&mut c, req).await.unwrap_err()
    };
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
}
