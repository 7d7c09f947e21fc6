//! The `secrets:` section of the server's configuration file.

use std::path::PathBuf;

use serde::Deserialize;

/// Keys, key directories, rules and the cache setting.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretsConfig {
    /// Keep renders that decrypted a file in the in-memory render cache
    /// (default true; the cache is never written to disk).
    #[serde(default = "yes")]
    pub cache: bool,
    /// Named key files.
    #[serde(default)]
    pub keys: Vec<KeyFile>,
    /// Directories whose every file is a key named after the file (a
    /// mounted Kubernetes Secret); names starting with `.` are skipped.
    #[serde(default)]
    pub key_dirs: Vec<PathBuf>,
    /// Which repositories may use which keys.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

fn yes() -> bool {
    true
}

/// One named key file: age identities (`AGE-SECRET-KEY-1…`) or an
/// unencrypted SSH private key (ed25519 or RSA).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// Name the rules use.
    pub name: String,
    /// The file.
    pub file: PathBuf,
}

/// Repositories (and optionally paths in them) that may use some keys.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Repository URL patterns, in the allowlist's syntax.
    pub repos: Vec<String>,
    /// Repository-relative path globs (`**` across folders); empty: all.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Names of the keys these repositories may use.
    pub keys: Vec<String>,
}
