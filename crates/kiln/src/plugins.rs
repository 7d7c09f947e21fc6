//! Loading renderers: the built-in plugins, then those of `--plugin-dir`.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::{Context, Result, bail};
use kiln_plugin_host::{PluginHost, PluginLimits};
use kiln_render::Renderer;
use tracing::error;

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
    Ok(Plugins::open(args, cache_dir)?.renderers())
}

/// What identifies a file's version without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Stamp> {
        use std::os::unix::fs::MetadataExt;
        // Follows symlinks, so a mounted ConfigMap's swapped link counts.
        let m = std::fs::metadata(path)?;
        Ok(Stamp {
            len: m.len(),
            modified: m.modified().ok(),
            inode: m.ino(),
        })
    }
}

/// Files of the plugin folder loaded now: stamp and renderer by path.
type Loaded = BTreeMap<PathBuf, (Stamp, Arc<dyn Renderer>)>;

/// The built-in plugins and those of `--plugin-dir`, which can be rescanned.
pub struct Plugins {
    host: PluginHost,
    builtins: Vec<Arc<dyn Renderer>>,
    dir: Option<PathBuf>,
    allowed: Vec<String>,
    /// Files of `dir` loaded now, by path.
    loaded: Loaded,
    /// The last file that failed, its stamp and why (so an unchanged bad
    /// file is neither reloaded nor reported again).
    failed: Option<(PathBuf, Stamp, String)>,
}

impl Plugins {
    /// Loads the built-in plugins and every plugin of `--plugin-dir`; any
    /// failure is an error.
    pub fn open(args: &PluginArgs, cache_dir: &Path) -> Result<Plugins> {
        let host = PluginHost::new(limits(args), Some(cache_dir.join("compiled-plugins")))?;
        let mut builtins: Vec<Arc<dyn Renderer>> = Vec::new();
        for b in kiln_plugins_builtin::BUILTINS {
            let origin = format!("builtin:{}", b.name);
            let p = host
                .load(b.wasm, &origin)
                .with_context(|| format!("loading {origin}"))?;
            builtins.push(Arc::new(p));
        }
        let mut plugins = Plugins {
            host,
            builtins,
            dir: args.plugin_dir.clone(),
            allowed: args
                .plugin_allow_digest
                .iter()
                .map(|d| d.trim().trim_start_matches("sha256:").to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            loaded: BTreeMap::new(),
            failed: None,
        };
        plugins.loaded = plugins.scan()?;
        plugins.renderers_checked()?;
        Ok(plugins)
    }

    /// Every renderer, built-in first.
    pub fn renderers(&self) -> Vec<Arc<dyn Renderer>> {
        self.builtins
            .iter()
            .chain(self.loaded.values().map(|(_, r)| r))
            .cloned()
            .collect()
    }

    /// Looks at `--plugin-dir` again. Returns the new renderer set when a
    /// plugin was added, removed or replaced, `None` when nothing changed.
    /// On any error the current set stays as it is, whole.
    pub fn rescan(&mut self) -> Result<Option<Vec<Arc<dyn Renderer>>>> {
        let next = self.scan()?;
        let ids = |m: &Loaded| {
            m.iter()
                .map(|(p, (_, r))| (p.clone(), r.info().digest.clone()))
                .collect::<Vec<_>>()
        };
        let changed = ids(&next) != ids(&self.loaded);
        let previous = std::mem::replace(&mut self.loaded, next);
        if let Err(e) = self.renderers_checked() {
            self.loaded = previous;
            return Err(e);
        }
        Ok(changed.then(|| self.renderers()))
    }

    /// The renderer set, refused when two plugins share a name.
    fn renderers_checked(&self) -> Result<()> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for r in self
            .builtins
            .iter()
            .chain(self.loaded.values().map(|(_, r)| r))
        {
            let i = r.info();
            if let Some(first) = seen.insert(&i.name, &i.origin) {
                bail!(
                    "plugin {} is named '{}', which {first} already uses",
                    i.origin,
                    i.name
                );
            }
        }
        Ok(())
    }

    /// Loads the `*.wasm` files of the plugin folder, reusing those whose
    /// stamp is unchanged.
    fn scan(&mut self) -> Result<Loaded> {
        let mut out = BTreeMap::new();
        let Some(dir) = &self.dir else {
            return Ok(out);
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading plugin folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        files.sort();
        for file in files {
            let stamp = Stamp::of(&file).with_context(|| format!("reading {}", file.display()))?;
            if let Some((s, r)) = self.loaded.get(&file)
                && *s == stamp
            {
                out.insert(file, (stamp, r.clone()));
                continue;
            }
            if let Some((f, s, why)) = &self.failed
                && *f == file
                && *s == stamp
            {
                bail!("{why}");
            }
            match self.load_file(&file) {
                Ok(r) => {
                    out.insert(file, (stamp, r));
                }
                Err(e) => {
                    let why = format!("{e:#}");
                    self.failed = Some((file, stamp, why.clone()));
                    bail!("{why}");
                }
            }
        }
        self.failed = None;
        Ok(out)
    }

    fn load_file(&self, file: &Path) -> Result<Arc<dyn Renderer>> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let p = self.host.load(&bytes, &file.display().to_string())?;
        let info = p.info();
        if !self.allowed.is_empty() && !self.allowed.contains(&info.digest) {
            bail!(
                "plugin {} ({} {}, sha256:{}) is not in --plugin-allow-digest",
                info.origin,
                info.name,
                info.version,
                info.digest
            );
        }
        Ok(Arc::new(p))
    }
}

/// Rescans `--plugin-dir` every `interval` and hands each changed renderer
/// set to `apply`, until the returned task is dropped or aborted.
pub fn watch(
    plugins: Plugins,
    interval: Duration,
    apply: impl Fn(Vec<Arc<dyn Renderer>>) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let plugins = Arc::new(std::sync::Mutex::new(plugins));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut last_error = String::new();
        loop {
            tick.tick().await;
            let p = plugins.clone();
            let result = tokio::task::spawn_blocking(move || {
                p.lock().unwrap_or_else(|e| e.into_inner()).rescan()
            })
            .await;
            match result {
                Ok(Ok(Some(set))) => {
                    last_error.clear();
                    apply(set);
                }
                Ok(Ok(None)) => last_error.clear(),
                Ok(Err(e)) => {
                    let why = format!("{e:#}");
                    if why != last_error {
                        error!(error = %why, "plugin folder not reloaded; the previous plugins stay in use");
                        last_error = why;
                    }
                }
                Err(e) => error!(error = %e, "plugin rescan task failed"),
            }
        }
    })
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
