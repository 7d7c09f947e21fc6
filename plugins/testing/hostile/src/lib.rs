//! A plugin that misbehaves in the way its `mode` parameter names, so the
//! host's sandbox and limits can be tested against real WebAssembly.

use kiln_plugin_sdk::{
    Description, Error, GenerateRequest, Plugin, Value, export_plugin, log, source,
};
use serde_json::json;

struct Hostile;

fn configmap(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

fn outcome<T, E: std::fmt::Display>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "allowed".to_owned(),
        Err(e) => format!("denied: {e}"),
    }
}

impl Plugin for Hostile {
    fn describe() -> Description {
        Description::new("hostile", env!("CARGO_PKG_VERSION"))
            .with_markers(["hostile.yaml"])
            .with_parameter(
                "mode",
                "loop | hog | flood | log-flood | panic | escape | clock | ok",
            )
    }

    fn generate(req: GenerateRequest) -> Result<Vec<Value>, Error> {
        match req.param("mode").unwrap_or("ok") {
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "hog" => {
                let mut keep: Vec<Vec<u8>> = Vec::new();
                loop {
                    keep.push(vec![7u8; 1 << 20]);
                    std::hint::black_box(&keep);
                }
            }
            "flood" => {
                let big = "x".repeat(1 << 14);
                Ok((0..200)
                    .map(|i| configmap(&format!("flood-{i}"), json!({"v": big})))
                    .collect())
            }
            "log-flood" => {
                let line = "y".repeat(1 << 12);
                for _ in 0..100_000 {
                    log::info(&line);
                }
                Ok(vec![configmap("after-logs", json!({}))])
            }
            "panic" => panic!("the hostile plugin panics on purpose"),
            "escape" => {
                let passwd = outcome(std::fs::read("/etc/passwd"));
                let cwd = outcome(std::fs::read_dir("."));
                let socket = outcome(std::net::TcpStream::connect("127.0.0.1:1"));
                let env = std::env::vars().count().to_string();
                let dotdot =
                    outcome(source::read_file("../../etc/passwd").map_err(|e| e.describe()));
                let absolute = outcome(source::read_file("/etc/passwd").map_err(|e| e.describe()));
                let app = source::join(&req.app_path, "hostile.yaml")?;
                let own = outcome(source::read_file(&app).map_err(|e| e.describe()));
                Ok(vec![configmap(
                    "escape",
                    json!({"passwd": passwd, "cwd": cwd, "socket": socket, "env": env,
                           "dotdot": dotdot, "absolute": absolute, "own": own}),
                )])
            }
            "clock" => {
                let t1 = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let busy: u64 = (0..2_000_000u64).fold(0, |a, b| std::hint::black_box(a ^ b));
                let t2 = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let mono1 = std::time::Instant::now();
                let mono2 = std::time::Instant::now();
                use std::hash::{BuildHasher, Hasher};
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u64(42);
                Ok(vec![configmap(
                    "clock",
                    json!({"t1": t1.to_string(), "t2": t2.to_string(), "busy": (busy & 1).to_string(),
                           "monotonic_elapsed_ns": (mono2 - mono1).as_nanos().to_string(),
                           "random": h.finish().to_string()}),
                )])
            }
            _ => Ok(vec![configmap("ok", json!({"app": req.app_path}))]),
        }
    }
}

export_plugin!(Hostile);
