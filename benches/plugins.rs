//! Plugin runtime benchmark: instantiate + call of a trivial plugin, the
//! built-in directory renderer as a plugin against the same work done
//! natively, and `kiln serve` start-up with the compiled-code cache cold and
//! warm.
//!
//! Run: `cargo bench --bench plugins`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use kiln_plugin_host::{PluginHost, PluginLimits};
use kiln_render::{RenderInput, Renderer};
use kiln_source::{EntryKind, FsBackend, Locked, ReadLimits, Source, Tree};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn app(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::create_dir_all(dir.join("trivial")).unwrap();
    std::fs::write(dir.join("trivial/hostile.yaml"), "x: 1\n").unwrap();
    for i in 0..10 {
        std::fs::write(
            dir.join(format!("app/deploy-{i}.yaml")),
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-{i}\n  labels: {{app: svc-{i}}}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: svc-{i}}}\n  template:\n    metadata:\n      labels: {{app: svc-{i}}}\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/svc-{i}:1.0.{i}\n          ports: [{{containerPort: 8080}}]\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("app/svc-{i}.yaml")),
            format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  selector: {{app: svc-{i}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"),
        )
        .unwrap();
    }
}

fn tree(dir: &std::path::Path) -> Arc<Locked<Tree<FsBackend>>> {
    Arc::new(Locked::new(Tree::new(
        FsBackend::open(dir).unwrap(),
        ReadLimits::default(),
    )))
}

/// The work the directory renderer does, done natively: list, read, parse,
/// serialise (the same parser the plugin uses, compiled for the host).
fn native_directory(source: &dyn Source, app: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in source.list_dir(app).unwrap() {
        if e.kind == EntryKind::File
            && (e.name.ends_with(".yaml") || e.name.ends_with(".yml") || e.name.ends_with(".json"))
        {
            let path = format!("{app}/{}", e.name);
            let bytes = source.read_file(&path).unwrap();
            if let Ok(objs) = kiln_plugin_sdk::manifests::parse(&path, &bytes) {
                out.extend(objs.iter().map(|o| serde_json::to_string(o).unwrap()));
            }
        }
    }
    out
}

fn startup(cache: &std::path::Path) -> Duration {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--cache-dir",
        ])
        .arg(cache)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    for line in BufReader::new(stderr).lines() {
        if line.unwrap().starts_with("kiln: listening on") {
            break;
        }
    }
    let took = t.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    took
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path());
    let host = PluginHost::new(PluginLimits::default(), None).unwrap();
    let hostile = host
        .load(kiln_plugins_builtin::testing::HOSTILE, "hostile")
        .unwrap();
    let directory = host
        .load(kiln_plugins_builtin::BUILTINS[0].wasm, "builtin:directory")
        .unwrap();
    let empty = BTreeMap::new();
    let mut ok = BTreeMap::new();
    ok.insert("mode".to_owned(), "ok".to_owned());

    // 1. Instantiate + call of a trivial plugin.
    let mut trivial = Vec::new();
    for i in 0..3000 {
        let input = RenderInput {
            app_path: "trivial",
            parameters: &ok,
            namespace: "",
            source: tree(dir.path()),
            seed: [0; 32],
        };
        let t = Instant::now();
        let out = hostile.render(&input).unwrap();
        if i >= 100 {
            trivial.push(t.elapsed());
        }
        assert_eq!(out.len(), 1);
    }

    // 2. Directory app of 20 objects: plugin against native.
    let (mut plugin, mut native) = (Vec::new(), Vec::new());
    for i in 0..600 {
        let input = RenderInput {
            app_path: "app",
            parameters: &empty,
            namespace: "",
            source: tree(dir.path()),
            seed: [0; 32],
        };
        let t = Instant::now();
        let a = directory.render(&input).unwrap();
        let pa = t.elapsed();
        let src = tree(dir.path());
        let t = Instant::now();
        let b = native_directory(&*src, "app");
        let na = t.elapsed();
        assert_eq!(a, b, "plugin and native agree");
        if i >= 50 {
            plugin.push(pa);
            native.push(na);
        }
    }

    // 3. Start-up with the compiled-plugin cache cold, then warm.
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..5 {
        let cache = tempfile::tempdir().unwrap();
        cold.push(startup(cache.path()));
        warm.push(startup(cache.path()));
    }

    let us = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    let (p, n) = (median(plugin), median(native));
    println!("| measure (release build) | figure |");
    println!("|---|---|");
    println!(
        "| instantiate + call of a trivial plugin, median | {} |",
        us(median(trivial))
    );
    println!(
        "| directory app, 20 objects, through the plugin, median | {} |",
        us(p)
    );
    println!("| the same work natively, median | {} |", us(n));
    println!(
        "| plugin / native | {:.2}× |",
        p.as_secs_f64() / n.as_secs_f64()
    );
    println!(
        "| `kiln serve` start-up, compiled-plugin cache cold, median | {} |",
        ms(median(cold))
    );
    println!(
        "| `kiln serve` start-up, compiled-plugin cache warm, median | {} |",
        ms(median(warm))
    );
}
