//! Remote Git bases in `resources:` (`https://github.com/org/repo//path?ref=v1`,
//! `git@github.com:org/repo.git//path`, ...), parsed as Kustomize's
//! `api/internal/git/repospec.go` parses them.
//!
//! The build fetches nothing: a remote base is read through the same
//! [`crate::Files`] view, under the reserved directory
//! `.kiln-remote/<repo>/<ref>/`, where `<repo>` is the clone URL and `<ref>`
//! the ref (`HEAD` when none is given), each percent-encoded so that every
//! byte other than ASCII letters, digits, `-` and `_` is written `%XX`
//! (upper-case hex): the two segments never contain `/` and are never `.` or
//! `..`. The Kiln host serves that directory from the remote repository
//! through its Git cache and allowlist. Paths under it cannot leave it.

/// The reserved top-level directory remote bases are read under.
pub const REMOTE_DIR: &str = ".kiln-remote";

/// A remote Git base as a `resources:` entry names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteBase {
    /// What to clone, as Kustomize forms it (host and repository path),
    /// e.g. `https://github.com/org/repo` or `git@github.com:org/repo.git`.
    pub repo: String,
    /// The kustomization directory inside the repository (`""`: its root).
    pub path: String,
    /// Branch, tag or commit (`?ref=` or `?version=`); `""` for the default.
    pub reference: String,
}

impl RemoteBase {
    /// The directory of [`crate::Files`] the base's repository root is read
    /// under: `.kiln-remote/<repo>/<ref>`.
    pub fn root(&self) -> String {
        let reference = if self.reference.is_empty() {
            "HEAD"
        } else {
            &self.reference
        };
        format!("{REMOTE_DIR}/{}/{}", encode(&self.repo), encode(reference))
    }
}

/// Percent-encodes every byte other than ASCII letters, digits, `-`, `_`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode`]; `None` for a malformed or non-UTF-8 segment.
pub fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Strips an ASCII prefix, ignoring case.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A leading `user@` (a letter, then letters, digits and `-`).
fn username(s: &str) -> Option<(&str, &str)> {
    let at = s.find('@')?;
    let user = &s[..at];
    let mut chars = user.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| (&s[..=at], &s[at + 1..]))
}

const SCHEMES: [&str; 5] = ["ssh://", "https://", "http://", "file://", "git://"];

/// True for a `resources:` entry that names something outside the
/// repository (a URL, an scp-like Git address, a `github.com/` path).
pub fn is_remote(entry: &str) -> bool {
    let e = strip_prefix_ci(entry, "git::").unwrap_or(entry);
    SCHEMES.iter().any(|s| strip_prefix_ci(e, s).is_some())
        || e.contains("://")
        || username(e).is_some_and(|(_, rest)| rest.contains(':') || rest.contains('/'))
        || strip_prefix_ci(e, "github.com/").is_some()
        || strip_prefix_ci(e, "github.com:").is_some()
        || e.starts_with("gitlab.com/")
        || e.starts_with("bitbucket.org/")
}

/// Parses a remote `resources:` entry as Kustomize does. `git://` URLs are
/// accepted too (Kustomize refuses them). An HTTP(S) URL of a plain file is
/// refused: only Git bases are supported.
pub fn parse(entry: &str) -> Result<RemoteBase, String> {
    let (rest, query) = entry.split_once('?').unwrap_or((entry, ""));
    let reference = parse_query(query);
    let rest = strip_prefix_ci(rest, "git::").unwrap_or(rest);
    let (scheme, rest) = SCHEMES
        .iter()
        .find_map(|s| strip_prefix_ci(rest, s).map(|r| (*s, r)))
        .unwrap_or(("", rest));
    if scheme.is_empty() && rest.contains("://") {
        let s = rest.split("://").next().unwrap_or_default();
        return Err(format!(
            "unsupported scheme '{s}://' (use https, http, ssh, git or file)"
        ));
    }
    let (user, rest) = username(rest).unwrap_or(("", rest));
    let github = strip_prefix_ci(rest, "github.com/").is_some()
        || strip_prefix_ci(rest, "github.com:").is_some();
    let scp = scheme.is_empty() && (!user.is_empty() || github);
    if scheme.is_empty() && !scp {
        return Err("not a Git URL: no scheme".into());
    }
    if (scheme == "https://" || scheme == "http://") && !github && is_plain_file(rest, &reference) {
        return Err(
            "remote files over HTTP(S) are not supported; only Git bases are \
             (for example https://host/org/repo//path?ref=v1)"
                .into(),
        );
    }
    let (host, path) = if scheme == "file://" {
        (scheme.to_owned(), format!("{user}{rest}"))
    } else {
        let slash = rest.find('/');
        let sep = match (scp, rest.find(':')) {
            (true, Some(c)) if c > 0 && slash.is_none_or(|s| c < s) => Some(c),
            _ => slash,
        };
        let (host, path) = match sep {
            Some(i) => (&rest[..=i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let host = if github {
            if scheme == "ssh://" || !user.is_empty() {
                format!("{user}github.com:")
            } else {
                "https://github.com/".to_owned()
            }
        } else {
            format!("{scheme}{user}{host}")
        };
        (host, path.to_owned())
    };
    if host.is_empty() || (host == scheme && scheme != "file://") {
        return Err("no host in the URL".into());
    }
    let (repo_path, kust_path) = split_repo_path(&path, scheme == "file://")
        .ok_or_else(|| "no repository path in the URL".to_owned())?;
    let kust_path = kust_path.trim_start_matches('/');
    let mut depth: i32 = 0;
    for seg in kust_path.split('/') {
        match seg {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(format!("the path '{kust_path}' leaves the repository"));
        }
    }
    Ok(RemoteBase {
        repo: format!("{host}{repo_path}"),
        path: kust_path.to_owned(),
        reference,
    })
}

/// `ref` wins over `version`; `timeout`, `submodules` and anything else are
/// accepted and ignored.
fn parse_query(query: &str) -> String {
    let mut reference = String::new();
    let mut version = String::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(&v.replace('+', " ")).unwrap_or_else(|| v.to_owned());
        match k {
            "ref" if !v.is_empty() => reference = v,
            "version" if version.is_empty() => version = v,
            _ => {}
        }
    }
    if reference.is_empty() {
        version
    } else {
        reference
    }
}

/// Kustomize's split of the path into repository and directory: at `_git/`
/// plus one segment, at `//`, after `.git`, else after two segments (all of
/// them for `file://`).
fn split_repo_path(n: &str, file: bool) -> Option<(String, String)> {
    let (repo, rest) = if let Some(i) = n.find("_git/") {
        let after = &n[i + 5..];
        let (first, rest) = after.split_once('/').unwrap_or((after, ""));
        (format!("{}{first}", &n[..i + 5]), rest.to_owned())
    } else if let Some(i) = n.find("//") {
        (n[..i].to_owned(), n[i + 2..].to_owned())
    } else if let Some(i) = n.find(".git") {
        (n[..i + 4].to_owned(), n[i + 4..].to_owned())
    } else if file {
        (n.to_owned(), String::new())
    } else {
        let segs: Vec<&str> = n.split('/').collect();
        if segs.len() < 2 {
            return None;
        }
        (segs[..2].join("/"), segs[2..].join("/"))
    };
    (!repo.is_empty()).then_some((repo, rest))
}

/// An HTTP(S) URL with no Git marker whose last segment is a manifest file.
fn is_plain_file(rest: &str, reference: &str) -> bool {
    if !reference.is_empty() || rest.contains("_git/") || rest.contains(".git") {
        return false;
    }
    let path = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
    if path.contains("//") {
        return false;
    }
    let last = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    [".yaml", ".yml", ".json"].iter().any(|e| last.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(entry: &str) -> (String, String, String) {
        let r = parse(entry).unwrap_or_else(|e| panic!("{entry}: {e}"));
        (r.repo, r.path, r.reference)
    }

    fn t(repo: &str, path: &str, reference: &str) -> (String, String, String) {
        (repo.into(), path.into(), reference.into())
    }

    #[test]
    fn parses_the_forms_kustomize_accepts() {
        assert_eq!(
            p("https://github.com/org/repo//deploy/base?ref=v1"),
            t("https://github.com/org/repo", "deploy/base", "v1")
        );
        assert_eq!(
            p("github.com/org/repo/deploy/base?ref=main"),
            t("https://github.com/org/repo", "deploy/base", "main")
        );
        assert_eq!(
            p("git@github.com:org/repo.git//base?ref=v2"),
            t("git@github.com:org/repo.git", "base", "v2")
        );
        assert_eq!(
            p("ssh://git@example.com/org/repo.git/base?version=abc123"),
            t("ssh://git@example.com/org/repo.git", "base", "abc123")
        );
        assert_eq!(
            p("https://dev.azure.com/org/project/_git/repo/path/to?ref=main&timeout=2m"),
            t(
                "https://dev.azure.com/org/project/_git/repo",
                "path/to",
                "main"
            )
        );
        assert_eq!(
            p("git::https://gitlab.com/org/repo//x?ref=t&version=ignored&submodules=false"),
            t("https://gitlab.com/org/repo", "x", "t")
        );
        assert_eq!(
            p("git://127.0.0.1:9418/b.git//base?ref=main"),
            t("git://127.0.0.1:9418/b.git", "base", "main")
        );
        assert_eq!(
            p("https://example.com/org/repo"),
            t("https://example.com/org/repo", "", "")
        );
        assert_eq!(
            p("file:///srv/repos/b//base"),
            t("file:///srv/repos/b", "base", "")
        );
    }

    #[test]
    fn refuses_what_is_not_a_git_base() {
        assert!(parse("https://example.com/manifests/app.yaml").is_err());
        assert!(parse("https://raw.example.com/org/repo/main/deploy.yml").is_err());
        assert!(parse("ftp://example.com/org/repo").is_err());
        assert!(parse("https://github.com/org/repo//../../etc").is_err());
        assert!(parse("https://example.com/org").is_err());
    }

    #[test]
    fn knows_remote_entries() {
        assert!(is_remote("https://github.com/org/repo"));
        assert!(is_remote("git@github.com:org/repo"));
        assert!(is_remote("github.com/org/repo"));
        assert!(is_remote("GIT::https://x/y/z"));
        assert!(!is_remote("../base"));
        assert!(!is_remote("deploy.yaml"));
    }

    #[test]
    fn encodes_reversibly_into_one_segment() {
        let base = parse("https://github.com/org/repo//base?ref=release/1.0").unwrap();
        assert_eq!(
            base.root(),
            ".kiln-remote/https%3A%2F%2Fgithub%2Ecom%2Forg%2Frepo/release%2F1%2E0"
        );
        assert_eq!(decode(&encode("a/b.c%d é")).as_deref(), Some("a/b.c%d é"));
        assert_eq!(decode("%4"), None);
    }

    #[test]
    fn a_build_reads_a_remote_base_under_the_reserved_directory() {
        let root = parse("https://github.com/org/repo//base?ref=v1")
            .unwrap()
            .root();
        let files = crate::MemFiles::default()
            .with(
                "app/kustomization.yaml",
                "namePrefix: dev-\nresources:\n- https://github.com/org/repo//base?ref=v1\n",
            )
            .with(
                &format!("{root}/base/kustomization.yaml"),
                "resources: [cm.yaml, ../shared]\n",
            )
            .with(
                &format!("{root}/base/cm.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            )
            .with(
                &format!("{root}/shared/kustomization.yaml"),
                "resources: [../../../escape]\n",
            );
        let e = crate::build(&files, "app").unwrap_err().to_string();
        assert!(e.contains("leaves the repository"), "{e}");
        let files = files.with(
            &format!("{root}/shared/kustomization.yaml"),
            "resources: []\n",
        );
        let objects = crate::build(&files, "app").unwrap();
        assert_eq!(objects[0]["metadata"]["name"], "dev-a");
        let e = crate::build(
            &files.with("x/kustomization.yaml", "resources: [../.kiln-remote]\n"),
            "x",
        );
        assert!(e.is_err());
    }
}
