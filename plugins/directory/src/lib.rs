//! Kiln's built-in `directory` renderer as a plugin: every YAML/JSON file of
//! the app folder (optionally recursive, with include/exclude globs), like
//! Argo CD's directory apps.

use globset::{GlobBuilder, GlobMatcher};
use kiln_plugin_sdk::{
    Description, EntryKind, Error, ErrorKind, GenerateRequest, Plugin, Value, export_plugin,
    manifests, source,
};

/// Renders a folder of plain YAML/JSON manifests. Parameters: `recurse`
/// (`true`/`false`), `include` and `exclude` (globs over paths relative to the
/// app folder, `{a,b}` alternatives allowed).
struct Directory;

impl Plugin for Directory {
    fn describe() -> Description {
        Description::new("directory", env!("CARGO_PKG_VERSION"))
            .with_parameter("recurse", "true to include manifests in subfolders")
            .with_parameter(
                "include",
                "glob of paths (relative to the app folder) to include",
            )
            .with_parameter(
                "exclude",
                "glob of paths (relative to the app folder) to exclude",
            )
    }

    fn generate(req: GenerateRequest) -> Result<Vec<Value>, Error> {
        let opts = options(&req)?;
        let mut files = Vec::new();
        walk(&opts, &req.app_path, "", &mut files)?;
        let mut out = Vec::new();
        for path in files {
            let bytes = source::read_file(&path)?;
            for mut obj in manifests::parse(&path, &bytes)? {
                manifests::set_default_namespace(&mut obj, &req.namespace);
                out.push(obj);
            }
        }
        Ok(out)
    }
}

export_plugin!(Directory);

struct Options {
    recurse: bool,
    include: Option<GlobMatcher>,
    exclude: Option<GlobMatcher>,
}

fn options(req: &GenerateRequest) -> Result<Options, Error> {
    let bad = |m: String| Error::new(ErrorKind::InvalidInput, None, m);
    let glob = |name: &str| -> Result<Option<GlobMatcher>, Error> {
        match req.param(name) {
            None | Some("") => Ok(None),
            Some(p) => GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map(|g| Some(g.compile_matcher()))
                .map_err(|e| bad(format!("parameter {name}: invalid glob '{p}': {e}"))),
        }
    };
    for p in &req.parameters {
        let k = &p.key;
        if !matches!(k.as_str(), "recurse" | "include" | "exclude") {
            return Err(bad(format!(
                "unknown parameter '{k}' for engine directory (known: recurse, include, exclude)"
            )));
        }
    }
    let recurse = match req.param("recurse") {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(bad(format!(
                "parameter recurse: expected true or false, got '{other}'"
            )));
        }
    };
    Ok(Options {
        recurse,
        include: glob("include")?,
        exclude: glob("exclude")?,
    })
}

/// Kiln's own per-app configuration, never a manifest.
const PIPELINE_FILE: &str = "kiln-pipeline.yaml";

fn is_manifest(name: &str) -> bool {
    name != PIPELINE_FILE
        && (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
}

fn walk(opts: &Options, dir: &str, rel: &str, files: &mut Vec<String>) -> Result<(), Error> {
    for entry in source::list_dir(dir)? {
        let path = source::join(dir, &entry.name)?;
        let rel_path = if rel.is_empty() {
            entry.name.clone()
        } else {
            format!("{rel}/{}", entry.name)
        };
        let kind = match entry.kind {
            EntryKind::Symlink => match source::stat(&path)? {
                Some(k) => k,
                None => continue,
            },
            k => k,
        };
        match kind {
            EntryKind::Dir if opts.recurse => walk(opts, &path, &rel_path, files)?,
            EntryKind::File if is_manifest(&entry.name) => {
                let included = opts.include.as_ref().is_none_or(|g| g.is_match(&rel_path));
                let excluded = opts.exclude.as_ref().is_some_and(|g| g.is_match(&rel_path));
                if included && !excluded {
                    files.push(path);
                }
            }
            _ => {}
        }
    }
    Ok(())
}
