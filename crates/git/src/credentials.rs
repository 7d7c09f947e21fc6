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
    /// known_hosts file for ssh; when set, only host keys listed there are
    /// accepted (otherwise the system's and the user's known_hosts apply).
    pub ssh_known_hosts_file: Option<PathBuf>,
    /// Send the password over plain `http://` to a host that is not
    /// loopback. Off by default: credentials travel over https, or over
    /// http only to 127.0.0.0/8, `::1` or `localhost`.
    pub allow_plain_http: bool,
}

impl Credential {
    /// Refuses to put a password on the wire in clear text, unless the host
    /// is loopback or the credential explicitly allows it.
    pub fn check_transport(&self, fetch_url: &str) -> Result<(), String> {
        let Some(rest) = fetch_url.strip_prefix("http://") else {
            return Ok(());
        };
        if self.password.is_none() || self.allow_plain_http {
            return Ok(());
        }
        let authority = rest.split('/').next().unwrap_or("");
        let host = if authority.starts_with('[') {
            authority
                .split(']')
                .next()
                .unwrap_or("")
                .trim_start_matches('[')
        } else {
            authority.split(':').next().unwrap_or("")
        };
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            Ok(())
        } else {
            Err(format!(
                "refusing to send credentials in clear text to {host} over http; use https, or set allowPlainHttp for this repository"
            ))
        }
    }
}

impl Credential {
    /// A per-request credential (secrets only) under the server's policy for
    /// the repository: the configured known_hosts file when the request
    /// names none, and plain http only where either allows it.
    pub(crate) fn under_policy_of(&self, configured: Option<&Credential>) -> Credential {
        let mut c = self.clone();
        if let Some(conf) = configured {
            if c.ssh_known_hosts_file.is_none() {
                c.ssh_known_hosts_file = conf.ssh_known_hosts_file.clone();
            }
            c.allow_plain_http |= conf.allow_plain_http;
        }
        c
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_cross_plain_http_to_remote_hosts() {
        let c = Credential {
            password: Some(Secret::new("t")),
            ..Credential::default()
        };
        assert!(c.check_transport("https://git.example.com/r").is_ok());
        assert!(c.check_transport("http://127.0.0.1:8080/r").is_ok());
        assert!(c.check_transport("http://localhost/r").is_ok());
        assert!(c.check_transport("http://[::1]:80/r").is_ok());
        let e = c.check_transport("http://git.example.com/r").unwrap_err();
        assert!(
            e.contains("git.example.com") && e.contains("allowPlainHttp"),
            "{e}"
        );
        let allowed = Credential {
            allow_plain_http: true,
            ..c.clone()
        };
        assert!(allowed.check_transport("http://git.example.com/r").is_ok());
        let no_password = Credential::default();
        assert!(
            no_password
                .check_transport("http://git.example.com/r")
                .is_ok()
        );
        assert_eq!(format!("{:?}", c.password), "Some(Secret(***))");
    }
}
