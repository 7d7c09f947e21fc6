use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::{Error, RepoUrl};

/// URL patterns of the repositories a server may read, matched against the
/// normalised URL ([`RepoUrl::key`]).
///
/// `*` matches within one path segment, `**` across segments, `?` one
/// character; the pattern is normalised like a URL first, so
/// `https://github.com/acme/*.git` and `https://github.com/acme/*` are the
/// same. An empty allowlist allows nothing.
#[derive(Clone, Debug)]
pub struct Allowlist {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Allowlist {
    /// Builds an allowlist; a malformed pattern is an error naming it.
    pub fn new<I, S>(patterns: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut builder = GlobSetBuilder::new();
        let mut kept = Vec::new();
        for p in patterns {
            let p = p.as_ref().trim();
            let normalised = normalise_pattern(p);
            let glob: Glob = GlobBuilder::new(&normalised)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::InvalidUrl {
                    url: p.to_owned(),
                    reason: format!("bad allowlist pattern: {e}"),
                })?;
            builder.add(glob);
            kept.push(normalised);
        }
        let set = builder.build().map_err(|e| Error::InvalidUrl {
            url: kept.join(","),
            reason: format!("bad allowlist: {e}"),
        })?;
        Ok(Allowlist {
            patterns: kept,
            set,
        })
    }

    /// An allowlist that allows every repository (for the local CLI).
    pub fn allow_all() -> Self {
        // `**` matches any key; the pattern is a constant, so it builds.
        Self::new(["**"]).unwrap_or_else(|_| Allowlist {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        })
    }

    /// True when the repository may be read.
    pub fn allows(&self, url: &RepoUrl) -> bool {
        self.set.is_match(url.key())
    }

    /// The normalised patterns.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

pub(crate) fn normalise_pattern(p: &str) -> String {
    if p == "*" || p == "**" {
        return "**".to_owned();
    }
    let (scheme, rest) = match p.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => return p.to_owned(),
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host
        .rsplit_once('@')
        .map_or(host, |(_, h)| h)
        .to_ascii_lowercase();
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    format!("{scheme}://{host}/{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_by_segment() {
        let a = Allowlist::new(["https://github.com/acme/*", "git://127.0.0.1:*/**"]).unwrap();
        let u = |s| RepoUrl::parse(s).unwrap();
        assert!(a.allows(&u("https://github.com/acme/apps.git")));
        assert!(a.allows(&u("https://GITHUB.com/acme/apps/")));
        assert!(!a.allows(&u("https://github.com/acme/apps/sub")));
        assert!(!a.allows(&u("https://github.com/evil/apps")));
        assert!(a.allows(&u("git://127.0.0.1:9418/x/y.git")));
        assert!(
            !Allowlist::new(Vec::<String>::new())
                .unwrap()
                .allows(&u("https://github.com/acme/apps"))
        );
        assert!(Allowlist::allow_all().allows(&u("https://a/b")));
    }
}
