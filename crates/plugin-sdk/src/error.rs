use crate::{Error, ErrorKind};

impl Error {
    /// An error of `kind`, about `file` if given.
    pub fn new(kind: ErrorKind, file: Option<&str>, message: impl Into<String>) -> Self {
        Error {
            kind,
            file: file.map(str::to_owned),
            line: None,
            message: message.into(),
        }
    }

    /// Malformed input in `file`.
    pub fn invalid(file: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, Some(file), message)
    }

    /// Sets the 1-based line.
    pub fn at_line(mut self, line: Option<u32>) -> Self {
        self.line = line;
        self
    }
}

impl Error {
    /// `file:line: message`, as the host shows it.
    pub fn describe(&self) -> String {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => format!("{file}:{line}: {}", self.message),
            (Some(file), None) => format!("{file}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}
