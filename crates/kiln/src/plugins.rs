//! Loading renderers: the built-in plugins, then those of `--plugin-dir`.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use std::io::Write;

use anyhow::{Context, Result, bail};
use kiln_plugin_host::{PluginHost, PluginLimits};
use kiln_render::Renderer;

use crate::cli::{PluginArgs, PluginsArgs, PluginsCommand, default_cache_dir};

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
/// under `<cache_dir>/compiled-plugins`.
pub fn load(args: &PluginArgs, cache_dir: &Path) -> Result<Vec<Arc<dyn Renderer>>> {
    let host = PluginHost::new(limits(args), Some(cache_dir.join("compiled-plugins")))?;
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
        let allowed: Vec<String> = args
            .plugin_allow_digest
            .iter()
            .map(|d| d.trim().trim_start_matches("sha256:").to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        for p in host.load_dir(dir)? {
            let info = p.info();
            if !allowed.is_empty() && !allowed.contains(&info.digest) {
                bail!(
                    "plugin {} ({} {}, sha256:{}) is not in --plugin-allow-digest",
                    info.origin,
                    info.name,
                    info.version,
                    info.digest
                );
            }
            add(info.origin.clone(), Arc::new(p))?;
        }
    }
    Ok(by_name.into_values().map(|(_, r)| r).collect())
}

/// `kiln plugins list | inspect | check`.
pub fn command(args: PluginsArgs) -> Result<()> {
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| default_cache_dir("cli"));
    let mut out = std::io::stdout().lock();
    match &args.command {
        PluginsCommand::List => {
            writeln!(
                out,
                "{:<16} {:<10} {:<14} {:<12} {:<8} ORIGIN",
                "NAME", "VERSION", "DIGEST", "MARKERS", "KIND"
            )?;
            for r in load(&args.plugins, &cache_dir)? {
                let i = r.info();
                writeln!(
                    out,
                    "{:<16} {:<10} {:<14} {:<12} {:<8} {}",
                    i.name,
                    i.version,
                    &i.digest[..12.min(i.digest.len())],
                    if i.markers.is_empty() {
                        "-".to_owned()
                    } else {
                        i.markers.join(",")
                    },
                    if i.transformer { "both" } else { "generator" },
                    i.origin
                )?;
            }
        }
        PluginsCommand::Inspect { plugin } => {
            let info = if Path::new(plugin).is_file() {
                check_file(&args, Path::new(plugin))?
            } else {
                load(&args.plugins, &cache_dir)?
                    .into_iter()
                    .map(|r| r.info().clone())
                    .find(|i| &i.name == plugin)
                    .with_context(|| {
                        format!("no plugin named '{plugin}' (see `kiln plugins list`)")
                    })?
            };
            write!(out, "{}", describe(&info))?;
        }
        PluginsCommand::Check { file } => {
            let info = check_file(&args, file)?;
            writeln!(
                out,
                "ok: {} is plugin {} {} (interface kiln:plugin@{}, sha256:{})",
                file.display(),
                info.name,
                info.version,
                info.interface_version,
                info.digest
            )?;
            if kiln_plugins_builtin::BUILTINS
                .iter()
                .any(|b| b.name == info.name)
            {
                writeln!(
                    out,
                    "warning: the name '{}' is taken by a built-in plugin; the server will refuse it",
                    info.name
                )?;
            }
        }
    }
    Ok(())
}

/// Loads one file with a fresh host and no compiled-code cache.
fn check_file(args: &PluginsArgs, file: &Path) -> Result<kiln_render::RendererInfo> {
    let host = PluginHost::new(limits(&args.plugins), None)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let p = host.load(&bytes, &file.display().to_string())?;
    Ok(p.info().clone())
}

fn describe(i: &kiln_render::RendererInfo) -> String {
    let mut s = format!(
        "name: {}\nversion: {}\ndigest: sha256:{}\ninterface: kiln:plugin@{}\norigin: {}\ntransformer: {}\nmarkers: [{}]\nparameters:\n",
        i.name,
        i.version,
        i.digest,
        i.interface_version,
        i.origin,
        i.transformer,
        i.markers.join(", ")
    );
    if i.parameters.is_empty() {
        s.push_str("  []\n");
    }
    for p in &i.parameters {
        s.push_str(&format!(
            "  - name: {}\n    description: {}\n    required: {}\n",
            p.name, p.description, p.required
        ));
    }
    s
}
