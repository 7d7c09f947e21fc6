/// Errors of the Git cache. Every message names the repository and, where
/// there is one, the revision.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// The URL could not be understood.
    #[error("invalid repository URL '{url}': {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The repository is not on the allowlist.
    #[error("repository '{repo}' is not allowed by this server's allowlist")]
    NotAllowed {
        /// Normalised URL.
        repo: String,
    },
    /// The revision does not exist in the repository.
    #[error("revision '{revision}' not found in repository '{repo}'")]
    RevisionNotFound {
        /// Normalised URL.
        repo: String,
        /// Revision as requested.
        revision: String,
    },
    /// An abbreviated sha matches several objects.
    #[error(
        "revision '{revision}' is ambiguous in repository '{repo}': it abbreviates more than one object"
    )]
    Ambiguous {
        /// Normalised URL.
        repo: String,
        /// Revision as requested.
        revision: String,
    },
    /// The revision names an object that is not a commit.
    #[error("revision '{revision}' in repository '{repo}' is a {kind}, not a commit")]
    NotACommit {
        /// Normalised URL.
        repo: String,
        /// Revision as requested.
        revision: String,
        /// What it is instead.
        kind: String,
    },
    /// The remote could not be reached and the mirror cannot answer.
    #[error("cannot fetch '{repo}': {cause}")]
    Unavailable {
        /// Normalised URL.
        repo: String,
        /// What went wrong, with the remote's own words where there are some.
        cause: String,
    },
    /// The local mirror is unreadable or could not be created.
    #[error("mirror of '{repo}' at {path}: {cause}")]
    Mirror {
        /// Normalised URL.
        repo: String,
        /// Directory of the mirror.
        path: String,
        /// What went wrong.
        cause: String,
    },
    /// The repository's signature policy requires a verified signature and
    /// the commit has none.
    #[error("commit {commit} in {repo}: {reason}")]
    Unverified {
        /// Normalised URL.
        repo: String,
        /// The commit id.
        commit: String,
        /// Why the signature is not verified.
        reason: String,
    },
    /// The cache directory is unusable (not writable, or locked by another process).
    #[error("cache directory {path}: {cause}")]
    CacheDir {
        /// The directory.
        path: String,
        /// What went wrong.
        cause: String,
    },
}

/// Renders an error with its whole `source()` chain, as one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
