use kiln_source::SourceError;

/// The class of a render failure, which front ends map to their own codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The source is malformed or refers to something it may not.
    InvalidInput,
    /// A file or directory the render needs does not exist.
    NotFound,
    /// A limit was hit.
    ResourceExhausted,
    /// The renderer ran past its time limit.
    DeadlineExceeded,
    /// The engine cannot render this (not built in, not supported).
    Unsupported,
    /// A bug or an unreadable repository.
    Internal,
    /// The render needs a secret the repository may not open.
    PermissionDenied,
}

/// A failure of one renderer on one app, with the file and line it concerns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", location(.file, .line, .message))]
pub struct RenderError {
    /// What class of failure it is.
    pub kind: ErrorKind,
    /// Repository-relative file the error is about, if any.
    pub file: Option<String>,
    /// 1-based line in that file, if known.
    pub line: Option<u32>,
    /// What went wrong, in the renderer's words.
    pub message: String,
}

fn location(file: &Option<String>, line: &Option<u32>, message: &str) -> String {
    // Engines that word errors as their upstream tool does often start
    // with the file already.
    if let Some(f) = file
        && message.starts_with(&format!("{f}:"))
    {
        return String::new();
    }
    match (file, line) {
        (Some(f), Some(l)) => format!("{f}:{l}: "),
        (Some(f), None) => format!("{f}: "),
        _ => String::new(),
    }
}

impl RenderError {
    /// An error about a file.
    pub fn new(kind: ErrorKind, file: impl Into<String>, message: impl Into<String>) -> Self {
        RenderError {
            kind,
            file: Some(file.into()),
            line: None,
            message: message.into(),
        }
    }

    /// Sets the line.
    pub fn at_line(mut self, line: Option<u32>) -> Self {
        self.line = line;
        self
    }
}

impl From<SourceError> for RenderError {
    fn from(e: SourceError) -> Self {
        let kind = match &e {
            SourceError::NotFound { .. } => ErrorKind::NotFound,
            SourceError::LimitExceeded { .. } => ErrorKind::ResourceExhausted,
            SourceError::Backend { .. } => ErrorKind::Internal,
            SourceError::Secret { denied: true, .. } => ErrorKind::PermissionDenied,
            _ => ErrorKind::InvalidInput,
        };
        RenderError {
            kind,
            file: None,
            line: None,
            message: e.to_string(),
        }
    }
}

/// Why a pipeline request failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PipelineError {
    /// Resolving or reading Git failed.
    #[error(transparent)]
    Git(#[from] kiln_git::Error),
    /// The app path does not exist in the revision.
    #[error("app path '{path}' does not exist in {repo} at {revision}")]
    PathNotFound {
        /// Normalised repository URL (or local folder).
        repo: String,
        /// The commit.
        revision: String,
        /// The app path.
        path: String,
    },
    /// The request itself is malformed (bad path, bad parameter).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No renderer of that name is available.
    #[error("engine '{engine}' is not available in this server (available: {available})")]
    EngineUnavailable {
        /// The requested or detected engine.
        engine: String,
        /// The engines that are.
        available: String,
    },
    /// The renderer failed.
    #[error("rendering '{path}' of {repo} at {revision} with {engine}: {source}")]
    Render {
        /// Normalised repository URL.
        repo: String,
        /// The commit.
        revision: String,
        /// The app path.
        path: String,
        /// The engine.
        engine: String,
        /// What failed.
        #[source]
        source: Box<RenderError>,
    },
    /// A background task died (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}
