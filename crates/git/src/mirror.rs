use std::{
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use kiln_source::Oid;

use crate::{Credential, Error, GitBackend, RepoUrl, backend::from_oid};

/// One bare mirror of a remote repository in the cache directory.
///
/// Reads take a thread-local handle of the shared repository and never lock;
/// fetches are serialised by [`crate::GitCache`] through `fetch_lock`.
pub struct Mirror {
    url: RepoUrl,
    path: PathBuf,
    repo: gix::ThreadSafeRepository,
    credential: Option<Credential>,
    pub(crate) fetch_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    pub(crate) state: Mutex<FetchState>,
    fetches: AtomicU64,
}

/// What the cache knows about a mirror's last fetches.
#[derive(Clone, Debug, Default)]
pub(crate) struct FetchState {
    /// Incremented at the end of every fetch attempt.
    pub generation: u64,
    /// When the last successful fetch finished.
    pub last_success: Option<Instant>,
    /// Error of the last attempt, if it failed.
    pub last_error: Option<String>,
}

impl Mirror {
    pub(crate) fn new(
        url: RepoUrl,
        path: PathBuf,
        repo: gix::ThreadSafeRepository,
        credential: Option<Credential>,
    ) -> Self {
        Mirror {
            url,
            path,
            repo,
            credential,
            fetch_lock: std::sync::Arc::new(tokio::sync::Mutex::new(())),
            state: Mutex::new(FetchState::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// The repository's URL.
    pub fn url(&self) -> &RepoUrl {
        &self.url
    }

    /// The mirror's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many fetches this process has started for the mirror.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    pub(crate) fn count_fetch(&self) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    pub(crate) fn lock_state(&self) -> std::sync::MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A handle for this thread: cheap, with its own object cache.
    pub fn repo(&self) -> gix::Repository {
        let mut repo = self.repo.to_thread_local();
        repo.object_cache_size_if_unset(4 << 20);
        repo
    }

    /// True when the object database holds this commit.
    pub fn has_object(&self, id: Oid) -> bool {
        self.repo().has_object(from_oid(id))
    }

    /// A read-only view of `commit`'s tree.
    pub fn tree(&self, commit: Oid) -> Result<GitBackend, Error> {
        let repo = self.repo();
        let fail = |e: &(dyn std::error::Error + 'static)| {
            self.error(format!(
                "cannot read commit {commit}: {}",
                crate::error::chain(e)
            ))
        };
        let (tree, time) = {
            let c = repo.find_commit(from_oid(commit)).map_err(|e| fail(&e))?;
            let tree = c.tree_id().map_err(|e| fail(&e))?.detach();
            (tree, c.time().map(|t| t.seconds).unwrap_or(0))
        };
        Ok(GitBackend::new(repo, tree, time))
    }

    pub(crate) fn error(&self, cause: String) -> Error {
        Error::Mirror {
            repo: self.url.key().to_owned(),
            path: self.path.display().to_string(),
            cause,
        }
    }
}
