//! Loading renderers: the built-in plugins, then those of `--plugin-dir`.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use anyhow::{Context, Result, bail};
use kiln_plugin_host::{PluginHost, PluginLimits};
use kiln_render::Renderer;

use crate::cli::PluginArgs;

/// Plugin limits from the flags.
pub fn limits(a: &PluginArgs) -> PluginLimits {
    PluginLimits {
        max_memory_bytes: a.plugin_max_memory,
        deadline: a.plugin_deadline,
        max_output_bytes: a.plugin_max_output,
        concurrency: a.plugin_concurrency,
        queue: a.plugin_queue,
        ..PluginLimits::default()
    }
}

/// Starts the plugin host and loads every renderer; compiled code is cached
/// under `compiled_dir`.
pub fn load(args: &PluginArgs, compiled_dir: &Path) -> Result<Vec<Arc<dyn Renderer>>> {
    let host = PluginHost::new(limits(args), Some(compiled_dir.to_path_buf()))?;
    let mut by_name: BTreeMap<String, (String, Arc<dyn Renderer>)> = BTreeMap::new();
    let mut add = |origin: String, r: Arc<dyn Renderer>| -> Result<()> {
        let name = r.info().name.clone();
        if let Some((first, _)) = by_name.get(&name) {
            bail!("plugin {origin} is named '{name}', which {first} already uses");
        }
        by_name.insert(name, (origin, r));
        Ok(())
    };
    for b in kiln_plugins_builtin::BUILTINS {
        let origin = format!("builtin:{}", b.name);
        let p = host
            .load(b.wasm, &origin)
            .with_context(|| format!("loading {origin}"))?;
        add(origin, Arc::new(p))?;
    }
    if let Some(dir) = &args.plugin_dir {
        for p in host.load_dir(dir)? {
            add(p.origin().to_owned(), Arc::new(p))?;
        }
    }
    Ok(by_name.into_values().map(|(_, r)| r).collect())
}
