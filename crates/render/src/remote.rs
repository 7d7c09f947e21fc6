//! Remote Git bases for renderers: reads under the reserved directory
//! `.kiln-remote/<repo>/<ref>/<path>` are served from another repository,
//! resolved through the Git cache (its allowlist, credentials and fetch
//! rules) and read with the same limits, so plugins never fetch anything.
//!
//! `<repo>` and `<ref>` are percent-encoded (every byte other than ASCII
//! letters, digits, `-` and `_` written `%XX`), as `kiln-kustomize`'s
//! `remote` module writes them. A render that read a remote base records the
//! commit each one resolved to (folded into its input digest); when any ref
//! was not a full commit sha the render is not kept in the render cache, so
//! the next request resolves the ref again.
//!
//! Reads under `.kiln-chartrepo/<repo>/<chart>/<version>` (same encoding;
//! see `kiln_helm::CHART_REPO_DIR`) are chart archives from HTTP chart
//! repositories, fetched through [`ChartRepos`] (the same allowlist, size
//! and time limits, a cache by digest). Each is recorded as
//! `chart repo name asked version digest`; a version that is a constraint
//! rather than one exact version makes the render unpinned, as a branch does.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use kiln_chartrepo::{ChartRepos, Error as ChartError, ErrorKind as ChartErrorKind, Fetched};
use kiln_git::{GitBackend, GitCache};
use kiln_source::{DirEntry, EntryKind, Locked, ReadLimits, Source, SourceError, Tree};

/// The reserved top-level directory.
pub(crate) const REMOTE_DIR: &str = ".kiln-remote";
/// The reserved top-level directory of chart repository archives.
pub(crate) const CHART_DIR: &str = ".kiln-chartrepo";

/// What the remote bases of one render resolved to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RemoteUse {
    /// `repo ref commit`, one per remote base read, sorted.
    pub bases: Vec<String>,
    /// Some ref was a branch, tag or abbreviated sha (may move).
    pub unpinned: bool,
}

struct Remote {
    tree: Locked<Tree<GitBackend>>,
    commit: String,
}

/// A source that serves `.kiln-remote/...` from remote repositories and
/// everything else from `inner`.
pub(crate) struct RemoteReads {
    inner: Arc<dyn Source + Send + Sync>,
    git: Arc<GitCache>,
    limits: ReadLimits,
    remotes: Mutex<BTreeMap<(String, String), Opened>>,
    charts: Option<Arc<ChartRepos>>,
    fetched: Mutex<BTreeMap<ChartKey, Result<Arc<Fetched>, ChartError>>>,
}

/// A chart asked for: repository URL, chart name, version or constraint.
type ChartKey = (String, String, String);

/// A remote repository at a ref, opened once per render, or why not.
type Opened = Result<Arc<Remote>, String>;

impl RemoteReads {
    pub(crate) fn new(
        inner: Arc<dyn Source + Send + Sync>,
        git: Arc<GitCache>,
        limits: ReadLimits,
    ) -> Self {
        RemoteReads {
            inner,
            git,
            limits,
            remotes: Mutex::new(BTreeMap::new()),
            charts: None,
            fetched: Mutex::new(BTreeMap::new()),
        }
    }

    /// Serves `.kiln-chartrepo/...` from these chart repositories.
    pub(crate) fn with_charts(mut self, charts: Option<Arc<ChartRepos>>) -> Self {
        self.charts = charts;
        self
    }

    /// The remote bases read so far.
    pub(crate) fn used(&self) -> RemoteUse {
        let remotes = self.remotes.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = RemoteUse::default();
        for ((repo, reference), r) in remotes.iter() {
            if let Ok(r) = r {
                out.bases.push(format!("{repo} {reference} {}", r.commit));
                if !is_full_sha(reference) {
                    out.unpinned = true;
                }
            }
        }
        let fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        for ((repo, chart, asked), f) in fetched.iter() {
            if let Ok(f) = f {
                out.bases.push(format!(
                    "chart {repo} {chart} {asked} {} {}",
                    f.version, f.digest
                ));
                if !kiln_chartrepo::is_exact_version(asked) {
                    out.unpinned = true;
                }
            }
        }
        out.bases.sort();
        out
    }

    /// The chart archive a `.kiln-chartrepo/<repo>/<chart>/<version>` path
    /// names, fetched once per render; `Ok(None)` for other paths.
    fn chart(&self, path: &str) -> Result<Option<Arc<Fetched>>, SourceError> {
        let trimmed = path.trim_start_matches("./").trim_start_matches('/');
        let Some(rest) = trimmed.strip_prefix(CHART_DIR) else {
            return Ok(None);
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Ok(None);
        }
        let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        let [repo, chart, version] = parts.as_slice() else {
            return Err(SourceError::NotFound {
                path: path.to_owned(),
            });
        };
        let (Some(repo), Some(chart), Some(version)) =
            (decode(repo), decode(chart), decode(version))
        else {
            return Err(SourceError::Backend {
                path: path.to_owned(),
                source: "malformed chart repository segment".into(),
            });
        };
        let version = if version == "*" {
            String::new()
        } else {
            version
        };
        let key = (repo.clone(), chart.clone(), version.clone());
        let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        let found = fetched
            .entry(key)
            .or_insert_with(|| {
                let failure = |cause: &str| ChartError {
                    kind: ChartErrorKind::Internal,
                    repo: repo.clone(),
                    chart: chart.clone(),
                    version: version.clone(),
                    cause: cause.to_owned(),
                };
                match &self.charts {
                    // On a thread of its own: the render may run inside the
                    // runtime (a local render), where blocking IO may not.
                    Some(c) => {
                        std::thread::scope(|s| s.spawn(|| c.fetch(&repo, &chart, &version)).join())
                            .map_err(|_| failure("the chart fetch thread failed"))?
                            .map(Arc::new)
                    }
                    None => Err(failure(
                        "chart repositories are not available in this pipeline",
                    )),
                }
            })
            .clone();
        drop(fetched);
        match found {
            Ok(f) => Ok(Some(f)),
            Err(e) => Err(SourceError::Backend {
                path: path.to_owned(),
                source: e.to_string().into(),
            }),
        }
    }

    /// The first chart archive this render could not fetch, if any: the
    /// cause of a failed render that needed it, with its own class (a
    /// missing version, an unreachable repository...), which the source
    /// interface cannot carry to the renderer and back.
    pub(crate) fn chart_failure(&self) -> Option<ChartError> {
        let fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        fetched.values().find_map(|f| f.as_ref().err().cloned())
    }

    /// Splits a reserved path into the remote and the path inside it;
    /// `Ok(None)` for a path outside the reserved directory.
    fn route(&self, path: &str) -> Result<Option<(Arc<Remote>, String)>, SourceError> {
        let trimmed = path.trim_start_matches("./").trim_start_matches('/');
        let Some(rest) = trimmed.strip_prefix(REMOTE_DIR) else {
            return Ok(None);
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Ok(None);
        }
        let invalid = |reason: String| SourceError::Backend {
            path: path.to_owned(),
            source: reason.into(),
        };
        let mut parts = rest.trim_start_matches('/').splitn(3, '/');
        let (Some(repo), Some(reference)) = (parts.next(), parts.next()) else {
            return Err(SourceError::NotFound {
                path: path.to_owned(),
            });
        };
        let inside = parts.next().unwrap_or("").to_owned();
        let (Some(repo), Some(reference)) = (decode(repo), decode(reference)) else {
            return Err(invalid("malformed remote repository segment".into()));
        };
        let key = (repo.clone(), reference.clone());
        let mut remotes = self.remotes.lock().unwrap_or_else(|e| e.into_inner());
        let found = remotes
            .entry(key)
            .or_insert_with(|| self.open(&repo, &reference).map(Arc::new))
            .clone();
        drop(remotes);
        match found {
            Ok(r) => Ok(Some((r, inside))),
            Err(reason) => Err(invalid(reason)),
        }
    }

    /// Resolves `reference` of `repo` through the Git cache.
    fn open(&self, repo: &str, reference: &str) -> Result<Remote, String> {
        if let Err(kiln_git::Error::NotAllowed { repo: key }) = self.git.mirror(repo) {
            let allow = &self.git.options().allow;
            let patterns = if allow.is_empty() {
                "the allowlist is empty".to_owned()
            } else {
                format!("allowed: {}", allow.join(", "))
            };
            return Err(format!(
                "remote base repository '{key}' is not on this server's allowlist ({patterns})"
            ));
        }
        let git = self.git.clone();
        let (repo_s, ref_s) = (repo.to_owned(), reference.to_owned());
        let resolved = block_on(async move { git.resolve(&repo_s, &ref_s).await })
            .ok_or_else(|| "remote base: the Git resolution thread failed".to_owned())?
            .map_err(|e| format!("remote base: {e}"))?;
        let backend = resolved
            .mirror
            .tree(resolved.commit)
            .map_err(|e| format!("remote base: {e}"))?;
        let time = backend.commit_time();
        Ok(Remote {
            tree: Locked::new(Tree::new(backend, self.limits).with_commit_time(time)),
            commit: resolved.commit.to_hex(),
        })
    }
}

/// Runs a future to completion from synchronous code, on a thread of its
/// own so it works whether or not the caller is inside the runtime; `None`
/// when that thread failed.
fn block_on<F>(f: F) -> Option<F::Output>
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    let handle = tokio::runtime::Handle::try_current();
    std::thread::scope(|s| {
        s.spawn(move || match handle {
            Ok(h) => Some(h.block_on(f)),
            Err(_) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()
                .map(|rt| rt.block_on(f)),
        })
        .join()
        .ok()
        .flatten()
    })
}

fn is_full_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reverses the percent-encoding of a segment.
fn decode(s: &str) -> Option<String> {
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

impl Source for RemoteReads {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if let Some(f) = self.chart(path)? {
            return Ok(f.bytes.as_ref().clone());
        }
        match self.route(path)? {
            Some((r, inside)) => r.tree.with(|t| t.read_file(&inside)),
            None => self.inner.read_file(path),
        }
    }

    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError> {
        if self.chart(path)?.is_some() {
            return Err(SourceError::NotFound {
                path: path.to_owned(),
            });
        }
        match self.route(path)? {
            Some((r, inside)) => r.tree.with(|t| t.list_dir(&inside)),
            None => self.inner.list_dir(path),
        }
    }

    fn stat(&self, path: &str) -> Result<Option<EntryKind>, SourceError> {
        match self.chart(path) {
            Ok(Some(_)) => return Ok(Some(EntryKind::File)),
            Ok(None) => {}
            Err(SourceError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
        match self.route(path) {
            Ok(Some((r, inside))) => r.tree.with(|t| t.stat(&inside)),
            Ok(None) => self.inner.stat(path),
            Err(SourceError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn commit_time(&self) -> i64 {
        self.inner.commit_time()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_segments() {
        assert_eq!(
            decode("https%3A%2F%2Fgithub%2Ecom%2Fa").as_deref(),
            Some("https://github.com/a")
        );
        assert_eq!(decode("%G1"), None);
        assert!(is_full_sha(&"a".repeat(40)));
        assert!(!is_full_sha("main"));
    }
}
