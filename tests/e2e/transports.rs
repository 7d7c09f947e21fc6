//! Smart HTTP with basic auth from the credentials file.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_http_with_credentials_never_logged() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "private.git");
    let head = repo.commit(&[("app/cm.yaml", &configmap("private", "p"))], "one");
    let http = HttpGit::start(root.path(), Some(("robot", "s3cr3t-t0ken-XYZ")));
    let url = http.url("private.git");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cr3t-t0ken-XYZ\n").unwrap();
    let config = dir.path().join("kiln.yaml");
    std::fs::write(
        &config,
        format!("credentials:\n  - url: http://127.0.0.1:*/private\n    username: robot\n    passwordFile: {}\n", token.display()),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "http://127.0.0.1:*/**",
            "--config",
            config.to_str().unwrap(),
            "--log",
            "trace,cranelift_codegen=off,regalloc2=off,wasmtime=off,wasmtime_cranelift=off,wasmtime_environ=off",
        ],
    );
    let mut c = kiln.client().await;
    let msgs = generate(&mut c, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].commit_sha, head);
    assert!(msgs[0].manifests[0].contains("private"));

    // Without credentials the same repository is refused by the remote.
    let cache2 = tempfile::tempdir().unwrap();
    let anon = Kiln::start(cache2.path(), &["--allow-repo", "http://127.0.0.1:*/**"]);
    let mut c2 = anon.client().await;
    let e = generate(&mut c2, gen_req(&url, "main", "app"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
    assert!(
        e.message().contains(&url.replace(".git", "")),
        "{}",
        e.message()
    );

    for log in [kiln.log_text(), anon.log_text()] {
        assert!(
            !log.contains("s3cr3t-t0ken-XYZ"),
            "the token leaked into a log"
        );
    }
}

/// An sshd of our own on 127.0.0.1 accepting one key, for the ssh transport.
struct Sshd {
    child: std::process::Child,
    port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &std::path::Path) {
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "kiln-test", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen");
}

fn start_sshd(dir: &std::path::Path, client_pub: &str) -> Option<Sshd> {
    let sshd = std::path::Path::new("/usr/sbin/sshd");
    if !sshd.exists() {
        assert!(
            std::env::var_os("KILN_REQUIRE_SSHD").is_none(),
            "KILN_REQUIRE_SSHD is set but /usr/sbin/sshd is missing (apt-get install openssh-server)"
        );
        eprintln!(
            "SKIPPED ssh transport test: /usr/sbin/sshd is not installed (CI installs openssh-server)"
        );
        return None;
    }
    // sshd insists on its privilege-separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    keygen(&dir.join("host_key"));
    std::fs::write(dir.join("authorized_keys"), client_pub).unwrap();
    let port = free_port();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile {d}/sshd.pid\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "sshd did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(Sshd { child, port })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_with_a_key_file_and_pinned_host_key() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "over-ssh");
    let head = repo.commit(&[("app/cm.yaml", &configmap("ssh", "s"))], "one");
    let keys = tempfile::tempdir().unwrap();
    keygen(&keys.path().join("id"));
    let client_pub = std::fs::read_to_string(keys.path().join("id.pub")).unwrap();
    let Some(sshd) = start_sshd(keys.path(), &client_pub) else {
        return;
    };
    let host_pub = std::fs::read_to_string(keys.path().join("host_key.pub")).unwrap();
    let known = keys.path().join("known_hosts");
    std::fs::write(&known, format!("[127.0.0.1]:{} {}", sshd.port, host_pub)).unwrap();
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let url = format!("ssh://{user}@127.0.0.1:{}{}", sshd.port, repo.dir.display());
    let config = keys.path().join("kiln.yaml");
    std::fs::write(
        &config,
        format!(
            "credentials:\n  - url: ssh://127.0.0.1:*/**\n    sshKeyFile: {}\n    sshKnownHostsFile: {}\n",
            keys.path().join("id").display(),
            known.display()
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "ssh://127.0.0.1:*/**",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let mut c = kiln.client().await;
    let msgs = generate(&mut c, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].commit_sha, head);
    assert!(msgs[0].manifests[0].contains("\"ssh\""));

    // A host key that does not match the pinned one is refused.
    keygen(&keys.path().join("other"));
    let other = std::fs::read_to_string(keys.path().join("other.pub")).unwrap();
    std::fs::write(&known, format!("[127.0.0.1]:{} {}", sshd.port, other)).unwrap();
    let cache2 = tempfile::tempdir().unwrap();
    let kiln2 = Kiln::start(
        cache2.path(),
        &[
            "--allow-repo",
            "ssh://127.0.0.1:*/**",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let mut c2 = kiln2.client().await;
    let e = generate(&mut c2, gen_req(&url, "main", "app"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
}
