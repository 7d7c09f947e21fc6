use std::path::Path;

use crate::Error;

/// A repository URL in two forms: what to connect to, and the normalised key
/// that names its mirror and is matched against the allowlist.
///
/// Normalisation lower-cases scheme and host, drops credentials, the user of
/// ssh URLs, a trailing `/` and a trailing `.git`, and turns scp-like
/// `git@host:org/repo` into `ssh://host/org/repo`. Local paths become
/// `file://` URLs of their canonical path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RepoUrl {
    key: String,
    fetch: String,
}

impl RepoUrl {
    /// Parses a URL or a local path (relative paths are resolved against the
    /// current directory).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: redact(raw),
            reason: reason.to_owned(),
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(invalid("the URL is empty"));
        }
        if let Some((scheme, rest)) = raw.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            match scheme.as_str() {
                "file" => return Self::local(rest, raw),
                "http" | "https" | "git" | "ssh" => {}
                _ => {
                    return Err(invalid(
                        "unsupported scheme; use https, http, git, ssh or file",
                    ));
                }
            }
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let user = authority.rsplit_once('@').map(|(u, _)| u);
            if host_port.is_empty() {
                return Err(invalid("the URL has no host"));
            }
            let key = format!(
                "{scheme}://{}/{}",
                host_port.to_ascii_lowercase(),
                trim_path(path)
            );
            // ssh keeps its user (it selects the account); http(s) credentials
            // never travel in the URL: they come from the credential store.
            let fetch = match (scheme.as_str(), user) {
                ("ssh", Some(u)) => {
                    let u = u.split(':').next().unwrap_or(u);
                    format!("ssh://{u}@{host_port}/{path}")
                }
                _ => format!("{scheme}://{host_port}/{path}"),
            };
            return Ok(RepoUrl { key, fetch });
        }
        // scp-like: [user@]host:path, where host has no '/'.
        if let Some((left, path)) = raw.split_once(':')
            && !left.contains('/')
            && !left.is_empty()
            && !path.starts_with("//")
            && (left.contains('@') || left.contains('.'))
        {
            let (user, host) = left
                .rsplit_once('@')
                .map_or((None, left), |(u, h)| (Some(u), h));
            let key = format!("ssh://{}/{}", host.to_ascii_lowercase(), trim_path(path));
            let fetch = match user {
                Some(u) => format!("ssh://{u}@{host}/{}", path.trim_start_matches('/')),
                None => format!("ssh://{host}/{}", path.trim_start_matches('/')),
            };
            return Ok(RepoUrl { key, fetch });
        }
        Self::local(raw, raw)
    }

    fn local(path: &str, raw: &str) -> Result<Self, Error> {
        // A remote that is gone must still name its mirror, so an absolute
        // path that no longer exists is taken as written.
        let canonical = match Path::new(path).canonicalize() {
            Ok(p) => p,
            Err(_) if path.starts_with('/') => Path::new(path).to_path_buf(),
            Err(e) => {
                return Err(Error::InvalidUrl {
                    url: raw.to_owned(),
                    reason: format!("local repository path: {e}"),
                });
            }
        };
        let s = canonical.to_string_lossy().into_owned();
        Ok(RepoUrl {
            key: format!("file://{}", trim_path(&s)),
            fetch: format!("file://{s}"),
        })
    }

    /// The normalised URL: mirror name, allowlist subject, and the form used
    /// in messages.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The URL to connect to.
    pub fn fetch_url(&self) -> &str {
        &self.fetch
    }
}

impl std::fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)
    }
}

fn trim_path(path: &str) -> String {
    let p = path.trim_end_matches('/');
    let p = p.strip_suffix(".git").unwrap_or(p);
    p.trim_end_matches('/').to_owned()
}

/// Removes a password from a URL before it is shown anywhere.
pub(crate) fn redact(raw: &str) -> String {
    if let Some((scheme, rest)) = raw.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some((user, host)) = authority.rsplit_once('@') {
            let user = user.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}:***@{host}/{path}");
        }
    }
    raw.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_common_forms() {
        let k = |s: &str| RepoUrl::parse(s).unwrap().key().to_owned();
        assert_eq!(
            k("https://GitHub.com/Acme/Apps.git/"),
            "https://github.com/Acme/Apps"
        );
        assert_eq!(
            k("https://user:tok@github.com/acme/apps"),
            "https://github.com/acme/apps"
        );
        assert_eq!(
            k("git@github.com:acme/apps.git"),
            "ssh://github.com/acme/apps"
        );
        assert_eq!(
            k("ssh://git@github.com/acme/apps.git"),
            "ssh://github.com/acme/apps"
        );
        assert_eq!(
            k("git://127.0.0.1:9418/apps.git"),
            "git://127.0.0.1:9418/apps"
        );
        let u = RepoUrl::parse("https://user:tok@github.com/acme/apps").unwrap();
        assert!(!u.fetch_url().contains("tok"));
        assert!(RepoUrl::parse("ftp://x/y").is_err());
        assert!(RepoUrl::parse("").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("https://u:secret@h/x"), "https://u:***@h/x");
        assert!(
            !RepoUrl::parse("ftp://u:secret@h/x")
                .unwrap_err()
                .to_string()
                .contains("secret")
        );
    }
}
