//! A hostile-input suite against one live server: every attack gets its
//! precise status, well-behaved calls made during the attack succeed, the
//! server still answers afterwards, and nothing decrypted reaches its log.
//!
//! Path traversal, symlink escapes, an unknown revision, a repository not
//! allowed, a huge file and a kustomization that errors are also in
//! `errors.rs`; here they run concurrently with the rest of the attack.

use std::time::Duration;

use kiln_proto::kiln::v1::GenerateManifestsRequest;
use tonic::Code;

use crate::support::*;

/// An age identity no repository is encrypted to (a test key, generated
/// once with `age-keygen`).
const STRANGER_KEY: &str =
    "AGE-SECRET-KEY-1QLE55UQ9PFUYXCWCK97N33GLVKSVKW8J7VG7GP4VGE3FPMA8UF5Q6V5WN7\n";

/// Plaintext of `tests/sops/enc/secret.flux.enc.yaml` that must never be logged.
const PLAINTEXT: [&str; 4] = ["s3cr3t", "czNjcjN0LXA0c3M=", "cGF5bWVudHM=", "Zürich"];

fn sops_fixture(rel: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sops");
    std::fs::read_to_string(p.join(rel)).unwrap()
}

/// `levels` levels of aliases, each repeating the previous one nine times:
/// 9^levels strings once expanded.
fn billion_laughs(levels: usize) -> String {
    let mut s = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  l0: &l0 \"lol\"\n",
    );
    for i in 1..=levels {
        let prev = format!("*l{}", i - 1);
        let items = [prev.as_str(); 9].join(", ");
        s.push_str(&format!("  l{i}: &l{i} [{items}]\n"));
    }
    s
}

/// Raw bytes for a gRPC method: a codec that sends its input unchanged and
/// hands back whatever the server sends.
#[derive(Clone, Copy)]
struct Raw;

impl tonic::codec::Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl tonic::codec::Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let n = bytes::Buf::remaining(src);
        let mut out = vec![0; n];
        bytes::Buf::copy_to_slice(src, &mut out);
        Ok(Some(out))
    }
}

/// Sends `body` as the message of GenerateManifests; the status it ends with.
async fn raw_generate(url: &str, body: Vec<u8>) -> Result<usize, tonic::Status> {
    raw_call(url, "/kiln.v1.RepoServer/GenerateManifests", body).await
}

/// Sends `body` as the request message of the RPC at `path`; counts the
/// answers.
async fn raw_call(url: &str, path: &'static str, body: Vec<u8>) -> Result<usize, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static(path);
    let mut stream = grpc
        .server_streaming(tonic::Request::new(body), path, Raw)
        .await?
        .into_inner();
    let mut n = 0;
    while stream.message().await?.is_some() {
        n += 1;
    }
    Ok(n)
}

fn with(mut req: GenerateManifestsRequest, params: &[(&str, &str)]) -> GenerateManifestsRequest {
    for (k, v) in params {
        req.parameters.insert((*k).into(), (*v).into());
    }
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_get_precise_statuses_while_good_calls_succeed() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    let deep = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: {}{}\n",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let huge = "x".repeat(2 << 20);
    let flux = sops_fixture("enc/secret.flux.enc.yaml");
    // Changing an unencrypted value breaks the MAC over the whole document.
    let tampered = flux.replacen(
        "app.kubernetes.io/part-of: shop",
        "app.kubernetes.io/part-of: sh0p",
        1,
    );
    assert_ne!(tampered, flux);
    repo.commit(
        &[
            ("good/cm.yaml", &configmap("good", "1")),
            ("laughs/cm.yaml", &billion_laughs(9)),
            ("deep/cm.yaml", &deep),
            ("huge/cm.yaml", &configmap("huge", &huge)),
            ("custom/hostile.yaml", "kind: marker\n"),
            ("kust/kustomization.yaml", "resources: [../../../etc]\n"),
            ("chart/Chart.yaml", "apiVersion: v2\nname: bad\nversion: 1.0.0\n"),
            (
                "chart/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  host: {{ required \"values.host is required\" .Values.host }}\n",
            ),
            ("secret/secret.enc.yaml", &flux),
            ("tampered/secret.enc.yaml", &tampered),
        ],
        "hostile fixtures",
    );
    std::os::unix::fs::symlink("../../../../etc/passwd", repo.dir.join("good/escape.yaml"))
        .unwrap();
    repo.commit(&[], "escape");
    let good_sha = {
        let r = Repo::init(root.path(), "clean");
        r.commit(&[("app/cm.yaml", &configmap("clean", "1"))], "clean")
    };
    Repo::init(root.path(), "forbidden").commit(&[("a.yaml", &configmap("a", "1"))], "x");
    // The same encrypted file in a repository whose rule names a key it is
    // not encrypted to.
    Repo::init(root.path(), "stranger").commit(&[("secret/secret.enc.yaml", &flux)], "x");
    let daemon = GitDaemon::start(root.path());

    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(
        plugins.path().join("hostile.wasm"),
        kiln_plugins_builtin::testing::HOSTILE,
    )
    .unwrap();
    let keys = tempfile::tempdir().unwrap();
    let stranger = keys.path().join("stranger.txt");
    std::fs::write(&stranger, STRANGER_KEY).unwrap();
    let config = root.path().join("kiln.yaml");
    let age1 = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/sops/keys/age-test-1.txt");
    std::fs::write(
        &config,
        format!(
            "secrets:\n  cache: false\n  keys:\n    - name: apps\n      file: {}\n    - name: stranger\n      file: {}\n  rules:\n    - repos: [\"git://127.0.0.1:*/apps\"]\n      keys: [apps]\n    - repos: [\"git://127.0.0.1:*/stranger\"]\n      keys: [stranger]\n",
            age1.display(),
            stranger.display()
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/apps,git://127.0.0.1:*/clean,git://127.0.0.1:*/stranger",
            "--config",
            config.to_str().unwrap(),
            "--plugin-dir",
            plugins.path().to_str().unwrap(),
            "--plugin-deadline",
            "2s",
            "--plugin-max-output",
            "1048576",
            "--max-file-size",
            "1048576",
            "--log",
            "warn,kiln=trace,kiln_render=trace,kiln_secrets=trace,kiln_sops=trace,kiln_plugin_host=trace,kiln_server=trace,kiln_source=trace",
        ],
    );
    let c = kiln.client().await;
    let apps = daemon.url("apps");
    let clean = daemon.url("clean");
    // Warm the mirrors so the attack below is about rendering.
    generate(&mut c.clone(), gen_req(&clean, "main", "app"))
        .await
        .unwrap();

    // Well-behaved callers keep rendering for the whole attack.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut good = Vec::new();
    for i in 0..3 {
        let (mut c, clean, stop) = (c.clone(), clean.clone(), stop.clone());
        good.push(tokio::spawn(async move {
            let mut ok = 0usize;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let mut req = gen_req(&clean, "main", "app");
                // Distinct namespaces: real renders, not only cache hits.
                req.namespace = format!("good-{i}-{}", ok % 5);
                let msgs = generate(&mut c, req).await.expect("a good call failed");
                assert_eq!(msgs[0].total_manifests, 1);
                ok += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            ok
        }));
    }

    let cases: Vec<(&str, GenerateManifestsRequest, Code, &str)> = vec![
        (
            "path traversal",
            gen_req(&apps, "main", "../../etc"),
            Code::InvalidArgument,
            "",
        ),
        (
            "symlink escape",
            gen_req(&apps, "main", "good"),
            Code::InvalidArgument,
            "good/escape.yaml",
        ),
        (
            "billion laughs",
            gen_req(&apps, "main", "laughs"),
            Code::InvalidArgument,
            "laughs/cm.yaml",
        ),
        (
            "deep nesting",
            gen_req(&apps, "main", "deep"),
            Code::InvalidArgument,
            "more than 1024 nested flow collections",
        ),
        (
            "huge file",
            gen_req(&apps, "main", "huge"),
            Code::ResourceExhausted,
            "max-file-size",
        ),
        (
            "huge output",
            with(gen_req(&apps, "main", "custom"), &[("mode", "flood")]),
            Code::ResourceExhausted,
            "hostile",
        ),
        (
            "looping plugin",
            with(gen_req(&apps, "main", "custom"), &[("mode", "loop")]),
            Code::DeadlineExceeded,
            "plugin-deadline",
        ),
        (
            "unknown revision",
            gen_req(&apps, "no-such-branch", "good"),
            Code::NotFound,
            "no-such-branch",
        ),
        (
            "repository not allowed",
            gen_req(&daemon.url("forbidden"), "main", ""),
            Code::PermissionDenied,
            "forbidden",
        ),
        (
            "kustomization escaping the repository",
            gen_req(&apps, "main", "kust"),
            Code::InvalidArgument,
            "kust/kustomization.yaml",
        ),
        (
            "chart template error",
            with(gen_req(&apps, "main", "chart"), &[("release-name", "bad")]),
            Code::InvalidArgument,
            "values.host is required",
        ),
        (
            "tampered SOPS file",
            gen_req(&apps, "main", "tampered"),
            Code::InvalidArgument,
            "tampered/secret.enc.yaml",
        ),
        (
            "SOPS file with no matching key",
            gen_req(&daemon.url("stranger"), "main", "secret"),
            Code::PermissionDenied,
            "secret/secret.enc.yaml",
        ),
    ];
    let mut attacks = Vec::new();
    for (name, req, code, needle) in cases {
        let mut c = c.clone();
        attacks.push(tokio::spawn(async move {
            let e = generate(&mut c, req)
                .await
                .map(|m| m.len())
                .expect_err(name);
            assert_eq!(e.code(), code, "{name}: {e:?}");
            assert!(e.message().contains(needle), "{name}: {}", e.message());
            for p in PLAINTEXT {
                assert!(!e.message().contains(p), "{name}: {}", e.message());
            }
        }));
    }
    // Malformed protobuf: truncated varints, a wrong wire type, a length
    // past the end, garbage; each one INVALID_ARGUMENT, never a crash, on
    // both services.
    let url = kiln.channel_url();
    for body in [
        vec![
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![0x0a, 0x80],
        vec![0x0d, 1, 2],
        vec![0x0a, 0x7f, b'x'],
        vec![0xff; 64],
        // A field number 0 is invalid in every message.
        vec![0x00, 0x01],
    ] {
        for path in [
            "/kiln.v1.RepoServer/GenerateManifests",
            "/repository.RepoServerService/GenerateManifest",
        ] {
            let e = raw_call(&url, path, body.clone()).await.unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{path} {body:?}: {e:?}");
            assert!(
                e.message().contains("malformed protobuf message"),
                "{path} {body:?}: {e:?}"
            );
        }
    }
    // A well-formed message with an invalid UTF-8 string field.
    let e = raw_generate(&url, vec![0x0a, 0x02, 0xff, 0xfe])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    for a in attacks {
        a.await.unwrap();
    }
    // The real secret still decrypts for its repository (so that the log
    // check below is meaningful).
    let msgs = generate(&mut c.clone(), gen_req(&apps, "main", "secret"))
        .await
        .unwrap();
    assert!(
        msgs[0]
            .manifests
            .iter()
            .any(|m| m.contains("czNjcjN0LXA0c3M="))
    );

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for g in good {
        let ok = g.await.unwrap();
        assert!(ok >= 3, "only {ok} good calls during the attack");
    }

    // Still up and answering.
    let mut c2 = kiln.client().await;
    let msgs = generate(&mut c2, gen_req(&clean, &good_sha, "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].total_manifests, 1);
    let mut kiln = kiln;
    assert!(kiln.is_running());
    let log = kiln.log_text();
    for p in PLAINTEXT {
        assert!(!log.contains(p), "{p} in the server log");
    }
}
