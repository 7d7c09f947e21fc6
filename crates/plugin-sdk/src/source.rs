//! The revision's files, as the host hands them out. Paths are relative to
//! the repository root; the host refuses any that would leave it.

use crate::{DirEntry, EntryKind, Error, ErrorKind, bindings::kiln::plugin::source as host};

/// Reads a whole file.
pub fn read_file(path: &str) -> Result<Vec<u8>, Error> {
    host::read_file(path)
}

/// Reads a whole file as UTF-8.
pub fn read_to_string(path: &str) -> Result<String, Error> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| Error::invalid(path, "the file is not valid UTF-8"))
}

/// Lists a directory, sorted by name.
pub fn list_dir(path: &str) -> Result<Vec<DirEntry>, Error> {
    host::list_dir(path)
}

/// The kind of what is at `path` (following symlinks), or `None`.
pub fn stat(path: &str) -> Result<Option<EntryKind>, Error> {
    host::stat(path)
}

/// Joins `rel` onto directory `base` and cleans the result lexically, with
/// the host's own rules (`kiln_source::join`); a path that climbs above the
/// root is an error.
pub fn join(base: &str, rel: &str) -> Result<String, Error> {
    kiln_source::join(base, rel)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, Some(e.path()), e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn join_follows_the_host_rules() {
        assert_eq!(
            super::join("apps/web", "../base/x.yaml").unwrap(),
            "apps/base/x.yaml"
        );
        assert_eq!(super::join("", "a/./b").unwrap(), "a/b");
        let e = super::join("apps", "../../etc/passwd").unwrap_err();
        assert!(
            e.message.contains("leaves the repository root"),
            "{}",
            e.message
        );
        assert!(super::join("apps", "/etc/passwd").is_err());
    }
}
