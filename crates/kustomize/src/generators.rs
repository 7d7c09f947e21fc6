//! `configMapGenerator` and `secretGenerator`.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::{
    Error, Files,
    kustomization::{Generator, GeneratorOptions},
    paths,
    resource::{Generated, Resource},
};

/// Which generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::ConfigMap => "configMapGenerator",
            Kind::Secret => "secretGenerator",
        }
    }
}

/// Builds the object one generator entry describes.
pub(crate) fn generate(
    files: &dyn Files,
    dir: &str,
    file: &str,
    kind: Kind,
    g: &Generator,
    global: Option<&GeneratorOptions>,
) -> Result<Resource, Error> {
    let entry_err = |entry: &str, cause: String| Error::Entry {
        file: file.to_owned(),
        field: kind.field().to_owned(),
        entry: entry.to_owned(),
        cause,
    };
    if g.name.is_empty() {
        return Err(entry_err("", "a generator needs a name".into()));
    }
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut env_files: Vec<&String> = g.envs.iter().collect();
    if !g.env.is_empty() {
        env_files.push(&g.env);
    }
    for env in env_files {
        let bytes = read_inside(files, dir, file, kind.field(), env)?;
        let text =
            String::from_utf8(bytes).map_err(|_| entry_err(env, "env file is not UTF-8".into()))?;
        for (n, line) in text.lines().enumerate() {
            // A byte-order mark is dropped from the first line only.
            let line = if n == 0 {
                line.strip_prefix('\u{feff}').unwrap_or(line)
            } else {
                line
            };
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            // As kubectl's Kustomize: the key is taken as written (white
            // space included); a bare name has an empty value.
            let (k, v) = trimmed.split_once('=').unwrap_or((trimmed, ""));
            pairs.push((k.to_owned(), v.as_bytes().to_vec()));
        }
    }
    for lit in &g.literals {
        let Some((k, v)) = lit.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(entry_err(
                lit,
                format!("invalid literal source {lit}, expected key=value"),
            ));
        };
        pairs.push((k.to_owned(), unquote(v).as_bytes().to_vec()));
    }
    for f in &g.files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => {
                if k.is_empty() {
                    return Err(entry_err(f, format!("key name for file path {p} missing")));
                }
                (k.to_owned(), p)
            }
            None => (paths::base_name(f).to_owned(), f.as_str()),
        };
        let bytes = read_inside(files, dir, file, kind.field(), path)?;
        pairs.push((key, bytes));
    }
    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, v) in pairs {
        // Kustomize's key validator is a no-op: any key is taken.
        if data.contains_key(&k) || binary.contains_key(&k) {
            return Err(entry_err(
                &k,
                format!("cannot add key {k}, another key by that name already exists"),
            ));
        }
        match kind {
            Kind::Secret => {
                data.insert(k, Value::String(secret_base64(&v)));
            }
            Kind::ConfigMap => match String::from_utf8(v) {
                Ok(s) => {
                    data.insert(k, Value::String(s));
                }
                Err(e) => {
                    binary.insert(
                        k,
                        Value::String(
                            base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
                        ),
                    );
                }
            },
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), "v1".into());
    obj.insert(
        "kind".into(),
        match kind {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
        .into(),
    );
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(g.name.clone()));
    if !g.namespace.is_empty() {
        meta.insert("namespace".into(), Value::String(g.namespace.clone()));
    }
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut hash = true;
    let mut immutable = None;
    for o in [global, g.options.as_ref()].into_iter().flatten() {
        for (k, v) in &o.labels {
            labels.insert(k.clone(), Value::String(v.clone()));
        }
        for (k, v) in &o.annotations {
            annotations.insert(k.clone(), Value::String(v.clone()));
        }
        // A global `disableNameSuffixHash: true` cannot be undone per
        // generator (Kustomize ORs the two).
        if o.disable_name_suffix_hash == Some(true) {
            hash = false;
        }
        if let Some(i) = o.immutable {
            immutable = Some(i);
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    obj.insert("metadata".into(), Value::Object(meta));
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if kind == Kind::Secret {
        let t = if g.type_.is_empty() {
            "Opaque"
        } else {
            &g.type_
        };
        obj.insert("type".into(), Value::String(t.to_owned()));
    }
    if immutable == Some(true) {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let behavior = if g.behavior.is_empty() {
        "create".to_owned()
    } else {
        g.behavior.clone()
    };
    // Kustomize reads a behavior it does not know as unspecified, which
    // acts as `create`.
    let behavior = if matches!(behavior.as_str(), "create" | "merge" | "replace") {
        behavior
    } else {
        "create".to_owned()
    };
    let mut r = Resource::new(obj);
    r.generated = Some(Generated { behavior, hash });
    Ok(r)
}

/// Reads a file a generator names; it must be inside the kustomization's
/// folder (Kustomize's default load restrictor).
pub(crate) fn read_inside(
    files: &dyn Files,
    dir: &str,
    file: &str,
    field: &str,
    entry: &str,
) -> Result<Vec<u8>, Error> {
    let err = |cause: String| Error::Entry {
        file: file.to_owned(),
        field: field.to_owned(),
        entry: entry.to_owned(),
        cause,
    };
    let path = paths::join(dir, entry)
        .filter(|p| paths::within(dir, p))
        .ok_or_else(|| {
            err(format!(
                "security; file '{entry}' is not in or below '{}'",
                if dir.is_empty() { "." } else { dir }
            ))
        })?;
    match files.read(&path) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(err(format!("no such file: {path}"))),
        Err(cause) => Err(err(cause)),
    }
}

/// Base64 as Kustomize writes secret data: values of 70 characters or
/// more are cut into lines of 70, each ending in a newline.
fn secret_base64(v: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(v);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Kustomize drops one pair of matching quotes around a literal's value.
fn unquote(v: &str) -> &str {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// Merges a generated object into an existing one of the same id
/// (`behavior: merge`) or replaces its data (`behavior: replace`).
pub(crate) fn merge_into(existing: &mut Resource, new: &Resource, replace: bool) {
    for field in ["data", "binaryData"] {
        let incoming = new.obj.get(field).and_then(Value::as_object).cloned();
        if replace {
            match incoming {
                Some(m) => {
                    existing.obj.insert(field.into(), Value::Object(m));
                }
                None => {
                    existing.obj.remove(field);
                }
            }
        } else if let Some(m) = incoming {
            let target =
                crate::resource::ensure_map(existing.obj.entry(field).or_insert(Value::Null));
            for (k, v) in m {
                target.insert(k, v);
            }
        }
    }
    for field in ["labels", "annotations"] {
        let incoming = new.string_map(field);
        if incoming.is_empty() {
            continue;
        }
        let meta = existing.metadata_mut();
        let target = crate::resource::ensure_map(meta.entry(field).or_insert(Value::Null));
        for (k, v) in incoming {
            target.insert(k, v);
        }
    }
    if let Some(g) = &new.generated
        && let Some(e) = &mut existing.generated
    {
        // The hash build annotation is taken from the existing object and
        // dropped when the new one has none: both must want the hash.
        e.hash = e.hash && g.hash;
    }
    if let Some(v) = new.obj.get("immutable") {
        existing.obj.insert("immutable".into(), v.clone());
    }
}
