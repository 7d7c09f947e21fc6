//! Dotted field paths as `replacements` write them
//! (`spec.template.spec.containers.[name=app].env.[name=X].value`), walked
//! as Kustomize's YAML library walks them.
//!
//! * [`split`] cuts at `.` (`\.` escapes one); a bracketed part keeps its
//!   dots and, unless it holds `=`, loses its brackets, so
//!   `metadata.annotations.[example.com/x]` ends in the key `example.com/x`.
//! * [`lookup`] reads one field (a replacement's source): parts are map
//!   keys, list indexes (`0`; `-` is the last item), or `[key=value]`, the
//!   first item whose `key` has exactly that text (`[=value]` for a list of
//!   scalars). `*` is refused.
//! * [`visit`] reaches every field a target path names, creating missing
//!   ones when asked: `*` is every item, `[key=value]` every item whose
//!   `key` matches the *unanchored* regular expression `value` (so
//!   `[name=app]` also matches `webapp`, as in Kustomize), and an index one
//!   item (created only when it is one past the end).

use serde_json::{Map, Value};

use crate::scalar;

/// Splits a dotted path as Kustomize's `SmarterPathSplitter`.
pub(crate) fn split(path: &str) -> Vec<String> {
    let mut raw: Vec<&str> = path.split('.').collect();
    if raw.len() > 1 && raw.first() == Some(&"") {
        raw.remove(0);
    }
    let mut escaped: Vec<String> = Vec::with_capacity(raw.len());
    for part in raw {
        match escaped.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(part);
            }
            _ => escaped.push(part.to_owned()),
        }
    }
    let mut out = Vec::with_capacity(escaped.len());
    let mut parts = escaped.into_iter();
    while let Some(part) = parts.next() {
        if part.starts_with('[') && !part.ends_with(']') {
            let mut joined = part;
            for next in parts.by_ref() {
                joined.push('.');
                joined.push_str(&next);
                if joined.ends_with(']') {
                    break;
                }
            }
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(['[', ']']).to_owned());
            }
        } else {
            out.push(part);
        }
    }
    out
}

/// A part of the form `[key=value]`.
fn is_list_index(p: &str) -> bool {
    p.starts_with('[') && p.ends_with(']')
}

/// A non-negative list index, as Go's `strconv.Atoi` reads it.
fn index_number(p: &str) -> Option<usize> {
    p.parse::<i64>().ok().and_then(|i| usize::try_from(i).ok())
}

/// The key and value of `[key=value]`.
fn split_index(p: &str) -> Result<(&str, &str), String> {
    let inner = p.strip_prefix('[').unwrap_or(p);
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    inner.split_once('=').ok_or_else(|| {
        "list path element must contain fieldName=fieldValue for element to match".to_owned()
    })
}

fn node_kind(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "MappingNode",
        Value::Array(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn wrong_kind(expected: &str, v: &Value) -> String {
    format!(
        "wrong node kind: expected {expected} but got {}",
        node_kind(v)
    )
}

/// The items of a list; `null` has none; anything else is an error.
fn items(v: &Value) -> Result<&[Value], String> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Null => Ok(&[]),
        other => Err(wrong_kind("SequenceNode", other)),
    }
}

/// Reads the field at `path` (already [`split`]). `Ok(None)` when a part is
/// missing; errors when a part meets the wrong kind of node.
pub(crate) fn lookup<'a>(node: &'a Value, path: &[String]) -> Result<Option<&'a Value>, String> {
    let mut cur = node;
    for part in path.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let next = if let Ok(i) = part.parse::<i64>() {
            let Ok(i) = usize::try_from(i) else {
                return Err(format!("array index {i} cannot be negative"));
            };
            items(cur)?.get(i)
        } else if part == "-" {
            items(cur)?.last()
        } else if part == "*" {
            return Err("wildcard is not supported in PathGetter".into());
        } else if is_list_index(part) {
            let (key, value) = split_index(part)?;
            let list = items(cur)?;
            if key.is_empty() {
                list.iter().find(|x| scalar::text(x) == value)
            } else {
                list.iter().find(|x| {
                    x.as_object()
                        .and_then(|m| m.get(key))
                        .is_some_and(|f| scalar::text(f) == value)
                })
            }
        } else {
            match cur {
                Value::Null => None,
                Value::Object(m) => m.get(part),
                other => return Err(wrong_kind("MappingNode", other)),
            }
        };
        match next {
            Some(v) => cur = v,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// The kind of node a target path creates at its end: that of the value
/// put there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    /// A scalar, left `null` for the visitor to fill.
    Scalar,
    /// An empty map.
    Map,
    /// An empty list.
    List,
}

impl Create {
    /// The kind of node that holds `v`.
    pub(crate) fn of(v: &Value) -> Create {
        match v {
            Value::Object(_) => Create::Map,
            Value::Array(_) => Create::List,
            _ => Create::Scalar,
        }
    }

    fn empty(self) -> Value {
        match self {
            Create::Scalar => Value::Null,
            Create::Map => Value::Object(Map::new()),
            Create::List => Value::Array(Vec::new()),
        }
    }
}

/// What a node created for the part before `next` must be.
fn kind_before(next: Option<&String>, create: Create) -> Create {
    match next {
        None => create,
        Some(n) if n.is_empty() => create,
        Some(n) if is_list_index(n) || index_number(n).is_some() => Create::List,
        Some(_) => Create::Map,
    }
}

/// Calls `f` on every field `path` (already [`split`]) reaches in `node`,
/// creating missing ones when `create` says what to put at the end. The
/// visitor's flag is true for a scalar just created (untyped, so its text
/// is read as a plain YAML scalar). Returns how many fields were visited.
pub(crate) fn visit(
    node: &mut Value,
    path: &[String],
    create: Option<Create>,
    f: &mut dyn FnMut(&mut Value, bool) -> Result<(), String>,
) -> Result<usize, String> {
    walk(node, path, create, false, f)
}

fn walk(
    node: &mut Value,
    path: &[String],
    create: Option<Create>,
    fresh: bool,
    f: &mut dyn FnMut(&mut Value, bool) -> Result<(), String>,
) -> Result<usize, String> {
    let Some((part, rest)) = path.split_first() else {
        f(node, fresh)?;
        return Ok(1);
    };
    if let Some(i) = index_number(part) {
        let len = items(node)?.len();
        let mut made = false;
        if let Some(c) = create
            && len == i
        {
            let list = as_list(node);
            list.push(kind_before(rest.first(), c).empty());
            made = true;
        }
        let list = match node {
            Value::Array(a) => a,
            _ => return Err(format!("index {i} specified but only {len} elements found")),
        };
        let Some(item) = list.get_mut(i) else {
            return Err(format!(
                "index {i} specified but only {} elements found",
                list.len()
            ));
        };
        return walk(item, rest, create, made, f);
    }
    if is_list_index(part) {
        let (key, pattern) = split_index(part)?;
        let re = regex_lite::Regex::new(pattern).map_err(|e| e.to_string())?;
        for attempt in 0..2 {
            items(node)?;
            let mut count = 0;
            if let Value::Array(list) = node {
                for item in list.iter_mut() {
                    if key.is_empty() {
                        // A scalar item matches by itself; the rest of the
                        // path is not walked (as in Kustomize).
                        if scalar::is_scalar(item) && re.is_match(scalar::text(item).trim()) {
                            f(item, false)?;
                            count += 1;
                        }
                    } else {
                        let matches = item
                            .as_object()
                            .and_then(|m| m.get(key))
                            .is_some_and(|v| !v.is_null() && re.is_match(display(v).trim()));
                        if matches {
                            count += walk(item, rest, create, false, f)?;
                        }
                    }
                }
            }
            if count > 0 || create.is_none() || attempt == 1 {
                return Ok(count);
            }
            let value = Value::String(pattern.to_owned());
            let item = if key.is_empty() {
                value
            } else {
                let mut m = Map::new();
                m.insert(key.to_owned(), value);
                Value::Object(m)
            };
            as_list(node).push(item);
        }
        return Ok(0);
    }
    if part == "*" {
        items(node)?;
        let mut count = 0;
        if let Value::Array(list) = node {
            for item in list.iter_mut() {
                count += walk(item, rest, create, false, f)?;
            }
        }
        return Ok(count);
    }
    let map = match node {
        Value::Object(m) => m,
        Value::Null if create.is_some() => {
            *node = Value::Object(Map::new());
            match node {
                Value::Object(m) => m,
                _ => return Ok(0),
            }
        }
        Value::Null => return Ok(0),
        other => return Err(wrong_kind("MappingNode", other)),
    };
    let mut made = false;
    if !map.contains_key(part.as_str()) {
        let Some(c) = create else {
            return Ok(0);
        };
        map.insert(part.clone(), kind_before(rest.first(), c).empty());
        made = true;
    }
    match map.get_mut(part.as_str()) {
        Some(field) => walk(field, rest, create, made && rest.is_empty(), f),
        None => Ok(0),
    }
}

/// The node as a list, turning `null` into an empty one.
fn as_list(node: &mut Value) -> &mut Vec<Value> {
    if !node.is_array() {
        *node = Value::Array(Vec::new());
    }
    match node {
        Value::Array(a) => a,
        _ => unreachable!("the node was just made a list"),
    }
}

/// A field's value as the YAML text Kustomize matches `[key=regex]`
/// against: a scalar's text, or the flow form of a map or list.
fn display(v: &Value) -> String {
    if scalar::is_scalar(v) {
        scalar::text(v)
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn splits_as_kustomize() {
        assert_eq!(
            split("spec.containers.[name=a.b].image"),
            s(&["spec", "containers", "[name=a.b]", "image"])
        );
        assert_eq!(
            split("metadata.annotations.[example.com/x]"),
            s(&["metadata", "annotations", "example.com/x"])
        );
        assert_eq!(split(r"data.a\.b"), s(&["data", "a.b"]));
    }

    #[test]
    fn looks_up_fields_items_and_indexes() {
        let obj = json!({"spec": {"c": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]}});
        let get = |p: &str| lookup(&obj, &split(p)).unwrap().cloned();
        assert_eq!(get("spec.c.[name=b].v"), Some(json!(2)));
        assert_eq!(get("spec.c.0.name"), Some(json!("a")));
        assert_eq!(get("spec.c.-.name"), Some(json!("b")));
        assert_eq!(get("spec.x"), None);
        assert!(lookup(&obj, &split("spec.c.*")).is_err());
    }

    #[test]
    fn visits_wildcards_and_creates() {
        let mut obj = json!({"c": [{"name": "a"}, {"name": "b"}]});
        let n = visit(
            &mut obj,
            &split("c.*.x"),
            Some(Create::Scalar),
            &mut |v, fresh| {
                assert!(fresh);
                *v = json!(1);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            obj,
            json!({"c": [{"name": "a", "x": 1}, {"name": "b", "x": 1}]})
        );
    }
}
