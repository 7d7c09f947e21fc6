//! `.helmignore` rules (Helm's `ignore` package: gitignore-like globs).

use globset::{Glob, GlobMatcher};

/// A parsed `.helmignore`.
pub(crate) struct Rules {
    rules: Vec<Rule>,
}

struct Rule {
    matcher: GlobMatcher,
    negate: bool,
    dir_only: bool,
    basename: bool,
}

impl Rules {
    /// Parses the file's text; Helm's default `templates/.?*` comes first.
    pub(crate) fn parse(text: &str) -> Rules {
        let mut rules = Vec::new();
        for line in std::iter::once("templates/.?*").chain(text.lines()) {
            let mut p = line.trim();
            if p.is_empty() || p.starts_with('#') || p == "!" {
                continue;
            }
            let negate = p.starts_with('!');
            if negate {
                p = &p[1..];
            }
            let dir_only = p.ends_with('/') && p.len() > 1;
            let p = p.trim_end_matches('/').trim_start_matches('/');
            let basename = !p.contains('/');
            let glob = globset::GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map(|g: Glob| g.compile_matcher());
            if let Ok(matcher) = glob {
                rules.push(Rule {
                    matcher,
                    negate,
                    dir_only,
                    basename,
                });
            }
        }
        Rules { rules }
    }

    /// Whether the chart-relative `path` is ignored (the last matching rule wins).
    pub(crate) fn ignored(&self, path: &str, is_dir: bool) -> bool {
        if path == "Chart.yaml" {
            return false;
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        let mut out = false;
        for r in &self.rules {
            if r.dir_only && !is_dir {
                continue;
            }
            let hit = if r.basename {
                r.matcher.is_match(base)
            } else {
                r.matcher.is_match(path)
            };
            if hit {
                out = !r.negate;
            }
        }
        out
    }
}
