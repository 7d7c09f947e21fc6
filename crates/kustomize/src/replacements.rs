//! `replacements`: copy a field of one object into fields of others, as
//! Kustomize v5.5's replacement transformer does.
//!
//! Each entry is inline or `path:` to a file holding one replacement or a
//! list of them. Replacements run in order, each on the objects as the
//! previous one left them. The source must select exactly one object (by
//! its current or any earlier name and namespace); its `fieldPath`
//! (default `metadata.name`) must hold a non-empty value. Targets select
//! by group/version/kind/name/namespace (exact, current or earlier ids) and
//! label/annotation selectors, minus `reject` entries. A scalar target
//! keeps its type and takes only the source's text; a map or list target
//! is replaced by the source value.

use serde::Deserialize;
use serde_json::Value;

use crate::{
    Error,
    fieldpath::{self, Create},
    resource::{Resource, effective_namespace, split_api_version},
    scalar,
    target::{Accumulated, Builder},
};

/// One replacement.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Replacement {
    source: Option<Source>,
    targets: Option<Vec<TargetSelector>>,
}

/// An entry of `replacements`: inline, or a file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Entry {
    path: String,
    source: Option<Source>,
    targets: Option<Vec<TargetSelector>>,
}

/// An object id to select by; empty parts match anything.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ResIdSelector {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
}

/// Where the value comes from.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Source {
    #[serde(flatten)]
    id: ResIdSelector,
    field_path: String,
    options: Option<FieldOptions>,
}

/// Which objects, and fields in them, receive the value.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct TargetSelector {
    select: Option<Selector>,
    reject: Vec<Selector>,
    field_paths: Vec<String>,
    options: Option<FieldOptions>,
}

/// An id plus label and annotation selectors.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Selector {
    #[serde(flatten)]
    id: ResIdSelector,
    label_selector: String,
    annotation_selector: String,
}

/// How to read or write a field: a part of it between delimiters, or
/// creating it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct FieldOptions {
    delimiter: String,
    index: i64,
    #[allow(
        dead_code,
        reason = "accepted as Kustomize accepts it; nothing reads it"
    )]
    encoding: String,
    create: bool,
}

const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// Runs a kustomization's `replacements` over the objects built so far.
pub(crate) fn apply(
    b: &mut Builder<'_>,
    dir: &str,
    file: &str,
    replacements: &[Value],
    acc: &mut Accumulated,
) -> Result<(), Error> {
    for (entry, r) in load(b, dir, file, replacements)? {
        run(&r, &mut acc.resources).map_err(|cause| Error::Entry {
            file: file.to_owned(),
            field: "replacements".into(),
            entry,
            cause,
        })?;
    }
    Ok(())
}

/// Every replacement, with the entry it came from (for messages).
fn load(
    b: &Builder<'_>,
    dir: &str,
    file: &str,
    entries: &[Value],
) -> Result<Vec<(String, Replacement)>, Error> {
    let err = |entry: String, cause: String| Error::Entry {
        file: file.to_owned(),
        field: "replacements".into(),
        entry,
        cause,
    };
    let mut out = Vec::new();
    for (i, raw) in entries.iter().enumerate() {
        let e: Entry = serde_json::from_value(raw.clone())
            .map_err(|e| err(format!("#{}", i + 1), e.to_string()))?;
        if e.path.is_empty() {
            let r = Replacement {
                source: e.source,
                targets: e.targets,
            };
            out.push((describe(&r, i), r));
            continue;
        }
        if e.source.is_some() || e.targets.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(err(
                e.path,
                "cannot specify both path and inline replacement".into(),
            ));
        }
        let bytes = crate::generators::read_inside(b.files, dir, file, "replacements", &e.path)?;
        let doc: Value =
            serde_yaml::from_slice(&bytes).map_err(|x| err(e.path.clone(), x.to_string()))?;
        let list = match doc {
            Value::Array(items) => items,
            map @ Value::Object(_) => vec![map],
            other => {
                return Err(err(
                    e.path,
                    format!(
                        "unsupported replacement type encountered within replacement path: {}",
                        scalar::tag(&other)
                    ),
                ));
            }
        };
        for item in list {
            let r: Replacement =
                serde_json::from_value(item).map_err(|x| err(e.path.clone(), x.to_string()))?;
            out.push((e.path.clone(), r));
        }
    }
    Ok(out)
}

fn describe(r: &Replacement, i: usize) -> String {
    match &r.source {
        Some(s) => format!("source {}", s.describe()),
        None => format!("#{}", i + 1),
    }
}

/// One replacement over all objects; errors in Kustomize's words.
fn run(r: &Replacement, resources: &mut [Resource]) -> Result<(), String> {
    let (Some(source), Some(targets)) = (&r.source, &r.targets) else {
        return Err("replacements must specify a source and at least one target".into());
    };
    let value = source_value(source, resources)?;
    for t in targets {
        let Some(select) = &t.select else {
            return Err("target must specify resources to select".into());
        };
        let default_paths = [DEFAULT_FIELD_PATH.to_owned()];
        let paths: &[String] = if t.field_paths.is_empty() {
            &default_paths
        } else {
            &t.field_paths
        };
        let label = parse_selector(&select.label_selector)?;
        let annotation = parse_selector(&select.annotation_selector)?;
        let rejects = t
            .reject
            .iter()
            .map(|r| {
                Ok((
                    r,
                    parse_selector(&r.label_selector)?,
                    parse_selector(&r.annotation_selector)?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        for res in resources.iter_mut() {
            let labels = res.string_map("labels");
            let annotations = res.string_map("annotations");
            if !label.matches(&labels) || !annotation.matches(&annotations) {
                continue;
            }
            let rejected_by_selector = rejects.iter().any(|(r, l, a)| {
                !(r.label_selector.is_empty() && r.annotation_selector.is_empty())
                    && l.matches(&labels)
                    && a.matches(&annotations)
            });
            if rejected_by_selector {
                continue;
            }
            if !select.id.selects(res)
                || rejects
                    .iter()
                    .any(|(r, _, _)| !r.id.is_empty() && r.id.selects(res))
            {
                continue;
            }
            for fp in paths {
                copy_to(res, fp, &value, t.options.as_ref())?;
            }
        }
    }
    Ok(())
}

fn parse_selector(s: &str) -> Result<crate::selector::Selector, String> {
    crate::selector::parse(s)
}

/// The source's value, refined by its options.
fn source_value(source: &Source, resources: &[Resource]) -> Result<Value, String> {
    let mut found = None;
    for r in resources {
        if source.id.selects(r) {
            if found.is_some() {
                return Err(format!(
                    "multiple matches for selector {}",
                    source.describe()
                ));
            }
            found = Some(r);
        }
    }
    let Some(r) = found else {
        return Err(format!("nothing selected by {}", source.describe()));
    };
    let field_path = if source.field_path.is_empty() {
        DEFAULT_FIELD_PATH
    } else {
        &source.field_path
    };
    let obj = Value::Object(r.obj.clone());
    let v = fieldpath::lookup(&obj, &fieldpath::split(field_path))
        .map_err(|e| format!("error looking up replacement source: {e}"))?;
    let v = match v {
        Some(v) if !is_nil_or_empty(v) => v.clone(),
        _ => {
            return Err(format!(
                "fieldPath `{field_path}` is missing for replacement source {}",
                source.id
            ));
        }
    };
    let Some(o) = source.options.as_ref().filter(|o| !o.delimiter.is_empty()) else {
        return Ok(v);
    };
    if !scalar::is_scalar(&v) {
        return Err("delimiter option can only be used with scalar nodes".into());
    }
    let text = scalar::text(&v);
    let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
    let part = usize::try_from(o.index)
        .ok()
        .and_then(|i| parts.get(i))
        .ok_or_else(|| {
            format!(
                "options.index {} is out of bounds for value {text}",
                o.index
            )
        })?;
    // The part keeps the type of the whole.
    Ok(if v.is_string() {
        Value::String((*part).to_owned())
    } else {
        scalar::retyped(&v, part).unwrap_or_else(|_| Value::String((*part).to_owned()))
    })
}

fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Writes the value into every field `fp` names in one object.
fn copy_to(
    res: &mut Resource,
    fp: &str,
    value: &Value,
    options: Option<&FieldOptions>,
) -> Result<(), String> {
    let create = options.is_some_and(|o| o.create).then(|| Create::of(value));
    let retrieval = if create.is_some() {
        format!("unable to find or create field {fp:?} in replacement target")
    } else {
        format!("unable to find field {fp:?} in replacement target")
    };
    let mut obj = Value::Object(std::mem::take(&mut res.obj));
    let mut set_error = None;
    let visited = fieldpath::visit(
        &mut obj,
        &fieldpath::split(fp),
        create,
        &mut |field, fresh| {
            if set_error.is_none()
                && let Err(e) = set_field(field, fresh, value, options)
            {
                set_error = Some(e);
            }
            Ok(())
        },
    );
    res.obj = crate::transform::into_map(obj);
    let visited = visited.map_err(|e| format!("{retrieval}: {e}"))?;
    if let Some(e) = set_error {
        return Err(e);
    }
    if visited == 0 {
        return Err(retrieval);
    }
    Ok(())
}

/// Puts the value into one target field.
fn set_field(
    field: &mut Value,
    fresh: bool,
    value: &Value,
    options: Option<&FieldOptions>,
) -> Result<(), String> {
    let mut text = scalar::text(value);
    if let Some(o) = options.filter(|o| !o.delimiter.is_empty()) {
        if !scalar::is_scalar(field) {
            return Err("delimiter option can only be used with scalar nodes".into());
        }
        let current = if fresh {
            String::new()
        } else {
            scalar::text(field)
        };
        let mut parts: Vec<&str> = current.split(o.delimiter.as_str()).collect();
        match usize::try_from(o.index) {
            Err(_) => parts.insert(0, &text),
            Ok(i) if i >= parts.len() => parts.push(&text),
            Ok(i) => parts[i] = &text,
        }
        text = parts.join(&o.delimiter);
    }
    if !scalar::is_scalar(field) {
        *field = value.clone();
        return Ok(());
    }
    *field = if fresh {
        scalar::resolve_plain(&text)
    } else {
        scalar::retyped(field, &text).map_err(|e| format!("map[string]interface {{}}(nil): {e}"))?
    };
    Ok(())
}

impl ResIdSelector {
    fn is_empty(&self) -> bool {
        self.group.is_empty()
            && self.version.is_empty()
            && self.kind.is_empty()
            && self.name.is_empty()
            && self.namespace.is_empty()
    }

    /// Whether the object's current id, or an earlier one, is selected.
    fn selects(&self, r: &Resource) -> bool {
        let (g, v) = split_api_version(r.api_version());
        if (!self.group.is_empty() && self.group != g)
            || (!self.version.is_empty() && self.version != v)
            || (!self.kind.is_empty() && self.kind != r.kind())
        {
            return false;
        }
        let current = (r.name(), r.namespace());
        std::iter::once(current)
            .chain(r.previous.iter().map(|(n, ns)| (n.as_str(), ns.as_str())))
            .any(|(name, ns)| {
                (self.name.is_empty() || self.name == name)
                    && (self.namespace.is_empty()
                        || effective_namespace(&self.namespace) == effective_namespace(ns))
            })
    }
}

impl std::fmt::Display for ResIdSelector {
    /// Kustomize's spelling: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or = |s: &str, none: &'static str| {
            if s.is_empty() {
                none.to_owned()
            } else {
                s.to_owned()
            }
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]"),
            or(&self.name, "[noName]"),
            or(&self.namespace, "[noNs]")
        )
    }
}

impl Source {
    /// Kustomize's spelling: id, then `:fieldPath` and `:options` if set.
    fn describe(&self) -> String {
        let mut s = self.id.to_string();
        if !self.field_path.is_empty() {
            s.push(':');
            s.push_str(&self.field_path);
        }
        if let Some(o) = &self.options
            && (!o.delimiter.is_empty() || o.create)
        {
            s.push_str(&format!(
                ":{}({}), create={}",
                o.delimiter, o.index, o.create
            ));
        }
        s
    }
}
