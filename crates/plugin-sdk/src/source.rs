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

/// Joins `rel` onto directory `base` and cleans the result lexically, as the
/// host does; a path that climbs above the root is an error.
pub fn join(base: &str, rel: &str) -> Result<String, Error> {
    let joined = if rel.starts_with('/') || base.is_empty() {
        rel.to_owned()
    } else {
        format!("{base}/{rel}")
    };
    let mut out: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        Some(&joined),
                        "the path leaves the repository root",
                    ));
                }
            }
            s => out.push(s),
        }
    }
    Ok(out.join("/"))
}
