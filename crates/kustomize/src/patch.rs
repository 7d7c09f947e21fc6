//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: loading a
//! patch, choosing its targets, applying it.

use serde_json::{Map, Value};

use crate::{
    Error,
    kustomization::{Patch, Target},
    resource::{Resource, effective_namespace as eff_ns, parse_objects, split_api_version, str_in},
    target::{Accumulated, Builder},
    transform::into_map,
};

pub(crate) fn apply(
    b: &mut Builder<'_>,
    dir: &str,
    file: &str,
    field: &str,
    p: &Patch,
    acc: &mut Accumulated,
) -> Result<(), Error> {
    let (entry, text, source) = match (&p.path, &p.patch) {
        (Some(path), None) => {
            let bytes = crate::generators::read_inside(b.files, dir, file, field, path)?;
            let text = String::from_utf8(bytes).map_err(|_| Error::Entry {
                file: file.to_owned(),
                field: field.to_owned(),
                entry: path.clone(),
                cause: "patch file is not UTF-8".into(),
            })?;
            let source = crate::paths::join(dir, path).unwrap_or_default();
            (path.clone(), text, source)
        }
        (None, Some(inline)) => (first_line(inline), inline.clone(), file.to_owned()),
        (Some(_), Some(_)) => {
            return Err(Error::Entry {
                file: file.to_owned(),
                field: field.to_owned(),
                entry: p.path.clone().unwrap_or_default(),
                cause: "patch and path can't be set at the same time".into(),
            });
        }
        (None, None) => {
            return Err(Error::Entry {
                file: file.to_owned(),
                field: field.to_owned(),
                entry: String::new(),
                cause: "must specify one of patch and path".into(),
            });
        }
    };
    let err = |cause: String| Error::Entry {
        file: file.to_owned(),
        field: field.to_owned(),
        entry: entry.clone(),
        cause,
    };
    let first: Value = serde_yaml::Deserializer::from_str(&text)
        .next()
        .map(serde::Deserialize::deserialize)
        .transpose()
        .map_err(|e| err(format!("invalid patch: {e}")))?
        .unwrap_or(Value::Null);
    let json6902 = field == "patchesJson6902" || first.is_array();
    if json6902 {
        let Some(target) = &p.target else {
            return Err(err("a JSON 6902 patch needs a target".into()));
        };
        let ops = if first.is_array() {
            first
        } else {
            return Err(err("a JSON 6902 patch must be a list of operations".into()));
        };
        for i in select(acc, target, &err)? {
            let r = &mut acc.resources[i];
            let mut obj = Value::Object(r.obj.clone());
            crate::json6902::apply(&mut obj, &ops).map_err(|e| {
                err(format!(
                    "unable to apply JSON 6902 patch to {}: {e}",
                    describe(r)
                ))
            })?;
            // Kustomize applies a JSON 6902 patch as written: name and kind
            // may change without `allowNameChange` (the old name is kept
            // for references).
            let old_name = r.name().to_owned();
            r.obj = into_map(obj);
            // Kustomize round-trips the object through JSON: no YAML node
            // is shared any more.
            r.aliases.clear();
            if r.name() != old_name {
                let now = r.name().to_owned();
                r.set_name(&old_name);
                r.remember_name();
                r.set_name(&now);
            }
        }
        return Ok(());
    }
    let patches = parse_objects(&source, text.as_bytes()).map_err(|e| err(e.to_string()))?;
    for patch in patches {
        let targets = match &p.target {
            Some(t) => select(acc, t, &err)?,
            None => {
                let found = by_patch_id(acc, &patch);
                if found.is_empty() {
                    return Err(err(format!(
                        "no resource matches strategic merge patch \"{}\"",
                        patch_id(&patch)
                    )));
                }
                found
            }
        };
        let patch = Value::Object(patch);
        let mut deleted = Vec::new();
        for i in targets {
            let r = &mut acc.resources[i];
            let mut patch = patch.clone();
            if p.target.is_some()
                && !p.options.get("allowNameChange").copied().unwrap_or(false)
                && let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("name".into(), Value::String(r.name().to_owned()));
                if !r.namespace().is_empty() {
                    meta.insert("namespace".into(), Value::String(r.namespace().to_owned()));
                }
            }
            if patch.get("$patch").and_then(Value::as_str) == Some("delete") {
                deleted.push(i);
                continue;
            }
            let mut obj = Value::Object(r.obj.clone());
            let (api, kind) = (r.api_version().to_owned(), r.kind().to_owned());
            crate::smp::merge(&b.schema, &api, &kind, &mut obj, &patch).map_err(|e| {
                err(format!(
                    "unable to apply strategic merge patch to {}: {e}",
                    describe(r)
                ))
            })?;
            replace_obj(r, obj, p);
        }
        deleted.sort_unstable();
        for i in deleted.into_iter().rev() {
            acc.resources.remove(i);
        }
    }
    Ok(())
}

fn replace_obj(r: &mut Resource, obj: Value, p: &Patch) {
    let old_name = r.name().to_owned();
    let old_kind = r.kind().to_owned();
    let mut new = into_map(obj);
    let allow_name = p.options.get("allowNameChange").copied().unwrap_or(false);
    let allow_kind = p.options.get("allowKindChange").copied().unwrap_or(false);
    if !allow_kind {
        new.insert("kind".into(), Value::String(old_kind));
    }
    r.obj = new;
    if r.name() != old_name {
        if allow_name {
            let now = r.name().to_owned();
            r.set_name(&old_name);
            r.remember_name();
            r.set_name(&now);
        } else {
            r.set_name(&old_name);
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn describe(r: &Resource) -> String {
    format!("{} {}", r.kind(), r.name())
}

fn patch_id(patch: &Map<String, Value>) -> String {
    let ns = str_in(patch, &["metadata", "namespace"]);
    let mut id = format!(
        "{}.{}/{}",
        str_in(patch, &["kind"]),
        str_in(patch, &["apiVersion"]),
        str_in(patch, &["metadata", "name"])
    );
    if !ns.is_empty() {
        id.push('.');
        id.push_str(ns);
    }
    id
}

/// Resources a target-less strategic merge patch applies to: same group,
/// kind and (any earlier) name, and the same namespace when it names one.
fn by_patch_id(acc: &Accumulated, patch: &Map<String, Value>) -> Vec<usize> {
    let kind = str_in(patch, &["kind"]);
    let name = str_in(patch, &["metadata", "name"]);
    let ns = str_in(patch, &["metadata", "namespace"]);
    let (group, _) = split_api_version(str_in(patch, &["apiVersion"]));
    acc.resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.kind() == kind
                && split_api_version(r.api_version()).0 == group
                && r.all_names().any(|n| n == name)
                && (ns.is_empty()
                    || eff_ns(r.namespace()) == eff_ns(ns)
                    || eff_ns(r.original_namespace()) == eff_ns(ns))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Resources a target selects.
pub(crate) fn select(
    acc: &Accumulated,
    t: &Target,
    err: &dyn Fn(String) -> Error,
) -> Result<Vec<usize>, Error> {
    let re = |pat: &Option<String>| -> Result<Option<regex_lite::Regex>, Error> {
        match pat.as_deref() {
            None | Some("") => Ok(None),
            Some(p) => regex_lite::Regex::new(&format!("^(?:{p})$"))
                .map(Some)
                .map_err(|e| err(format!("invalid target pattern '{p}': {e}"))),
        }
    };
    let name = re(&t.name)?;
    let ns = re(&t.namespace)?;
    let labels = t
        .label_selector
        .as_deref()
        .map(crate::selector::parse)
        .transpose()
        .map_err(err)?;
    let annotations = t
        .annotation_selector
        .as_deref()
        .map(crate::selector::parse)
        .transpose()
        .map_err(err)?;
    let mut out = Vec::new();
    for (i, r) in acc.resources.iter().enumerate() {
        let (g, v) = split_api_version(r.api_version());
        if t.group.as_deref().is_some_and(|x| !x.is_empty() && x != g)
            || t.version
                .as_deref()
                .is_some_and(|x| !x.is_empty() && x != v)
            || t.kind
                .as_deref()
                .is_some_and(|x| !x.is_empty() && x != r.kind())
        {
            continue;
        }
        if let Some(re) = &name
            && !re.is_match(r.original_name())
            && !re.is_match(r.name())
        {
            continue;
        }
        if let Some(re) = &ns
            && !re.is_match(eff_ns(r.original_namespace()))
            && !re.is_match(eff_ns(r.namespace()))
        {
            continue;
        }
        if let Some(sel) = &labels
            && !sel.matches(&r.string_map("labels"))
        {
            continue;
        }
        if let Some(sel) = &annotations
            && !sel.matches(&r.string_map("annotations"))
        {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}
