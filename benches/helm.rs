//! Helm engine benchmark: Kiln's helm plugin (instance warm, no render
//! cache) against real Helm v4's own template engine (Go SDK through PyPI
//! `helm-python-sdk`, `Chart.load(dir).render(...)`, timed inside its own
//! process), in the same run, on golden charts of `tests/helm`, with Kiln's
//! objects checked against Helm's expected output first.
//!
//! Run: `cargo bench --bench helm` (needs `pip install helm-python-sdk`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use kiln_plugin_host::{PluginHost, PluginLimits};
use kiln_render::{RenderInput, Renderer};
use kiln_source::{FsBackend, Locked, ReadLimits, Tree};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/helm")
}

/// Median milliseconds of Helm's render of one chart, measured in Python.
fn helm_ms(chart: &str, release: &str, namespace: &str) -> Option<f64> {
    let script = r#"
import statistics, sys, time
import helm_python as helm
chart_dir, release, namespace = sys.argv[1:4]
times = []
for i in range(25):
    t = time.perf_counter()
    chart = helm.Chart.load(chart_dir)
    chart.render({}, name=release, namespace=namespace, is_install=True)
    times.append(time.perf_counter() - t)
print(statistics.median(times[5:]) * 1000)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(corpus().join("charts").join(chart))
        .args([release, namespace])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("helm-python-sdk: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn main() {
    let host = PluginHost::new(PluginLimits::default(), None).unwrap();
    let builtin = kiln_plugins_builtin::BUILTINS
        .iter()
        .find(|b| b.name == "helm")
        .unwrap();
    let helm = host.load(builtin.wasm, "builtin:helm").unwrap();
    let root = corpus();
    println!("| chart | objects | Kiln plugin, median | Helm v4 SDK render, median | speed-up |");
    println!("|---|---|---|---|---|");
    // Small (one template), medium (the app chart, and an umbrella with
    // subcharts) and large (an ingress-nginx-like chart, 14 templates).
    for (case, chart, release, namespace) in [
        ("legacy-default", "legacy", "old", "default"),
        ("app-default", "app", "web", "prod"),
        ("umbrella-default", "umbrella", "plat", "platform"),
        ("ingress-default", "ingress", "edge", "ingress"),
    ] {
        let mut params = BTreeMap::new();
        params.insert("release-name".to_owned(), release.to_owned());
        params.insert("release-namespace".to_owned(), namespace.to_owned());
        let app = format!("charts/{chart}");
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
        let got: Vec<serde_json::Value> = render()
            .iter()
            .map(|m| serde_json::from_str(m).unwrap())
            .collect();
        let expected = root.join("expected").join(format!("{case}.yaml"));
        let want = kiln_plugin_sdk::manifests::parse(
            &expected.to_string_lossy(),
            &std::fs::read(&expected).unwrap(),
        )
        .unwrap();
        assert_eq!(got, want, "Kiln and Helm agree on {case}");
        let mut kiln = Vec::new();
        for _ in 0..60 {
            let t = Instant::now();
            std::hint::black_box(render());
            kiln.push(t.elapsed());
        }
        let k = median(kiln).as_secs_f64() * 1e3;
        match helm_ms(chart, release, namespace) {
            Some(h) => println!(
                "| {chart} | {} | {k:.2} ms | {h:.2} ms | {:.1}× |",
                got.len(),
                h / k
            ),
            None => println!(
                "| {chart} | {} | {k:.2} ms | (helm-python-sdk missing) | |",
                got.len()
            ),
        }
    }
}
