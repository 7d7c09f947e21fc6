//! Errors, worded exactly as Go's `text/template` words them.

/// A parse or execution error; `Display` gives Go's message byte for byte.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The template text does not parse: `template: NAME:LINE: MESSAGE`.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// The name the text was parsed under.
        name: String,
        /// 1-based line of the offending token.
        line: usize,
        /// Go's message, e.g. `unexpected EOF`.
        message: String,
    },
    /// Execution failed at a node:
    /// `template: FILE:LINE:COL: executing "NAME" at <NODE>: MESSAGE`.
    #[error("template: {location}: executing {} at <{context}>: {message}", crate::fmt::quote_go(.name))]
    Exec {
        /// The executing template's name.
        name: String,
        /// `file:line:col` of the node being evaluated.
        location: String,
        /// The node as Go prints it (e.g. `.Values.x`).
        context: String,
        /// What went wrong (may embed a nested template's error).
        message: String,
        /// The nested template error a function (such as `include`) returned.
        #[source]
        source: Option<Box<Error>>,
    },
    /// Execution failed outside any node: `template: NAME: MESSAGE`.
    #[error("template: {name}: {message}")]
    Template {
        /// The template's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// `ExecuteTemplate` with a name the set does not hold.
    #[error("template: no template {} associated with template {}", crate::fmt::quote_go(.name), crate::fmt::quote_go(.set))]
    NoTemplate {
        /// The requested name.
        name: String,
        /// The name of the template set (Helm's is `gotpl`).
        set: String,
    },
}

/// The error a template function returns; execution reports it as
/// `error calling NAME: MESSAGE`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FuncError {
    /// The message.
    pub message: String,
    /// A nested template error (from executing another template), if any.
    #[source]
    pub source: Option<Box<Error>>,
}

impl FuncError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        FuncError {
            message: message.into(),
            source: None,
        }
    }
}

impl From<Error> for FuncError {
    fn from(e: Error) -> Self {
        FuncError {
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

impl From<String> for FuncError {
    fn from(message: String) -> Self {
        FuncError::new(message)
    }
}

impl From<&str> for FuncError {
    fn from(message: &str) -> Self {
        FuncError::new(message)
    }
}
