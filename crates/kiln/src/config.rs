//! The optional YAML configuration file: repository credentials, the
//! `secrets:` section (keyring and key policy, see kiln-secrets), the
//! server's callers (`auth:`) and `limits:`, and signed-commit policies
//! (`signatures:`).
//!
//! ```yaml
//! credentials:
//!   - url: https://github.com/acme/*      # allowlist pattern syntax
//!     username: x-access-token
//!     passwordEnv: GITHUB_TOKEN           # or passwordFile: /path, or password: literal
//!   - url: ssh://github.com/acme/*
//!     sshKeyFile: /etc/kiln/id_ed25519
//!     sshKnownHostsFile: /etc/kiln/known_hosts   # optional: accept only these host keys
//!   - url: http://git.internal/*         # plain http carries a password only with
//!     password: t0ken                     # allowPlainHttp (loopback hosts excepted)
//!     allowPlainHttp: true
//! auth:                                  # with this section every call needs a token
//!   tokens:
//!     - name: argocd                      # names the caller in logs, metrics, limits
//!       tokenFile: /etc/kiln/tokens/argocd   # e.g. a key of a mounted Secret
//!       repositories: ["https://github.com/acme/*"]   # allowlist pattern syntax
//!       secrets: true                     # may receive renders that decrypted SOPS files
//!     - name: ci
//!       tokenSha256: 3a6eb079...          # or the hex sha256 of the token
//!       repositories: ["**"]
//!   clients:                              # mTLS client certificates (--tls-client-ca),
//!     - name: argocd-mtls                 # for callers that send no token
//!       subject: "CN=argocd-repo-server"
//!       repositories: ["**"]
//! limits:                                 # each optional; see kiln_server::Limits
//!   ratePerSecond: 20                     # per caller (token name, mTLS subject or IP)
//!   burst: 40
//!   concurrencyPerCaller: 8
//!   renderConcurrency: 8                  # renders running, all callers together
//!   renderQueue: 64                       # renders waiting; more: RESOURCE_EXHAUSTED
//!   maxRequestBytes: 4194304
//!   maxResponseBytes: 268435456
//! signatures:                             # first entry matching a repository applies
//!   - repositories: ["https://github.com/acme/*"]   # allowlist pattern syntax
//!     keys:                               # OpenSSH public keys (ssh-ed25519, ssh-rsa)
//!       - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... alice
//!     keysFile: /etc/kiln/allowed_signers # and/or: authorized_keys or allowed-signers lines
//!     require: true                       # GenerateManifests refuses unverified commits
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kiln_git::{Credential, Credentials, Secret};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    credentials: Vec<Entry>,
    #[serde(default)]
    secrets: Option<kiln_secrets::SecretsConfig>,
    #[serde(default)]
    auth: Option<AuthSection>,
    #[serde(default)]
    limits: Option<LimitsSection>,
    #[serde(default)]
    signatures: Vec<SignatureEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SignatureEntry {
    repositories: Vec<String>,
    #[serde(default)]
    keys: Vec<String>,
    keys_file: Option<PathBuf>,
    #[serde(default)]
    require: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
    #[serde(default)]
    clients: Vec<ClientEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    name: String,
    subject: String,
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    secrets: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TokenEntry {
    name: String,
    token_file: Option<PathBuf>,
    token_sha256: Option<String>,
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    secrets: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LimitsSection {
    rate_per_second: Option<f64>,
    burst: Option<u32>,
    concurrency_per_caller: Option<usize>,
    render_concurrency: Option<usize>,
    render_queue: Option<usize>,
    max_request_bytes: Option<usize>,
    max_response_bytes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Entry {
    url: String,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    ssh_key_file: Option<PathBuf>,
    ssh_known_hosts_file: Option<PathBuf>,
    #[serde(default)]
    allow_plain_http: bool,
}

fn load(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))
}

/// The `secrets:` section of the config file (keyring, policy), if any.
pub fn load_secrets(path: &Path) -> Result<Option<kiln_secrets::SecretsConfig>> {
    Ok(load(path)?.secrets)
}

/// The `signatures:` section: which keys may sign which repositories'
/// commits, and where a verified signature is required to render.
pub fn load_signatures(path: &Path) -> Result<kiln_git::SignaturePolicies> {
    let mut policies = kiln_git::SignaturePolicies::default();
    for (i, e) in load(path)?.signatures.into_iter().enumerate() {
        let at = || format!("{}: signatures[{i}]", path.display());
        if e.repositories.is_empty() {
            bail!(
                "{}: no repositories: list the URL patterns it applies to",
                at()
            );
        }
        let mut keys = Vec::new();
        // Each entry an OpenSSH key line or an armored OpenPGP key block.
        for (j, k) in e.keys.iter().enumerate() {
            let parsed = kiln_git::AllowedKey::parse_many(k)
                .with_context(|| format!("{}: keys[{j}]", at()))?;
            if parsed.is_empty() {
                bail!("{}: keys[{j}] is empty", at());
            }
            keys.extend(parsed);
        }
        if let Some(f) = &e.keys_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("{}: reading keysFile {}", at(), f.display()))?;
            keys.extend(
                kiln_git::AllowedKey::parse_many(&text)
                    .with_context(|| format!("{}: keysFile {}", at(), f.display()))?,
            );
        }
        if keys.is_empty() && e.require {
            bail!(
                "{}: require is true but no keys are listed: every commit would be refused",
                at()
            );
        }
        policies.add(
            kiln_git::SignaturePolicy::new(&e.repositories, keys, e.require).with_context(at)?,
        );
    }
    Ok(policies)
}

/// Loads credentials from the config file; secrets are read now and never logged.
pub fn load_credentials(path: &Path) -> Result<Credentials> {
    let file = load(path)?;
    let mut creds = Credentials::default();
    for (i, e) in file.credentials.into_iter().enumerate() {
        let at = || format!("{}: credentials[{i}] ({})", path.display(), e.url);
        let sources = [
            e.password.is_some(),
            e.password_file.is_some(),
            e.password_env.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            bail!(
                "{}: give only one of password, passwordFile, passwordEnv",
                at()
            );
        }
        let password = if let Some(p) = &e.password {
            Some(p.clone())
        } else if let Some(f) = &e.password_file {
            Some(
                std::fs::read_to_string(f)
                    .with_context(|| format!("{}: reading passwordFile {}", at(), f.display()))?
                    .trim_end()
                    .to_owned(),
            )
        } else if let Some(var) = &e.password_env {
            Some(
                std::env::var(var)
                    .with_context(|| format!("{}: passwordEnv {var} is not set", at()))?,
            )
        } else {
            None
        };
        if let Some(k) = &e.ssh_key_file
            && !k.is_file()
        {
            bail!("{}: sshKeyFile {} does not exist", at(), k.display());
        }
        creds
            .add(
                &e.url,
                Credential {
                    username: e.username.clone(),
                    password: password.map(Secret::new),
                    ssh_key_file: e.ssh_key_file.clone(),
                    ssh_known_hosts_file: e.ssh_known_hosts_file.clone(),
                    allow_plain_http: e.allow_plain_http,
                },
            )
            .with_context(at)?;
    }
    Ok(creds)
}

/// A fingerprint of everything [`load_auth`] reads (the configuration file
/// and every `tokenFile` it names), to notice that one changed. Unreadable
/// files count as empty: loading then says what is wrong.
pub fn auth_inputs_fingerprint(path: &Path) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    std::fs::read(path).unwrap_or_default().hash(&mut h);
    if let Ok(File {
        auth: Some(section),
        ..
    }) = load(path)
    {
        for t in &section.tokens {
            if let Some(f) = &t.token_file {
                f.hash(&mut h);
                std::fs::read(f).unwrap_or_default().hash(&mut h);
            }
        }
    }
    h.finish()
}

/// The `auth:` section as the server's token table; `None` without one
/// (then every caller may call). Token files are read now; tokens are kept
/// only as digests and never logged.
pub fn load_auth(path: &Path) -> Result<Option<kiln_server::auth::Auth>> {
    let Some(section) = load(path)?.auth else {
        return Ok(None);
    };
    let mut specs = Vec::new();
    for (i, t) in section.tokens.into_iter().enumerate() {
        let at = || format!("{}: auth.tokens[{i}] ({})", path.display(), t.name);
        let sha256 = match (&t.token_file, &t.token_sha256) {
            (Some(f), None) => {
                let text = zeroize::Zeroizing::new(
                    std::fs::read_to_string(f)
                        .with_context(|| format!("{}: reading tokenFile {}", at(), f.display()))?,
                );
                let token = text.trim();
                if token.is_empty() {
                    bail!("{}: tokenFile {} is empty", at(), f.display());
                }
                kiln_server::auth::token_sha256(token)
            }
            (None, Some(hex_digest)) => {
                let mut d = [0u8; 32];
                hex_to(hex_digest.trim(), &mut d)
                    .with_context(|| format!("{}: tokenSha256 is not 64 hex digits", at()))?;
                d
            }
            _ => bail!("{}: give exactly one of tokenFile, tokenSha256", at()),
        };
        if t.repositories.is_empty() {
            bail!(
                "{}: no repositories: list the URL patterns this token may render (\"**\" for all)",
                at()
            );
        }
        specs.push(kiln_server::auth::TokenSpec {
            name: t.name.clone(),
            sha256,
            repositories: t.repositories.clone(),
            secrets: t.secrets,
        });
    }
    let mut clients = Vec::new();
    for (i, c) in section.clients.into_iter().enumerate() {
        if c.repositories.is_empty() {
            bail!(
                "{}: auth.clients[{i}] ({}): no repositories: list the URL patterns it may render (\"**\" for all)",
                path.display(),
                c.name
            );
        }
        clients.push(kiln_server::auth::ClientSpec {
            name: c.name,
            subject: c.subject,
            repositories: c.repositories,
            secrets: c.secrets,
        });
    }
    let auth = kiln_server::auth::Auth::with_clients(specs, clients)
        .with_context(|| format!("config {}: auth", path.display()))?;
    Ok(Some(auth))
}

fn hex_to(s: &str, out: &mut [u8; 32]) -> Result<()> {
    if s.len() != 64 || !s.is_ascii() {
        bail!("expected 64 hex digits");
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)?;
    }
    Ok(())
}

/// The `limits:` section over [`kiln_server::Limits::default`].
pub fn load_limits(path: Option<&Path>) -> Result<kiln_server::Limits> {
    let mut l = kiln_server::Limits::default();
    let Some(path) = path else { return Ok(l) };
    let s = load(path)?.limits.unwrap_or_default();
    if let Some(v) = s.rate_per_second {
        if !(v >= 0.0 && v.is_finite()) {
            bail!(
                "config {}: limits.ratePerSecond must be 0 or more",
                path.display()
            );
        }
        l.rate_per_second = v;
        l.burst = v.ceil().max(1.0) as u32;
    }
    if let Some(v) = s.burst {
        l.burst = v;
    }
    if let Some(v) = s.concurrency_per_caller {
        l.concurrency_per_caller = v;
    }
    if let Some(v) = s.render_concurrency {
        if v == 0 {
            bail!(
                "config {}: limits.renderConcurrency must be at least 1",
                path.display()
            );
        }
        l.render_concurrency = v;
    }
    if let Some(v) = s.render_queue {
        l.render_queue = v;
    }
    if let Some(v) = s.max_request_bytes {
        l.max_request_bytes = v;
    }
    if let Some(v) = s.max_response_bytes {
        l.max_response_bytes = v;
    }
    Ok(l)
}
