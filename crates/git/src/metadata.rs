use kiln_source::Oid;

use crate::{
    Error, Mirror,
    backend::{from_oid, to_oid},
    error::chain,
};

/// Name, email and time of a commit's author or committer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Name as recorded.
    pub name: String,
    /// Email as recorded.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// Offset from UTC in seconds.
    pub offset: i32,
}

/// What a commit says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitMetadata {
    /// The commit id.
    pub commit: Oid,
    /// Author.
    pub author: Person,
    /// Committer.
    pub committer: Person,
    /// Full message.
    pub message: String,
    /// Parent ids, first parent first.
    pub parents: Vec<Oid>,
    /// Short names of tags pointing at the commit.
    pub tags: Vec<String>,
}

impl Mirror {
    /// Reads a commit's metadata and the tags that point at it.
    pub fn metadata(&self, commit: Oid) -> Result<CommitMetadata, Error> {
        let repo = self.repo();
        let c = repo
            .find_commit(from_oid(commit))
            .map_err(|e| self.error(format!("cannot read commit {commit}: {}", chain(&e))))?;
        let decoded = c
            .decode()
            .map_err(|e| self.error(format!("cannot decode commit {commit}: {}", chain(&e))))?;
        let person = |s: gix::actor::SignatureRef<'_>| {
            let t = s.time().unwrap_or_default();
            Person {
                name: s.name.to_string(),
                email: s.email.to_string(),
                time: t.seconds,
                offset: t.offset,
            }
        };
        let author = person(decoded.author().map_err(|e| self.error(chain(&e)))?);
        let committer = person(decoded.committer().map_err(|e| self.error(chain(&e)))?);
        let message = decoded.message.to_string();
        let parents = decoded.parents().map(to_oid).collect();
        let mut tags = Vec::new();
        if let Ok(platform) = repo.references()
            && let Ok(iter) = platform.tags()
        {
            for mut r in iter.flatten() {
                if let Ok(id) = r.peel_to_id()
                    && id.detach() == from_oid(commit)
                {
                    tags.push(r.name().shorten().to_string());
                }
            }
        }
        tags.sort();
        Ok(CommitMetadata {
            commit,
            author,
            committer,
            message,
            parents,
            tags,
        })
    }
}
