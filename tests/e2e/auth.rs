//! Caller authentication and limits against a real `kiln serve`: bearer
//! tokens with repository patterns and a secrets permission (kiln.v1, the
//! Argo CD front end and the CLI), per-caller rate limits, and the bounded
//! render queue (full → RESOURCE_EXHAUSTED, a deadline that cannot be met →
//! DEADLINE_EXCEEDED).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use kiln_argocd::proto::repository::{
    self as argo, repo_server_service_client::RepoServerServiceClient,
};
use kiln_proto::kiln::v1::{ListPluginsRequest, ResolveRevisionRequest};
use tonic::{Code, Request};

use crate::support::*;

const TOKEN_A: &str = "team-a-7f3c9e1d2b";
const TOKEN_OPS: &str = "ops-token-51aa09";

fn sops_fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/sops")
        .join(rel)
}

fn with_token<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

fn sha256_hex(s: &str) -> String {
    kiln_server::auth::token_sha256(s)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Repositories `a` (a plain app and one with a SOPS file) and `b`, and a
/// server whose tokens allow team-a only `a` without secrets, ops all.
fn start_with_tokens(root: &Path) -> (GitDaemon, tempfile::TempDir, Kiln) {
    let secret = std::fs::read_to_string(sops_fixture("enc/secret.flux.enc.yaml")).unwrap();
    let a = Repo::init(root, "a");
    a.commit(
        &[
            ("plain/cm.yaml", &configmap("plain", "1")),
            ("secret/secret.enc.yaml", &secret),
        ],
        "apps",
    );
    Repo::init(root, "b").commit(&[("plain/cm.yaml", &configmap("b", "1"))], "b");
    let daemon = GitDaemon::start(root);
    let token_file = root.join("team-a.token");
    std::fs::write(&token_file, format!("{TOKEN_A}\n")).unwrap();
    let config = root.join("kiln.yaml");
    std::fs::write(
        &config,
        format!(
            "secrets:\n  cache: false\n  keys:\n    - name: k\n      file: {key}\n  rules:\n    - repos: [\"git://127.0.0.1:*/a\"]\n      keys: [k]\n\
             auth:\n  tokens:\n    - name: team-a\n      tokenFile: {tf}\n      repositories: [\"git://127.0.0.1:*/a\"]\n    - name: ops\n      tokenSha256: {ops}\n      repositories: [\"**\"]\n      secrets: true\n",
            key = sops_fixture("keys/age-test-1.txt").display(),
            tf = token_file.display(),
            ops = sha256_hex(TOKEN_OPS),
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::with_config(cache.path(), &config);
    (daemon, cache, kiln)
}

fn configmap(name: &str, v: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  v: \"{v}\"\n")
}

async fn generate_with(
    client: &mut Client,
    token: Option<&str>,
    repo: &str,
    path: &str,
) -> Result<Vec<kiln_proto::kiln::v1::GenerateManifestsResponse>, tonic::Status> {
    let req = gen_req(repo, "main", path);
    let req = match token {
        Some(t) => with_token(req, t),
        None => Request::new(req),
    };
    let mut stream = client.generate_manifests(req).await?.into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.message().await? {
        out.push(m);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_gate_callers_repositories_and_secrets() {
    let root = tempfile::tempdir().unwrap();
    let (daemon, _cache, kiln) = start_with_tokens(root.path());
    let (url_a, url_b) = (daemon.url("a"), daemon.url("b"));
    let mut client = kiln.client().await;

    // No token, a wrong token, a malformed header: UNAUTHENTICATED.
    let e = generate_with(&mut client, None, &url_a, "plain")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let e = generate_with(&mut client, Some("not-a-token"), &url_a, "plain")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let mut basic = Request::new(ListPluginsRequest {});
    basic
        .metadata_mut()
        .insert("authorization", "Basic dXNlcjpwdw==".parse().unwrap());
    assert_eq!(
        client.list_plugins(basic).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // team-a: repository a only.
    let ok = generate_with(&mut client, Some(TOKEN_A), &url_a, "plain")
        .await
        .unwrap();
    assert_eq!(ok[0].total_manifests, 1);
    let e = generate_with(&mut client, Some(TOKEN_A), &url_b, "plain")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains(&url_b), "{}", e.message());
    assert!(e.message().contains("team-a"), "{}", e.message());
    let e = client
        .resolve_revision(with_token(
            ResolveRevisionRequest {
                repo_url: url_b.clone(),
                revision: "main".into(),
            },
            TOKEN_A,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // A render that decrypted: refused to team-a, given to ops.
    let e = generate_with(&mut client, Some(TOKEN_A), &url_a, "secret")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("secrets"), "{}", e.message());
    let ok = generate_with(&mut client, Some(TOKEN_OPS), &url_a, "secret")
        .await
        .unwrap();
    assert_eq!(ok[0].total_manifests, 1);
    let ok = generate_with(&mut client, Some(TOKEN_OPS), &url_b, "plain")
        .await
        .unwrap();
    assert_eq!(ok[0].total_manifests, 1);

    // Health needs no token.
    let channel = tonic::transport::Channel::from_shared(kiln.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let h = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        h.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // The Argo CD front end goes through the same checks.
    let mut argo_client = RepoServerServiceClient::new(channel);
    let resolve = |url: &str| argo::ResolveRevisionRequest {
        repo: Some(crate::argocd::repository(url)),
        app: None,
        ambiguous_revision: "main".into(),
        source_index: 0,
        no_revision_cache: false,
    };
    let e = argo_client
        .resolve_revision(resolve(&url_a))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let e = argo_client
        .resolve_revision(with_token(resolve(&url_b), TOKEN_A))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains(&url_b), "{}", e.message());
    let r = argo_client
        .resolve_revision(with_token(resolve(&url_a), TOKEN_A))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.revision.len(), 40);

    // The CLI sends --token-file.
    let token_file = root.path().join("team-a.token");
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["get", "plain", "--repo", &url_a, "--server"])
        .arg(kiln.channel_url())
        .arg("--token-file")
        .arg(&token_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("name: plain"));
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["resolve", "--repo", &url_b, "--server"])
        .arg(kiln.channel_url())
        .arg("--token-file")
        .arg(&token_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PermissionDenied"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Tokens never reach the log.
    let log = kiln.log_text();
    assert!(!log.contains(TOKEN_A) && !log.contains(TOKEN_OPS) && !log.contains("not-a-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_caller() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("kiln.yaml");
    std::fs::write(&config, "limits:\n  ratePerSecond: 0.2\n  burst: 3\n").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--config", config.to_str().unwrap()]);
    let mut client = kiln.client().await;
    for _ in 0..3 {
        client.list_plugins(ListPluginsRequest {}).await.unwrap();
    }
    let e = client
        .list_plugins(ListPluginsRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("rate limit"), "{}", e.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_queue_refuses_when_full_or_too_late() {
    let root = tempfile::tempdir().unwrap();
    // Incompressible content, fetched through a throttled proxy, keeps a
    // render (its fetch) in the only render slot for a while.
    let mut noise = String::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 1_200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push_str(&format!("{x:016x}"));
    }
    for name in ["slow1", "slow2"] {
        Repo::init(root.path(), name).commit(
            &[
                ("app/cm.yaml", &configmap(name, "1")),
                ("noise.txt", &noise),
            ],
            "slow",
        );
    }
    let daemon = GitDaemon::start(root.path());
    let proxy = Proxy::start(daemon.port, 200_000);
    let url = |name: &str| format!("git://127.0.0.1:{}/{name}", proxy.port);
    let config = root.path().join("kiln.yaml");
    std::fs::write(
        &config,
        "limits:\n  renderConcurrency: 1\n  renderQueue: 2\n",
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::with_config(cache.path(), &config);
    let slow = |name: &'static str, timeout: Option<Duration>| {
        let url = url(name);
        let addr = kiln.channel_url();
        tokio::spawn(async move {
            let mut c = Client::connect(addr).await.unwrap();
            let mut req = Request::new(gen_req(&url, "main", "app"));
            if let Some(t) = timeout {
                req.set_timeout(t);
            }
            let started = Instant::now();
            let r = async {
                let mut s = c.generate_manifests(req).await?.into_inner();
                while s.message().await?.is_some() {}
                Ok::<_, tonic::Status>(())
            }
            .await;
            (
                r.map_err(|s| (s.code(), s.message().to_owned())),
                started.elapsed(),
            )
        })
    };
    // The first render holds the slot.
    let first = slow("slow1", None);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A short deadline waits, then gets DEADLINE_EXCEEDED.
    let (r, took) = slow("slow1", Some(Duration::from_millis(300)))
        .await
        .unwrap();
    assert_eq!(
        r.as_ref().map_err(|e| e.0),
        Err(Code::DeadlineExceeded),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Two wait with long deadlines: the queue is full.
    let waiting = [
        slow("slow1", Some(Duration::from_secs(60))),
        slow("slow1", Some(Duration::from_secs(60))),
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (r, took) = slow("slow1", Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(
        r.as_ref().map_err(|e| e.0),
        Err(Code::ResourceExhausted),
        "{r:?}"
    );
    assert!(r.unwrap_err().1.contains("render queue is full"));
    assert!(took < Duration::from_secs(1), "{took:?}");
    let (r, slow_took) = first.await.unwrap();
    r.unwrap();
    assert!(
        slow_took > Duration::from_secs(1),
        "the fetch was not slow: {slow_took:?}"
    );
    for w in waiting {
        w.await.unwrap().0.unwrap();
    }

    // Now the server knows a render takes seconds: with one running, a
    // deadline of a fraction of that is refused at once.
    let second = slow("slow2", None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (r, took) = slow("slow2", Some(Duration::from_millis(400)))
        .await
        .unwrap();
    let (code, msg) = r.unwrap_err();
    assert_eq!(code, Code::DeadlineExceeded, "{msg}");
    assert!(msg.contains("cannot be met"), "{msg}");
    assert!(took < Duration::from_millis(300), "{took:?}");
    second.await.unwrap().0.unwrap();
}

/// A CA, a server certificate for 127.0.0.1, and client certificates with
/// the given common names (PEM: ca, (cert, key) of the server, of each client).
type Pair = (String, String);
fn pki(clients: &[&str]) -> (String, Pair, Vec<Pair>) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "auth test CA");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |names: Vec<String>, cn: &str, client: bool| {
        let mut p = CertificateParams::new(names).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let server = leaf(vec!["127.0.0.1".into()], "kiln", false);
    let clients = clients.iter().map(|cn| leaf(vec![], cn, true)).collect();
    (ca.as_ref().pem(), server, clients)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_client_subjects_get_their_grant_without_a_token() {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

    let root = tempfile::tempdir().unwrap();
    Repo::init(root.path(), "a").commit(&[("plain/cm.yaml", &configmap("a", "1"))], "a");
    Repo::init(root.path(), "b").commit(&[("plain/cm.yaml", &configmap("b", "1"))], "b");
    let daemon = GitDaemon::start(root.path());
    let (ca, (cert, key), clients) = pki(&["argocd-repo-server", "stranger"]);
    let put = |name: &str, text: &str| {
        let p = root.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let config = put(
        "kiln.yaml",
        "auth:\n  clients:\n    - name: argocd\n      subject: \"CN=argocd-repo-server\"\n      repositories: [\"git://127.0.0.1:*/a\"]\n",
    );
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/*",
            "--config",
            &config,
            "--tls-cert",
            &put("server.crt", &cert),
            "--tls-key",
            &put("server.key", &key),
            "--tls-client-ca",
            &put("ca.crt", &ca),
        ],
    );
    let channel = |identity: &Pair| {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&ca))
            .identity(Identity::from_pem(&identity.0, &identity.1));
        let url = format!("https://{}", kiln.addr);
        async move {
            Endpoint::from_shared(url)
                .unwrap()
                .tls_config(tls)
                .unwrap()
                .connect()
                .await
                .unwrap()
        }
    };
    let resolve = |url: String| argo::ResolveRevisionRequest {
        repo: Some(crate::argocd::repository(&url)),
        app: None,
        ambiguous_revision: "main".into(),
        source_index: 0,
        no_revision_cache: false,
    };
    let mut argocd = RepoServerServiceClient::new(channel(&clients[0]).await);
    let r = argocd
        .resolve_revision(resolve(daemon.url("a")))
        .await
        .unwrap();
    assert_eq!(r.into_inner().revision.len(), 40);
    let e = argocd
        .resolve_revision(resolve(daemon.url("b")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("argocd"), "{}", e.message());
    let mut stranger = RepoServerServiceClient::new(channel(&clients[1]).await);
    let e = stranger
        .resolve_revision(resolve(daemon.url("a")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_files_reload_while_serving() {
    let root = tempfile::tempdir().unwrap();
    let (daemon, _cache, kiln) = start_with_tokens(root.path());
    let url_a = daemon.url("a");
    let mut client = kiln.client().await;
    let token_file = root.path().join("team-a.token");
    let hangup = || {
        let ok = Command::new("kill")
            .args(["-HUP", &kiln.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    generate_with(&mut client, Some(TOKEN_A), &url_a, "plain")
        .await
        .unwrap();

    // The token is rotated in its file: the new one is accepted and the old
    // one refused, without a restart (SIGHUP here; the periodic look would
    // find it within --auth-reload-interval too).
    const ROTATED: &str = "team-a-rotated-0042";
    std::fs::write(&token_file, format!("{ROTATED}\n")).unwrap();
    hangup();
    let start = Instant::now();
    while generate_with(&mut client, Some(ROTATED), &url_a, "plain")
        .await
        .is_err()
    {
        assert!(start.elapsed() < Duration::from_secs(20), "never reloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let e = generate_with(&mut client, Some(TOKEN_A), &url_a, "plain")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");

    // A broken file (empty) is not put in force: the rotated token keeps
    // working and the log names the file and the cause.
    std::fs::write(&token_file, "").unwrap();
    hangup();
    let start = Instant::now();
    let line = loop {
        let found = kiln
            .log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("auth not reloaded"))
            .cloned();
        if let Some(l) = found {
            break l;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no reload error logged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        line.contains("team-a.token") && line.contains("is empty"),
        "{line}"
    );
    generate_with(&mut client, Some(ROTATED), &url_a, "plain")
        .await
        .unwrap();
}
