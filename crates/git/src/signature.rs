//! Signed commits: the `gpgsig` header of a commit object, SSH signatures
//! (the `sshsig` format `git -c gpg.format=ssh commit -S` writes) verified
//! against allowed OpenSSH public keys, and the per-repository policy.
//!
//! The signed payload is the commit object without its `gpgsig` header. An
//! SSH signature is the armored blob
//!
//! ```text
//! "SSHSIG" u32(version = 1) string(public key) string(namespace = "git")
//!          string(reserved) string(hash: "sha512" | "sha256") string(signature)
//! ```
//!
//! over `"SSHSIG" string(namespace) string(reserved) string(hash)
//! string(H(payload))`. Keys: `ssh-ed25519`, and `ssh-rsa` with
//! `rsa-sha2-256`/`rsa-sha2-512` signatures. OpenPGP signatures (GnuPG's)
//! are verified against allowed OpenPGP certificates (see [`crate::openpgp`]);
//! X.509 signatures are recognised and reported unverified ("not
//! supported").

use base64::{Engine as _, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256, Sha512};

use crate::{Allowlist, Error, Mirror, RepoUrl, backend::from_oid, error::chain};
use kiln_source::Oid;

const ARMOR_BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const ARMOR_END: &str = "-----END SSH SIGNATURE-----";
const MAGIC: &[u8] = b"SSHSIG";
const NAMESPACE: &[u8] = b"git";

/// The format of a commit's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureKind {
    /// The commit carries no signature.
    Unsigned,
    /// An SSH signature (`-----BEGIN SSH SIGNATURE-----`).
    Ssh,
    /// An OpenPGP signature (`-----BEGIN PGP SIGNATURE-----`).
    OpenPgp,
    /// An X.509 (CMS) signature (`-----BEGIN SIGNED MESSAGE-----`).
    X509,
    /// Something else in the `gpgsig` header.
    Unknown,
}

impl SignatureKind {
    /// `""` (unsigned), `"ssh"`, `"openpgp"`, `"x509"`, `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureKind::Unsigned => "",
            SignatureKind::Ssh => "ssh",
            SignatureKind::OpenPgp => "openpgp",
            SignatureKind::X509 => "x509",
            SignatureKind::Unknown => "unknown",
        }
    }
}

/// The outcome of checking a commit's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// The signature's format.
    pub kind: SignatureKind,
    /// Fingerprint of the key the signature names, when it could be read:
    /// OpenSSH's (`SHA256:…`) or OpenPGP's (40 hex digits).
    pub fingerprint: Option<String>,
    /// The comment of the allowed key that verified it.
    pub signer: Option<String>,
    /// True when the signature is good and made by an allowed key.
    pub verified: bool,
    /// Why it is not verified (empty when verified).
    pub reason: String,
}

impl Verification {
    fn failed(kind: SignatureKind, fingerprint: Option<String>, reason: impl Into<String>) -> Self {
        Verification {
            kind,
            fingerprint,
            signer: None,
            verified: false,
            reason: reason.into(),
        }
    }
}

/// A bad public key or policy, with its reason.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

/// A public key allowed to sign: an OpenSSH key (`ssh-ed25519 AAAA…
/// comment`, as in `authorized_keys`; a leading principal or options, as in
/// git's allowed-signers file, are skipped) or an OpenPGP certificate (an
/// armored public key block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedKey {
    /// The SSH public key blob; empty for an OpenPGP certificate.
    blob: Vec<u8>,
    pgp: Option<Box<crate::openpgp::Cert>>,
    comment: String,
    fingerprint: String,
}

impl AllowedKey {
    /// Parses one line. Supported types: `ssh-ed25519`, `ssh-rsa` (≥ 2048 bits).
    pub fn parse(line: &str) -> Result<Self, KeyError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| is_key_type(w)) else {
            return Err(KeyError(format!(
                "no supported public key (ssh-ed25519 or ssh-rsa) in '{}'",
                abbreviate(line)
            )));
        };
        let algo = words[at];
        let Some(b64) = words.get(at + 1) else {
            return Err(KeyError(format!("{algo} key without its base64 data")));
        };
        let blob = STANDARD
            .decode(b64)
            .map_err(|e| KeyError(format!("{algo} key: bad base64: {e}")))?;
        let key = PublicKey::parse(&blob).map_err(|e| KeyError(format!("{algo} key: {e}")))?;
        if key.algorithm() != algo {
            return Err(KeyError(format!(
                "key says {algo} but its data is {}",
                key.algorithm()
            )));
        }
        if let PublicKey::Rsa(k) = &key {
            use rsa::traits::PublicKeyParts;
            if k.size() * 8 < 2048 {
                return Err(KeyError(format!(
                    "ssh-rsa key of {} bits: at least 2048 are required",
                    k.size() * 8
                )));
            }
        }
        Ok(AllowedKey {
            fingerprint: fingerprint(&blob),
            blob,
            pgp: None,
            comment: words[at + 2..].join(" "),
        })
    }

    /// Parses a keys text: every armored OpenPGP public key block in it
    /// (each certificate a key), and every other non-empty, non-comment
    /// line as an OpenSSH key.
    pub fn parse_many(text: &str) -> Result<Vec<Self>, KeyError> {
        const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
        const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
        let mut keys = Vec::new();
        let mut ssh_lines = String::new();
        let mut rest = text;
        while let Some(start) = rest.find(BEGIN) {
            ssh_lines.push_str(&rest[..start]);
            let block = &rest[start..];
            let end = block.find(END).map_or(block.len(), |e| e + END.len());
            let certs = crate::openpgp::parse_certs(&block[..end])
                .map_err(|e| KeyError(format!("OpenPGP key block: {e}")))?;
            keys.extend(certs.into_iter().map(|c| AllowedKey {
                blob: Vec::new(),
                comment: c.user_id.clone(),
                fingerprint: c.fingerprint(),
                pgp: Some(Box::new(c)),
            }));
            rest = &block[end..];
        }
        ssh_lines.push_str(rest);
        for line in ssh_lines
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            keys.push(Self::parse(line)?);
        }
        Ok(keys)
    }

    /// Fingerprint: OpenSSH's `SHA256:…`, or an OpenPGP certificate's 40
    /// hex digits.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key's comment (often the owner's name or email); an OpenPGP
    /// certificate's first user id.
    pub fn comment(&self) -> &str {
        &self.comment
    }
}

fn is_key_type(w: &str) -> bool {
    matches!(w, "ssh-ed25519" | "ssh-rsa")
}

fn abbreviate(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// OpenSSH's fingerprint of a public key blob: `SHA256:` and the unpadded
/// base64 of its sha256.
fn fingerprint(blob: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(blob));
    format!("SHA256:{b64}")
}

/// One signature policy: repositories (allowlist pattern syntax), the keys
/// allowed to sign their commits, and whether renders require a verified
/// signature.
#[derive(Clone, Debug)]
pub struct SignaturePolicy {
    repositories: Allowlist,
    keys: Vec<AllowedKey>,
    require: bool,
}

impl SignaturePolicy {
    /// A policy; a malformed repository pattern is an error.
    pub fn new<I, S>(repositories: I, keys: Vec<AllowedKey>, require: bool) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(SignaturePolicy {
            repositories: Allowlist::new(repositories)?,
            keys,
            require,
        })
    }

    /// The allowed keys.
    pub fn keys(&self) -> &[AllowedKey] {
        &self.keys
    }

    /// True when renders of an unverified commit are refused.
    pub fn require(&self) -> bool {
        self.require
    }
}

/// Signature policies in order; the first whose patterns match a
/// repository applies to it.
#[derive(Clone, Debug, Default)]
pub struct SignaturePolicies {
    policies: Vec<SignaturePolicy>,
}

impl SignaturePolicies {
    /// Appends a policy.
    pub fn add(&mut self, policy: SignaturePolicy) {
        self.policies.push(policy);
    }

    /// True when there is no policy.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The policy of a repository, if any.
    pub fn find(&self, url: &RepoUrl) -> Option<&SignaturePolicy> {
        self.policies.iter().find(|p| p.repositories.allows(url))
    }
}

/// Checks the signature of a raw commit object (its bytes as stored, without
/// the `commit <len>\0` header) against `keys`.
pub fn verify_commit(data: &[u8], keys: &[AllowedKey]) -> Verification {
    let found = match gix::objs::CommitRefIter::signature(data, gix::hash::Kind::Sha1) {
        Ok(f) => f,
        Err(e) => {
            return Verification::failed(
                SignatureKind::Unknown,
                None,
                format!("cannot parse the commit: {}", chain(&e)),
            );
        }
    };
    let Some((signature, signed)) = found else {
        return Verification::failed(SignatureKind::Unsigned, None, "the commit is not signed");
    };
    let payload = signed.to_bstring();
    let text = String::from_utf8_lossy(signature.as_ref());
    verify_armored(text.trim(), &payload, keys)
}

/// Checks the signature of a raw annotated tag object (its bytes as stored):
/// the armored signature `git tag -s` appends to the message, over
/// everything before it.
pub fn verify_tag(data: &[u8], keys: &[AllowedKey]) -> Verification {
    let start = ["-----BEGIN PGP SIGNATURE-----", ARMOR_BEGIN]
        .iter()
        .filter_map(|m| {
            let m = format!("\n{m}");
            data.windows(m.len())
                .rposition(|w| w == m.as_bytes())
                .map(|i| i + 1)
        })
        .max();
    let Some(start) = start else {
        return Verification::failed(SignatureKind::Unsigned, None, "the tag is not signed");
    };
    let text = String::from_utf8_lossy(&data[start..]);
    verify_armored(text.trim(), &data[..start], keys)
}

/// Checks an armored signature of any supported format over `payload`.
fn verify_armored(text: &str, payload: &[u8], keys: &[AllowedKey]) -> Verification {
    if text.starts_with("-----BEGIN PGP SIGNATURE-----") {
        return verify_openpgp(text, payload, keys);
    }
    if text.starts_with("-----BEGIN SIGNED MESSAGE-----") {
        return Verification::failed(
            SignatureKind::X509,
            None,
            "unverified: X.509 signatures are not supported",
        );
    }
    if !text.starts_with(ARMOR_BEGIN) {
        return Verification::failed(
            SignatureKind::Unknown,
            None,
            "unverified: the signature's format is not recognised",
        );
    }
    verify_ssh(text, payload, keys)
}

fn verify_openpgp(armored: &str, payload: &[u8], keys: &[AllowedKey]) -> Verification {
    let kind = SignatureKind::OpenPgp;
    let certs: Vec<&crate::openpgp::Cert> = keys.iter().filter_map(|k| k.pgp.as_deref()).collect();
    let checked = crate::openpgp::verify(armored, payload, &certs);
    let fp = checked.fingerprint.clone();
    match checked.result {
        Ok(i) => Verification {
            kind,
            fingerprint: fp,
            signer: certs.get(i).map(|c| c.user_id.clone()),
            verified: true,
            reason: String::new(),
        },
        Err(_) if keys.is_empty() => Verification::failed(
            kind,
            fp.clone(),
            format!(
                "signed by OpenPGP key {}, but no signature policy lists keys for this repository",
                fp.as_deref().unwrap_or("(unnamed)")
            ),
        ),
        Err(reason) => Verification::failed(kind, fp, reason),
    }
}

fn verify_ssh(armored: &str, payload: &[u8], keys: &[AllowedKey]) -> Verification {
    let kind = SignatureKind::Ssh;
    let bytes = match dearmor(armored) {
        Ok(b) => b,
        Err(e) => return Verification::failed(kind, None, format!("bad SSH signature: {e}")),
    };
    let sig = match SshSig::parse(&bytes) {
        Ok(s) => s,
        Err(e) => return Verification::failed(kind, None, format!("bad SSH signature: {e}")),
    };
    let fp = fingerprint(sig.public_key);
    let fail = |reason: String| Verification::failed(kind, Some(fp.clone()), reason);
    if sig.namespace != NAMESPACE {
        return fail(format!(
            "SSH signature made for namespace '{}', not 'git'",
            String::from_utf8_lossy(sig.namespace)
        ));
    }
    if keys.is_empty() {
        return fail(format!(
            "signed by key {fp}, but no signature policy lists keys for this repository"
        ));
    }
    let Some(allowed) = keys.iter().find(|k| k.blob == sig.public_key) else {
        return fail(format!("signed by key {fp}, which is not an allowed key"));
    };
    match sig.verify(payload) {
        Ok(()) => Verification {
            kind,
            fingerprint: Some(fp),
            signer: Some(allowed.comment.clone()),
            verified: true,
            reason: String::new(),
        },
        Err(e) => fail(format!("bad SSH signature by key {fp}: {e}")),
    }
}

/// The bytes inside `-----BEGIN/END SSH SIGNATURE-----`.
fn dearmor(armored: &str) -> Result<Vec<u8>, String> {
    let body = armored
        .strip_prefix(ARMOR_BEGIN)
        .and_then(|r| r.trim_end().strip_suffix(ARMOR_END))
        .ok_or("armor lines missing")?;
    let b64: String = body.split_whitespace().collect();
    STANDARD.decode(b64).map_err(|e| format!("bad base64: {e}"))
}

/// A parsed `sshsig` blob, borrowing from the decoded bytes.
struct SshSig<'a> {
    public_key: &'a [u8],
    namespace: &'a [u8],
    reserved: &'a [u8],
    hash: &'a [u8],
    signature: &'a [u8],
}

impl<'a> SshSig<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or("not an SSHSIG blob (magic missing)")?;
        let mut r = Reader(rest);
        let version = r.u32()?;
        if version != 1 {
            return Err(format!("unsupported SSHSIG version {version}"));
        }
        let sig = SshSig {
            public_key: r.string()?,
            namespace: r.string()?,
            reserved: r.string()?,
            hash: r.string()?,
            signature: r.string()?,
        };
        r.end()?;
        Ok(sig)
    }

    fn verify(&self, payload: &[u8]) -> Result<(), String> {
        let digest: Vec<u8> = match self.hash {
            b"sha512" => Sha512::digest(payload).to_vec(),
            b"sha256" => Sha256::digest(payload).to_vec(),
            other => {
                return Err(format!(
                    "unsupported hash algorithm '{}'",
                    String::from_utf8_lossy(other)
                ));
            }
        };
        let mut signed = Vec::with_capacity(64 + digest.len());
        signed.extend_from_slice(MAGIC);
        put_string(&mut signed, self.namespace);
        put_string(&mut signed, self.reserved);
        put_string(&mut signed, self.hash);
        put_string(&mut signed, &digest);
        let key = PublicKey::parse(self.public_key)?;
        let mut r = Reader(self.signature);
        let algo = r.string()?;
        let raw = r.string()?;
        r.end()?;
        key.verify(algo, raw, &signed)
    }
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// Reads SSH wire-format fields (RFC 4251): `uint32`, `string`.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32, String> {
        let (head, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or("truncated (expected a uint32)")?;
        self.0 = rest;
        Ok(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Result<&'a [u8], String> {
        let len = self.u32()? as usize;
        if len > self.0.len() {
            return Err(format!(
                "truncated (a field of {len} bytes, {} left)",
                self.0.len()
            ));
        }
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(s)
    }

    fn end(&self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!("{} trailing bytes", self.0.len()))
        }
    }
}

/// A public key as SSH encodes it.
enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

impl PublicKey {
    fn parse(blob: &[u8]) -> Result<Self, String> {
        let mut r = Reader(blob);
        let algo = r.string()?;
        let key = match algo {
            b"ssh-ed25519" => {
                let raw: [u8; 32] = r
                    .string()?
                    .try_into()
                    .map_err(|_| "ed25519 key is not 32 bytes".to_owned())?;
                PublicKey::Ed25519(
                    ed25519_dalek::VerifyingKey::from_bytes(&raw)
                        .map_err(|e| format!("bad ed25519 key: {e}"))?,
                )
            }
            b"ssh-rsa" => {
                let e = rsa::BigUint::from_bytes_be(r.string()?);
                let n = rsa::BigUint::from_bytes_be(r.string()?);
                PublicKey::Rsa(
                    rsa::RsaPublicKey::new_with_max_size(n, e, 16384)
                        .map_err(|e| format!("bad RSA key: {e}"))?,
                )
            }
            other => {
                return Err(format!(
                    "unsupported key type '{}'",
                    String::from_utf8_lossy(other)
                ));
            }
        };
        r.end()?;
        Ok(key)
    }

    fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ssh-ed25519",
            PublicKey::Rsa(_) => "ssh-rsa",
        }
    }

    fn verify(&self, algo: &[u8], raw: &[u8], message: &[u8]) -> Result<(), String> {
        let mismatch = || {
            format!(
                "signature algorithm '{}' does not fit a {} key",
                String::from_utf8_lossy(algo),
                self.algorithm()
            )
        };
        match self {
            PublicKey::Ed25519(k) => {
                if algo != b"ssh-ed25519" {
                    return Err(mismatch());
                }
                let sig = ed25519_dalek::Signature::from_slice(raw)
                    .map_err(|e| format!("malformed ed25519 signature: {e}"))?;
                k.verify_strict(message, &sig)
                    .map_err(|_| "the signature does not match the commit".to_owned())
            }
            PublicKey::Rsa(k) => {
                let (scheme, hashed) = match algo {
                    b"rsa-sha2-512" => (
                        rsa::Pkcs1v15Sign::new::<Sha512>(),
                        Sha512::digest(message).to_vec(),
                    ),
                    b"rsa-sha2-256" => (
                        rsa::Pkcs1v15Sign::new::<Sha256>(),
                        Sha256::digest(message).to_vec(),
                    ),
                    b"ssh-rsa" => return Err("SHA-1 RSA signatures are not accepted".to_owned()),
                    _ => return Err(mismatch()),
                };
                k.verify(scheme, &hashed, raw)
                    .map_err(|_| "the signature does not match the commit".to_owned())
            }
        }
    }
}

impl Mirror {
    /// Checks the signature of `commit` against `keys` (with none, a signed
    /// commit is reported unverified: no policy lists keys).
    pub fn verify_signature(
        &self,
        commit: Oid,
        keys: &[AllowedKey],
    ) -> Result<Verification, Error> {
        let repo = self.repo();
        let c = repo
            .find_commit(from_oid(commit))
            .map_err(|e| self.error(format!("cannot read commit {commit}: {}", chain(&e))))?;
        Ok(verify_commit(&c.data, keys))
    }

    /// The verification of the annotated tag `revision` names (`v1`,
    /// `tags/v1` or `refs/tags/v1`) when it points at `commit`; `None` when
    /// the revision names no annotated tag or the tag points elsewhere.
    pub fn verify_tag(
        &self,
        revision: &str,
        commit: Oid,
        keys: &[AllowedKey],
    ) -> Result<Option<Verification>, Error> {
        let name = revision
            .trim_start_matches("refs/")
            .trim_start_matches("tags/");
        if name.is_empty() {
            return Ok(None);
        }
        let repo = self.repo();
        let Ok(Some(mut reference)) = repo.try_find_reference(format!("refs/tags/{name}").as_str())
        else {
            return Ok(None);
        };
        let Some(target) = reference.target().try_id().map(|id| id.to_owned()) else {
            return Ok(None);
        };
        let Ok(object) = repo.find_object(target) else {
            return Ok(None);
        };
        if object.kind != gix::object::Kind::Tag {
            return Ok(None);
        }
        let data = object.data.clone();
        match reference.peel_to_id() {
            Ok(id) if id.detach() == from_oid(commit) => {}
            _ => return Ok(None),
        }
        let mut v = verify_tag(&data, keys);
        if !v.verified && v.reason.is_empty() {
            v.reason = "the tag's signature is not verified".into();
        }
        v.reason = if v.verified {
            v.reason
        } else {
            format!("tag {name}: {}", v.reason)
        };
        Ok(Some(v))
    }
}
