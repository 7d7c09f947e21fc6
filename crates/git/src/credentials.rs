use std::path::PathBuf;

use globset::{GlobBuilder, GlobMatcher};

use crate::{Error, RepoUrl};

/// A secret string whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is handed to the transport.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How to authenticate to the repositories matching a URL pattern.
#[derive(Clone, Debug, Default)]
pub struct Credential {
    /// User name for http(s) basic auth (tokens usually take any user name).
    pub username: Option<String>,
    /// Password or token for http(s).
    pub password: Option<Secret>,
    /// Private key file for ssh, passed to the system ssh client with `-i`.
    pub ssh_key_file: Option<PathBuf>,
}

/// Credentials per repository URL pattern; the first matching pattern wins.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    entries: Vec<(String, GlobMatcher, Credential)>,
}

impl Credentials {
    /// Adds a credential for the repositories matching `pattern` (same
    /// syntax as the allowlist).
    pub fn add(&mut self, pattern: &str, credential: Credential) -> Result<(), Error> {
        let key = crate::allow::normalise_pattern(pattern.trim());
        let glob = GlobBuilder::new(&key)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::InvalidUrl {
                url: pattern.to_owned(),
                reason: format!("bad credential pattern: {e}"),
            })?;
        self.entries.push((key, glob.compile_matcher(), credential));
        Ok(())
    }

    /// The credential for a repository, if any.
    pub fn find(&self, url: &RepoUrl) -> Option<&Credential> {
        self.entries
            .iter()
            .find(|(_, m, _)| m.is_match(url.key()))
            .map(|(_, _, c)| c)
    }
}
