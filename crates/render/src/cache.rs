use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use kiln_source::{Oid, ReadSet};

/// One finished render: its output and everything it read.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub read_set: ReadSet,
    pub used: crate::registry::Used,
    pub manifests: Arc<Vec<String>>,
    pub input_digest: String,
    pub engine: String,
    /// The render decrypted at least one file.
    pub secret: bool,
    /// The render read a remote base at a ref that may move (not a full
    /// sha): it is never reused.
    pub remote_unpinned: bool,
}

/// Key of an app request: repository, path, engine, parameters.
pub(crate) type AppKey = [u8; 32];

/// How many distinct input sets are kept per app (one per recent variant).
const VARIANTS_PER_APP: usize = 8;

/// Counters of the render cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// Renderers actually run.
    pub renders: u64,
    /// Answers for a commit already rendered.
    pub exact_hits: u64,
    /// Answers for a new commit from a render whose reads all still hold.
    pub input_hits: u64,
}

/// The in-memory render cache (moka).
///
/// Two levels: `(app, commit) -> render` answers repeated requests for a
/// commit; `app -> recent renders with their read sets` answers a new commit
/// whenever every recorded read gets the same answer in the new tree.
/// Entries are inserted only after a render succeeded, whole.
pub struct RenderCache {
    pub(crate) exact: moka::future::Cache<(AppKey, Oid), Arc<Rendered>>,
    pub(crate) by_inputs: moka::sync::Cache<AppKey, Arc<Mutex<Vec<Arc<Rendered>>>>>,
    renders: AtomicU64,
    exact_hits: AtomicU64,
    input_hits: AtomicU64,
}

impl RenderCache {
    /// A cache holding up to `capacity` renders per level.
    pub fn new(capacity: u64) -> Self {
        RenderCache {
            exact: moka::future::Cache::new(capacity),
            by_inputs: moka::sync::Cache::new(capacity),
            renders: AtomicU64::new(0),
            exact_hits: AtomicU64::new(0),
            input_hits: AtomicU64::new(0),
        }
    }

    /// Current counters.
    pub fn counters(&self) -> CacheCounters {
        CacheCounters {
            renders: self.renders.load(Ordering::Relaxed),
            exact_hits: self.exact_hits.load(Ordering::Relaxed),
            input_hits: self.input_hits.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_render(&self) {
        self.renders.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_exact_hit(&self) {
        self.exact_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_input_hit(&self) {
        self.input_hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Recent renders of an app, newest last.
    pub(crate) fn variants(&self, key: &AppKey) -> Vec<Arc<Rendered>> {
        self.by_inputs
            .get(key)
            .map(|v| v.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// Remembers a successful render of an app.
    pub(crate) fn remember(&self, key: AppKey, rendered: Arc<Rendered>) {
        let list = self
            .by_inputs
            .get_with(key, || Arc::new(Mutex::new(Vec::new())));
        let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|r| r.read_set != rendered.read_set);
        list.push(rendered);
        if list.len() > VARIANTS_PER_APP {
            list.remove(0);
        }
    }
}
