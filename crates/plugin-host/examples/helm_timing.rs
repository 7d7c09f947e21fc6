//! Times the built-in helm plugin (warm, no render cache) on a chart of
//! `tests/helm`: the figure `cargo bench --bench helm` reports, without
//! building the whole binary.
//!
//! Run: `cargo run --release -p kiln-plugin-host --example helm_timing [chart] [release] [namespace] [iterations]`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Instant};

use kiln_plugin_host::{PluginHost, PluginLimits};
use kiln_render::{RenderInput, Renderer};
use kiln_source::{FsBackend, Locked, ReadLimits, Tree};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_owned());
    let app = format!("charts/{}", arg(0, "app"));
    let n: usize = arg(3, "300").parse().unwrap();
    let mut params = BTreeMap::new();
    params.insert("release-name".to_owned(), arg(1, "web"));
    params.insert("release-namespace".to_owned(), arg(2, "prod"));
    let host = PluginHost::new(PluginLimits::default(), None).unwrap();
    let builtin = kiln_plugins_builtin::BUILTINS
        .iter()
        .find(|b| b.name == "helm")
        .unwrap();
    let helm = host.load(builtin.wasm, "builtin:helm").unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/helm");
    let render = || {
        let input = RenderInput {
            app_path: &app,
            parameters: &params,
            namespace: "",
            source: Arc::new(Locked::new(Tree::new(
                FsBackend::open(&root).unwrap(),
                ReadLimits::default(),
            ))),
            seed: [0; 32],
        };
        helm.render(&input).unwrap()
    };
    let objects = render().len();
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(render());
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "plugin {app}: {objects} objects, median {:.3} ms, p10 {:.3} ms, p90 {:.3} ms over {n}",
        ms(times[n / 2]),
        ms(times[n / 10]),
        ms(times[n * 9 / 10])
    );
}
