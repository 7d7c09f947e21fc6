//! Paths inside the repository: joining, normalising, and Kustomize's load
//! restrictor (a file a kustomization reads must be inside its folder).

use crate::remote::REMOTE_DIR;

/// Joins `rel` to the directory `dir` and normalises `.` and `..`; `None`
/// when the result would leave the repository root or `rel` is absolute.
/// Inside a remote base (`.kiln-remote/<repo>/<ref>/...`) the result may not
/// leave that base's repository; outside one it may not enter the reserved
/// `.kiln-remote` directory.
pub(crate) fn join(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    let floor = if parts.first() == Some(&REMOTE_DIR) {
        parts.len().min(3)
    } else {
        0
    };
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.len() <= floor {
                    return None;
                }
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    if floor == 0 && parts.first() == Some(&REMOTE_DIR) {
        return None;
    }
    Some(parts.join("/"))
}

/// True when `path` is `dir` or inside it.
pub(crate) fn within(dir: &str, path: &str) -> bool {
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

/// The last segment of a path.
pub(crate) fn base_name(path: &str) -> &str {
    path.rsplit_once('/').map(|(_, f)| f).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_refuses_escapes() {
        assert_eq!(join("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(join("", "x/./y").as_deref(), Some("x/y"));
        assert_eq!(join("a", "../../x"), None);
        assert_eq!(join("a", "/etc/passwd"), None);
        assert!(within("a", "a/b"));
        assert!(!within("a", "ab/c"));
        assert_eq!(join("", ".kiln-remote/x/y"), None);
        assert_eq!(join("a", "../.kiln-remote/x/y/z"), None);
        let r = ".kiln-remote/r/HEAD/base";
        assert_eq!(
            join(r, "../other").as_deref(),
            Some(".kiln-remote/r/HEAD/other")
        );
        assert_eq!(join(r, "../../x"), None);
    }
}
