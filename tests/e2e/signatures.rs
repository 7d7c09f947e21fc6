//! Signed commits end to end: commits signed by real `git` with keys made by
//! `ssh-keygen` and by `gpg`, served by `git daemon`; a `signatures:` policy that
//! requires a signature renders the signed commit and refuses the others
//! with FAILED_PRECONDITION naming the commit; ResolveRevision and
//! GetRevisionMetadata report the signature.

use std::{path::Path, process::Command};

use kiln_proto::kiln::v1::{GetRevisionMetadataRequest, ResolveRevisionRequest};

use crate::support::*;

/// A new ed25519 key in `dir`; returns the private key path and public line.
fn keygen(dir: &Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path.to_str().unwrap().to_owned(), public.trim().to_owned())
}

fn signed_commit(repo: &Repo, key: &str, value: &str) -> String {
    std::fs::write(repo.dir.join("app/cm.yaml"), configmap("settings", value)).unwrap();
    repo.git(&["add", "-A"]);
    let key = format!("user.signingkey={key}");
    repo.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &key,
        "commit",
        "-q",
        "-S",
        "-m",
        value,
    ]);
    repo.head()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_renders_signed_commits_and_refuses_the_rest() {
    let root = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let (alice, alice_pub) = keygen(keys.path(), "alice");
    let (mallory, _) = keygen(keys.path(), "mallory");

    let repo = Repo::init(root.path(), "signed");
    std::fs::create_dir_all(repo.dir.join("app")).unwrap();
    let good = signed_commit(&repo, &alice, "good");
    let by_mallory = signed_commit(&repo, &mallory, "mallory");
    let unsigned = repo.commit(&[("app/cm.yaml", &configmap("settings", "plain"))], "plain");
    let other = Repo::init(root.path(), "other");
    let other_head = other.commit(&[("app/cm.yaml", &configmap("settings", "x"))], "x");
    let daemon = GitDaemon::start(root.path());

    let config = root.path().join("kiln.yaml");
    std::fs::write(
        &config,
        format!(
            "signatures:\n  - repositories: [\"git://127.0.0.1:*/signed\"]\n    keys:\n      - {alice_pub}\n    require: true\n"
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::with_config(cache.path(), &config);
    let mut c = kiln.client().await;
    let url = daemon.url("signed");

    // The signed commit renders.
    let msgs = generate(&mut c, gen_req(&url, &good, "app")).await.unwrap();
    assert_eq!(msgs[0].commit_sha, good);
    assert!(
        msgs[0].manifests[0].contains("good"),
        "{:?}",
        msgs[0].manifests
    );

    // ResolveRevision and GetRevisionMetadata report the signature.
    let r = c
        .resolve_revision(ResolveRevisionRequest {
            repo_url: url.clone(),
            revision: good.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let sig = r.signature.unwrap();
    assert_eq!(sig.kind, "ssh");
    assert!(sig.verified, "{sig:?}");
    assert!(sig.fingerprint.starts_with("SHA256:"), "{sig:?}");
    assert_eq!(sig.signer, "alice");
    let md = c
        .get_revision_metadata(GetRevisionMetadataRequest {
            repo_url: url.clone(),
            revision: by_mallory.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let sig = md.signature.unwrap();
    assert_eq!(sig.kind, "ssh");
    assert!(!sig.verified);
    assert!(sig.reason.contains("not an allowed key"), "{sig:?}");
    let r = c
        .resolve_revision(ResolveRevisionRequest {
            repo_url: url.clone(),
            revision: "main".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.commit_sha, unsigned);
    let sig = r.signature.unwrap();
    assert_eq!((sig.kind.as_str(), sig.verified), ("", false));

    // The unsigned head and the commit signed by an unlisted key are refused.
    let e = generate(&mut c, gen_req(&url, "main", "app"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    assert!(
        e.message()
            .starts_with(&format!("commit {unsigned} in git://127.0.0.1:")),
        "{}",
        e.message()
    );
    assert!(
        e.message().ends_with("/signed: the commit is not signed"),
        "{}",
        e.message()
    );
    let e = generate(&mut c, gen_req(&url, &by_mallory, "app"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains(&by_mallory), "{}", e.message());
    assert!(
        e.message().contains("not an allowed key"),
        "{}",
        e.message()
    );

    // A repository without a policy renders unsigned commits.
    let msgs = generate(&mut c, gen_req(&daemon.url("other"), "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].commit_sha, other_head);
}

/// Runs `gpg` in the GnuPG home `home`, without prompts.
fn gpg(home: &Path, args: &[&str]) -> String {
    let out = Command::new("gpg")
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args)
        .env("GNUPGHOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openpgp_signed_commits_under_a_policy_from_a_keys_file() {
    let root = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    gpg(
        home.path(),
        &[
            "--quick-gen-key",
            "Ada <ada@example.com>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    let listing = gpg(
        home.path(),
        &["--with-colons", "--list-keys", "ada@example.com"],
    );
    let fpr = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_owned())
        .unwrap();
    let keys_file = root.path().join("release-keys.asc");
    std::fs::write(&keys_file, gpg(home.path(), &["--armor", "--export", &fpr])).unwrap();

    let repo = Repo::init(root.path(), "signed");
    let unsigned = repo.commit(&[("app/cm.yaml", &configmap("settings", "plain"))], "plain");
    std::fs::write(repo.dir.join("app/cm.yaml"), configmap("settings", "gpg")).unwrap();
    repo.git(&["add", "-A"]);
    let out = Command::new("git")
        .args([
            "-c",
            &format!("user.signingkey={fpr}"),
            "commit",
            "-q",
            "-S",
            "-m",
            "gpg",
        ])
        .current_dir(&repo.dir)
        .env("GNUPGHOME", home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = repo.head();
    let daemon = GitDaemon::start(root.path());
    let config = root.path().join("kiln.yaml");
    std::fs::write(
        &config,
        format!(
            "signatures:\n  - repositories: [\"git://127.0.0.1:*/signed\"]\n    keysFile: {}\n    require: true\n",
            keys_file.display()
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::with_config(cache.path(), &config);
    let mut c = kiln.client().await;
    let url = daemon.url("signed");

    let msgs = generate(&mut c, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].commit_sha, signed);
    let sig = c
        .resolve_revision(ResolveRevisionRequest {
            repo_url: url.clone(),
            revision: "main".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .signature
        .unwrap();
    assert_eq!(sig.kind, "openpgp");
    assert!(sig.verified, "{sig:?}");
    assert_eq!(sig.fingerprint, fpr);
    assert_eq!(sig.signer, "Ada <ada@example.com>");

    let e = generate(&mut c, gen_req(&url, &unsigned, "app"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains(&unsigned), "{}", e.message());
    let _ = Command::new("gpgconf")
        .args(["--kill", "gpg-agent"])
        .env("GNUPGHOME", home.path())
        .output();
}
