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

/// How old a temporary file must be before [`sweep`] deletes it: far longer
/// than compiling any plugin takes, so a write in progress (this process or
/// another one sharing the folder) is never removed.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes the temporary files that a process killed while writing a cache
/// entry left behind in `dir` (`*.tmpPID`, older than [`STALE_TMP`]).
/// Returns how many were deleted.
pub(crate) fn sweep(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_tmp = name
            .to_str()
            .and_then(|n| n.rsplit_once(".tmp"))
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= STALE_TMP);
        if is_tmp && stale && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        debug!(dir = %dir.display(), removed, "removed leftover temporary files of the compiled-plugin cache");
    }
    removed
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sweep_removes_only_stale_leftover_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - STALE_TMP - std::time::Duration::from_secs(5);
        let file = |name: &str, aged: bool| {
            let p = dir.path().join(name);
            std::fs::write(&p, b"x").unwrap();
            if aged {
                std::fs::File::options()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_modified(old)
                    .unwrap();
            }
            p
        };
        let leftover = file("abc.tmp4242", true);
        let in_progress = file("def.tmp4243", false);
        let entry = file("abc.cwasm", true);
        let other = file("notes.tmpx", true);
        assert_eq!(sweep(dir.path()), 1);
        assert!(!leftover.exists());
        assert!(in_progress.exists() && entry.exists() && other.exists());
        assert_eq!(sweep(&dir.path().join("missing")), 0);
    }
}
