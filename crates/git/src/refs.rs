use crate::{Error, Mirror, error::chain};

/// Short names of a mirror's branches and tags, each sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefNames {
    /// Branches (`refs/heads/…` without the prefix).
    pub branches: Vec<String>,
    /// Tags (`refs/tags/…` without the prefix).
    pub tags: Vec<String>,
}

impl Mirror {
    /// The branches and tags the mirror holds, as of its last fetch.
    pub fn ref_names(&self) -> Result<RefNames, Error> {
        let repo = self.repo();
        let platform = repo
            .references()
            .map_err(|e| self.error(format!("cannot list refs: {}", chain(&e))))?;
        let mut out = RefNames::default();
        for (prefix, into) in [
            ("refs/heads/", &mut out.branches),
            ("refs/tags/", &mut out.tags),
        ] {
            let iter = platform
                .prefixed(prefix)
                .map_err(|e| self.error(format!("cannot list {prefix}: {}", chain(&e))))?;
            for r in iter {
                let r = r.map_err(|e| self.error(format!("cannot read a ref: {e}")))?;
                let name = r.name().as_bstr().to_string();
                if let Some(short) = name.strip_prefix(prefix) {
                    into.push(short.to_owned());
                }
            }
            into.sort();
        }
        Ok(out)
    }
}

impl Mirror {
    /// Why the last fetch failed, if it did (in the transport's words; no
    /// credential is ever part of it).
    pub fn last_fetch_error(&self) -> Option<String> {
        self.lock_state().last_error.clone()
    }
}
