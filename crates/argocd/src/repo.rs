//! Resolving and reading the repository of a request, with the request's
//! own credential.

use kiln_git::{GitCache, Resolved};
use kiln_render::PipelineError;
use kiln_source::{DirEntry, EntryKind, ReadLimits, Source, Tree, normalize};

use crate::{Error, credentials::RequestCredential, proto::v1alpha1::Repository};

/// The repository of a request and its credential.
#[derive(Debug)]
pub struct RequestRepo {
    /// The URL as Argo CD sent it.
    pub url: String,
    /// The credential it carried.
    pub credential: RequestCredential,
}

impl RequestRepo {
    /// Reads `repo`; a request without one is malformed.
    pub fn new(repo: Option<&Repository>) -> Result<Self, Error> {
        let repo = repo
            .filter(|r| !r.repo().is_empty())
            .ok_or_else(|| Error::InvalidArgument("must pass a valid repo".into()))?;
        let kind = if repo.enable_oci() {
            "oci"
        } else {
            repo.r#type()
        };
        if !matches!(kind, "" | "git") {
            return Err(Error::Unsupported(format!(
                "repository {}: type '{kind}' is not supported; Kiln serves Git repositories",
                display_url(repo.repo())
            )));
        }
        Ok(RequestRepo {
            url: repo.repo().to_owned(),
            credential: RequestCredential::from_repo(repo)?,
        })
    }

    /// Resolves a revision (empty is HEAD); `fresh` asks the remote now.
    pub async fn resolve(
        &self,
        git: &GitCache,
        revision: &str,
        fresh: bool,
    ) -> Result<Resolved, Error> {
        Ok(git
            .resolve_with(&self.url, revision, &self.credential.fetch_options(fresh))
            .await?)
    }
}

/// The URL without any credential in it, for spans and messages.
pub fn display_url(raw: &str) -> String {
    kiln_git::RepoUrl::parse(raw)
        .map_or_else(|_| "<invalid URL>".to_owned(), |u| u.key().to_owned())
}

/// The listing of an app folder at a resolved commit; a missing folder is
/// Argo CD's "app path does not exist".
pub async fn app_listing(resolved: &Resolved, path: &str) -> Result<Vec<DirEntry>, Error> {
    let app = normalize(path)?;
    let mirror = resolved.mirror.clone();
    let commit = resolved.commit;
    blocking(move || {
        let tree = Tree::new(mirror.tree(commit)?, ReadLimits::default());
        match tree.stat(&app)? {
            Some(EntryKind::Dir) => Ok(tree.list_dir(&app)?),
            _ => Err(Error::Pipeline(PipelineError::PathNotFound {
                repo: mirror.url().key().to_owned(),
                revision: commit.to_hex(),
                path: app,
            })),
        }
    })
    .await
}

/// Paths of the files under an app folder (recursively, at most `limit`
/// entries), relative to it, sorted.
pub async fn walk_files(
    resolved: &Resolved,
    path: &str,
    limit: usize,
) -> Result<Vec<String>, Error> {
    let app = normalize(path)?;
    let mirror = resolved.mirror.clone();
    let commit = resolved.commit;
    blocking(move || {
        let tree = Tree::new(mirror.tree(commit)?, ReadLimits::default());
        let mut out = Vec::new();
        let mut stack = vec![(app.clone(), String::new())];
        while let Some((dir, rel)) = stack.pop() {
            for e in tree.list_dir(&dir)? {
                let full = kiln_source::join(&dir, &e.name)?;
                let rel_path = if rel.is_empty() {
                    e.name.clone()
                } else {
                    format!("{rel}/{}", e.name)
                };
                match e.kind {
                    EntryKind::Dir => stack.push((full, rel_path)),
                    _ => out.push(rel_path),
                }
                if out.len() + stack.len() > limit {
                    return Err(Error::InvalidArgument(format!(
                        "{app}: more than {limit} entries to list"
                    )));
                }
            }
        }
        out.sort();
        Ok(out)
    })
    .await
}

/// Reads one file of a resolved commit, `None` when it is missing.
pub async fn read_file(resolved: &Resolved, path: String) -> Result<Option<Vec<u8>>, Error> {
    let mirror = resolved.mirror.clone();
    let commit = resolved.commit;
    blocking(move || {
        let tree = Tree::new(mirror.tree(commit)?, ReadLimits::default());
        match tree.stat(&path)? {
            Some(EntryKind::File) => Ok(Some(tree.read_file(&path)?)),
            _ => Ok(None),
        }
    })
    .await
}

/// Runs Git reads on a blocking thread.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("git read task: {e}")))?
}
