//! The read-only file view a build reads through.

use std::collections::BTreeMap;

/// What a build may read. Paths are relative to the repository root, use
/// `/`, and never contain `.` or `..` segments (the build normalises them
/// first); `""` is the root.
pub trait Files {
    /// The file's bytes, or `None` when there is no file at `path`.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String>;
    /// Names in the directory, sorted, or `None` when it is not a directory.
    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String>;
}

/// Files held in memory, for tests and examples.
#[derive(Clone, Debug, Default)]
pub struct MemFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemFiles {
    /// Adds a file.
    pub fn with(mut self, path: &str, body: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.to_owned(), body.into());
        self
    }
}

impl Files for MemFiles {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.files.get(path).cloned())
    }

    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let mut names: Vec<String> = self
            .files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_owned())
            .collect();
        names.dedup();
        if names.is_empty() && !path.is_empty() {
            return Ok(None);
        }
        Ok(Some(names))
    }
}
