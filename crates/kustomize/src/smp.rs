//! Strategic merge patches, as Kustomize applies them: maps merge key by
//! key, `null` deletes, lists with a patch merge key merge element by
//! element, other lists are replaced; `$patch: replace|delete|merge`,
//! `$retainKeys`, `$deleteFromPrimitiveList/…` and `$setElementOrder/…`
//! directives are understood.

use serde_json::{Map, Value};

use crate::openapi::{Field, Item, Schema, Shape, TypeRef};

/// Keys Kustomize (kyaml) uses to merge lists of objects whose schema it
/// does not know, in its order of preference.
const GUESSED_KEYS: &[&str] = &[
    "mountPath",
    "devicePath",
    "ip",
    "type",
    "topologyKey",
    "name",
    "containerPort",
];

/// Merges `patch` into `obj` (an object of `apiVersion`/`kind`).
pub(crate) fn merge(
    schema: &Schema,
    api_version: &str,
    kind: &str,
    obj: &mut Value,
    patch: &Value,
) -> Result<(), String> {
    let t = schema.type_of(api_version, kind);
    let Value::Object(p) = patch else {
        return Err("a strategic merge patch must be an object".into());
    };
    merge_map(schema, Ctx::Object(t), obj, p)
}

/// What the schema knows of the map being merged.
#[derive(Clone, Copy)]
enum Ctx {
    /// An object of this type (or of an unknown one).
    Object(Option<TypeRef>),
    /// A map whose values are objects of this type.
    MapOf(Option<TypeRef>),
}

fn merge_map(
    schema: &Schema,
    ctx: Ctx,
    dest: &mut Value,
    patch: &Map<String, Value>,
) -> Result<(), String> {
    let (t, map_of) = match ctx {
        Ctx::Object(t) => (t, None),
        Ctx::MapOf(t) => (None, Some(t)),
    };
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut m = patch.clone();
            m.shift_remove("$patch");
            *dest = Value::Object(strip_directives(m));
            return Ok(());
        }
        Some("delete") => {
            *dest = Value::Null;
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch directive $patch: {other}")),
    }
    if !dest.is_object() {
        *dest = Value::Object(Map::new());
    }
    let Value::Object(d) = dest else {
        return Ok(());
    };
    if let Some(Value::Array(keep)) = patch.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        d.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, pv) in patch {
        if k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch" {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Value::Array(del)) = (d.get_mut(field), pv) {
                items.retain(|x| !del.contains(x));
            }
            continue;
        }
        if pv.is_null() {
            d.shift_remove(k);
            continue;
        }
        let f = t.and_then(|t| schema.field(t, k));
        match pv {
            Value::Object(pm) => {
                let child = match (map_of, f) {
                    (Some(t), _) => Ctx::Object(t),
                    (None, Some(f)) if matches!(f.shape, Shape::Map(_)) => Ctx::MapOf(f.type_ref()),
                    (None, f) => Ctx::Object(f.and_then(|f| f.type_ref())),
                };
                let slot = d.entry(k.clone()).or_insert(Value::Null);
                merge_map(schema, child, slot, pm)?;
                if slot.is_null() {
                    d.shift_remove(k);
                }
            }
            Value::Array(pl) => {
                let slot = d.entry(k.clone()).or_insert(Value::Null);
                merge_list(schema, f.as_ref(), slot, pl)?;
            }
            other => {
                d.insert(k.clone(), other.clone());
            }
        }
    }
    Ok(())
}

fn merge_list(
    schema: &Schema,
    f: Option<&Field>,
    dest: &mut Value,
    patch: &[Value],
) -> Result<(), String> {
    // `$patch: replace` anywhere in the list replaces the whole list.
    if patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *dest = Value::Array(
            patch
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .cloned()
                .map(strip_value)
                .collect(),
        );
        return Ok(());
    }
    let (item_t, key, merge) = match f {
        Some(f) => (
            match f.shape {
                Shape::List(Item::Object(t)) => Some(t),
                _ => None,
            },
            f.merge_key().map(str::to_owned),
            f.is_associative(),
        ),
        None => (None, None, false),
    };
    let dest_items: Vec<Value> = match dest {
        Value::Array(a) => a.clone(),
        _ => Vec::new(),
    };
    let all_maps = patch.iter().all(Value::is_object) && dest_items.iter().all(Value::is_object);
    // With no schema for this list, guess its key as kyaml does.
    let key = if f.is_none() && all_maps && !patch.is_empty() {
        GUESSED_KEYS
            .iter()
            .find(|k| {
                patch.iter().all(|i| i.get(**k).is_some())
                    && dest_items.iter().all(|i| i.get(**k).is_some())
            })
            .map(|k| (*k).to_owned())
    } else {
        key
    };
    if let Some(key) = key.filter(|_| all_maps) {
        // Items only the patch has go first, in the patch's order, as
        // Kustomize (kyaml) places them.
        let mut fresh_items = Vec::new();
        let mut out = dest_items;
        for pi in patch {
            let Value::Object(pm) = pi else { continue };
            let id = pm.get(&key);
            let pos = out.iter().position(|x| id.is_some() && x.get(&key) == id);
            match (pos, pm.get("$patch").and_then(Value::as_str)) {
                (Some(i), Some("delete")) => {
                    out.remove(i);
                }
                (None, Some("delete")) => {}
                (Some(i), _) => merge_map(schema, Ctx::Object(item_t), &mut out[i], pm)?,
                (None, _) => {
                    let mut fresh = Value::Null;
                    merge_map(schema, Ctx::Object(item_t), &mut fresh, pm)?;
                    fresh_items.push(fresh);
                }
            }
        }
        fresh_items.extend(out);
        *dest = Value::Array(fresh_items);
    } else if merge && patch.iter().all(|v| !v.is_object()) {
        // A list of scalars merged as a set (e.g. finalizers).
        let mut out = dest_items;
        for pi in patch {
            if !out.contains(pi) {
                out.push(pi.clone());
            }
        }
        *dest = Value::Array(out);
    } else {
        *dest = Value::Array(patch.iter().cloned().map(strip_value).collect());
    }
    Ok(())
}

fn strip_directives(mut m: Map<String, Value>) -> Map<String, Value> {
    m.retain(|k, _| !k.starts_with('$'));
    for v in m.values_mut() {
        let taken = std::mem::take(v);
        *v = strip_value(taken);
    }
    m
}

fn strip_value(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip_directives(m)),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_value).collect()),
        other => other,
    }
}
