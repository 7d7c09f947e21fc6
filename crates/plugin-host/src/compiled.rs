//! The compiled-code cache: a component is compiled once per engine
//! configuration and kept on disk, so a restart does not recompile.
//!
//! A cache file is `<sha256 of payload><payload>`, named by
//! sha256(component digest, wasmtime's compatibility hash of the engine
//! configuration, Kiln's version). A file whose digest does not match (torn
//! write, disk corruption, a foreign file) is deleted and rebuilt; a file
//! wasmtime refuses (another version or configuration) likewise.

use std::{
    hash::{Hash, Hasher},
    path::Path,
};

use sha2::{Digest, Sha256};
use tracing::{debug, warn};
use wasmtime::{Engine, component::Component};

/// Feeds `Hash` output into sha256, so the key is stable across runs.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        0
    }
}

fn cache_key(engine: &Engine, digest: &str) -> String {
    let mut h = ShaHasher(Sha256::new());
    digest.hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(h.0.finalize())
}

/// Compiles `bytes`, or loads the compiled code for them from `dir`.
/// Returns the component and whether it came from the cache.
pub(crate) fn load(
    engine: &Engine,
    bytes: &[u8],
    digest: &str,
    dir: Option<&Path>,
) -> wasmtime::Result<(Component, bool)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, false));
    };
    let path = dir.join(format!("{}.cwasm", cache_key(engine, digest)));
    if let Ok(file) = std::fs::read(&path) {
        match verified(&file) {
            Some(payload) => match deserialize(engine, payload) {
                Ok(c) => {
                    debug!(path = %path.display(), "compiled plugin loaded from cache");
                    return Ok((c, true));
                }
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "compiled plugin refused by wasmtime; recompiling")
                }
            },
            None => {
                warn!(path = %path.display(), "compiled plugin cache file is corrupt; recompiling")
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store(&path, &component.serialize()?) {
        warn!(path = %path.display(), error = %e, "cannot write compiled plugin cache");
    }
    Ok((component, false))
}

fn verified(file: &[u8]) -> Option<&[u8]> {
    if file.len() < 32 {
        return None;
    }
    let (sum, payload) = file.split_at(32);
    (Sha256::digest(payload).as_slice() == sum).then_some(payload)
}

fn store(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut data = Sha256::digest(payload).to_vec();
    data.extend_from_slice(payload);
    std::fs::write(&tmp, data)?;
    // Rename is atomic: readers see the old state or the whole new file.
    std::fs::rename(&tmp, path)
}

/// Loads compiled code produced by `Component::serialize`.
///
/// # Safety
///
/// `Component::deserialize` trusts that its input is compiled code produced
/// by wasmtime; arbitrary bytes could execute arbitrary code. The payload
/// reaching here (1) sits in Kiln's own cache directory, which is as trusted
/// as the `kiln` binary (it must not be writable by anyone who cannot also
/// replace the binary); (2) was written by `store` from `Component::serialize`
/// under a key that includes wasmtime's compatibility hash of this exact
/// engine configuration; and (3) passed the sha256 check in `verified`, so
/// torn writes and corruption are rejected before this point. wasmtime
/// additionally checks its own version and configuration header and refuses
/// mismatches with an error.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, payload: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: see the function's `# Safety` section above.
    unsafe { Component::deserialize(engine, payload) }
}
