use std::{sync::Arc, time::Duration};

use kiln_source::Oid;
use tracing::instrument;

use crate::{
    Credential, Error, GitCache, Mirror,
    backend::{from_oid, to_oid},
    error::chain,
};

/// How a revision string was interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionKind {
    /// A branch (`refs/heads/…`).
    Branch,
    /// A tag (`refs/tags/…`), peeled to its commit.
    Tag,
    /// The remote's HEAD.
    Head,
    /// A full ref name given verbatim.
    Ref,
    /// A full or abbreviated commit id.
    Commit,
}

impl RevisionKind {
    /// Lower-case name as the API reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionKind::Branch => "branch",
            RevisionKind::Tag => "tag",
            RevisionKind::Head => "head",
            RevisionKind::Ref => "ref",
            RevisionKind::Commit => "commit",
        }
    }
}

/// Per-call options of [`GitCache::resolve_with`]. `Default` is the cache's
/// own behaviour: configured credentials and fetch interval.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// Credential for fetches this call makes, instead of the configured
    /// one. Used for those fetches only; never stored or logged.
    pub credential: Option<Credential>,
    /// How old the refs may be before the remote is asked again, instead of
    /// the configured fetch interval; `Some(Duration::ZERO)` always asks.
    pub max_age: Option<Duration>,
}

/// A revision resolved to a commit of a mirror.
#[derive(Clone)]
pub struct Resolved {
    /// The mirror holding the commit.
    pub mirror: Arc<Mirror>,
    /// The commit id.
    pub commit: Oid,
    /// How the revision was read.
    pub kind: RevisionKind,
    /// The full ref name it matched, if it was a ref.
    pub reference: Option<String>,
    /// True when the remote was unreachable and older refs answered.
    pub stale: bool,
}

/// The revision as given, trimmed; empty means HEAD.
fn revision_or_head(revision: &str) -> &str {
    match revision.trim() {
        "" => "HEAD",
        r => r,
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl GitCache {
    /// Resolves `revision` (branch, tag, full or abbreviated sha, full ref,
    /// or HEAD; empty means HEAD) of the repository at `url` to a commit.
    #[instrument(skip_all, fields(repo = %url, revision = %revision))]
    pub async fn resolve(&self, url: &str, revision: &str) -> Result<Resolved, Error> {
        let mirror = self.mirror(url)?;
        self.resolve_in(&mirror, revision, self.options().fetch_interval)
            .await
    }

    /// Resolves a revision in an already opened mirror, fetching when the
    /// refs are older than `max_age`.
    pub async fn resolve_in(
        &self,
        mirror: &Arc<Mirror>,
        revision: &str,
        max_age: Duration,
    ) -> Result<Resolved, Error> {
        self.resolve_in_with(mirror, revision, max_age, None).await
    }

    /// As [`GitCache::resolve`], with per-call [`FetchOptions`]: a credential
    /// for any fetch this call makes (used once, stored nowhere) and a
    /// maximum age of the refs other than the configured fetch interval.
    #[instrument(skip_all, fields(repo = %url, revision = %revision))]
    pub async fn resolve_with(
        &self,
        url: &str,
        revision: &str,
        options: &FetchOptions,
    ) -> Result<Resolved, Error> {
        let mirror = self.mirror(url)?;
        let max_age = options.max_age.unwrap_or(self.options().fetch_interval);
        self.resolve_in_with(&mirror, revision, max_age, options.credential.as_ref())
            .await
    }

    async fn resolve_in_with(
        &self,
        mirror: &Arc<Mirror>,
        revision: &str,
        max_age: Duration,
        credential: Option<&Credential>,
    ) -> Result<Resolved, Error> {
        let rev = revision_or_head(revision);
        // `main~2`, `v1.0^2`, `HEAD^`: resolve the base, then walk parents.
        let (base, steps) = split_ancestry(rev);
        if !steps.is_empty() {
            let mut found =
                Box::pin(self.resolve_in_with(mirror, base, max_age, credential)).await?;
            found.commit = walk_ancestry(mirror, found.commit, &steps, rev)?;
            found.kind = RevisionKind::Commit;
            found.reference = None;
            return Ok(found);
        }
        // A full sha we already hold needs no network at all.
        if rev.len() == 40 && is_hex(rev) && mirror.has_object(parse_full(rev)?) {
            return commit_of(
                mirror,
                rev,
                parse_full(rev)?,
                RevisionKind::Commit,
                None,
                false,
            );
        }
        let stale = self.refresh_with(mirror, max_age, credential).await?;
        if let Some(found) = resolve_local(mirror, rev, stale)? {
            return Ok(found);
        }
        // A ref or id we do not know yet may be newer than our last fetch;
        // concurrent askers still share one fetch.
        if !stale {
            let stale = self
                .refresh_with(mirror, Duration::ZERO, credential)
                .await?;
            if let Some(found) = resolve_local(mirror, rev, stale)? {
                return Ok(found);
            }
        }
        if stale {
            let cause = mirror.lock_state().last_error.clone().unwrap_or_default();
            return Err(Error::Unavailable {
                repo: mirror.url().key().to_owned(),
                cause: format!(
                    "revision '{rev}' is not in the mirror and the remote is unreachable: {cause}"
                ),
            });
        }
        Err(Error::RevisionNotFound {
            repo: mirror.url().key().to_owned(),
            revision: rev.to_owned(),
        })
    }
}

/// A step of git's ancestry syntax: `^n` (n-th parent) or `~n` (n first parents).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Parent(usize),
    Ancestor(usize),
}

/// Splits `main~2^2` into `("main", [Ancestor(2), Parent(2)])`.
fn split_ancestry(rev: &str) -> (&str, Vec<Step>) {
    let Some(at) = rev.find(['~', '^']) else {
        return (rev, Vec::new());
    };
    let (base, mut rest) = rev.split_at(at);
    let mut steps = Vec::new();
    while let Some(op) = rest.chars().next() {
        let digits: String = rest[1..].chars().take_while(char::is_ascii_digit).collect();
        let n = if digits.is_empty() {
            1
        } else {
            digits.parse().unwrap_or(usize::MAX)
        };
        steps.push(match op {
            '~' => Step::Ancestor(n),
            '^' => Step::Parent(n),
            _ => return (rev, Vec::new()),
        });
        rest = &rest[1 + digits.len()..];
    }
    (base, steps)
}

fn walk_ancestry(
    mirror: &Arc<Mirror>,
    start: Oid,
    steps: &[Step],
    rev: &str,
) -> Result<Oid, Error> {
    let repo = mirror.repo();
    let not_found = || Error::RevisionNotFound {
        repo: mirror.url().key().to_owned(),
        revision: rev.to_owned(),
    };
    let parents = |id: Oid| -> Result<Vec<Oid>, Error> {
        let c = repo
            .find_commit(from_oid(id))
            .map_err(|e| mirror.error(format!("cannot read commit {id}: {}", chain(&e))))?;
        Ok(c.parent_ids().map(|p| to_oid(p.detach())).collect())
    };
    let mut cur = start;
    for step in steps {
        match *step {
            Step::Parent(0) | Step::Ancestor(0) => {}
            Step::Parent(n) => cur = *parents(cur)?.get(n - 1).ok_or_else(not_found)?,
            Step::Ancestor(n) => {
                for _ in 0..n {
                    cur = *parents(cur)?.first().ok_or_else(not_found)?;
                }
            }
        }
    }
    Ok(cur)
}

fn parse_full(rev: &str) -> Result<Oid, Error> {
    let mut out = [0u8; 20];
    hex::decode_to_slice(rev, &mut out).map_err(|e| Error::InvalidUrl {
        url: rev.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Oid(out))
}

/// Resolves a revision from the mirror's refs and objects, without network.
pub(crate) fn resolve_local(
    mirror: &Arc<Mirror>,
    rev: &str,
    stale: bool,
) -> Result<Option<Resolved>, Error> {
    let repo = mirror.repo();
    let candidates: Vec<(String, RevisionKind)> = if rev == "HEAD" {
        vec![("refs/kiln/HEAD".to_owned(), RevisionKind::Head)]
    } else if rev.starts_with("refs/") {
        vec![(rev.to_owned(), RevisionKind::Ref)]
    } else {
        vec![
            (format!("refs/heads/{rev}"), RevisionKind::Branch),
            (format!("refs/tags/{rev}"), RevisionKind::Tag),
        ]
    };
    for (name, kind) in candidates {
        let Ok(Some(mut r)) = repo.try_find_reference(name.as_str()) else {
            continue;
        };
        let id = r
            .peel_to_id()
            .map_err(|e| mirror.error(format!("cannot peel {name}: {}", chain(&e))))?
            .detach();
        let shown = if kind == RevisionKind::Head {
            "HEAD".to_owned()
        } else {
            name
        };
        return commit_of(mirror, rev, to_oid(id), kind, Some(shown), stale).map(Some);
    }
    if is_hex(rev) && rev.len() >= 4 && rev.len() <= 40 {
        let prefix = gix::hash::Prefix::from_hex(rev).map_err(|e| Error::RevisionNotFound {
            repo: mirror.url().key().to_owned(),
            revision: format!("{rev} ({e})"),
        })?;
        match repo.objects.lookup_prefix(prefix, None) {
            Ok(Some(Ok(id))) => {
                return commit_of(mirror, rev, to_oid(id), RevisionKind::Commit, None, stale)
                    .map(Some);
            }
            Ok(Some(Err(()))) => {
                return Err(Error::Ambiguous {
                    repo: mirror.url().key().to_owned(),
                    revision: rev.to_owned(),
                });
            }
            Ok(None) => {}
            Err(e) => return Err(mirror.error(format!("object lookup: {}", chain(&e)))),
        }
    }
    Ok(None)
}

fn commit_of(
    mirror: &Arc<Mirror>,
    rev: &str,
    id: Oid,
    kind: RevisionKind,
    reference: Option<String>,
    stale: bool,
) -> Result<Resolved, Error> {
    let repo = mirror.repo();
    let obj = repo
        .find_object(from_oid(id))
        .map_err(|e| mirror.error(format!("cannot read object {id}: {}", chain(&e))))?;
    let commit = match obj.kind {
        gix::object::Kind::Commit => id,
        gix::object::Kind::Tag => {
            let peeled =
                obj.peel_to_kind(gix::object::Kind::Commit)
                    .map_err(|_| Error::NotACommit {
                        repo: mirror.url().key().to_owned(),
                        revision: rev.to_owned(),
                        kind: "tag of a non-commit".to_owned(),
                    })?;
            to_oid(peeled.id)
        }
        other => {
            return Err(Error::NotACommit {
                repo: mirror.url().key().to_owned(),
                revision: rev.to_owned(),
                kind: other.to_string(),
            });
        }
    };
    Ok(Resolved {
        mirror: mirror.clone(),
        commit,
        kind,
        reference,
        stale,
    })
}

impl GitCache {
    /// Resolves from the refs and objects the mirror already holds, without
    /// network; `None` when the mirror does not know the revision.
    pub fn resolve_offline(
        &self,
        mirror: &Arc<Mirror>,
        revision: &str,
    ) -> Result<Option<Resolved>, Error> {
        let rev = revision_or_head(revision);
        resolve_local(mirror, rev, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_ancestry_suffixes() {
        assert_eq!(split_ancestry("main"), ("main", vec![]));
        assert_eq!(split_ancestry("HEAD~3"), ("HEAD", vec![Step::Ancestor(3)]));
        assert_eq!(split_ancestry("v1^"), ("v1", vec![Step::Parent(1)]));
        assert_eq!(
            split_ancestry("main~^2~"),
            (
                "main",
                vec![Step::Ancestor(1), Step::Parent(2), Step::Ancestor(1)]
            )
        );
    }
}
