use crate::SourceError;

/// Normalises a repository-relative path lexically, as Go's `filepath.Clean`
/// does: `.` and empty segments vanish and `..` removes the segment before it.
///
/// Returns the path without leading or trailing `/` (`""` is the root).
/// An absolute path, a NUL byte, or a `..` that would leave the repository
/// root is an error naming the path.
pub fn normalize(path: &str) -> Result<String, SourceError> {
    if path.starts_with('/') {
        return Err(SourceError::InvalidPath {
            path: path.to_owned(),
            reason: "absolute paths are not allowed; paths are relative to the repository root",
        });
    }
    if path.contains('\0') {
        return Err(SourceError::InvalidPath {
            path: path.to_owned(),
            reason: "the path contains a NUL byte",
        });
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(SourceError::InvalidPath {
                        path: path.to_owned(),
                        reason: "it leaves the repository root",
                    });
                }
            }
            s => out.push(s),
        }
    }
    Ok(out.join("/"))
}

/// Joins `rel` onto the directory `base` and normalises the result; an
/// absolute `rel` is refused like any other absolute path.
pub fn join(base: &str, rel: &str) -> Result<String, SourceError> {
    if rel.starts_with('/') {
        return normalize(rel);
    }
    if base.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{base}/{rel}"))
    }
}
