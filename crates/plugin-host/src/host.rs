use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use kiln_render::Renderer;
use sha2::{Digest, Sha256};
use tracing::info;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    component::{HasSelf, Linker},
};

use crate::{Error, PluginLimits, PluginRenderer, bindings::Plugin, gate::Gate, state::HostState};

/// How often the epoch advances; the granularity of the CPU deadline.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled linear memory kept resident (zeroed with memset)
/// between instances.
const KEEP_RESIDENT: usize = 16 << 20;

/// The wasmtime engine, linker and limits shared by every plugin.
pub struct PluginHost {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    pub limits: PluginLimits,
    pub gate: Gate,
    cache_dir: Option<PathBuf>,
    stop: Arc<AtomicBool>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl PluginHost {
    /// A host with these limits; compiled code is cached in `cache_dir` when given.
    pub fn new(limits: PluginLimits, cache_dir: Option<PathBuf>) -> Result<Self, Error> {
        let engine_err = |e: wasmtime::Error| Error::Engine(e.to_string());
        let mut pool = PoolingAllocationConfig::default();
        let instances = u32::try_from(limits.concurrency + 4).unwrap_or(u32::MAX);
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(16))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(16))
            .total_stacks(instances)
            .max_memory_size(limits.max_memory_bytes)
            // Zero a used slot with memset up to this size instead of
            // madvise: the next instance then reuses resident pages rather
            // than faulting every heap page in again (a render of a small
            // chart touches a few MiB; the page faults were a tenth of it).
            .linear_memory_keep_resident(KEEP_RESIDENT.min(limits.max_memory_bytes))
            .table_keep_resident(1 << 16);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(engine_err)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_err)?;
        Plugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(engine_err)?;

        if let Some(dir) = &cache_dir {
            crate::compiled::sweep(dir);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = engine.clone();
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("kiln-plugin-epoch".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticker.increment_epoch();
                }
            })
            .map_err(|e| Error::Engine(format!("cannot start the epoch thread: {e}")))?;
        Ok(PluginHost {
            shared: Arc::new(Shared {
                engine,
                linker,
                limits,
                gate: Gate::new(limits.concurrency, limits.queue),
                cache_dir,
                stop,
            }),
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &PluginLimits {
        &self.shared.limits
    }

    /// Compiles (or loads from the cache) a component and asks it to describe
    /// itself. `origin` names it in messages (a file path or `builtin:NAME`).
    pub fn load(&self, bytes: &[u8], origin: &str) -> Result<PluginRenderer, Error> {
        let invalid = |cause: String| Error::Invalid {
            origin: origin.to_owned(),
            cause,
        };
        let digest = hex::encode(Sha256::digest(bytes));
        let (component, cached) = crate::compiled::load(
            &self.shared.engine,
            bytes,
            &digest,
            self.shared.cache_dir.as_deref(),
        )
        .map_err(|e| invalid(format!("not a loadable WebAssembly component: {e:#}")))?;
        let pre = self
            .shared
            .linker
            .instantiate_pre(&component)
            .and_then(crate::bindings::PluginPre::new)
            .map_err(|e| invalid(format!("does not fit the kiln:plugin world: {e:#}")))?;
        let plugin = PluginRenderer::describe(self.shared.clone(), pre, digest, origin)?;
        info!(
            plugin = %plugin.info().name,
            version = %plugin.info().version,
            digest = %plugin.info().digest,
            origin,
            compiled_cache_hit = cached,
            "plugin loaded"
        );
        Ok(plugin)
    }
}
