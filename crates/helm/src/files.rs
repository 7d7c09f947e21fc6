//! The read-only view of the repository a chart is loaded from.

/// Files of the repository, by `/`-separated path relative to its root.
pub trait Files {
    /// The bytes of a file; `None` when there is no file at `path`.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String>;
    /// The names of a folder's entries; `None` when `path` is not a folder.
    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String>;
}

/// Joins `rel` onto `base` lexically (`.` and `..` resolved); `None` when
/// it would climb above the root.
pub fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let start = if rel.starts_with('/') { "" } else { base };
    for p in start.split('/').chain(rel.split('/')) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}
