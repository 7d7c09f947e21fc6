//! Which repositories and paths may use which keys.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use kiln_git::{Allowlist, RepoUrl};

use crate::{Error, NamedKeys, Rule};

struct Compiled {
    repos: Allowlist,
    /// `None`: every path.
    paths: Option<GlobSet>,
    keys: Vec<String>,
}

/// The rules, checked against the keyring when built.
pub struct Policy {
    rules: Vec<Compiled>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|r| (r.repos.patterns(), &r.keys)))
            .finish()
    }
}

impl Policy {
    /// Compiles the rules; every key a rule names must be in `keys`.
    pub fn new(rules: &[Rule], keys: &NamedKeys) -> Result<Self, Error> {
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let field = |f: &str| format!("secrets.rules[{i}].{f}");
            if r.repos.is_empty() {
                return Err(Error::Rule {
                    field: field("repos"),
                    cause: "a rule needs at least one repository pattern".into(),
                });
            }
            let repos = Allowlist::new(&r.repos).map_err(|e| Error::Rule {
                field: field("repos"),
                cause: e.to_string(),
            })?;
            let paths = if r.paths.is_empty() {
                None
            } else {
                let mut b = GlobSetBuilder::new();
                for (j, p) in r.paths.iter().enumerate() {
                    let g = GlobBuilder::new(p.trim_start_matches('/'))
                        .literal_separator(true)
                        .build()
                        .map_err(|e| Error::Rule {
                            field: field(&format!("paths[{j}]")),
                            cause: e.to_string(),
                        })?;
                    b.add(g);
                }
                Some(b.build().map_err(|e| Error::Rule {
                    field: field("paths"),
                    cause: e.to_string(),
                })?)
            };
            for (j, k) in r.keys.iter().enumerate() {
                if keys.get(k).is_none() {
                    let known: Vec<&str> = keys.names().collect();
                    return Err(Error::Rule {
                        field: field(&format!("keys[{j}]")),
                        cause: format!("no key named '{k}' (keys: {})", known.join(", ")),
                    });
                }
            }
            out.push(Compiled {
                repos,
                paths,
                keys: r.keys.clone(),
            });
        }
        Ok(Policy { rules: out })
    }

    /// A policy letting every repository use every key (the local CLI).
    pub fn allow_all(keys: &NamedKeys) -> Self {
        Policy {
            rules: vec![Compiled {
                repos: Allowlist::allow_all(),
                paths: None,
                keys: keys.names().map(str::to_owned).collect(),
            }],
        }
    }

    /// Names of the keys `repo` may use for `path`, in rule order, each once.
    pub fn keys_for(&self, repo: &str, path: &str) -> Vec<&str> {
        let url = RepoUrl::parse(repo).ok();
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rules {
            let repo_ok = match &url {
                Some(u) => r.repos.allows(u),
                None => false,
            };
            if repo_ok && r.paths.as_ref().is_none_or(|p| p.is_match(path)) {
                for k in &r.keys {
                    if !out.contains(&k.as_str()) {
                        out.push(k);
                    }
                }
            }
        }
        out
    }
}
