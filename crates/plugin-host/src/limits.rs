use std::time::Duration;

/// Limits applied to every plugin call. [`PluginLimits::default`] lists the defaults.
///
/// Each call runs in a fresh instance, so no state and no memory carry over
/// between calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PluginLimits {
    /// Largest linear memory of one instance, in bytes (default 512 MiB).
    /// Bounds the plugin's heap and stack; it does not bound host memory used
    /// to answer its reads (see the read limits of the source tree).
    pub max_memory_bytes: usize,
    /// Wall-clock CPU deadline of one call (default 30 s), enforced by epoch
    /// interruption every 10 ms; time spent in host calls (reading files)
    /// counts too. It does not bound time waiting in the queue.
    pub deadline: Duration,
    /// Largest total size of the manifests one call may return (default
    /// 64 MiB). It does not bound log output, which has its own cap.
    pub max_output_bytes: usize,
    /// Log bytes kept per call (default 256 KiB); the rest is counted and
    /// dropped with one warning.
    pub max_log_bytes: usize,
    /// Plugin calls running at once (default 8). Calls beyond it wait.
    pub concurrency: usize,
    /// Calls that may wait for a slot (default 256); beyond it a call fails
    /// at once with RESOURCE_EXHAUSTED.
    pub queue: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            max_memory_bytes: 512 << 20,
            deadline: Duration::from_secs(30),
            max_output_bytes: 64 << 20,
            max_log_bytes: 256 << 10,
            concurrency: 8,
            queue: 256,
        }
    }
}
