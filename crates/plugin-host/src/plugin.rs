use std::sync::Arc;

use kiln_render::{
    ErrorKind, ParameterInfo, RenderError, RenderInput, Renderer, RendererInfo, TransformInput,
};
use kiln_source::{DirEntry, EntryKind, Source, SourceError};
use tracing::{info, info_span, warn};
use wasmtime::{Store, Trap};

use crate::{
    Error, INTERFACE_VERSION,
    bindings::{
        Plugin, PluginPre,
        kiln::plugin::types::{self as wit, ErrorKind as WitKind},
    },
    host::{Shared, TICK},
    state::HostState,
};

/// A loaded plugin; each call runs in a fresh, limited instance.
pub struct PluginRenderer {
    shared: Arc<Shared>,
    pre: PluginPre<HostState>,
    info: RendererInfo,
}

/// A source with nothing in it, for calls that must not read (describe).
struct NoSource;

impl Source for NoSource {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        Err(SourceError::NotFound {
            path: path.to_owned(),
        })
    }
    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError> {
        Err(SourceError::NotFound {
            path: path.to_owned(),
        })
    }
    fn stat(&self, _path: &str) -> Result<Option<EntryKind>, SourceError> {
        Ok(None)
    }
    fn commit_time(&self) -> i64 {
        0
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl PluginRenderer {
    pub(crate) fn describe(
        shared: Arc<Shared>,
        pre: PluginPre<HostState>,
        digest: String,
        origin: &str,
    ) -> Result<Self, Error> {
        let mut me = PluginRenderer {
            shared,
            pre,
            info: RendererInfo {
                name: origin.to_owned(),
                version: String::new(),
                digest,
                markers: Vec::new(),
                interface_version: String::new(),
                parameters: Vec::new(),
                transformer: false,
                origin: origin.to_owned(),
            },
        };
        let d = me
            .call(Arc::new(NoSource), [0; 32], |p, s| {
                p.kiln_plugin_renderer().call_describe(s)
            })
            .map_err(|e| Error::Invalid {
                origin: origin.to_owned(),
                cause: format!("describe failed: {e}"),
            })?;
        if !valid_name(&d.name) {
            return Err(Error::Invalid {
                origin: origin.to_owned(),
                cause: format!(
                    "invalid plugin name '{}': use 1-64 characters of a-z, 0-9 and '-'",
                    d.name
                ),
            });
        }
        let compatible = d.interface_version.rsplit_once('.').map(|(mm, _)| mm)
            == INTERFACE_VERSION.rsplit_once('.').map(|(mm, _)| mm);
        if !compatible {
            return Err(Error::Version {
                origin: origin.to_owned(),
                found: d.interface_version,
                expected: INTERFACE_VERSION,
            });
        }
        me.info.name = d.name;
        me.info.version = d.version;
        me.info.markers = d.markers;
        me.info.interface_version = d.interface_version;
        me.info.transformer = d.transformer;
        me.info.parameters = d
            .parameters
            .into_iter()
            .map(|p| ParameterInfo {
                name: p.name,
                description: p.description,
                required: p.required,
            })
            .collect();
        Ok(me)
    }

    /// Runs one export in a fresh instance under every limit.
    fn call<T>(
        &self,
        source: Arc<dyn Source + Send + Sync>,
        seed: [u8; 32],
        f: impl FnOnce(&Plugin, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, RenderError> {
        let limits = &self.shared.limits;
        let name = if self.info.version.is_empty() {
            self.info.origin.clone()
        } else {
            self.info.name.clone()
        };
        let fail = |kind, message: String| RenderError {
            kind,
            file: None,
            line: None,
            message,
        };
        let _permit = self.shared.gate.enter().ok_or_else(|| {
            fail(
                ErrorKind::ResourceExhausted,
                format!(
                    "plugin {name}: {} calls already waiting (plugin-queue limit)",
                    limits.queue
                ),
            )
        })?;
        let state = HostState::new(
            &name,
            source,
            seed,
            limits.max_memory_bytes,
            limits.max_log_bytes,
        );
        let mut store = Store::new(&self.shared.engine, state);
        store.limiter(|s| &mut s.limiter);
        let ticks = (limits.deadline.as_millis() / TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| f(&instance, &mut store));
        if store.data().log_dropped > 0 {
            warn!(plugin = %name, dropped = store.data().log_dropped, "plugin log output over its limit was dropped");
        }
        result.map_err(|e| {
            if store.data().limiter.denied {
                fail(
                    ErrorKind::ResourceExhausted,
                    format!(
                        "plugin {name} exceeded its memory limit of {} MiB (plugin-max-memory)",
                        limits.max_memory_bytes >> 20
                    ),
                )
            } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                fail(
                    ErrorKind::DeadlineExceeded,
                    format!(
                        "plugin {name} exceeded its time limit of {:?} (plugin-deadline)",
                        limits.deadline
                    ),
                )
            } else {
                let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
                let said: String = stderr
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(1000)
                    .collect();
                let said = if said.is_empty() {
                    String::new()
                } else {
                    format!("; it wrote: {said}")
                };
                let e = match e.downcast_ref::<Trap>() {
                    Some(trap) => format!("trapped: {trap}"),
                    None => format!("{e}").lines().next().unwrap_or_default().to_owned(),
                };
                fail(ErrorKind::Internal, format!("plugin {name} {e}{said}"))
            }
        })
    }
}

fn from_wit(plugin: &str, e: wit::Error) -> RenderError {
    RenderError {
        kind: match e.kind {
            WitKind::InvalidInput => ErrorKind::InvalidInput,
            WitKind::NotFound => ErrorKind::NotFound,
            WitKind::ResourceExhausted => ErrorKind::ResourceExhausted,
            WitKind::Unsupported => ErrorKind::Unsupported,
            WitKind::Internal => ErrorKind::Internal,
        },
        file: e.file,
        line: e.line,
        message: if e.kind == WitKind::Internal {
            format!("plugin {plugin}: {}", e.message)
        } else {
            e.message
        },
    }
}

impl Renderer for PluginRenderer {
    fn info(&self) -> &RendererInfo {
        &self.info
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<String>, RenderError> {
        let _span = info_span!("plugin", plugin = %self.info.name, app = %input.app_path).entered();
        let request = wit::GenerateRequest {
            app_path: input.app_path.to_owned(),
            parameters: input
                .parameters
                .iter()
                .map(|(k, v)| wit::Param {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            namespace: input.namespace.to_owned(),
        };
        let out = self
            .call(input.source.clone(), input.seed, |p, s| {
                p.kiln_plugin_renderer().call_generate(s, &request)
            })?
            .map_err(|e| from_wit(&self.info.name, e))?;
        self.check_output(out)
    }

    fn transform(&self, input: TransformInput<'_>) -> Result<Vec<String>, RenderError> {
        let _span = info_span!("plugin", plugin = %self.info.name, role = "transform").entered();
        let list = wit::ResourceList {
            items: input.items,
            function_config: input.config.map(str::to_owned),
            results: Vec::new(),
        };
        let out = self
            .call(input.source.clone(), input.seed, |p, s| {
                p.kiln_plugin_renderer().call_transform(s, &list)
            })?
            .map_err(|e| from_wit(&self.info.name, e))?;
        let mut errors = Vec::new();
        for r in &out.results {
            let at = r
                .resource_ref
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default();
            match r.severity {
                wit::Severity::Error => errors.push(format!("{}{at}", r.message)),
                wit::Severity::Warning => warn!(plugin = %self.info.name, "{}{at}", r.message),
                wit::Severity::Info => info!(plugin = %self.info.name, "{}{at}", r.message),
            }
        }
        if !errors.is_empty() {
            return Err(RenderError {
                kind: ErrorKind::InvalidInput,
                file: None,
                line: None,
                message: format!(
                    "transformer {} reported: {}",
                    self.info.name,
                    errors.join("; ")
                ),
            });
        }
        self.check_output(out.items)
    }
}

impl PluginRenderer {
    fn check_output(&self, out: Vec<String>) -> Result<Vec<String>, RenderError> {
        let size: usize = out.iter().map(String::len).sum();
        if size > self.shared.limits.max_output_bytes {
            return Err(RenderError {
                kind: ErrorKind::ResourceExhausted,
                file: None,
                line: None,
                message: format!(
                    "plugin {} returned {size} bytes of manifests, over its output limit of {} (plugin-max-output)",
                    self.info.name, self.shared.limits.max_output_bytes
                ),
            });
        }
        Ok(out)
    }
}
