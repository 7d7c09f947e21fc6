/// The class of a chart repository failure, which callers map to their own
/// codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The URL is not an `http(s)` chart repository URL, or a constraint is malformed.
    InvalidInput,
    /// The repository or a download URL is not on the allowlist.
    NotAllowed,
    /// No such chart, no matching version, or HTTP 404.
    NotFound,
    /// The repository could not be reached (connection, timeout, HTTP 5xx...).
    Unavailable,
    /// A download is larger than its limit.
    TooLarge,
    /// The archive does not have the digest the index gives, or the index is malformed.
    Corrupt,
    /// The cache directory could not be written or read.
    Internal,
}

/// A failure to resolve or fetch a chart; the message names the
/// repository, the chart, the version asked for and the cause.
#[derive(Clone, Debug, thiserror::Error)]
#[error("chart '{chart}' version '{version}' from repository {repo}: {cause}")]
pub struct Error {
    /// What class of failure it is.
    pub kind: ErrorKind,
    /// The repository URL (normalised when it could be parsed).
    pub repo: String,
    /// The chart name.
    pub chart: String,
    /// The version or constraint asked for (`*` when none was).
    pub version: String,
    /// What went wrong.
    pub cause: String,
}
