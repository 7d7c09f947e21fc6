//! Builds the `plugins/` workspace for `wasm32-wasip2` with the same cargo,
//! so a plain `cargo build` on a fresh machine embeds the built-in plugins
//! (no manual step, no prebuilt binary in the repository).
//!
//! The plugins get their own target directory beside this build's, shared
//! by every profile, so they compile once.

#![allow(clippy::disallowed_methods, clippy::expect_used, clippy::unwrap_used)]

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    let plugins = root.join("plugins");
    for watched in [
        "plugins/Cargo.toml",
        "plugins/Cargo.lock",
        "plugins/directory",
        "plugins/kustomize",
        "crates/kustomize",
        "plugins/helm",
        "crates/helm",
        "crates/gotmpl",
        "crates/goyaml",
        "plugins/set-labels",
        "plugins/testing",
        "crates/plugin-sdk",
        "proto/wit",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<pkg>/out.
    let target_root = out
        .ancestors()
        .nth(4)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out.clone());
    let wasm_target = target_root.join("wasm-plugins");
    // The built-in and test plugins, then the template plugin authors copy
    // (built here so the tests prove the template works).
    for manifest in [
        plugins.join("Cargo.toml"),
        root.join("examples/plugins/hello/Cargo.toml"),
    ] {
        build_wasm(&manifest, &wasm_target);
    }
    let built = wasm_target.join("wasm32-wasip2/release");
    for name in [
        "kiln_plugin_directory",
        "kiln_plugin_kustomize",
        "kiln_plugin_helm",
        "kiln_plugin_set_labels",
        "kiln_plugin_hostile",
        "kiln_plugin_hello",
    ] {
        let from = built.join(format!("{name}.wasm"));
        std::fs::copy(&from, out.join(format!("{name}.wasm")))
            .unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
    }
}

fn build_wasm(manifest: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(manifest)
    .arg("--target-dir")
    .arg(target_dir);
    // The outer build's flags and wrappers (clippy, coverage) are not for the plugins.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "CLIPPY_ARGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("cannot run cargo to build plugins");
    assert!(
        status.success(),
        "building {} for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)",
        manifest.display()
    );
}
