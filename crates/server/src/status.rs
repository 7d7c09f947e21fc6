//! The one place where pipeline errors become gRPC statuses.

use kiln_git::Error as GitError;
use kiln_render::{ErrorKind, PipelineError};
use tonic::{Code, Status};

/// Maps a pipeline error to the status the API documents for it; the
/// message is the error's own text (it names repository, revision and path).
pub fn to_status(e: &PipelineError) -> Status {
    let code = match e {
        PipelineError::Git(g) => match g {
            GitError::InvalidUrl { .. }
            | GitError::Ambiguous { .. }
            | GitError::NotACommit { .. } => Code::InvalidArgument,
            GitError::NotAllowed { .. } => Code::PermissionDenied,
            GitError::RevisionNotFound { .. } => Code::NotFound,
            GitError::Unavailable { .. } => Code::Unavailable,
            GitError::Unverified { .. } => Code::FailedPrecondition,
            GitError::Mirror { .. } | GitError::CacheDir { .. } => Code::Internal,
        },
        PipelineError::PathNotFound { .. } => Code::NotFound,
        PipelineError::InvalidRequest(_) => Code::InvalidArgument,
        PipelineError::EngineUnavailable { .. } => Code::FailedPrecondition,
        PipelineError::Render { source, .. } => match source.kind {
            ErrorKind::InvalidInput => Code::InvalidArgument,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::ResourceExhausted => Code::ResourceExhausted,
            ErrorKind::DeadlineExceeded => Code::DeadlineExceeded,
            ErrorKind::Unsupported => Code::FailedPrecondition,
            ErrorKind::Internal => Code::Internal,
            ErrorKind::PermissionDenied => Code::PermissionDenied,
        },
        PipelineError::Internal(_) => Code::Internal,
    };
    Status::new(code, e.to_string())
}

/// Maps a Git cache error.
pub(crate) fn git_status(e: GitError) -> Status {
    to_status(&PipelineError::Git(e))
}
