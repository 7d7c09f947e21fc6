use std::{
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, atomic::AtomicBool},
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};
use tracing::{info, instrument, warn};

use crate::{
    Allowlist, Credential, Credentials, Error, Mirror, RepoUrl, SignaturePolicies, Verification,
    error::chain, fetch, repair,
};
use kiln_source::Oid;

/// Settings of a [`GitCache`]. [`CacheOptions::new`] lists every default.
#[derive(Clone, Debug)]
pub struct CacheOptions {
    /// Directory holding the mirrors; created if missing.
    pub dir: PathBuf,
    /// URL patterns of the repositories that may be read (default: none).
    pub allow: Vec<String>,
    /// How long a fetched branch or tag is trusted before the remote is asked
    /// again (default 15 s). A full sha already in the mirror never needs the
    /// remote.
    pub fetch_interval: Duration,
    /// Credentials per repository pattern (default: none).
    pub credentials: Credentials,
    /// Which keys may sign the commits of which repositories, and where a
    /// verified signature is required to render (default: none).
    pub signatures: SignaturePolicies,
}

impl CacheOptions {
    /// Options for `dir` with every default: nothing allowed, a 15 s fetch
    /// interval, no credentials.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CacheOptions {
            dir: dir.into(),
            allow: Vec::new(),
            fetch_interval: Duration::from_secs(15),
            credentials: Credentials::default(),
            signatures: SignaturePolicies::default(),
        }
    }

    /// Adds allowlist patterns.
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(mut self, patterns: I) -> Self {
        self.allow.extend(patterns.into_iter().map(Into::into));
        self
    }
}

/// Counters of a cache, for tests, benchmarks and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Mirrors opened by this process.
    pub mirrors: usize,
    /// Fetches started by this process, over all mirrors.
    pub fetches: u64,
}

/// The Git cache: bare mirrors under one directory, owned by one process.
pub struct GitCache {
    dir: PathBuf,
    allowlist: Allowlist,
    options: CacheOptions,
    mirrors: Mutex<HashMap<String, Arc<Mirror>>>,
    _lock: File,
}

impl GitCache {
    /// Opens (or creates) the cache directory, takes its lock, and repairs
    /// whatever a killed predecessor left half-done.
    pub fn open(options: CacheOptions) -> Result<Self, Error> {
        let dir = options.dir.clone();
        let err = |cause: String| Error::CacheDir {
            path: dir.display().to_string(),
            cause,
        };
        for sub in ["mirrors", "tmp"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| err(format!("cannot create: {e}")))?;
        }
        let lock = File::create(dir.join("kiln.lock"))
            .map_err(|e| err(format!("cannot create lock file: {e}")))?;
        lock.try_lock().map_err(|e| {
            err(format!(
                "is in use by another Kiln process ({e}); give each process its own --cache-dir"
            ))
        })?;
        // Nothing else uses the directory now: whatever is in tmp/ is dead.
        if let Ok(entries) = std::fs::read_dir(dir.join("tmp")) {
            for e in entries.flatten() {
                let _ =
                    std::fs::remove_dir_all(e.path()).or_else(|_| std::fs::remove_file(e.path()));
            }
        }
        if let Ok(entries) = std::fs::read_dir(dir.join("mirrors")) {
            for e in entries.flatten() {
                repair::remove_leftovers(&e.path());
            }
        }
        let allowlist = Allowlist::new(&options.allow)?;
        info!(dir = %dir.display(), allow = ?allowlist.patterns(), "git cache open");
        Ok(GitCache {
            dir,
            allowlist,
            options,
            mirrors: Mutex::new(HashMap::new()),
            _lock: lock,
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the cache was opened with.
    pub fn options(&self) -> &CacheOptions {
        &self.options
    }

    /// Counters over every mirror.
    pub fn stats(&self) -> CacheStats {
        let mirrors = self.mirrors.lock().unwrap_or_else(|e| e.into_inner());
        CacheStats {
            mirrors: mirrors.len(),
            fetches: mirrors.values().map(|m| m.fetch_count()).sum(),
        }
    }

    /// The mirror of a repository, opened or created on first use. Refuses
    /// repositories not on the allowlist.
    pub fn mirror(&self, url: &str) -> Result<Arc<Mirror>, Error> {
        let url = RepoUrl::parse(url)?;
        if !self.allowlist.allows(&url) {
            return Err(Error::NotAllowed {
                repo: url.key().to_owned(),
            });
        }
        let mut mirrors = self.mirrors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = mirrors.get(url.key()) {
            return Ok(m.clone());
        }
        let m = Arc::new(self.open_mirror(url)?);
        mirrors.insert(m.url().key().to_owned(), m.clone());
        Ok(m)
    }

    fn open_mirror(&self, url: RepoUrl) -> Result<Mirror, Error> {
        let name = mirror_dir_name(url.key());
        let path = self.dir.join("mirrors").join(&name);
        let fail = |cause: String| Error::Mirror {
            repo: url.key().to_owned(),
            path: path.display().to_string(),
            cause,
        };
        let open = |p: &Path| gix::open_opts(p, gix::open::Options::isolated());
        let repo = match path.exists().then(|| open(&path)) {
            Some(Ok(repo)) => repo,
            other => {
                if let Some(Err(e)) = other {
                    warn!(repo = %url, error = %chain(&e), "mirror unreadable; rebuilding it");
                    let trash = self.dir.join("tmp").join(format!("broken-{name}"));
                    std::fs::rename(&path, &trash)
                        .map_err(|e| fail(format!("cannot move aside: {e}")))?;
                    let _ = std::fs::remove_dir_all(&trash);
                }
                // Build in tmp/ and rename, so a mirror directory either
                // exists whole or not at all.
                let staging = self.dir.join("tmp").join(format!("new-{name}"));
                let _ = std::fs::remove_dir_all(&staging);
                gix::init_bare(&staging)
                    .map_err(|e| fail(format!("cannot create: {}", chain(&e))))?;
                std::fs::rename(&staging, &path)
                    .map_err(|e| fail(format!("cannot move into place: {e}")))?;
                open(&path).map_err(|e| fail(format!("cannot open: {}", chain(&e))))?
            }
        };
        let dropped = repair::drop_dangling_refs(&repo);
        if dropped > 0 {
            warn!(repo = %url, dropped, "dropped dangling refs left by an interrupted fetch");
        }
        let credential = self.options.credentials.find(&url).cloned();
        Ok(Mirror::new(url, path, repo.into_sync(), credential))
    }

    /// Makes sure the mirror's refs are at most `max_age` old, fetching if
    /// needed. Concurrent callers share one fetch. Returns `true` when the
    /// remote could not be reached and the refs fetched earlier are used.
    #[instrument(skip_all, fields(repo = %mirror.url()))]
    pub async fn refresh(&self, mirror: &Arc<Mirror>, max_age: Duration) -> Result<bool, Error> {
        self.refresh_with(mirror, max_age, None).await
    }

    /// As [`GitCache::refresh`], but a fetch this call starts authenticates
    /// with `credential` instead of the configured one, still under the
    /// configured policy for the repository (its known_hosts file when
    /// `credential` names none, its `allowPlainHttp`). The credential is
    /// used for that one fetch and kept nowhere. A caller with its own
    /// credential does not share the failure of a concurrent fetch made
    /// without it: it fetches again.
    #[instrument(skip_all, fields(repo = %mirror.url()))]
    pub async fn refresh_with(
        &self,
        mirror: &Arc<Mirror>,
        max_age: Duration,
        credential: Option<&Credential>,
    ) -> Result<bool, Error> {
        let observed = {
            let st = mirror.lock_state();
            if st.last_success.is_some_and(|t| t.elapsed() < max_age) {
                return Ok(false);
            }
            st.generation
        };
        let guard = mirror.fetch_lock.clone().lock_owned().await;
        {
            let st = mirror.lock_state();
            if st.generation != observed {
                // Another caller fetched while we waited: share its result
                // (a failure only when we hold no credential of our own).
                match st.last_error.clone() {
                    None => return Ok(false),
                    Some(cause) if credential.is_none() => {
                        drop(st);
                        return self.fall_back(mirror, cause);
                    }
                    Some(_) => {}
                }
            }
            if st.last_success.is_some_and(|t| t.elapsed() < max_age) {
                return Ok(false);
            }
        }
        mirror.count_fetch();
        let m = mirror.clone();
        let credential = credential.map(|c| c.under_policy_of(mirror.credential()));
        let started = Instant::now();
        // The fetch owns the lock until it ends, even if every caller gives up.
        let result = tokio::task::spawn_blocking(move || {
            let res = fetch::fetch_blocking(
                &m.repo(),
                m.url().fetch_url(),
                credential.as_ref().or(m.credential()),
                &AtomicBool::new(false),
            );
            let mut st = m.lock_state();
            st.generation += 1;
            match &res {
                Ok(_) => {
                    st.last_success = Some(Instant::now());
                    st.last_error = None;
                }
                Err(e) => st.last_error = Some(e.clone()),
            }
            drop(st);
            drop(guard);
            res
        })
        .await
        .map_err(|e| mirror.error(format!("fetch task failed: {e}")))?;
        match result {
            Ok(refs) => {
                info!(refs, ms = started.elapsed().as_millis() as u64, "fetched");
                Ok(false)
            }
            Err(cause) => self.fall_back(mirror, cause),
        }
    }

    /// Checks a commit's signature against the keys of the repository's
    /// signature policy (without a policy no key is allowed, so a signed
    /// commit is reported unverified). When the commit's own signature does
    /// not verify and `revision` names an annotated tag pointing at it whose
    /// signature does, that tag's verification is the answer.
    pub fn signature(
        &self,
        mirror: &Mirror,
        commit: Oid,
        revision: &str,
    ) -> Result<Verification, Error> {
        let keys = self
            .options
            .signatures
            .find(mirror.url())
            .map_or(&[][..], |p| p.keys());
        let v = mirror.verify_signature(commit, keys)?;
        if !v.verified
            && let Some(tag) = mirror.verify_tag(revision, commit, keys)?
            && tag.verified
        {
            return Ok(tag);
        }
        Ok(v)
    }

    /// Refuses a commit whose repository's policy requires a verified
    /// signature it does not have ([`Error::Unverified`]): its own, or that
    /// of the annotated tag `revision` names when that tag points at it.
    /// Returns the verification when there is a policy, `None` when there is
    /// none.
    pub fn enforce_signature(
        &self,
        mirror: &Mirror,
        commit: Oid,
        revision: &str,
    ) -> Result<Option<Verification>, Error> {
        let Some(policy) = self.options.signatures.find(mirror.url()) else {
            return Ok(None);
        };
        let v = self.signature(mirror, commit, revision)?;
        if policy.require() && !v.verified {
            return Err(Error::Unverified {
                repo: mirror.url().key().to_owned(),
                commit: commit.to_hex(),
                reason: v.reason,
            });
        }
        Ok(Some(v))
    }

    fn fall_back(&self, mirror: &Mirror, cause: String) -> Result<bool, Error> {
        let has_refs = mirror
            .repo()
            .references()
            .ok()
            .and_then(|p| p.all().ok().map(|mut i| i.next().is_some()))
            .unwrap_or(false);
        if has_refs {
            warn!(repo = %mirror.url(), cause = %cause, "fetch failed; serving refs fetched earlier");
            Ok(true)
        } else {
            Err(Error::Unavailable {
                repo: mirror.url().key().to_owned(),
                cause,
            })
        }
    }
}

/// A readable, collision-free directory name for a normalised URL.
fn mirror_dir_name(key: &str) -> String {
    let readable: String = key
        .split_once("://")
        .map_or(key, |(_, r)| r)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let readable: String = readable
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let digest = Sha256::digest(key.as_bytes());
    format!(
        "{}-{}",
        readable.trim_matches('_'),
        &hex::encode(digest)[..12]
    )
}
