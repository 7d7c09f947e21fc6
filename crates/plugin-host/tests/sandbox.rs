//! Hostile plugins against the real host: each misbehaviour fails only its
//! own call, with the status and limit named, while good calls proceed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use kiln_plugin_host::{PluginHost, PluginLimits, PluginRenderer};
use kiln_render::{ErrorKind, RenderError, RenderInput, Renderer};
use kiln_source::{FsBackend, Locked, Query, ReadLimits, Tree};
use serde_json::Value;

fn limits() -> PluginLimits {
    PluginLimits {
        max_memory_bytes: 64 << 20,
        deadline: Duration::from_millis(1500),
        max_output_bytes: 1 << 20,
        max_log_bytes: 64 << 10,
        ..PluginLimits::default()
    }
}

fn fixture() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("app")).unwrap();
    std::fs::write(d.path().join("app/hostile.yaml"), "mode: test\n").unwrap();
    d
}

fn run(
    plugin: &PluginRenderer,
    dir: &std::path::Path,
    mode: &str,
    seed: [u8; 32],
) -> (Result<Vec<String>, RenderError>, kiln_source::ReadSet) {
    let tree = Tree::new(FsBackend::open(dir).unwrap(), ReadLimits::default())
        .with_commit_time(1_700_000_000);
    let shared = Arc::new(Locked::new(tree));
    let mut params = BTreeMap::new();
    params.insert("mode".to_owned(), mode.to_owned());
    let input = RenderInput {
        app_path: "app",
        parameters: &params,
        namespace: "",
        source: shared.clone(),
        seed,
    };
    let out = plugin.render(&input);
    drop(input);
    let reads = shared.with(|t| t.take_read_set());
    (out, reads)
}

fn data(out: &[String]) -> Value {
    let v: Value = serde_json::from_str(&out[0]).unwrap();
    v["data"].clone()
}

fn host() -> (PluginHost, PluginRenderer) {
    let host = PluginHost::new(limits(), None).unwrap();
    let plugin = host
        .load(kiln_plugins_builtin::testing::HOSTILE, "hostile.wasm")
        .unwrap();
    (host, plugin)
}

#[test]
fn describes_itself() {
    let (_host, p) = host();
    assert_eq!(p.info().name, "hostile");
    assert_eq!(p.info().markers, vec!["hostile.yaml".to_owned()]);
    assert_eq!(p.info().interface_version, "0.1.0");
    assert_eq!(p.info().origin, "hostile.wasm");
    assert_eq!(p.info().parameters[0].name, "mode");
    assert_eq!(p.info().digest.len(), 64);
}

#[test]
fn an_infinite_loop_hits_the_deadline() {
    let (_host, p) = host();
    let d = fixture();
    let started = std::time::Instant::now();
    let e = run(&p, d.path(), "loop", [0; 32]).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DeadlineExceeded, "{e}");
    assert!(
        e.message.contains("hostile") && e.message.contains("plugin-deadline"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_memory_hog_hits_the_memory_limit() {
    let (_host, p) = host();
    let d = fixture();
    let e = run(&p, d.path(), "hog", [0; 32]).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceExhausted, "{e}");
    assert!(e.message.contains("memory limit of 64 MiB"), "{e}");
}

#[test]
fn an_output_flood_hits_the_output_limit() {
    let (_host, p) = host();
    let d = fixture();
    let e = run(&p, d.path(), "flood", [0; 32]).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceExhausted, "{e}");
    assert!(e.message.contains("plugin-max-output"), "{e}");
}

#[test]
fn a_log_flood_is_capped_and_the_call_completes() {
    let (_host, p) = host();
    let d = fixture();
    let out = run(&p, d.path(), "log-flood", [0; 32]).0.unwrap();
    assert!(out[0].contains("after-logs"));
}

#[test]
fn a_panic_is_an_internal_error_with_its_message() {
    let (_host, p) = host();
    let d = fixture();
    let e = run(&p, d.path(), "panic", [0; 32]).0.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal, "{e}");
    assert!(e.message.contains("panics on purpose"), "{e}");
}

#[test]
fn nothing_outside_the_source_is_reachable() {
    let (_host, p) = host();
    let d = fixture();
    let out = run(&p, d.path(), "escape", [0; 32]).0.unwrap();
    let v = data(&out);
    for key in ["passwd", "cwd", "socket", "dotdot", "absolute"] {
        assert!(v[key].as_str().unwrap().starts_with("denied"), "{key}: {v}");
    }
    assert!(
        v["dotdot"]
            .as_str()
            .unwrap()
            .contains("leaves the repository root"),
        "{v}"
    );
    assert_eq!(v["env"], "0");
    assert_eq!(v["own"], "allowed");
}

#[test]
fn clock_and_randomness_are_deterministic() {
    let (_host, p) = host();
    let d = fixture();
    let (a, reads) = run(&p, d.path(), "clock", [1; 32]);
    let a = data(&a.unwrap());
    assert_eq!(a["t1"], "1700000000");
    assert_eq!(a["t2"], "1700000000");
    assert_eq!(a["monotonic_elapsed_ns"], "0");
    // Reading the clock ties the render to the commit time.
    assert!(reads.iter().any(|(q, _, _)| q == Query::Clock));
    let b = data(&run(&p, d.path(), "clock", [1; 32]).0.unwrap());
    assert_eq!(a, b, "same inputs, same bytes");
    let c = data(&run(&p, d.path(), "clock", [2; 32]).0.unwrap());
    assert_ne!(a["random"], c["random"], "the seed drives randomness");
}

#[test]
fn good_calls_proceed_while_bad_ones_fail() {
    let (_host, p) = host();
    let p = Arc::new(p);
    let d = Arc::new(fixture());
    let bad = {
        let (p, d) = (p.clone(), d.clone());
        std::thread::spawn(move || run(&p, d.path(), "loop", [0; 32]).0)
    };
    let hog = {
        let (p, d) = (p.clone(), d.clone());
        std::thread::spawn(move || run(&p, d.path(), "hog", [0; 32]).0)
    };
    for _ in 0..5 {
        let out = run(&p, d.path(), "ok", [0; 32]).0.unwrap();
        assert!(out[0].contains("\"ok\""));
    }
    assert!(bad.join().unwrap().is_err());
    assert!(hog.join().unwrap().is_err());
}

#[test]
fn compiled_code_is_cached_and_corruption_is_detected() {
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::new(limits(), Some(cache.path().to_path_buf())).unwrap();
    let first = host
        .load(kiln_plugins_builtin::testing::HOSTILE, "hostile.wasm")
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1);
    // Flip a byte in the middle of the compiled code: detected, rebuilt, still works.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    let again = host
        .load(kiln_plugins_builtin::testing::HOSTILE, "hostile.wasm")
        .unwrap();
    assert_eq!(again.info(), first.info());
    let d = fixture();
    assert!(run(&again, d.path(), "ok", [0; 32]).0.is_ok());
    let rebuilt = std::fs::read(&files[0]).unwrap();
    assert_ne!(rebuilt, bytes, "the corrupt file was replaced");
    // A foreign file under the right name is rejected too.
    std::fs::write(&files[0], b"not compiled code at all").unwrap();
    assert!(
        host.load(kiln_plugins_builtin::testing::HOSTILE, "hostile.wasm")
            .is_ok()
    );
    // Garbage is not a component.
    let e = host.load(b"\0asm garbage", "junk.wasm").err().unwrap();
    assert!(e.to_string().contains("junk.wasm"), "{e}");
}
