//! Errors of the Argo CD front end and the one place they become statuses.

use kiln_render::PipelineError;
use tonic::{Code, Status};

/// Why an Argo CD request failed. Messages name the repository, revision,
/// path or field concerned; never a credential.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Resolving, reading or rendering failed in the pipeline.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The request is malformed (missing repository, bad revision).
    #[error("{0}")]
    InvalidArgument(String),
    /// The request asks for something Kiln does not do (yet).
    #[error("{0}")]
    Unsupported(String),
    /// A rendered object cannot be marked for tracking.
    #[error("failed to set app instance tracking info on manifest: {0}")]
    Tracking(String),
    /// A background task died or a temporary file failed (a bug or a full disk).
    #[error("internal error: {0}")]
    Internal(String),
    /// The caller may not read the repository or receive its secrets.
    #[error("{0}")]
    Denied(String),
}

impl From<kiln_git::Error> for Error {
    fn from(e: kiln_git::Error) -> Self {
        Error::Pipeline(PipelineError::Git(e))
    }
}

impl From<kiln_source::SourceError> for Error {
    fn from(e: kiln_source::SourceError) -> Self {
        Error::InvalidArgument(e.to_string())
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        to_status(&e)
    }
}

/// Maps an error to a status: pipeline errors as the `kiln.v1` front end
/// maps them, with the words Argo CD's clients look for where they look.
pub fn to_status(e: &Error) -> Status {
    match e {
        // Argo CD reports `<path>: app path does not exist`; clients match it.
        Error::Pipeline(p @ PipelineError::PathNotFound { path, .. }) => Status::new(
            Code::NotFound,
            format!("{path}: app path does not exist ({p})"),
        ),
        Error::Pipeline(p) => kiln_server::to_status(p),
        Error::InvalidArgument(m) => Status::invalid_argument(m.clone()),
        Error::Unsupported(m) => Status::unimplemented(m.clone()),
        Error::Tracking(_) => Status::invalid_argument(e.to_string()),
        Error::Internal(_) => Status::internal(e.to_string()),
        Error::Denied(m) => Status::permission_denied(m.clone()),
    }
}
