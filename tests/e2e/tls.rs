//! TLS and mutual TLS on the `kiln serve` listener, for `kiln.v1` and Argo
//! CD's `repository.RepoServerService` alike: certificates from a CA made
//! in the test (rcgen), a self-signed certificate made by the server, the
//! `kiln` client's TLS flags, and the Argo CD API's deadline status.

use std::{path::PathBuf, process::Command, time::Duration};

use kiln_argocd::proto::repository::{
    self as argo, repo_server_service_client::RepoServerServiceClient,
};
use kiln_proto::kiln::v1::{ResolveRevisionRequest, repo_server_client::RepoServerClient};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use crate::{
    argocd::{git_source, manifest_request, repository},
    support::*,
};

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.as_ref().pem()
    }

    /// A leaf certificate and key (PEM) for `names`, for a server or a client.
    fn leaf(&self, names: &[&str], client: bool) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Writes PEM files into a temporary folder.
struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Files {
        Files(tempfile::tempdir().unwrap())
    }

    fn put(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Writes `name.crt` and `name.key`; returns their paths as strings.
    fn pair(&self, name: &str, (cert, key): (String, String)) -> (String, String) {
        let c = self.put(&format!("{name}.crt"), &cert);
        let k = self.put(&format!("{name}.key"), &key);
        (c.display().to_string(), k.display().to_string())
    }
}

/// A repository with one directory app, served by `git daemon`.
fn served_repo(root: &std::path::Path) -> (GitDaemon, String, String) {
    let repo = Repo::init(root, "apps");
    let head = repo.commit(&[("web/cm.yaml", &configmap("web", "1"))], "first");
    let daemon = GitDaemon::start(root);
    let url = daemon.url("apps");
    (daemon, url, head)
}

fn start_kiln(cache: &std::path::Path, tls: &[&str]) -> Kiln {
    let mut args = vec!["--allow-repo", "git://127.0.0.1:*/**"];
    args.extend_from_slice(tls);
    Kiln::start(cache, &args)
}

/// A TLS channel to `kiln` trusting `ca`, presenting `identity` if given.
async fn tls_channel(
    kiln: &Kiln,
    ca: &str,
    identity: Option<&(String, String)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    if let Some((c, k)) = identity {
        tls = tls.identity(Identity::from_pem(c, k));
    }
    Endpoint::from_shared(format!("https://{}", kiln.addr))
        .unwrap()
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// ResolveRevision over kiln.v1 on `channel`.
async fn kiln_resolve(channel: Channel, url: &str) -> Result<String, tonic::Status> {
    RepoServerClient::new(channel)
        .resolve_revision(ResolveRevisionRequest {
            repo_url: url.into(),
            revision: "main".into(),
        })
        .await
        .map(|r| r.into_inner().commit_sha)
}

/// `kiln resolve --server` with extra client flags; (success, stdout, stderr).
fn cli_resolve(kiln: &Kiln, url: &str, flags: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["resolve", "--repo", url, "--revision", "main", "--server"])
        .arg(&kiln.addr)
        .args(flags)
        .env_remove("KILN_SERVER")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_kiln_v1_and_argocd_with_a_certificate_from_files() {
    let root = tempfile::tempdir().unwrap();
    let (_daemon, url, head) = served_repo(root.path());
    let ca = Ca::new("kiln test CA");
    let files = Files::new();
    let ca_file = files.put("ca.crt", &ca.pem());
    let (cert, key) = files.pair("server", ca.leaf(&["localhost", "127.0.0.1"], false));
    let cache = tempfile::tempdir().unwrap();
    let kiln = start_kiln(cache.path(), &["--tls-cert", &cert, "--tls-key", &key]);

    // kiln.v1 over TLS.
    let channel = tls_channel(&kiln, &ca.pem(), None).await.unwrap();
    assert_eq!(kiln_resolve(channel.clone(), &url).await.unwrap(), head);

    // Argo CD's API on the same listener, with Argo CD's message size.
    let mut argo =
        RepoServerServiceClient::new(channel.clone()).max_decoding_message_size(100 << 20);
    let res = argo
        .generate_manifest(manifest_request(&url, git_source(&url, "web", "main")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(res.revision, head);
    assert_eq!(res.manifests.len(), 1);
    argo.test_repository(argo::TestRepositoryRequest {
        repo: Some(repository(&url)),
    })
    .await
    .unwrap();

    // Health names both services.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for service in ["", "kiln.v1.RepoServer", "repository.RepoServerService"] {
        let mut serving = false;
        for _ in 0..50 {
            if let Ok(r) = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: service.into(),
                })
                .await
                && r.into_inner().status
                    == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            {
                serving = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(serving, "health of {service:?} not SERVING");
    }

    // The CLI verifies against --tls-ca.
    let ca_arg = ca_file.display().to_string();
    let (ok, out, err) = cli_resolve(&kiln, &url, &["--tls-ca", &ca_arg]);
    assert!(ok, "{err}");
    assert_eq!(out, head);

    // A plaintext client gets nothing, and neither does one trusting another CA.
    let plain = async {
        let ch = Endpoint::from_shared(kiln.channel_url())
            .unwrap()
            .connect()
            .await?;
        kiln_resolve(ch, &url)
            .await
            .map_err(|s| s.to_string().into())
    };
    let plain: Result<String, Box<dyn std::error::Error>> = plain.await;
    assert!(plain.is_err(), "plaintext call succeeded against TLS");
    let other = Ca::new("other CA");
    let refused = match tls_channel(&kiln, &other.pem(), None).await {
        Ok(ch) => kiln_resolve(ch, &url).await.is_err(),
        Err(_) => true,
    };
    assert!(refused, "a client trusting another CA accepted the server");
    assert!(kiln.log_text().contains("TLS with the given certificate"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_accepts_only_client_certificates_from_the_ca() {
    let root = tempfile::tempdir().unwrap();
    let (_daemon, url, head) = served_repo(root.path());
    let ca = Ca::new("kiln test CA");
    let other = Ca::new("another CA");
    let files = Files::new();
    let ca_file = files.put("ca.crt", &ca.pem()).display().to_string();
    let (cert, key) = files.pair("server", ca.leaf(&["localhost", "127.0.0.1"], false));
    let good = ca.leaf(&["argocd-application-controller"], true);
    let bad = other.leaf(&["intruder"], true);
    let cache = tempfile::tempdir().unwrap();
    let kiln = start_kiln(
        cache.path(),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca_file,
        ],
    );

    // With a certificate from the CA: both APIs answer.
    let ch = tls_channel(&kiln, &ca.pem(), Some(&good)).await.unwrap();
    assert_eq!(kiln_resolve(ch.clone(), &url).await.unwrap(), head);
    let res = RepoServerServiceClient::new(ch)
        .max_decoding_message_size(100 << 20)
        .generate_manifest(manifest_request(&url, git_source(&url, "web", "main")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(res.revision, head);

    // Without a certificate, or with one from another CA: refused (by the
    // handshake, or on the first call since TLS 1.3 reports it late).
    for (what, identity) in [("no certificate", None), ("another CA", Some(&bad))] {
        let refused = match tls_channel(&kiln, &ca.pem(), identity).await {
            Ok(ch) => kiln_resolve(ch, &url).await.is_err(),
            Err(_) => true,
        };
        assert!(refused, "a client with {what} was served");
    }

    // The CLI with and without its client certificate.
    let good_files = files.pair("client", good.clone());
    let (ok, out, err) = cli_resolve(
        &kiln,
        &url,
        &[
            "--tls-ca",
            &ca_file,
            "--tls-cert",
            &good_files.0,
            "--tls-key",
            &good_files.1,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out, head);
    let (ok, _, err) = cli_resolve(&kiln, &url, &["--tls-ca", &ca_file]);
    assert!(!ok, "the CLI without a client certificate was served");
    assert_eq!(err.lines().count(), 1, "one-line error: {err}");
    // The server keeps serving good clients after refusing bad ones.
    let ch = tls_channel(&kiln, &ca.pem(), Some(&good)).await.unwrap();
    assert_eq!(kiln_resolve(ch, &url).await.unwrap(), head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_is_made_at_start() {
    let root = tempfile::tempdir().unwrap();
    let (_daemon, url, head) = served_repo(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = start_kiln(cache.path(), &["--tls-self-signed"]);
    assert!(kiln.log_text().contains("self-signed certificate"));

    // Reachable with verification off (as Argo CD does without --repo-server-strict-tls).
    let (ok, out, err) = cli_resolve(&kiln, &url, &["--insecure-skip-verify"]);
    assert!(ok, "{err}");
    assert_eq!(out, head);

    // Not trusted by a client that verifies, nor reachable in plaintext.
    let ca = Ca::new("unrelated CA");
    let refused = match tls_channel(&kiln, &ca.pem(), None).await {
        Ok(ch) => kiln_resolve(ch, &url).await.is_err(),
        Err(_) => true,
    };
    assert!(
        refused,
        "a verifying client accepted the self-signed certificate"
    );
    let (ok, _, _) = cli_resolve(&kiln, &url, &[]);
    assert!(!ok, "a plaintext call succeeded against TLS");
}

#[test]
fn tls_flags_that_do_not_fit_stop_the_server() {
    let files = Files::new();
    let junk = files
        .put("junk.pem", "not a certificate")
        .display()
        .to_string();
    let cache = tempfile::tempdir().unwrap();
    for (args, want) in [
        (
            vec!["--tls-cert", junk.as_str()],
            "--tls-cert and --tls-key",
        ),
        (
            vec!["--tls-cert", junk.as_str(), "--tls-key", junk.as_str()],
            "holds no PEM certificate",
        ),
        (
            vec!["--tls-client-ca", junk.as_str()],
            "needs a server certificate",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["serve", "--listen", "127.0.0.1:0", "--cache-dir"])
            .arg(cache.path())
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argocd_caller_deadline_is_deadline_exceeded() {
    let root = tempfile::tempdir().unwrap();
    big_repo(root.path(), "slow", 4);
    let daemon = GitDaemon::start(root.path());
    let proxy = Proxy::start(daemon.port, 256 << 10);
    let cache = tempfile::tempdir().unwrap();
    let kiln = start_kiln(cache.path(), &[]);
    let url = format!("git://127.0.0.1:{}/slow", proxy.port);
    let mut argo = RepoServerServiceClient::connect(kiln.channel_url())
        .await
        .unwrap();
    let mut req = tonic::Request::new(manifest_request(&url, git_source(&url, "app", "main")));
    req.set_timeout(Duration::from_millis(500));
    let started = std::time::Instant::now();
    let e = argo.generate_manifest(req).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    assert!(e.message().contains("GenerateManifest"), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(daemon);
}
