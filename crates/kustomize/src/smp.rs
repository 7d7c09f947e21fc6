//! Strategic merge patches, as Kustomize v5.5 applies them: kyaml's merge
//! walk (`merge2` with list items from the patch first), not the
//! Kubernetes API server's.
//!
//! * Maps merge key by key; a `null` in the patch removes the field;
//!   `$patch: delete` removes the map, `$patch: replace` replaces it.
//! * A list merges item by item only when the schema gives it the `merge`
//!   strategy; its items are identified by `x-kubernetes-list-map-keys`
//!   (e.g. `containerPort` and `protocol` for ports) or the merge key, or by
//!   value for a list of scalars. The result holds the patch's items first,
//!   in the patch's order, then the items only the original has. An item
//!   with `$patch: delete` is removed; a list item `{$patch: replace}`
//!   replaces the list, `{$patch: delete}` removes it.
//! * Every other list is replaced by the patch's. Lists of objects whose
//!   schema is unknown (custom resources without `openapi`/`crds`) are
//!   replaced too.
//! * Other `$…` keys (`$setElementOrder/…`, `$retainKeys`,
//!   `$deleteFromPrimitiveList/…`) mean nothing to kyaml: they are copied
//!   like any field.
//!
//! kyaml's quirks with multi-key lists are kept: items are matched on the
//! keys any item sets, a key an item lacks matches only an item that has
//! that field too, and items of the original that lack a key are moved to
//! the end.

use serde_json::{Map, Value};

use crate::{
    openapi::{Field, Item, Schema, Shape, TypeRef},
    scalar,
};

/// Merges `patch` into `obj` (an object of `apiVersion`/`kind`). A patch
/// that deletes the object leaves `null`.
pub(crate) fn merge(
    schema: &Schema,
    api_version: &str,
    kind: &str,
    obj: &mut Value,
    patch: &Value,
) -> Result<(), String> {
    if !patch.is_object() {
        return Err("a strategic merge patch must be an object".into());
    }
    let ctx = schema.type_of(api_version, kind).map(Ctx::Object);
    let w = Walker { schema };
    let dest = std::mem::take(obj);
    *obj = w
        .walk(ctx, Some(&dest), Some(patch))?
        .unwrap_or(Value::Null);
    Ok(())
}

/// What the schema says about the node being merged.
#[derive(Clone, Copy)]
enum Ctx<'a> {
    /// An object of this type.
    Object(TypeRef),
    /// A map whose values are these.
    MapOf(Item),
    /// A list field.
    List(Field<'a>),
}

struct Walker<'a> {
    schema: &'a Schema,
}

/// The kind of YAML node, for kyaml's checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    List,
    Scalar,
}

fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Object(_) => Kind::Map,
        Value::Array(_) => Kind::List,
        _ => Kind::Scalar,
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Map => "MappingNode",
        Kind::List => "SequenceNode",
        Kind::Scalar => "ScalarNode",
    }
}

/// Present and not `null`.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

impl<'a> Walker<'a> {
    /// The schema of a field of a node with schema `ctx`.
    fn field(&self, ctx: Option<Ctx<'a>>, key: &str) -> Option<Ctx<'a>> {
        match ctx? {
            Ctx::Object(t) => {
                let f = self.schema.field(t, key)?;
                match f.shape {
                    Shape::Object(t) => Some(Ctx::Object(t)),
                    Shape::List(_) => Some(Ctx::List(f)),
                    Shape::Map(item) => Some(Ctx::MapOf(item)),
                    Shape::Scalar => None,
                }
            }
            Ctx::MapOf(Item::Object(t)) => Some(Ctx::Object(t)),
            Ctx::MapOf(Item::Scalar) | Ctx::List(_) => None,
        }
    }

    /// The schema of a list's items.
    fn elements(ctx: Option<Ctx<'a>>) -> Option<Ctx<'a>> {
        match ctx? {
            Ctx::List(f) => match f.shape {
                Shape::List(Item::Object(t)) => Some(Ctx::Object(t)),
                _ => None,
            },
            _ => None,
        }
    }

    /// kyaml's walk of `[dest, patch]`: the merged node, or `None` when
    /// the field is to be removed. `Some(Value::Null)` is a `null` the
    /// original had and the patch did not touch.
    fn walk(
        &self,
        ctx: Option<Ctx<'a>>,
        dest: Option<&Value>,
        patch: Option<&Value>,
    ) -> Result<Option<Value>, String> {
        let kind = present(dest).or(present(patch)).map(kind_of);
        for v in [present(dest), present(patch)].into_iter().flatten() {
            if let Some(k) = kind
                && kind_of(v) != k
            {
                return Err(format!(
                    "wrong node kind: expected {} but got {}",
                    kind_name(k),
                    kind_name(kind_of(v))
                ));
            }
        }
        match kind {
            None | Some(Kind::Map) => Ok(self.walk_map(ctx, dest, patch)?.0),
            Some(Kind::List) => {
                let associative = matches!(ctx, Some(Ctx::List(f)) if f.is_associative());
                if associative {
                    self.walk_associative(ctx, dest, patch)
                } else {
                    Ok(match patch {
                        Some(Value::Null) => None,
                        Some(p) => Some(p.clone()),
                        None => dest.cloned(),
                    })
                }
            }
            Some(Kind::Scalar) => Ok(match patch {
                Some(Value::Null) => None,
                Some(p) => Some(p.clone()),
                None => dest.cloned(),
            }),
        }
    }

    /// A map walk; the flag says whether the result is the original map
    /// merged in place (so a list walk writes it back into the original).
    fn walk_map(
        &self,
        ctx: Option<Ctx<'a>>,
        dest: Option<&Value>,
        patch: Option<&Value>,
    ) -> Result<(Option<Value>, bool), String> {
        // Objects nested without a schema get their kind's, as in kyaml.
        let ctx = ctx.or_else(|| {
            [present(dest), present(patch)]
                .into_iter()
                .flatten()
                .find_map(|v| {
                    let api = v.get("apiVersion")?.as_str()?;
                    let kind = v.get("kind")?.as_str()?;
                    self.schema.type_of(api, kind).map(Ctx::Object)
                })
        });
        let (mut base, patch, in_place) = match present(dest) {
            None => {
                if let Some(Value::Object(p)) = patch
                    && p.get("$patch").and_then(Value::as_str) == Some("delete")
                {
                    return Ok((None, false));
                }
                if patch.is_none() && dest.is_some() {
                    return Ok((Some(Value::Null), false));
                }
                let Some(Value::Object(p)) = patch else {
                    return Ok((None, false));
                };
                // An unknown directive is left in place here, as in kyaml.
                let p = elide_map_directive(p).unwrap_or_else(|_| p.clone());
                (p.clone(), p, false)
            }
            Some(Value::Object(d)) => match patch {
                Some(Value::Null) => return Ok((None, false)),
                None => (d.clone(), Map::new(), true),
                Some(Value::Object(p)) => match p.get("$patch").and_then(Value::as_str) {
                    Some("delete") => return Ok((None, false)),
                    Some("replace") => {
                        let p = elide_map_directive(p)?;
                        (p.clone(), p, false)
                    }
                    _ => (d.clone(), elide_map_directive(p)?, true),
                },
                Some(_) => return Ok((None, false)),
            },
            Some(_) => return Ok((None, false)),
        };
        let mut keys: Vec<String> = base.keys().cloned().collect();
        keys.extend(patch.keys().filter(|k| !base.contains_key(*k)).cloned());
        for k in keys {
            let child = self.field(ctx, &k);
            let merged = self.walk(child, base.get(&k), patch.get(&k))?;
            match merged {
                Some(v) => {
                    base.insert(k, v);
                }
                None => {
                    base.shift_remove(&k);
                }
            }
        }
        Ok((Some(Value::Object(base)), in_place))
    }

    /// A list that merges item by item.
    fn walk_associative(
        &self,
        ctx: Option<Ctx<'a>>,
        dest: Option<&Value>,
        patch: Option<&Value>,
    ) -> Result<Option<Value>, String> {
        let Some(Ctx::List(field)) = ctx else {
            return Ok(None);
        };
        let (base, patch): (Vec<Value>, Vec<Value>) = match present(dest) {
            // kyaml takes the patch's list as it is, directives and all.
            None => match patch {
                Some(Value::Array(p)) => (p.clone(), p.clone()),
                _ => return Ok(None),
            },
            Some(Value::Array(d)) => match patch {
                Some(Value::Null) => return Ok(None),
                None => (d.clone(), Vec::new()),
                Some(Value::Array(p)) => match list_directive(p)? {
                    Some(("delete", _)) => return Ok(None),
                    Some(("replace", rest)) => (rest.clone(), rest),
                    Some((_, rest)) => (d.clone(), rest),
                    None => (d.clone(), p.clone()),
                },
                Some(_) => return Ok(None),
            },
            Some(_) => return Ok(None),
        };
        let keys: Vec<String> = field.merge_keys().iter().map(|k| (*k).to_owned()).collect();
        let elem_ctx = Self::elements(ctx);
        // Values of the keys for every item, the patch's first.
        let mut values: Vec<Vec<String>> = Vec::new();
        for item in patch.iter().chain(base.iter()) {
            let v: Vec<String> = keys.iter().map(|k| key_value(item, k)).collect();
            if !v.is_empty() && !values.contains(&v) {
                values.push(v);
            }
        }
        if !values.is_empty() || !keys.is_empty() {
            return self.set_elements(elem_ctx, values, &keys, base, &patch);
        }
        // A list of scalars, merged by value.
        let mut values: Vec<Vec<String>> = Vec::new();
        for item in patch.iter().chain(base.iter()) {
            let v = vec![scalar::text(item)];
            if !values.contains(&v) {
                values.push(v);
            }
        }
        self.set_elements(elem_ctx, values, &[String::new()], base, &patch)
    }

    /// kyaml's `setAssociativeSequenceElements` with items from the patch
    /// first.
    fn set_elements(
        &self,
        elem_ctx: Option<Ctx<'a>>,
        mut values_list: Vec<Vec<String>>,
        keys: &[String],
        mut base: Vec<Value>,
        patch: &[Value],
    ) -> Result<Option<Value>, String> {
        let mut items: Vec<Value> = Vec::new();
        if keys.len() > 1 {
            merge_values(&mut values_list);
        }
        let mut valid_keys: Vec<String> = keys.to_vec();
        for values in &values_list {
            if values.is_empty() {
                continue;
            }
            let (vk, vv) = validate_keys(&values_list, values, keys);
            let (k2, v2) = validate_keys(std::slice::from_ref(&vv), &vv, &vk);
            let d = find_element(&base, &k2, &v2);
            let p = find_element(patch, &k2, &v2);
            let (val, in_place) = match (d.map(|i| &base[i]), p.map(|i| &patch[i])) {
                (dv, pv) if present(dv).or(present(pv)).is_none_or(Value::is_object) => {
                    self.walk_map(elem_ctx, dv, pv)?
                }
                (dv, pv) => (self.walk(elem_ctx, dv, pv)?, false),
            };
            if in_place && let (Some(i), Some(v)) = (d, &val) {
                base[i] = v.clone();
            }
            let mut val = match val {
                Some(v) if !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()) => v,
                _ => {
                    set_element(&mut base, None, &vk, &vv)?;
                    valid_keys = vk;
                    continue;
                }
            };
            for (k, v) in vk.iter().zip(&vv) {
                if let Value::Object(m) = &mut val
                    && !m.contains_key(k)
                    && !v.is_empty()
                {
                    m.insert(k.clone(), scalar::resolve_plain(v));
                }
            }
            set_element(&mut items, Some(val), &vk, &vv)?;
            valid_keys = vk;
        }
        if !values_list.is_empty() {
            append_list(&mut items, &base, &valid_keys)?;
            base = items;
        }
        Ok(Some(Value::Array(base)))
    }
}

/// The patch map without its `$patch` key; an unknown directive is an
/// error.
fn elide_map_directive(p: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut p = p.clone();
    if let Some(v) = p.shift_remove("$patch") {
        let v = scalar::text(&v);
        if !matches!(v.as_str(), "delete" | "replace" | "merge") {
            return Err(format!("unknown patch strategy '{v}'"));
        }
    }
    Ok(p)
}

/// A list's `{$patch: …}` item: its directive and the list without the
/// items carrying it. An item with more keys than `$patch` is no list
/// directive.
fn list_directive(p: &[Value]) -> Result<Option<(&'static str, Vec<Value>)>, String> {
    let Some(item) = p
        .iter()
        .filter_map(Value::as_object)
        .find(|m| m.contains_key("$patch"))
    else {
        return Ok(None);
    };
    if item.len() > 1 {
        return Ok(None);
    }
    let v = item.get("$patch").map(scalar::text).unwrap_or_default();
    let directive = match v.as_str() {
        "delete" => "delete",
        "replace" => "replace",
        "merge" => "merge",
        _ => return Err(format!("unknown patch strategy '{v}'")),
    };
    let mut rest = p.to_vec();
    set_element(&mut rest, None, &["$patch".to_owned()], &[v])?;
    Ok(Some((directive, rest)))
}

/// The text of an item's key field (`""` when absent, null or empty).
fn key_value(item: &Value, key: &str) -> String {
    match item.as_object().and_then(|m| m.get(key)) {
        None | Some(Value::Null) => String::new(),
        Some(Value::Object(m)) if m.is_empty() => String::new(),
        Some(Value::Array(a)) if a.is_empty() => String::new(),
        Some(v) => scalar::text(v),
    }
}

/// kyaml's `mergeValues`: key tuples that agree wherever both are set
/// (and share a value) become one.
fn merge_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        for j in 0..list.len() {
            if let Some(m) = matched(&list[i], &list[j]) {
                list[i] = m.clone();
                list[j] = m;
            }
        }
    }
}

fn matched(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            out.push(x.clone());
        } else {
            out.push(y.clone());
        }
    }
    common.then_some(out)
}

/// kyaml's `validateKeys`: the keys some tuple sets (all keys when none
/// does), with this tuple's values for them.
fn validate_keys(
    list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let set: Vec<&String> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            list.iter()
                .any(|vs| vs.get(*i).is_some_and(|v| !v.is_empty()))
        })
        .map(|(_, k)| k)
        .collect();
    if set.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let vk = keys.iter().filter(|k| set.contains(k)).cloned().collect();
    let vv = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || keys.get(*i).is_some_and(|k| set.contains(&k)))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

/// kyaml's `ElementList`: the first item whose key fields have exactly
/// these texts (for key `""`, the first scalar with this text).
fn find_element(list: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    if keys.first().is_none_or(String::is_empty) {
        let want = values.first().map(String::as_str).unwrap_or("");
        return list.iter().position(|x| scalar::text(x) == want);
    }
    list.iter().position(|x| {
        let Some(m) = x.as_object() else {
            return false;
        };
        keys.iter().enumerate().all(|(i, k)| {
            let want = values.get(i).map(String::as_str).unwrap_or("");
            m.get(k).is_some_and(|v| field_text(v) == want)
        })
    })
}

/// A field's text as a YAML node holds it: a scalar's text, `""` for maps
/// and lists.
fn field_text(v: &Value) -> String {
    if scalar::is_scalar(v) && !v.is_null() {
        scalar::text(v)
    } else if v.is_null() {
        "null".into()
    } else {
        String::new()
    }
}

/// kyaml's `ElementSetter`: replaces the items matching the keys with
/// `element` (removes them for `None`), appending it when none matches.
/// `null` and empty-map items are dropped on the way.
fn set_element(
    list: &mut Vec<Value>,
    element: Option<Value>,
    keys: &[String],
    values: &[String],
) -> Result<(), String> {
    let keys: Vec<String> = if keys.is_empty() {
        vec![String::new()]
    } else {
        keys.to_vec()
    };
    let mapping_setter = !keys[0].is_empty() && values.first().is_some_and(|v| !v.is_empty());
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut found_any = false;
    for item in std::mem::take(list) {
        if item.is_null() || item.as_object().is_some_and(Map::is_empty) {
            continue;
        }
        if !item.is_object() && mapping_setter {
            out.push(item);
            continue;
        }
        let mut found = true;
        let mut matched_last = false;
        for (j, k) in keys.iter().enumerate() {
            if let Some(want) = values.get(j) {
                matched_last = field_matches(&item, k, want)?;
            }
            if !matched_last {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                out.push(item);
            }
            continue;
        }
        found_any = true;
        if let Some(e) = &element {
            out.push(e.clone());
        }
    }
    *list = out;
    if let Some(e) = element
        && !e.is_null()
        && !found_any
    {
        list.push(e);
    }
    Ok(())
}

/// kyaml's `FieldMatcher{Name, StringValue}` on a list item: for a name,
/// the item must be a map with that field (of that text, unless the text
/// is empty); without a name, the item must be a scalar of that text.
fn field_matches(item: &Value, name: &str, want: &str) -> Result<bool, String> {
    if name.is_empty() {
        if !scalar::is_scalar(item) {
            return Err(format!(
                "wrong node kind: expected ScalarNode but got {}",
                kind_name(kind_of(item))
            ));
        }
        return Ok(scalar::text(item) == want);
    }
    let Value::Object(m) = item else {
        return Err(format!(
            "wrong node kind: expected MappingNode but got {}",
            kind_name(kind_of(item))
        ));
    };
    Ok(match m.get(name) {
        None => false,
        Some(v) => want.is_empty() || field_text(v) == want,
    })
}

/// kyaml's `appendListNode`: the original's items put into `items` (in
/// place of those with the same keys, or at the end).
fn append_list(items: &mut Vec<Value>, base: &[Value], keys: &[String]) -> Result<(), String> {
    for elem in base {
        if keys.first().is_none_or(String::is_empty) {
            set_element(
                items,
                Some(elem.clone()),
                &[String::new()],
                &[scalar::text(elem)],
            )?;
            continue;
        }
        let mut v = Vec::new();
        for key in keys {
            let field = match elem {
                Value::Object(m) => m.get(key).filter(|x| !x.is_null()),
                Value::Null => None,
                other => {
                    return Err(format!(
                        "wrong node kind: expected MappingNode but got {}",
                        kind_name(kind_of(other))
                    ));
                }
            };
            match field {
                None => items.push(elem.clone()),
                Some(f) => v.push(field_text(f)),
            }
        }
        if keys.len() > 1 {
            set_element(items, None, keys, &v)?;
        }
        set_element(items, Some(elem.clone()), keys, &v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(obj: Value, patch: Value) -> Value {
        let mut obj = obj;
        merge(
            &Schema::builtin(),
            "apps/v1",
            "Deployment",
            &mut obj,
            &patch,
        )
        .unwrap();
        obj
    }

    #[test]
    fn patch_items_come_first() {
        let obj = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}}}});
        let out = merged(obj, patch);
        let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b", "c", "a"]);
    }

    #[test]
    fn null_removes_and_delete_directive_drops_item() {
        let obj = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]}}}});
        let patch = json!({"spec": {"replicas": null, "template": {"spec": {"containers": [
            {"name": "a", "env": [{"name": "Y", "$patch": "delete"}]}]}}}});
        let out = merged(obj, patch);
        assert!(out["spec"].get("replicas").is_none());
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "X", "value": "1"}])
        );
    }
}
