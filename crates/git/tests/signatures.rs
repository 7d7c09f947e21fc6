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

    /// Writes a copy of `commit` with `from` replaced by `to` (its
    /// signature header kept) as a real object; returns its sha.
    fn forge(&self, commit: &str, from: &str, to: &str) -> String {
        let raw = String::from_utf8(self.raw(commit)).unwrap();
        let path = self.keys.path().join("forged");
        std::fs::write(&path, raw.replace(from, to)).unwrap();
        git(
            self.path(),
            &["hash-object", "-t", "commit", "-w", path.to_str().unwrap()],
        )
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
        let forged_sha = repo.forge(&sha, "deploy v1", "deploy v2");
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

/// A GnuPG home of its own (its agent stopped when dropped) making keys
/// and signing commits with real `gpg` through real `git`.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        Gpg { home }
    }

    fn gpg(&self, args: &[&str]) -> String {
        let mut all = vec!["--batch", "--pinentry-mode", "loopback", "--passphrase", ""];
        all.extend_from_slice(args);
        let out = run(
            self.home.path(),
            "gpg",
            &all,
            &[("GNUPGHOME", self.home.path())],
        );
        String::from_utf8(out).unwrap()
    }

    /// A new key (`algo`, `usage` as `--quick-gen-key` takes them); its
    /// primary fingerprint.
    fn key(&self, uid: &str, algo: &str, usage: &str) -> String {
        self.gpg(&["--quick-gen-key", uid, algo, usage, "never"]);
        self.fingerprints(uid)[0].clone()
    }

    /// Fingerprints of the key `uid` names: the primary's first, then its
    /// subkeys'.
    fn fingerprints(&self, uid: &str) -> Vec<String> {
        self.gpg(&["--with-colons", "--list-keys", uid])
            .lines()
            .filter_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_owned())
            .collect()
    }

    fn export(&self, fpr: &str) -> String {
        self.gpg(&["--armor", "--export", fpr])
    }

    /// Commits a change to `repo` signed with `key` (GnuPG picks a signing
    /// subkey when the primary cannot sign).
    fn commit(&self, repo: &Repo, key: &str, msg: &str) -> String {
        std::fs::write(repo.path().join("a.yaml"), format!("gpg: {msg}\n")).unwrap();
        git(repo.path(), &["add", "-A"]);
        let signing = format!("user.signingkey={key}");
        run(
            repo.path(),
            "git",
            &["-c", &signing, "commit", "-q", "-S", "-m", msg],
            &[("GNUPGHOME", self.home.path())],
        );
        git(repo.path(), &["rev-parse", "HEAD"])
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home.path())
            .output();
    }
}

#[test]
fn openpgp_ed25519_and_rsa_signatures_verify_with_the_right_certificate_only() {
    let gpg = Gpg::new();
    let ada = gpg.key("Ada <ada@example.com>", "ed25519", "sign");
    let rsa = gpg.key("Rui <rui@example.com>", "rsa3072", "sign");
    let eve = gpg.key("Eve <eve@example.com>", "ed25519", "sign");
    let ada_keys = AllowedKey::parse_many(&gpg.export(&ada)).unwrap();
    assert_eq!(ada_keys.len(), 1);
    assert_eq!(ada_keys[0].fingerprint(), ada);
    assert_eq!(ada_keys[0].comment(), "Ada <ada@example.com>");

    let repo = Repo::new();
    for (who, uid) in [
        (&ada, "Ada <ada@example.com>"),
        (&rsa, "Rui <rui@example.com>"),
    ] {
        let sha = gpg.commit(&repo, who, &format!("signed by {uid}"));
        let raw = repo.raw(&sha);
        assert!(String::from_utf8_lossy(&raw).contains("gpgsig -----BEGIN PGP SIGNATURE-----"));
        // Keys given together, SSH lines mixed in, as a keys file may.
        let (_, ssh_pub) = keygen(
            repo.keys.path(),
            &format!("ssh{}", &who[..8]),
            &["-t", "ed25519"],
        );
        let text = format!(
            "{ssh_pub}\n{}\n# a comment\n{}",
            gpg.export(&ada),
            gpg.export(&rsa)
        );
        let keys = AllowedKey::parse_many(&text).unwrap();
        assert_eq!(keys.len(), 3);
        let v = verify_commit(&raw, &keys);
        assert!(v.verified, "{v:?}");
        assert_eq!(v.kind, SignatureKind::OpenPgp);
        assert_eq!(v.fingerprint.as_deref(), Some(who.as_str()));
        assert_eq!(v.signer.as_deref(), Some(uid));

        let v = verify_commit(&raw, &AllowedKey::parse_many(&gpg.export(&eve)).unwrap());
        assert!(!v.verified);
        assert!(v.reason.contains("not an allowed key"), "{}", v.reason);
        assert!(v.reason.contains(who.as_str()), "{}", v.reason);
        let v = verify_commit(&raw, &[]);
        assert!(v.reason.contains("no signature policy"), "{}", v.reason);
    }
}

#[test]
fn openpgp_signing_subkeys_tampering_and_revocation() {
    let gpg = Gpg::new();
    // A certification-only primary key with a signing subkey, as careful
    // GnuPG users set up.
    let primary = gpg.key("Bo <bo@example.com>", "ed25519", "cert");
    gpg.gpg(&["--quick-add-key", &primary, "ed25519", "sign", "never"]);
    let fprs = gpg.fingerprints(&primary);
    assert_eq!(fprs.len(), 2, "{fprs:?}");
    let repo = Repo::new();
    let sha = gpg.commit(&repo, &primary, "deploy v1");
    let keys = AllowedKey::parse_many(&gpg.export(&primary)).unwrap();
    let v = verify_commit(&repo.raw(&sha), &keys);
    assert!(v.verified, "{v:?}");
    assert_eq!(v.fingerprint.as_deref(), Some(fprs[1].as_str()));
    assert_eq!(v.signer.as_deref(), Some("Bo <bo@example.com>"));

    // The same signature over another message, written as a real object.
    let forged_sha = repo.forge(&sha, "deploy v1", "deploy v2");
    let v = verify_commit(&repo.raw(&forged_sha), &keys);
    assert!(!v.verified);
    assert!(v.reason.contains("bad OpenPGP signature"), "{}", v.reason);

    // The key revoked with the certificate GnuPG wrote when making it.
    let rev = gpg
        .home
        .path()
        .join(format!("openpgp-revocs.d/{primary}.rev"));
    let text = std::fs::read_to_string(&rev).unwrap();
    let armored = text.replace(
        ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",
    );
    let imported = repo.keys.path().join("rev.asc");
    std::fs::write(&imported, armored).unwrap();
    gpg.gpg(&["--import", imported.to_str().unwrap()]);
    let revoked = AllowedKey::parse_many(&gpg.export(&primary)).unwrap();
    let v = verify_commit(&repo.raw(&sha), &revoked);
    assert!(!v.verified);
    assert!(v.reason.contains("revoked"), "{}", v.reason);
}

#[test]
fn openpgp_key_blocks_that_are_not_keys_are_refused() {
    for (text, want) in [
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64!\n-----END PGP PUBLIC KEY BLOCK-----\n",
            "bad base64",
        ),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQ==\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
            "checksum",
        ),
    ] {
        let e = AllowedKey::parse_many(text).unwrap_err().to_string();
        assert!(e.contains("OpenPGP key block") && e.contains(want), "{e}");
    }
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
        .enforce_signature(&r.mirror, r.commit, &signed)
        .unwrap()
        .unwrap();
    assert!(v.verified);
    assert!(
        cache
            .signature(&r.mirror, r.commit, &signed)
            .unwrap()
            .verified
    );

    let r = cache.resolve(&repo.url(), &unsigned).await.unwrap();
    let e = cache
        .enforce_signature(&r.mirror, r.commit, &unsigned)
        .unwrap_err();
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
            .enforce_signature(&r.mirror, r.commit, &sha)
            .unwrap()
            .is_none()
    );
    let v = cache.signature(&r.mirror, r.commit, &sha).unwrap();
    assert_eq!(v.kind, SignatureKind::Unsigned);
}

#[tokio::test]
async fn a_signed_annotated_tag_vouches_for_the_commit_it_points_at() {
    let repo = Repo::new();
    let (alice, alice_pub) = keygen(repo.keys.path(), "alice", &["-t", "ed25519"]);
    let (mallory, _) = keygen(repo.keys.path(), "mallory", &["-t", "ed25519"]);
    let gpg = Gpg::new();
    let ada = gpg.key("Ada <ada@example.com>", "ed25519", "sign");
    let unsigned = repo.commit("release", None);
    let ssh_tag = |name: &str, key: &Path| {
        let key = format!("user.signingkey={}", key.display());
        git(
            repo.path(),
            &[
                "-c",
                "gpg.format=ssh",
                "-c",
                &key,
                "tag",
                "-s",
                name,
                "-m",
                name,
            ],
        );
    };
    ssh_tag("v1.0.0", &alice);
    ssh_tag("v1.0.1-mallory", &mallory);
    run(
        repo.path(),
        "git",
        &[
            "-c",
            &format!("user.signingkey={ada}"),
            "tag",
            "-s",
            "v1.0.2-gpg",
            "-m",
            "gpg",
        ],
        &[("GNUPGHOME", gpg.home.path())],
    );
    git(
        repo.path(),
        &["tag", "-a", "v1.0.3-unsigned", "-m", "plain"],
    );
    git(repo.path(), &["tag", "v1.0.4-light"]);
    let later = repo.commit("later", None);
    ssh_tag("v2.0.0", &alice);

    let c = tempfile::tempdir().unwrap();
    let mut o = CacheOptions::new(c.path()).allow(["**"]);
    o.fetch_interval = Duration::from_secs(60);
    let mut keys = vec![AllowedKey::parse(&alice_pub).unwrap()];
    keys.extend(AllowedKey::parse_many(&gpg.export(&ada)).unwrap());
    o.signatures
        .add(SignaturePolicy::new([repo.url()], keys, true).unwrap());
    let cache = GitCache::open(o).unwrap();

    for (tag, kind) in [
        ("v1.0.0", SignatureKind::Ssh),
        ("refs/tags/v1.0.0", SignatureKind::Ssh),
        ("v1.0.2-gpg", SignatureKind::OpenPgp),
    ] {
        let r = cache.resolve(&repo.url(), tag).await.unwrap();
        assert_eq!(r.commit.to_hex(), unsigned);
        let v = cache
            .enforce_signature(&r.mirror, r.commit, tag)
            .unwrap()
            .unwrap();
        assert!(v.verified, "{tag}: {v:?}");
        assert_eq!(v.kind, kind);
        // ResolveRevision's report names the tag's signature too.
        let reported = cache.signature(&r.mirror, r.commit, tag).unwrap();
        assert_eq!(reported, v);
        let by_sha = cache.signature(&r.mirror, r.commit, &unsigned).unwrap();
        assert_eq!(by_sha.kind, SignatureKind::Unsigned);
    }
    // The same commit by its sha, by a tag signed by an unlisted key, by an
    // unsigned or a lightweight tag: the commit itself is not signed.
    for (rev, reason) in [
        (unsigned.as_str(), "the commit is not signed"),
        ("v1.0.1-mallory", "the commit is not signed"),
        ("v1.0.3-unsigned", "the commit is not signed"),
        ("v1.0.4-light", "the commit is not signed"),
    ] {
        let r = cache.resolve(&repo.url(), rev).await.unwrap();
        let e = cache
            .enforce_signature(&r.mirror, r.commit, rev)
            .unwrap_err();
        assert!(e.to_string().ends_with(reason), "{rev}: {e}");
    }
    let r = cache.resolve(&repo.url(), "v1.0.1-mallory").await.unwrap();
    let v = r.mirror.verify_tag(
        "v1.0.1-mallory",
        r.commit,
        &[AllowedKey::parse(&alice_pub).unwrap()],
    );
    let v = v.unwrap().unwrap();
    assert!(!v.verified);
    assert!(
        v.reason.starts_with("tag v1.0.1-mallory: signed by key"),
        "{}",
        v.reason
    );
    // A tag vouches only for the commit it points at.
    let r = cache.resolve(&repo.url(), &later).await.unwrap();
    assert!(
        cache
            .enforce_signature(&r.mirror, r.commit, "v1.0.0")
            .is_err()
    );
    assert!(
        cache
            .enforce_signature(&r.mirror, r.commit, "v2.0.0")
            .unwrap()
            .unwrap()
            .verified
    );
}
