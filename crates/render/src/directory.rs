use globset::{GlobBuilder, GlobMatcher};
use kiln_source::{EntryKind, join};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{ErrorKind, RenderError, RenderInput, Renderer, RendererInfo, parse_manifests};

/// Kinds that are never namespaced, so a default namespace is not added.
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Renders a folder of plain YAML/JSON manifests, like Argo CD's directory
/// apps. Parameters: `recurse` (`true`/`false`), `include` and `exclude`
/// (globs over paths relative to the app folder, `{a,b}` alternatives allowed).
pub struct DirectoryRenderer {
    info: RendererInfo,
}

impl Default for DirectoryRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl DirectoryRenderer {
    /// The built-in directory renderer.
    pub fn new() -> Self {
        let version = env!("CARGO_PKG_VERSION").to_owned();
        let digest = hex::encode(Sha256::digest(format!("kiln-directory@{version}")));
        DirectoryRenderer {
            info: RendererInfo {
                name: "directory".into(),
                version,
                digest,
            },
        }
    }
}

struct Options {
    recurse: bool,
    include: Option<GlobMatcher>,
    exclude: Option<GlobMatcher>,
}

fn options(input: &RenderInput<'_>) -> Result<Options, RenderError> {
    let bad = |m: String| RenderError {
        kind: ErrorKind::InvalidInput,
        file: None,
        line: None,
        message: m,
    };
    let glob = |name: &str| -> Result<Option<GlobMatcher>, RenderError> {
        match input.parameters.get(name).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(p) => GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map(|g| Some(g.compile_matcher()))
                .map_err(|e| bad(format!("parameter {name}: invalid glob '{p}': {e}"))),
        }
    };
    for k in input.parameters.keys() {
        if !matches!(k.as_str(), "recurse" | "include" | "exclude") {
            return Err(bad(format!(
                "unknown parameter '{k}' for engine directory (known: recurse, include, exclude)"
            )));
        }
    }
    let recurse = match input.parameters.get("recurse").map(String::as_str) {
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

fn is_manifest(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")
}

impl Renderer for DirectoryRenderer {
    fn info(&self) -> &RendererInfo {
        &self.info
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<String>, RenderError> {
        let opts = options(input)?;
        let mut files = Vec::new();
        walk(input, &opts, input.app_path, "", &mut files)?;
        let mut out = Vec::new();
        for path in files {
            let bytes = input.source.read_file(&path)?;
            for mut obj in parse_manifests(&path, &bytes)? {
                set_namespace(&mut obj, input.namespace);
                out.push(serde_json::to_string(&obj).map_err(|e| {
                    RenderError::new(ErrorKind::Internal, &path, format!("cannot serialise: {e}"))
                })?);
            }
        }
        Ok(out)
    }
}

fn walk(
    input: &RenderInput<'_>,
    opts: &Options,
    dir: &str,
    rel: &str,
    files: &mut Vec<String>,
) -> Result<(), RenderError> {
    for entry in input.source.list_dir(dir)? {
        let path = join(dir, &entry.name)?;
        let rel_path = if rel.is_empty() {
            entry.name.clone()
        } else {
            format!("{rel}/{}", entry.name)
        };
        let kind = match entry.kind {
            EntryKind::Symlink => match input.source.stat(&path)? {
                Some(k) => k,
                None => continue,
            },
            k => k,
        };
        match kind {
            EntryKind::Dir if opts.recurse => walk(input, opts, &path, &rel_path, files)?,
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

fn set_namespace(obj: &mut Value, namespace: &str) {
    if namespace.is_empty() {
        return;
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if CLUSTER_SCOPED.contains(&kind) {
        return;
    }
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        let missing = meta
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if missing {
            meta.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
    } else if let Value::Object(map) = obj {
        let mut meta = serde_json::Map::new();
        meta.insert("namespace".into(), Value::String(namespace.to_owned()));
        map.insert("metadata".into(), Value::Object(meta));
    }
}
