//! Recovery of mirrors left behind by a process that died mid-fetch.
//!
//! A fetch writes its pack to a temporary file, renames pack and index into
//! place, and only then updates refs under lock files. A process killed at
//! any point can leave: stale `*.lock` files (which would block every later
//! ref update), temporary pack files, a pack without its index, or (in
//! theory) a ref whose object never arrived. The cache directory is held by
//! one process at a time (see `GitCache::open`), so at startup every such
//! leftover is known to be dead and is removed.

use std::path::Path;

use tracing::warn;

/// Removes lock files and temporary or unindexed packs under a mirror.
/// Returns how many files were removed.
pub(crate) fn remove_leftovers(mirror: &Path) -> usize {
    let mut removed = 0;
    let mut stack = vec![mirror.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(path);
                continue;
            }
            let in_pack_dir = dir.ends_with("objects/pack");
            let stale = name.ends_with(".lock")
                || (in_pack_dir && (name.starts_with("tmp") || name.starts_with(".tmp")))
                || (in_pack_dir && name.ends_with(".pack") && !path.with_extension("idx").exists());
            if stale {
                if let Err(e) = std::fs::remove_file(&path) {
                    warn!(path = %path.display(), error = %e, "cannot remove leftover of an interrupted fetch");
                } else {
                    warn!(path = %path.display(), "removed leftover of an interrupted fetch");
                    removed += 1;
                }
            }
        }
    }
    removed
}

/// Deletes refs whose target object is missing, so the next fetch restores
/// them instead of a reader failing on them.
pub(crate) fn drop_dangling_refs(repo: &gix::Repository) -> usize {
    let Ok(platform) = repo.references() else {
        return 0;
    };
    let Ok(all) = platform.all() else { return 0 };
    let mut edits = Vec::new();
    for r in all.flatten() {
        let dangling = match r.target().try_id() {
            Some(id) => !repo.has_object(id),
            None => false,
        };
        if dangling {
            warn!(reference = %r.name().as_bstr(), "dropping ref whose object is missing");
            edits.push(crate::fetch::delete(r.name().to_owned()));
        }
    }
    let n = edits.len();
    if n > 0 && repo.edit_references(edits).is_err() {
        return 0;
    }
    n
}
