//! Signed commits made by real `git` with keys made by real `ssh-keygen`
//! (and `gpg`), verified by kiln-git.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use kiln_git::{
    AllowedKey, CacheOptions, Error, GitCache, SignatureKind, SignaturePolicy, verify_commit,
};

fn run(dir: &Path, program: &str, args: &[&str], envs: &[(&str, &Path)]) -> Vec<u8> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "2025-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2025-01-02T03:04:05Z");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn git(dir: &Path, args: &[&str]) -> String {
    String::from_utf8(run(dir, "git", args, &[]))
        .unwrap()
        .trim()
        .to_owned()
}

/// A new key pair; returns the private key's path and the public key line.
fn keygen(dir: &Path, name: &str, kind: &[&str]) -> (PathBuf, String) {
    let path = dir.join(name);
    let mut args = vec!["-q", "-N", "", "-C", name, "-f"];
    let p = path.to_str().unwrap().to_owned();
    args.push(&p);
    args.extend_from_slice(kind);
    run(dir, "ssh-keygen", &args, &[]);
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_owned())
}

fn ssh_fingerprint(dir: &Path, key: &Path) -> String {
    let out = run(dir, "ssh-keygen", &["-l", "-f", key.to_str().unwrap()], &[]);
    String::from_utf8(out)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned()
}

struct Repo {
    dir: tempfile::TempDir,
    keys: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        Repo {
            dir,
            keys: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn commit(&self, msg: &str, sign_with: Option<&Path>) -> String {
        std::fs::write(self.path().join("a.yaml"), format!("msg: {msg}\n")).unwrap();
        git(self.path(), &["add", "-A"]);
        match sign_with {
            Some(key) => {
                let key = format!("user.signingkey={}", key.display());
                git(
                    self.path(),
                    &[
                        "-c",
                        "gpg.format=ssh",
                        "-c",
                        &key,
                        "commit",
                        "-q",
                        "-S",
                        "-m",
                        msg,
                    ],
                )
            }
            None => git(self.path(), &["commit", "-q", "-m", msg]),
        };
        git(self.path(), &["rev-parse", "HEAD"])
    }

    fn raw(&self, commit: &str) -> Vec<u8> {
        run(self.path(), "git", &["cat-file", "commit", commit], &[])
    }

    fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }
}

#[test]
fn ed25519_signature_verifies_with_the_right_key_only() {
    let repo = Repo::new();
    let (alice, alice_pub) = keygen(repo.keys.path(), "alice", &["-t", "ed25519"]);
    let (_, mallory_pub) = keygen(repo.keys.path(), "mallory", &["-t", "ed25519"]);
    let sha = repo.commit("signed", Some(&alice));
    let raw = repo.raw(&sha);
    let fp = ssh_fingerprint(repo.keys.path(), &alice);

    let alice_key = AllowedKey::parse(&alice_pub).unwrap();
    assert_eq!(alice_key.fingerprint(), fp);
    let v = verify_commit(&raw, std::slice::from_ref(&alice_key));
    assert!(v.verified, "{v:?}");
    assert_eq!(v.kind, SignatureKind::Ssh);
    assert_eq!(v.fingerprint.as_deref(), Some(fp.as_str()));
    assert_eq!(v.signer.as_deref(), Some("alice"));
    assert!(v.reason.is_empty());

    let v = verify_commit(&raw, &[AllowedKey::parse(&mallory_pub).unwrap()]);
    assert!(!v.verified);
    assert_eq!(v.kind, SignatureKind::Ssh);
    assert_eq!(v.fingerprint.as_deref(), Some(fp.as_str()));
    assert!(v.reason.contains("not an allowed key"), "{}", v.reason);

    let v = verify_commit(&raw, &[]);
    assert!(!v.verified);
    assert!(v.reason.contains("no signature policy"), "{}", v.reason);
}

#[test]
fn rsa_signature_verifies() {
    let repo = Repo::new();
    let (bob, bob_pub) = keygen(repo.keys.path(), "bob", &["-t", "rsa", "-b", "2048"]);
    let (_, other_pub) = keygen(repo.keys.path(), "other", &["-t", "rsa", "-b", "2048"]);
    let sha = repo.commit("rsa signed", Some(&bob));
    let raw = repo.raw(&sha);
    let v = verify_commit(&raw, &[AllowedKey::parse(&bob_pub).unwrap()]);
    assert!(v.verified, "{v:?}");
    assert_eq!(v.signer.as_deref(), Some("bob"));
    let v = verify_commit(&raw, &[AllowedKey::parse(&other_pub).unwrap()]);
    assert!(!v.verified);
    assert!(v.reason.contains("not an allowed key"), "{}", v.reason);
}

#[test]
fn unsigned_commit_is_reported_unsigned() {
    let repo = Repo::new();
    let (_, alice_pub) = keygen(repo.keys.path(), "alice", &["-t", "ed25519"]);
    let sha = repo.commit("plain", None);
    let v = verify_commit(&repo.raw(&sha), &[AllowedKey::parse(&alice_pub).unwrap()]);
    assert_eq!(v.kind, SignatureKind::Unsigned);
    assert!(!v.verified);
    assert_eq!(v.fingerprint, None);
    assert_eq!(v.reason, "the commit is not signed");
}

#[test]
fn tampered_commit_fails() {
    for kind in [&["-t", "ed25519"][..], &["-t", "rsa", "-b", "2048"][..]] {
        let repo = Repo::new();
        let (alice, alice_pub) = keygen(repo.keys.path(), "alice", kind);
        let keys = [AllowedKey::parse(&alice_pub).unwrap()];
        let sha = repo.commit("deploy v1", Some(&alice));
        let raw = String::from_utf8(repo.raw(&sha)).unwrap();
        assert!(raw.contains("gpgsig -----BEGIN SSH SIGNATURE-----"));
        // Same header and signature, another message, written as a real object.
        let forged = raw.replace("deploy v1", "deploy v2");
        let path = repo.keys.path().join("forged");
        std::fs::write(&path, &forged).unwrap();
        let forged_sha = git(
            repo.path(),
            &["hash-object", "-t", "commit", "-w", path.to_str().unwrap()],
        );
        assert_ne!(forged_sha, sha);
        let v = verify_commit(&repo.raw(&forged_sha), &keys);
        assert_eq!(v.kind, SignatureKind::Ssh);
        assert!(!v.verified);
        assert!(
            v.reason.contains("does not match the commit"),
            "{}",
            v.reason
        );
        // The original still verifies.
        assert!(verify_commit(&repo.raw(&sha), &keys).verified);
    }
}

#[test]
fn garbage_signatures_are_reported_not_panicked_on() {
    let repo = Repo::new();
    let sha = repo.commit("plain", None);
    let raw = String::from_utf8(repo.raw(&sha)).unwrap();
    let (head, body) = raw.split_once("\n\n").unwrap();
    for sig in [
        "-----BEGIN SSH SIGNATURE-----\n !!!\n -----END SSH SIGNATURE-----",
        "-----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----",
        "-----BEGIN SSH SIGNATURE-----\n U1NIU0lHAAAAAQAAAP////8=\n -----END SSH SIGNATURE-----",
    ] {
        let forged = format!("{head}\ngpgsig {sig}\n\n{body}");
        let v = verify_commit(forged.as_bytes(), &[]);
        assert_eq!(v.kind, SignatureKind::Ssh);
        assert!(!v.verified);
        assert!(v.reason.starts_with("bad SSH signature"), "{}", v.reason);
    }
}

#[test]
fn allowed_keys_parse() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ed) = keygen(dir.path(), "alice", &["-t", "ed25519"]);
    // An allowed-signers line: principal first.
    let line = format!("alice@example.com namespaces=\"git\" {ed}");
    let k = AllowedKey::parse(&line).unwrap();
    assert_eq!(k, AllowedKey::parse(&ed).unwrap());
    let many = AllowedKey::parse_many(&format!("# team\n\n{ed}\n{line}\n")).unwrap();
    assert_eq!(many.len(), 2);
    assert!(AllowedKey::parse("ssh-ed25519").is_err());
    assert!(AllowedKey::parse("ssh-ed25519 AAAA%%").is_err());
    assert!(AllowedKey::parse("ecdsa-sha2-nistp256 AAAA").is_err());
    let (_, small) = keygen(dir.path(), "small", &["-t", "rsa", "-b", "1024"]);
    let e = AllowedKey::parse(&small).unwrap_err().to_string();
    assert!(e.contains("at least 2048"), "{e}");
    // Key type and data disagree.
    let data = ed.split_whitespace().nth(1).unwrap();
    assert!(AllowedKey::parse(&format!("ssh-rsa {data}")).is_err());
}

/// A GPG-signed commit, when `gpg` can make a key here.
fn gpg_signed_commit(repo: &Repo) -> Option<String> {
    let home = repo.keys.path().join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let envs = [("GNUPGHOME", home.as_path())];
    let ok = Command::new("gpg")
        .args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Ada <ada@example.com>",
            "ed25519",
            "sign",
            "never",
        ])
        .env("GNUPGHOME", &home)
        .stdin(Stdio::null())
        .output()
        .ok()?
        .status
        .success();
    if !ok {
        return None;
    }
    std::fs::write(repo.path().join("a.yaml"), "gpg: 1\n").unwrap();
    git(repo.path(), &["add", "-A"]);
    run(
        repo.path(),
        "git",
        &[
            "-c",
            "user.signingkey=ada@example.com",
            "commit",
            "-q",
            "-S",
            "-m",
            "gpg",
        ],
        &envs,
    );
    Some(git(repo.path(), &["rev-parse", "HEAD"]))
}

#[test]
fn openpgp_signature_is_reported_unsupported() {
    let repo = Repo::new();
    let Some(sha) = gpg_signed_commit(&repo) else {
        eprintln!("gpg cannot make a key here; skipped");
        return;
    };
    let v = verify_commit(&repo.raw(&sha), &[]);
    assert_eq!(v.kind, SignatureKind::OpenPgp);
    assert!(!v.verified);
    assert_eq!(v.reason, "unverified: OpenPGP signatures are not supported");
    // Stop the agent this test's GNUPGHOME started.
    let _ = Command::new("gpgconf")
        .args(["--kill", "gpg-agent"])
        .env("GNUPGHOME", repo.keys.path().join("gnupg"))
        .output();
}

#[tokio::test]
async fn policy_is_enforced_through_the_cache() {
    let repo = Repo::new();
    let (alice, alice_pub) = keygen(repo.keys.path(), "alice", &["-t", "ed25519"]);
    let signed = repo.commit("signed", Some(&alice));
    let unsigned = repo.commit("unsigned", None);

    let c = tempfile::tempdir().unwrap();
    let mut o = CacheOptions::new(c.path()).allow(["**"]);
    o.fetch_interval = Duration::from_secs(60);
    o.signatures.add(
        SignaturePolicy::new(
            [repo.url()],
            vec![AllowedKey::parse(&alice_pub).unwrap()],
            true,
        )
        .unwrap(),
    );
    let cache = GitCache::open(o).unwrap();

    let r = cache.resolve(&repo.url(), &signed).await.unwrap();
    let v = cache
        .enforce_signature(&r.mirror, r.commit)
        .unwrap()
        .unwrap();
    assert!(v.verified);
    assert!(cache.signature(&r.mirror, r.commit).unwrap().verified);

    let r = cache.resolve(&repo.url(), &unsigned).await.unwrap();
    let e = cache.enforce_signature(&r.mirror, r.commit).unwrap_err();
    assert!(matches!(e, Error::Unverified { .. }));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("commit {unsigned} in file://")),
        "{text}"
    );
    assert!(text.ends_with(": the commit is not signed"), "{text}");

    // Another repository has no policy: nothing is enforced.
    let other = Repo::new();
    let sha = other.commit("plain", None);
    let r = cache.resolve(&other.url(), &sha).await.unwrap();
    assert!(
        cache
            .enforce_signature(&r.mirror, r.commit)
            .unwrap()
            .is_none()
    );
    let v = cache.signature(&r.mirror, r.commit).unwrap();
    assert_eq!(v.kind, SignatureKind::Unsigned);
}
