use kiln_source::{EntryKind, Source, join};

use crate::{Engine, RenderError, detect_engine};

/// One application directory found by [`list_apps`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// Repository-relative path of the directory.
    pub path: String,
    /// The engine detected for it.
    pub engine: Engine,
}

/// Most directories [`list_apps`] visits, so a huge tree cannot stall a request.
const MAX_DIRS: usize = 100_000;

/// Finds every application directory under `root`: each directory with a
/// kustomization or a chart, and each other directory holding YAML or JSON
/// files. A chart's own folders (templates/, charts/) are not searched, and
/// neither are hidden directories.
pub fn list_apps(source: &dyn Source, root: &str) -> Result<Vec<App>, RenderError> {
    let mut apps = Vec::new();
    let mut stack = vec![root.to_owned()];
    let mut visited = 0;
    while let Some(dir) = stack.pop() {
        visited += 1;
        if visited > MAX_DIRS {
            return Err(RenderError {
                kind: crate::ErrorKind::ResourceExhausted,
                file: Some(root.to_owned()),
                line: None,
                message: format!("more than {MAX_DIRS} directories to search"),
            });
        }
        let entries = source.list_dir(&dir)?;
        let engine = detect_engine(&entries);
        let has_manifests = entries.iter().any(|e| {
            e.kind != EntryKind::Dir
                && (e.name.ends_with(".yaml")
                    || e.name.ends_with(".yml")
                    || e.name.ends_with(".json"))
        });
        if engine != Engine::Directory || has_manifests {
            apps.push(App {
                path: dir.clone(),
                engine,
            });
        }
        if engine == Engine::Helm {
            continue;
        }
        let mut subdirs: Vec<String> = Vec::new();
        for e in entries
            .iter()
            .filter(|e| e.kind == EntryKind::Dir && !e.name.starts_with('.'))
        {
            subdirs.push(join(&dir, &e.name)?);
        }
        stack.extend(subdirs.into_iter().rev());
    }
    apps.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(apps)
}
