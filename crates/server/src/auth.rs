//! Who is calling, and what they may render.
//!
//! [`Auth`] holds the bearer tokens of the configuration, each kept only as
//! its sha256 digest with the repository patterns it may render and whether
//! it may receive renders that decrypted secrets. The guard layer
//! (`guard.rs`) authenticates every call (health checks excepted) and puts
//! the [`Caller`] in the request's extensions; handlers then ask
//! [`authorize`] about the repository of the request and
//! [`Caller::may_receive_secrets`] about a render that decrypted.
//!
//! Token comparison is constant-time over the digests of every configured
//! token, so neither the token nor which entry it nearly matched leaks
//! through timing. A token never appears in a message or a log: callers are
//! named by the token's configured name.

use std::sync::Arc;

use kiln_git::{Allowlist, RepoUrl};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::Status;

/// One configured token.
#[derive(Clone, Debug)]
pub struct TokenSpec {
    /// Name of the caller, used in logs, metrics and limits.
    pub name: String,
    /// sha256 of the token.
    pub sha256: [u8; 32],
    /// Repository URL patterns (allowlist syntax) this token may render.
    pub repositories: Vec<String>,
    /// May receive renders that decrypted a SOPS file.
    pub secrets: bool,
}

/// One mutual-TLS client certificate subject and what it may do, for
/// callers that present no token (an unmodified Argo CD, for one).
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// Name of the caller, used in logs, metrics and limits.
    pub name: String,
    /// The verified client certificate's subject, as RFC 4514 prints it
    /// in the certificate's order (`CN=argocd-repo-server, O=acme`).
    pub subject: String,
    /// Repository URL patterns (allowlist syntax) it may render.
    pub repositories: Vec<String>,
    /// May receive renders that decrypted a SOPS file.
    pub secrets: bool,
}

/// A configuration error of the tokens.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A repository pattern does not parse.
    #[error("token {name}: {source}")]
    Pattern {
        /// Token name.
        name: String,
        /// Cause.
        #[source]
        source: kiln_git::Error,
    },
    /// Two tokens (or clients) have the same name, value or subject.
    #[error("caller {name}: {what} used by an earlier entry too")]
    Duplicate {
        /// Token name.
        name: String,
        /// "name" or "token value".
        what: &'static str,
    },
    /// A token without a name.
    #[error("a token has an empty name")]
    EmptyName,
}

/// What an authenticated caller may do.
#[derive(Debug)]
pub struct Grant {
    name: Arc<str>,
    repositories: Allowlist,
    secrets: bool,
}

impl Grant {
    fn new(name: &str, repositories: &[String], secrets: bool) -> Result<Arc<Self>, AuthError> {
        if name.trim().is_empty() {
            return Err(AuthError::EmptyName);
        }
        let repositories = Allowlist::new(repositories).map_err(|source| AuthError::Pattern {
            name: name.to_owned(),
            source,
        })?;
        Ok(Arc::new(Grant {
            name: name.into(),
            repositories,
            secrets,
        }))
    }
}

/// The bearer tokens (and mTLS client subjects) the server accepts.
#[derive(Debug)]
pub struct Auth {
    tokens: Vec<([u8; 32], Arc<Grant>)>,
    clients: Vec<(String, Arc<Grant>)>,
}

/// The accepted tokens as the server holds them: shared by every request,
/// replaceable while serving (a reloaded token file), cheap to clone.
#[derive(Clone, Debug)]
pub struct AuthHandle(Arc<std::sync::RwLock<Arc<Auth>>>);

impl AuthHandle {
    /// A handle holding `auth`.
    pub fn new(auth: Auth) -> Self {
        AuthHandle(Arc::new(std::sync::RwLock::new(Arc::new(auth))))
    }

    /// The tokens in force now.
    pub fn current(&self) -> Arc<Auth> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts `auth` in force for every later request.
    pub fn replace(&self, auth: Auth) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(auth);
    }
}

/// sha256 of a token, as configured with `tokenSha256`.
pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Auth {
    /// The accepted tokens; patterns are checked now.
    pub fn new(tokens: Vec<TokenSpec>) -> Result<Self, AuthError> {
        Self::with_clients(tokens, Vec::new())
    }

    /// Tokens and mTLS client subjects; names are unique over both.
    pub fn with_clients(
        tokens: Vec<TokenSpec>,
        clients: Vec<ClientSpec>,
    ) -> Result<Self, AuthError> {
        let mut auth = Auth {
            tokens: Vec::new(),
            clients: Vec::new(),
        };
        let dup = |name: &str, what| AuthError::Duplicate {
            name: name.to_owned(),
            what,
        };
        for t in tokens {
            if auth.names().any(|n| n == t.name) {
                return Err(dup(&t.name, "name"));
            }
            if auth.tokens.iter().any(|(d, _)| *d == t.sha256) {
                return Err(dup(&t.name, "token value"));
            }
            let grant = Grant::new(&t.name, &t.repositories, t.secrets)?;
            auth.tokens.push((t.sha256, grant));
        }
        for c in clients {
            if auth.names().any(|n| n == c.name) {
                return Err(dup(&c.name, "name"));
            }
            let subject = normalise_subject(&c.subject);
            if auth.clients.iter().any(|(s, _)| *s == subject) {
                return Err(dup(&c.name, "subject"));
            }
            let grant = Grant::new(&c.name, &c.repositories, c.secrets)?;
            auth.clients.push((subject, grant));
        }
        Ok(auth)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.tokens
            .iter()
            .map(|(_, g)| &*g.name)
            .chain(self.clients.iter().map(|(_, g)| &*g.name))
    }

    /// Number of tokens and clients.
    pub fn len(&self) -> usize {
        self.tokens.len() + self.clients.len()
    }

    /// True when nothing is configured (then every call is refused).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The grant of a verified mTLS client certificate subject.
    pub fn client(&self, subject: &str) -> Option<Arc<Grant>> {
        let subject = normalise_subject(subject);
        self.clients
            .iter()
            .find(|(s, _)| *s == subject)
            .map(|(_, g)| g.clone())
    }

    /// The grant of an `authorization` header value (`Bearer <token>`).
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<Arc<Grant>, Status> {
        let Some(value) = header else {
            return Err(Status::unauthenticated(
                "this server requires a bearer token (authorization: Bearer <token>)",
            ));
        };
        let token = value
            .strip_prefix(b"Bearer ")
            .or_else(|| value.strip_prefix(b"bearer "))
            .ok_or_else(|| {
                Status::unauthenticated("the authorization header is not a bearer token")
            })?;
        let token = token.trim_ascii();
        let digest: [u8; 32] = Sha256::digest(token).into();
        // Compare with every token, without stopping at a match.
        let mut found: Option<&Arc<Grant>> = None;
        for (d, g) in &self.tokens {
            let eq: bool = d.ct_eq(&digest).into();
            if eq {
                found = Some(g);
            }
        }
        found
            .cloned()
            .ok_or_else(|| Status::unauthenticated("the bearer token is not accepted"))
    }
}

/// A subject compared without spaces after separators or case differences
/// in attribute names (`cn=a,O=b` equals `CN=a, O=b`).
fn normalise_subject(s: &str) -> String {
    s.split(',')
        .map(|part| {
            let part = part.trim();
            match part.split_once('=') {
                Some((k, v)) => format!("{}={}", k.trim().to_ascii_uppercase(), v.trim()),
                None => part.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The caller of a request, set by the guard layer.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Token name, mTLS client subject or peer address.
    pub identity: Arc<str>,
    /// The token's grant; `None` when the server has no tokens configured
    /// (every repository the allowlist allows, and secrets).
    pub grant: Option<Arc<Grant>>,
}

impl Caller {
    /// A caller that may do everything (auth off).
    pub fn unrestricted(identity: impl Into<Arc<str>>) -> Self {
        Caller {
            identity: identity.into(),
            grant: None,
        }
    }

    /// A caller authenticated by a token.
    pub fn with_grant(grant: Arc<Grant>) -> Self {
        Caller {
            identity: grant.name.clone(),
            grant: Some(grant),
        }
    }

    /// PERMISSION_DENIED unless the caller may render `repo_url`.
    pub fn may_read(&self, repo_url: &str) -> Result<(), Status> {
        let Some(g) = &self.grant else {
            return Ok(());
        };
        let url = RepoUrl::parse(repo_url)
            .map_err(|e| Status::invalid_argument(format!("repository {repo_url:?}: {e}")))?;
        if g.repositories.allows(&url) {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "caller {} may not read repository {}",
                self.identity,
                url.key()
            )))
        }
    }

    /// PERMISSION_DENIED when a render of `repo_url` decrypted secrets and
    /// the caller may not receive them.
    pub fn may_receive_secrets(&self, repo_url: &str, decrypted: bool) -> Result<(), Status> {
        match &self.grant {
            Some(g) if decrypted && !g.secrets => Err(Status::permission_denied(format!(
                "caller {} may not receive rendered secrets: the render of {} decrypted a SOPS file",
                self.identity,
                RepoUrl::parse(repo_url)
                    .map_or_else(|_| repo_url.to_owned(), |u| u.key().to_owned())
            ))),
            _ => Ok(()),
        }
    }
}

tokio::task_local! {
    static CALLER: Caller;
}

/// The caller of a request; `None` when no guard layer ran (a router built
/// without one, as in unit tests), which allows everything.
pub fn caller(extensions: &http::Extensions) -> Option<&Caller> {
    extensions.get::<Caller>()
}

/// PERMISSION_DENIED unless the request's caller may render `repo_url`.
pub fn authorize<T>(request: &tonic::Request<T>, repo_url: &str) -> Result<(), Status> {
    match caller(request.extensions()) {
        Some(c) => c.may_read(repo_url),
        None => Ok(()),
    }
}

/// Runs `fut` with `caller` as the current caller, for code that has no
/// request at hand ([`check_secrets`]).
pub async fn scope<F: Future>(caller: Option<Caller>, fut: F) -> F::Output {
    match caller {
        Some(c) => CALLER.scope(c, fut).await,
        None => fut.await,
    }
}

/// [`Caller::may_receive_secrets`] for the current caller set by [`scope`].
pub fn check_secrets(repo_url: &str, decrypted: bool) -> Result<(), Status> {
    CALLER
        .try_with(|c| c.may_receive_secrets(repo_url, decrypted))
        .unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::new(vec![
            TokenSpec {
                name: "team-a".into(),
                sha256: token_sha256("secret-a"),
                repositories: vec!["https://git.example/a/*".into()],
                secrets: false,
            },
            TokenSpec {
                name: "ops".into(),
                sha256: token_sha256("secret-ops"),
                repositories: vec!["**".into()],
                secrets: true,
            },
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn authenticates_bearer_tokens() {
        let a = auth();
        let code = |h: Option<&[u8]>| a.authenticate(h).map(|g| g.name.to_string());
        assert_eq!(
            code(Some(b"Bearer secret-a")).ok().as_deref(),
            Some("team-a")
        );
        assert_eq!(
            code(Some(b"Bearer secret-ops")).ok().as_deref(),
            Some("ops")
        );
        for bad in [
            None,
            Some(&b"Bearer nope"[..]),
            Some(b"Basic secret-a"),
            Some(b"secret-a"),
        ] {
            let e = code(bad).err().map(|s| s.code());
            assert_eq!(e, Some(tonic::Code::Unauthenticated), "{bad:?}");
        }
        // The token is never quoted.
        let e = a
            .authenticate(Some(b"Bearer nope"))
            .err()
            .map(|s| s.message().to_owned());
        assert!(!e.unwrap_or_default().contains("nope"));
    }

    #[test]
    fn repository_patterns_and_secrets() {
        let a = auth();
        let team = Caller::with_grant(
            a.authenticate(Some(b"Bearer secret-a"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(team.may_read("https://git.example/a/app.git").is_ok());
        let denied = team.may_read("https://git.example/b/app").err();
        assert_eq!(
            denied.as_ref().map(|s| s.code()),
            Some(tonic::Code::PermissionDenied)
        );
        assert!(
            denied
                .map(|s| s.message().contains("https://git.example/b/app"))
                .unwrap_or(false)
        );
        assert!(
            team.may_receive_secrets("https://git.example/a/app", false)
                .is_ok()
        );
        assert_eq!(
            team.may_receive_secrets("https://git.example/a/app", true)
                .err()
                .map(|s| s.code()),
            Some(tonic::Code::PermissionDenied)
        );
        let ops = Caller::with_grant(
            a.authenticate(Some(b"Bearer secret-ops"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(ops.may_read("https://anything.example/x/y").is_ok());
        assert!(
            ops.may_receive_secrets("https://anything.example/x/y", true)
                .is_ok()
        );
        let open = Caller::unrestricted("127.0.0.1");
        assert!(open.may_read("https://git.example/b/app").is_ok());
    }

    #[test]
    fn refuses_duplicates() {
        let t = |name: &str, tok: &str| TokenSpec {
            name: name.into(),
            sha256: token_sha256(tok),
            repositories: vec![],
            secrets: false,
        };
        assert!(Auth::new(vec![t("a", "x"), t("a", "y")]).is_err());
        assert!(Auth::new(vec![t("a", "x"), t("b", "x")]).is_err());
        assert!(Auth::new(vec![t("", "x")]).is_err());
    }

    #[test]
    fn client_subjects() {
        let a = Auth::with_clients(
            vec![],
            vec![ClientSpec {
                name: "argocd".into(),
                subject: "CN=argocd-repo-server, O=acme".into(),
                repositories: vec!["**".into()],
                secrets: false,
            }],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(a.client("cn=argocd-repo-server,O=acme").is_some());
        assert!(a.client("CN=other").is_none());
    }

    #[tokio::test]
    async fn scoped_secret_check() {
        let a = auth();
        let team = Caller::with_grant(
            a.authenticate(Some(b"Bearer secret-a"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let r = scope(Some(team), async {
            check_secrets("https://git.example/a/x", true)
        })
        .await;
        assert_eq!(
            r.err().map(|s| s.code()),
            Some(tonic::Code::PermissionDenied)
        );
        assert!(check_secrets("https://git.example/a/x", true).is_ok());
    }
}
