//! The optional YAML configuration file: repository credentials and the
//! `secrets:` section (keyring and key policy, see kiln-secrets).
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
