use std::sync::{
    Arc,
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

/// What the render cache holds and what it let go, over both levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheUsage {
    /// Estimated bytes held (output, read sets, bookkeeping).
    pub bytes: u64,
    /// Entries held.
    pub entries: u64,
    /// Entries evicted to stay within the byte or entry budget.
    pub evicted: u64,
    /// Entries dropped as stale (a renderer replaced, a render not kept).
    pub invalidated: u64,
    /// Entries replaced by a newer value for the same key.
    pub replaced: u64,
}

/// The in-memory render cache (moka).
///
/// Two levels: `(app, commit) -> render` answers repeated requests for a
/// commit; `app -> recent renders with their read sets` answers a new commit
/// whenever every recorded read gets the same answer in the new tree.
/// Entries are inserted only after a render succeeded, whole. Each level is
/// bounded by entries and by the estimated bytes of what it holds
/// ([`Rendered::weight`]); evictions are counted by cause.
pub struct RenderCache {
    pub(crate) exact: moka::future::Cache<(AppKey, Oid), Arc<Rendered>>,
    by_inputs: moka::sync::Cache<AppKey, Arc<Vec<Arc<Rendered>>>>,
    renders: AtomicU64,
    exact_hits: AtomicU64,
    input_hits: AtomicU64,
    removals: Arc<Removals>,
}

/// Removal counts shared with the caches' eviction listeners.
#[derive(Default)]
struct Removals {
    evicted: AtomicU64,
    invalidated: AtomicU64,
    replaced: AtomicU64,
}

impl Removals {
    fn count(&self, cause: moka::notification::RemovalCause) {
        use moka::notification::RemovalCause;
        let counter = match cause {
            RemovalCause::Size | RemovalCause::Expired => &self.evicted,
            RemovalCause::Explicit => &self.invalidated,
            RemovalCause::Replaced => &self.replaced,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a cached entry is assumed to cost besides its output and reads:
/// the renderer identities and detection listing it records, moka's own
/// per-entry bookkeeping, and the allocator's share.
const ENTRY_OVERHEAD: u64 = 1024;

/// Heap cost of one recorded read besides its path: the map node's share,
/// the key and answer, and the path allocation's header.
const READ_OVERHEAD: u64 = 120;

/// Heap cost of one manifest besides its text: the `String` and its
/// allocation header.
const MANIFEST_OVERHEAD: u64 = 40;

impl Rendered {
    /// Estimated bytes this render keeps alive: its output, its read set
    /// (a path and an answer per query) and fixed bookkeeping.
    pub(crate) fn weight(&self) -> u64 {
        let output: u64 = self
            .manifests
            .iter()
            .map(|m| m.len() as u64 + MANIFEST_OVERHEAD)
            .sum();
        let reads: u64 = self
            .read_set
            .iter()
            .map(|(_, path, _)| path.len() as u64 + READ_OVERHEAD)
            .sum();
        output + reads + (self.input_digest.len() + self.engine.len()) as u64 + ENTRY_OVERHEAD
    }
}

/// A moka weight (u32) from a byte estimate.
fn clamp(bytes: u64) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl RenderCache {
    /// A cache holding, per level, up to `max_bytes` of renders (estimated).
    /// Entries are counted by weight, so `capacity` bounds them too: each
    /// entry weighs at least `max_bytes / capacity`.
    pub fn new(capacity: u64, max_bytes: u64) -> Self {
        let removals = Arc::new(Removals::default());
        let floor = (max_bytes / capacity.max(1)).max(1);
        let (r1, r2) = (removals.clone(), removals.clone());
        RenderCache {
            exact: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(move |_, r: &Arc<Rendered>| clamp(r.weight().max(floor)))
                .eviction_listener(move |_, _, cause| r1.count(cause))
                .build(),
            by_inputs: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(move |_, list: &Arc<Vec<Arc<Rendered>>>| {
                    clamp(list.iter().map(|r| r.weight()).sum::<u64>().max(floor))
                })
                .eviction_listener(move |_, _, cause| r2.count(cause))
                .build(),
            renders: AtomicU64::new(0),
            exact_hits: AtomicU64::new(0),
            input_hits: AtomicU64::new(0),
            removals,
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

    /// Current size and removals (walks every entry: for scrapes, not for
    /// hot paths). Call [`RenderCache::settle`] first for settled figures.
    pub fn usage(&self) -> CacheUsage {
        // The estimate itself, not moka's weights (which are at least the
        // per-entry floor the entry capacity sets).
        let exact: u64 = self.exact.iter().map(|(_, r)| r.weight()).sum();
        let by_inputs: u64 = self
            .by_inputs
            .iter()
            .map(|(_, list)| list.iter().map(|r| r.weight()).sum::<u64>())
            .sum();
        CacheUsage {
            bytes: exact + by_inputs,
            entries: self.exact.entry_count() + self.by_inputs.entry_count(),
            evicted: self.removals.evicted.load(Ordering::Relaxed),
            invalidated: self.removals.invalidated.load(Ordering::Relaxed),
            replaced: self.removals.replaced.load(Ordering::Relaxed),
        }
    }

    /// Runs the caches' pending maintenance (evictions, size accounting).
    pub async fn settle(&self) {
        self.exact.run_pending_tasks().await;
        self.by_inputs.run_pending_tasks();
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
    pub(crate) fn variants(&self, key: &AppKey) -> Arc<Vec<Arc<Rendered>>> {
        self.by_inputs.get(key).unwrap_or_default()
    }

    /// Remembers a successful render of an app (re-weighed with the app's
    /// other recent renders).
    pub(crate) fn remember(&self, key: AppKey, rendered: Arc<Rendered>) {
        self.by_inputs.entry(key).and_compute_with(|current| {
            let mut list: Vec<Arc<Rendered>> = current
                .map(|e| e.into_value().as_ref().clone())
                .unwrap_or_default();
            list.retain(|r| r.read_set != rendered.read_set);
            list.push(rendered.clone());
            if list.len() > VARIANTS_PER_APP {
                list.remove(0);
            }
            moka::ops::compute::Op::Put(Arc::new(list))
        });
    }
}
