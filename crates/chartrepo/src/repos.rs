//! Fetching charts: the allowlist, the HTTP client with its limits, and the
//! digest-addressed cache.
//!
//! Layout under [`RepoOptions::dir`]:
//!
//! * `blobs/sha256-<hex>.tgz`: archives, by the sha256 of their bytes;
//! * `refs/<sha256(repo, chart, version)>`: the digest an exact version
//!   resolved to, so that version needs no network again;
//! * `index/<sha256(repo)>.yaml`: the last index fetched, used only when the
//!   repository cannot be reached;
//! * `tmp/`: downloads in progress, renamed into place once verified
//!   (emptied when the cache is opened).

use std::{
    collections::HashMap,
    io::{Read, Write},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use kiln_git::{Allowlist, Credential, Credentials, RepoUrl};
use sha2::{Digest, Sha256};
use tracing::{debug, info_span, warn};

use crate::{Error, ErrorKind, Index, SelectError, select};

/// Settings of [`ChartRepos`]. [`RepoOptions::new`] lists every default.
#[derive(Clone, Debug)]
pub struct RepoOptions {
    /// Cache directory; created if missing.
    pub dir: PathBuf,
    /// URL patterns (the Git allowlist's syntax) of the repositories and
    /// download URLs that may be fetched (default: none).
    pub allow: Vec<String>,
    /// How long a fetched index is trusted before it is fetched again
    /// (default 5 min). Exact versions already cached never need it.
    pub index_ttl: Duration,
    /// Largest `index.yaml` accepted, in bytes (default 32 MiB). Bounds the
    /// download only: the parsed index lives in memory for `index_ttl`.
    pub max_index_bytes: u64,
    /// Largest chart archive accepted, in bytes (default 16 MiB). Does not
    /// bound what the archive expands to; the renderer's limits do that.
    pub max_chart_bytes: u64,
    /// Time allowed to connect (default 10 s).
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, body included (default 60 s).
    pub timeout: Duration,
    /// Basic-auth credentials per repository pattern (the Git cache's, by
    /// default none). A repository's credential is sent to its index and to
    /// archive URLs on the same origin only, and never as clear text to a
    /// host that is not loopback unless it says `allowPlainHttp`.
    pub credentials: Credentials,
}

impl RepoOptions {
    /// Options for `dir` with every default: nothing allowed, a 5 min index
    /// TTL, 32 MiB indexes, 16 MiB charts, 10 s to connect, 60 s per
    /// request, no credentials.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RepoOptions {
            dir: dir.into(),
            allow: Vec::new(),
            index_ttl: Duration::from_secs(300),
            max_index_bytes: 32 << 20,
            max_chart_bytes: 16 << 20,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            credentials: Credentials::default(),
        }
    }

    /// Adds allowlist patterns.
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(mut self, patterns: I) -> Self {
        self.allow.extend(patterns.into_iter().map(Into::into));
        self
    }
}

/// A chart archive, verified and cached.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// Normalised repository URL.
    pub repo: String,
    /// Chart name.
    pub chart: String,
    /// The version chosen.
    pub version: String,
    /// sha256 of the archive, hex.
    pub digest: String,
    /// The archive.
    pub bytes: Arc<Vec<u8>>,
    /// Whether it came from the cache without a download.
    pub cached: bool,
}

/// Whether `url` names an HTTP chart repository (`http://` or `https://`).
pub fn is_chart_repo_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Whether `version` is one exact version (`1.2.3`, `v1.2.3-rc.1`), not a
/// constraint; only those are answered from the cache without the index.
pub fn is_exact_version(version: &str) -> bool {
    let core = version.trim_start_matches('v');
    let core = core.split(['-', '+']).next().unwrap_or("");
    kiln_gotmpl::Version::parse(version).is_ok()
        && core.split('.').count() == 3
        && core
            .split('.')
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Chart repositories behind one cache directory. Share it (`Arc`); every
/// method blocks, so call it from a blocking thread.
pub struct ChartRepos {
    options: RepoOptions,
    allow: Arc<Allowlist>,
    /// Built on first use: reqwest's blocking client may not be built
    /// inside an async context, and a pipeline is often created in one.
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
    indexes: Mutex<HashMap<String, (Instant, Arc<Index>)>>,
    /// One fetch at a time per index or archive URL: concurrent renders
    /// needing the same chart wait for the first download instead of
    /// repeating it.
    in_flight: InFlight,
    downloads: AtomicU64,
}

/// Per-key locks, dropped when nobody holds or waits for them.
#[derive(Default)]
struct InFlight(Mutex<HashMap<String, Arc<Mutex<()>>>>);

impl InFlight {
    /// Runs `f` while holding the lock of `key`.
    fn with<T>(&self, key: &str, f: impl FnOnce() -> T) -> T {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        let out = {
            let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
            f()
        };
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Two references: the map's and ours; nobody else waits.
        if Arc::strong_count(&lock) == 2 {
            map.remove(key);
        }
        out
    }
}

/// What a request is for, to name it in errors.
struct Want<'a> {
    repo: &'a str,
    chart: &'a str,
    version: &'a str,
}

impl Want<'_> {
    fn err(&self, kind: ErrorKind, cause: impl Into<String>) -> Error {
        Error {
            kind,
            repo: self.repo.to_owned(),
            chart: self.chart.to_owned(),
            version: if self.version.is_empty() {
                "*".to_owned()
            } else {
                self.version.to_owned()
            },
            cause: cause.into(),
        }
    }
}

impl ChartRepos {
    /// Opens (or creates) the cache directory, removing downloads a killed
    /// predecessor left in `tmp/`.
    pub fn open(options: RepoOptions) -> Result<Self, Error> {
        let internal = |cause: String| Error {
            kind: ErrorKind::Internal,
            repo: String::new(),
            chart: String::new(),
            version: String::new(),
            cause,
        };
        let allow = Allowlist::new(&options.allow).map_err(|e| internal(e.to_string()))?;
        let _ = std::fs::remove_dir_all(options.dir.join("tmp"));
        for sub in ["blobs", "refs", "index", "tmp"] {
            let p = options.dir.join(sub);
            std::fs::create_dir_all(&p)
                .map_err(|e| internal(format!("cache directory {}: {e}", p.display())))?;
        }
        let allow = Arc::new(allow);
        Ok(ChartRepos {
            options,
            allow,
            client: OnceLock::new(),
            indexes: Mutex::new(HashMap::new()),
            in_flight: InFlight::default(),
            downloads: AtomicU64::new(0),
        })
    }

    /// The settings.
    pub fn options(&self) -> &RepoOptions {
        &self.options
    }

    /// Archives downloaded by this process (for tests and metrics).
    pub fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }

    /// Whether the repository at `repo` may be read.
    pub fn allows(&self, repo: &str) -> bool {
        allowed(&self.allow, repo)
    }

    /// Resolves `version` (exact, a constraint, or empty for the latest
    /// stable) of `chart` in the repository at `repo`, and returns its
    /// verified archive, from the cache when it is there. Blocks; must not
    /// be called from an async task (use a blocking thread).
    pub fn fetch(&self, repo: &str, chart: &str, version: &str) -> Result<Fetched, Error> {
        let version = version.trim();
        let key = match RepoUrl::parse(repo) {
            Ok(u) if is_chart_repo_url(repo) => u.key().to_owned(),
            _ => {
                return Err(Want {
                    repo,
                    chart,
                    version,
                }
                .err(
                    ErrorKind::InvalidInput,
                    "not an http(s) chart repository URL",
                ));
            }
        };
        let want = Want {
            repo: &key,
            chart,
            version,
        };
        let span = info_span!("chart_fetch", repo = %key, chart = %chart, version = %version);
        let _entered = span.enter();
        if !self.allows(repo) {
            return Err(want.err(ErrorKind::NotAllowed, self.not_allowed(&key)));
        }
        let credential = RepoUrl::parse(repo)
            .ok()
            .and_then(|u| self.options.credentials.find(&u).cloned())
            .filter(|c| c.username.is_some() || c.password.is_some());
        let auth = Auth {
            origin: origin(repo),
            credential,
        };
        if chart.is_empty() || chart.contains(['/', '\\']) || chart.starts_with('.') {
            return Err(want.err(ErrorKind::InvalidInput, "invalid chart name"));
        }
        if is_exact_version(version)
            && let Some(digest) = self.read_ref(&key, chart, version)
            && let Some(bytes) = self.read_blob(&digest)
        {
            debug!(%digest, "chart answered from the cache");
            return Ok(Fetched {
                repo: key,
                chart: chart.to_owned(),
                version: version.to_owned(),
                digest,
                bytes: Arc::new(bytes),
                cached: true,
            });
        }
        let index = self.index(repo, &key, &want, &auth)?;
        let entry = select(&index, chart, version).map_err(|e| match e {
            SelectError::NoChart => want.err(
                ErrorKind::NotFound,
                format!("no chart named '{chart}' in the repository index"),
            ),
            SelectError::NoVersion(v) if v.is_empty() => want.err(
                ErrorKind::NotFound,
                "the index lists no semantic version of it",
            ),
            SelectError::NoVersion(v) => want.err(
                ErrorKind::NotFound,
                format!("no version matches (newest: {})", v.join(", ")),
            ),
            SelectError::BadConstraint(m) => want.err(
                ErrorKind::InvalidInput,
                format!("bad version constraint: {m}"),
            ),
        })?;
        let digest = entry.digest.trim().to_ascii_lowercase();
        let digest = digest.strip_prefix("sha256:").unwrap_or(&digest).to_owned();
        if !digest.is_empty()
            && let Some(bytes) = self.read_blob(&digest)
        {
            self.write_refs(&key, chart, version, &entry.version, &digest);
            return Ok(Fetched {
                repo: key,
                chart: chart.to_owned(),
                version: entry.version.clone(),
                digest,
                bytes: Arc::new(bytes),
                cached: true,
            });
        }
        let Some(first) = entry.urls.first() else {
            return Err(want.err(
                ErrorKind::Corrupt,
                format!("the index gives no URL for version {}", entry.version),
            ));
        };
        let url = resolve_url(repo, first);
        if !self.allows(&url) {
            return Err(want.err(
                ErrorKind::NotAllowed,
                format!(
                    "download URL {url} of version {} is not on this server's allowlist",
                    entry.version
                ),
            ));
        }
        self.in_flight.with(&format!("archive {url}"), || {
            // Downloaded by the caller this one waited for.
            if !digest.is_empty()
                && let Some(bytes) = self.read_blob(&digest)
            {
                self.write_refs(&key, chart, version, &entry.version, &digest);
                return Ok(Fetched {
                    repo: key.clone(),
                    chart: chart.to_owned(),
                    version: entry.version.clone(),
                    digest: digest.clone(),
                    bytes: Arc::new(bytes),
                    cached: true,
                });
            }
            let bytes = self
                .get(&url, self.options.max_chart_bytes, &auth)
                .map_err(|(kind, cause)| {
                    want.err(kind, format!("version {}: {cause}", entry.version))
                })?;
            self.downloads.fetch_add(1, Ordering::Relaxed);
            let actual = hex::encode(Sha256::digest(&bytes));
            if digest.is_empty() {
                warn!(%url, "the index gives no digest; caching by the archive's own");
            } else if actual != digest {
                return Err(want.err(
                    ErrorKind::Corrupt,
                    format!(
                        "version {}: {url} has sha256 {actual}, the index says {digest}",
                        entry.version
                    ),
                ));
            }
            self.write_blob(&actual, &bytes)
                .map_err(|cause| want.err(ErrorKind::Internal, cause))?;
            self.write_refs(&key, chart, version, &entry.version, &actual);
            Ok(Fetched {
                repo: key.clone(),
                chart: chart.to_owned(),
                version: entry.version.clone(),
                digest: actual,
                bytes: Arc::new(bytes),
                cached: false,
            })
        })
    }

    fn not_allowed(&self, key: &str) -> String {
        if self.options.allow.is_empty() {
            format!("repository '{key}' is not on this server's allowlist (the allowlist is empty)")
        } else {
            format!(
                "repository '{key}' is not on this server's allowlist (allowed: {})",
                self.options.allow.join(", ")
            )
        }
    }

    /// The index, from memory within its TTL, else fetched; the copy on disk
    /// when the repository cannot be reached.
    fn index(
        &self,
        repo: &str,
        key: &str,
        want: &Want<'_>,
        auth: &Auth,
    ) -> Result<Arc<Index>, Error> {
        let fresh = || {
            let indexes = self.indexes.lock().unwrap_or_else(|e| e.into_inner());
            indexes
                .get(key)
                .filter(|(at, _)| at.elapsed() < self.options.index_ttl)
                .map(|(_, index)| index.clone())
        };
        if let Some(index) = fresh() {
            return Ok(index);
        }
        self.in_flight.with(&format!("index {key}"), || {
            // Fetched by the caller this one waited for.
            if let Some(index) = fresh() {
                return Ok(index);
            }
            self.fetch_index(repo, key, want, auth)
        })
    }

    /// GETs the index (the copy on disk when the repository cannot be
    /// reached) and keeps it in memory.
    fn fetch_index(
        &self,
        repo: &str,
        key: &str,
        want: &Want<'_>,
        auth: &Auth,
    ) -> Result<Arc<Index>, Error> {
        let url = format!("{}/index.yaml", repo.trim_end_matches('/'));
        let disk = self
            .options
            .dir
            .join("index")
            .join(format!("{}.yaml", hash(&[key])));
        let bytes = match self.get(&url, self.options.max_index_bytes, auth) {
            Ok(b) => {
                let _ = self.write_atomic(&disk, &b);
                b
            }
            Err((ErrorKind::Unavailable, cause)) => match std::fs::read(&disk) {
                Ok(b) => {
                    warn!(%cause, "repository unreachable; using the index fetched earlier");
                    b
                }
                Err(_) => return Err(want.err(ErrorKind::Unavailable, cause)),
            },
            Err((kind, cause)) => return Err(want.err(kind, cause)),
        };
        let index = Arc::new(Index::parse(&bytes).map_err(|m| want.err(ErrorKind::Corrupt, m))?);
        self.indexes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), (Instant::now(), index.clone()));
        Ok(index)
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, (ErrorKind, String)> {
        let built = self.client.get_or_init(|| {
            let allow = self.allow.clone();
            reqwest::blocking::Client::builder()
                .connect_timeout(self.options.connect_timeout)
                .timeout(self.options.timeout)
                .no_proxy()
                .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() >= 5 {
                        attempt.error("more than 5 redirects")
                    } else if allowed(&allow, attempt.url().as_str()) {
                        attempt.follow()
                    } else {
                        let to = attempt.url().to_string();
                        attempt.error(format!("redirect to {to}, which is not on the allowlist"))
                    }
                }))
                .build()
                .map_err(|e| format!("HTTP client: {e}"))
        });
        built.as_ref().map_err(|e| (ErrorKind::Internal, e.clone()))
    }

    /// GET with the size limit; `Err` carries the class and a cause naming the URL.
    fn get(&self, url: &str, limit: u64, auth: &Auth) -> Result<Vec<u8>, (ErrorKind, String)> {
        let _span = info_span!("http_get", %url).entered();
        let mut request = self.client()?.get(url);
        if let Some(c) = &auth.credential
            && origin(url) == auth.origin
        {
            c.check_transport(url)
                .map_err(|m| (ErrorKind::InvalidInput, format!("GET {url}: {m}")))?;
            request = request.basic_auth(
                c.username.clone().unwrap_or_default(),
                c.password.as_ref().map(|p| p.expose().to_owned()),
            );
        }
        let resp = request
            .send()
            .map_err(|e| (ErrorKind::Unavailable, format!("GET {url}: {}", chain(&e))))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err((
                ErrorKind::NotFound,
                format!("GET {url}: HTTP 404 Not Found"),
            ));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err((ErrorKind::NotAllowed, format!("GET {url}: HTTP {status}")));
        }
        if !status.is_success() {
            let kind = if status.is_server_error() {
                ErrorKind::Unavailable
            } else {
                ErrorKind::NotFound
            };
            return Err((kind, format!("GET {url}: HTTP {status}")));
        }
        let too_large = || {
            (
                ErrorKind::TooLarge,
                format!("GET {url}: larger than the limit of {limit} bytes"),
            )
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        resp.take(limit + 1).read_to_end(&mut body).map_err(|e| {
            (
                ErrorKind::Unavailable,
                format!("GET {url}: reading the body: {e}"),
            )
        })?;
        if body.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(body)
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
            self.options
                .dir
                .join("blobs")
                .join(format!("sha256-{digest}.tgz"))
        })
    }

    /// A cached archive, checked against its digest (a damaged one is removed).
    fn read_blob(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.blob_path(digest)?;
        let bytes = std::fs::read(&path).ok()?;
        if hex::encode(Sha256::digest(&bytes)) != digest {
            warn!(path = %path.display(), "cached chart is damaged; removing it");
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(bytes)
    }

    fn write_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), String> {
        let path = self
            .blob_path(digest)
            .ok_or_else(|| format!("bad digest {digest}"))?;
        self.write_atomic(&path, bytes)
    }

    fn ref_path(&self, repo: &str, chart: &str, version: &str) -> PathBuf {
        self.options
            .dir
            .join("refs")
            .join(hash(&[repo, chart, version]))
    }

    fn read_ref(&self, repo: &str, chart: &str, version: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.ref_path(repo, chart, version)).ok()?;
        Some(text.trim().to_owned())
    }

    /// Remembers the digest under the exact version chosen, and under the
    /// version asked for when that was exact too.
    fn write_refs(&self, repo: &str, chart: &str, asked: &str, chosen: &str, digest: &str) {
        for v in [asked, chosen] {
            if is_exact_version(v) {
                let _ = self.write_atomic(&self.ref_path(repo, chart, v), digest.as_bytes());
            }
        }
    }

    /// Writes a file through a temporary file in `tmp/` and a rename, so
    /// it is never seen half-written.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("writing {}: {e}", path.display());
        let mut tmp =
            tempfile::NamedTempFile::new_in(self.options.dir.join("tmp")).map_err(fail)?;
        tmp.write_all(bytes).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        tmp.persist(path).map_err(|e| fail(e.error))?;
        Ok(())
    }
}

/// The credential of the repository a fetch is for, and the origin it may
/// be sent to.
struct Auth {
    origin: String,
    credential: Option<Credential>,
}

/// `scheme://host[:port]` of a URL, lower-cased.
fn origin(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let after = lower.find("://").map_or(0, |i| i + 3);
    let end = lower[after..].find('/').map_or(lower.len(), |i| after + i);
    lower[..end].to_owned()
}

fn allowed(allow: &Allowlist, url: &str) -> bool {
    RepoUrl::parse(url).is_ok_and(|u| allow.allows(&u))
}

/// Helm's `ResolveReferenceURL`: an absolute URL as is, else relative to the
/// repository URL taken as a folder.
fn resolve_url(repo: &str, url: &str) -> String {
    if is_chart_repo_url(url) {
        return url.to_owned();
    }
    let base = repo.trim_end_matches('/');
    if let Some(path) = url.strip_prefix('/') {
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let origin_end = base[after_scheme..]
            .find('/')
            .map_or(base.len(), |i| after_scheme + i);
        return format!("{}/{path}", &base[..origin_end]);
    }
    format!("{base}/{}", url.trim_start_matches("./"))
}

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_as_helm_does() {
        assert_eq!(
            resolve_url("http://h:1/charts/", "web-1.0.0.tgz"),
            "http://h:1/charts/web-1.0.0.tgz"
        );
        assert_eq!(
            resolve_url("http://h:1/charts", "/dl/web-1.0.0.tgz"),
            "http://h:1/dl/web-1.0.0.tgz"
        );
        assert_eq!(
            resolve_url("http://h:1/charts", "https://x/web.tgz"),
            "https://x/web.tgz"
        );
        assert!(is_exact_version("1.2.3"));
        assert!(is_exact_version("v1.2.3-rc.1"));
        assert!(!is_exact_version("1.2"));
        assert!(!is_exact_version("1.2.x"));
        assert!(!is_exact_version("~1.2.3"));
        assert!(!is_exact_version(""));
    }
}
