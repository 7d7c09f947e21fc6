use crate::BackendError;

/// Why a read from a source tree failed. Every variant names the path.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The path is absolute, contains NUL, or leaves the repository root.
    #[error("invalid path '{path}': {reason}")]
    InvalidPath {
        /// The path as the renderer gave it.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Nothing exists at the path in this revision.
    #[error("'{path}' does not exist")]
    NotFound {
        /// Normalised path.
        path: String,
    },
    /// A file was expected but the path is a directory (or the reverse).
    #[error("'{path}' is a {found}, not a {expected}")]
    WrongKind {
        /// Normalised path.
        path: String,
        /// What the caller asked for.
        expected: &'static str,
        /// What the tree holds there.
        found: &'static str,
    },
    /// A symlink points outside the repository or is absolute.
    #[error("symlink '{link}' -> '{target}' (reached from '{path}') leaves the repository root")]
    SymlinkEscape {
        /// The path being resolved.
        path: String,
        /// The symlink's own path.
        link: String,
        /// Its target as stored.
        target: String,
    },
    /// Too many symlinks were followed resolving the path (a loop).
    #[error("too many levels of symlinks resolving '{path}'")]
    SymlinkLoop {
        /// The path being resolved.
        path: String,
    },
    /// The path enters a Git submodule, whose content is not in this tree.
    #[error(
        "'{path}' is inside the submodule at '{submodule}', which is not part of this repository's tree"
    )]
    Submodule {
        /// The path being resolved.
        path: String,
        /// Path of the submodule entry.
        submodule: String,
    },
    /// A read limit was hit.
    #[error("read limit {limit} exceeded reading '{path}': {value} > {max}")]
    LimitExceeded {
        /// Name of the limit, as the CLI flag spells it.
        limit: &'static str,
        /// The file whose read crossed it.
        path: String,
        /// The value that would have been reached.
        value: u64,
        /// The configured maximum.
        max: u64,
    },
    /// An encrypted file could not be opened for this render: no key the
    /// repository may use (`denied`), or a malformed or tampered file.
    #[error("cannot decrypt '{path}': {message}")]
    Secret {
        /// Normalised path.
        path: String,
        /// Why, in words that name the field where one is at fault.
        message: String,
        /// True when the policy allows no key that opens the file.
        denied: bool,
    },
    /// The storage backend failed (corrupt object, IO error).
    #[error("cannot read '{path}': {source}")]
    Backend {
        /// Normalised path.
        path: String,
        /// The backend's error.
        #[source]
        source: BackendError,
    },
}

impl SourceError {
    /// The path the error concerns.
    pub fn path(&self) -> &str {
        match self {
            SourceError::InvalidPath { path, .. }
            | SourceError::NotFound { path }
            | SourceError::WrongKind { path, .. }
            | SourceError::SymlinkEscape { path, .. }
            | SourceError::SymlinkLoop { path }
            | SourceError::Submodule { path, .. }
            | SourceError::LimitExceeded { path, .. }
            | SourceError::Secret { path, .. }
            | SourceError::Backend { path, .. } => path,
        }
    }
}
