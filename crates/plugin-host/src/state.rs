//! What a plugin instance can reach: the source tree, logging, and a WASI
//! context that grants nothing.

use std::{sync::Arc, time::Duration};

use kiln_source::{EntryKind as SrcKind, Source, SourceError};
use rand::SeedableRng;
use tracing::{debug, error, info, trace, warn};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
    p2::pipe::MemoryOutputPipe,
};

use crate::bindings::kiln::plugin::{
    log::{self, Level},
    source,
    types::{self, DirEntry, EntryKind, Error as WitError, ErrorKind},
};

/// Bytes of a plugin's stderr kept to explain a trap (its panic message).
const STDERR_BYTES: usize = 64 << 10;

/// Per-instance state: one per plugin call.
pub(crate) struct HostState {
    pub source: Arc<dyn Source + Send + Sync>,
    pub plugin: String,
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    pub stderr: MemoryOutputPipe,
    log_left: usize,
    pub log_dropped: usize,
}

/// Denies memory growth past the limit and remembers that it did, so a
/// trap that follows is reported as the memory limit.
pub(crate) struct MemoryLimiter {
    max: usize,
    pub denied: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The wall clock a plugin sees: the commit time, read through the source so
/// the read is recorded (a render that reads it depends on the commit time).
struct CommitClock(Arc<dyn Source + Send + Sync>);

impl HostWallClock for CommitClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.0.commit_time()).unwrap_or(0))
    }
}

/// A monotonic clock that never moves: no timing side channel, no
/// nondeterminism.
struct FrozenClock;

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        0
    }
}

impl HostState {
    pub(crate) fn new(
        plugin: &str,
        source: Arc<dyn Source + Send + Sync>,
        seed: [u8; 32],
        max_memory: usize,
        max_log: usize,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        let mut b = WasiCtxBuilder::new();
        // Deny by default, and say so: no preopened directories, no
        // environment, no arguments, no sockets, no name lookup.
        b.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .stdout(std::io::empty())
            .stderr(stderr.clone())
            .wall_clock(CommitClock(source.clone()))
            .monotonic_clock(FrozenClock)
            .secure_random(rand::rngs::StdRng::from_seed(seed))
            .insecure_random(rand::rngs::StdRng::from_seed(seed))
            .insecure_random_seed(u128::from_le_bytes(
                seed[..16].try_into().unwrap_or([0; 16]),
            ));
        HostState {
            source,
            plugin: plugin.to_owned(),
            wasi: b.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max: max_memory,
                denied: false,
            },
            stderr,
            log_left: max_log,
            log_dropped: 0,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A source error as the guest sees it, classified as the pipeline
/// classifies it (one mapping, in kiln-render).
fn wit_error(e: SourceError) -> WitError {
    let file = Some(e.path().to_owned());
    let r = kiln_render::RenderError::from(e);
    WitError {
        kind: match r.kind {
            kiln_render::ErrorKind::NotFound => ErrorKind::NotFound,
            kiln_render::ErrorKind::ResourceExhausted => ErrorKind::ResourceExhausted,
            kiln_render::ErrorKind::Internal => ErrorKind::Internal,
            _ => ErrorKind::InvalidInput,
        },
        file,
        line: None,
        message: r.message,
    }
}

fn wit_kind(k: SrcKind) -> EntryKind {
    match k {
        SrcKind::File => EntryKind::File,
        SrcKind::Dir => EntryKind::Dir,
        SrcKind::Symlink => EntryKind::Symlink,
    }
}

impl types::Host for HostState {}

impl source::Host for HostState {
    fn read_file(&mut self, path: String) -> Result<Vec<u8>, WitError> {
        self.source.read_file(&path).map_err(wit_error)
    }

    fn list_dir(&mut self, path: String) -> Result<Vec<DirEntry>, WitError> {
        self.source
            .list_dir(&path)
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|e| DirEntry {
                        name: e.name,
                        kind: wit_kind(e.kind),
                    })
                    .collect()
            })
            .map_err(wit_error)
    }

    fn stat(&mut self, path: String) -> Result<Option<EntryKind>, WitError> {
        self.source
            .stat(&path)
            .map(|k| k.map(wit_kind))
            .map_err(wit_error)
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        if message.len() > self.log_left {
            self.log_dropped += 1;
            return;
        }
        self.log_left -= message.len();
        let plugin = self.plugin.as_str();
        match level {
            Level::Trace => trace!(plugin, "{message}"),
            Level::Debug => debug!(plugin, "{message}"),
            Level::Info => info!(plugin, "{message}"),
            Level::Warn => warn!(plugin, "{message}"),
            Level::Error => error!(plugin, "{message}"),
        }
    }
}
