//! JSON patches (RFC 6902) with JSON pointers (RFC 6901).

use serde_json::Value;

/// Applies a list of operations to `doc`; on error `doc` may be partly
/// changed (the caller works on a copy).
pub(crate) fn apply(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON 6902 patch must be a list of operations")?;
    for (i, op) in ops.iter().enumerate() {
        apply_one(doc, op).map_err(|e| format!("operation {}: {e}", i + 1))?;
    }
    Ok(())
}

fn field<'a>(op: &'a Value, name: &str) -> Result<&'a Value, String> {
    op.get(name)
        .ok_or_else(|| format!("missing '{name}' in {op}"))
}

fn str_field<'a>(op: &'a Value, name: &str) -> Result<&'a str, String> {
    field(op, name)?
        .as_str()
        .ok_or_else(|| format!("'{name}' must be a string"))
}

fn apply_one(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = str_field(op, "op")?;
    let path = str_field(op, "path")?;
    match kind {
        "add" => add(doc, path, field(op, "value")?.clone()),
        "remove" => remove(doc, path).map(drop),
        "replace" => {
            let target = pointer_mut(doc, path)?.ok_or_else(|| {
                format!("replace operation does not apply: doc is missing path: {path}")
            })?;
            *target = field(op, "value")?.clone();
            Ok(())
        }
        "move" => {
            let from = str_field(op, "from")?;
            let v = remove(doc, from)?;
            add(doc, path, v)
        }
        "copy" => {
            let from = str_field(op, "from")?;
            let v = pointer_mut(doc, from)?
                .ok_or_else(|| {
                    format!("copy operation does not apply: doc is missing from path: {from}")
                })?
                .clone();
            add(doc, path, v)
        }
        "test" => {
            let v = pointer_mut(doc, path)?.ok_or_else(|| {
                format!("test operation does not apply: doc is missing path: {path}")
            })?;
            if v == field(op, "value")? {
                Ok(())
            } else {
                Err(format!("testing value {path} failed"))
            }
        }
        other => Err(format!("unexpected kind of operation: {other}")),
    }
}

fn tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("JSON pointer '{path}' must start with '/'"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn pointer_mut<'a>(doc: &'a mut Value, path: &str) -> Result<Option<&'a mut Value>, String> {
    let mut cur = doc;
    for t in tokens(path)? {
        cur = match cur {
            Value::Object(m) => match m.get_mut(&t) {
                Some(v) => v,
                None => return Ok(None),
            },
            Value::Array(a) => match t.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
    }
    Ok(Some(cur))
}

fn split_last(path: &str) -> Result<(String, String), String> {
    let toks = tokens(path)?;
    let Some((last, _)) = toks.split_last() else {
        return Err("the root cannot be added or removed".into());
    };
    let parent = &path[..path.rfind('/').unwrap_or(0)];
    Ok((parent.to_owned(), last.clone()))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_last(path)?;
    let target = pointer_mut(doc, &parent)?
        .ok_or_else(|| format!("add operation does not apply: doc is missing path: \"{path}\""))?;
    match target {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid array index '{last}' in {path}"))?;
            if i > a.len() {
                return Err(format!(
                    "add operation does not apply: index {i} out of bounds in {path}"
                ));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!(
            "add operation does not apply: doc is missing path: \"{path}\""
        )),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_last(path)?;
    let missing = || format!("remove operation does not apply: doc is missing path: \"{path}\"");
    let target = pointer_mut(doc, &parent)?.ok_or_else(missing)?;
    match target {
        Value::Object(m) => m.shift_remove(&last).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i >= a.len() {
                return Err(missing());
            }
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_every_operation() {
        let mut d = json!({"spec": {"replicas": 1, "list": ["a", "b"], "a~b/c": 1}});
        apply(
            &mut d,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "add", "path": "/spec/list/-", "value": "c"},
                {"op": "add", "path": "/spec/list/0", "value": "z"},
                {"op": "remove", "path": "/spec/list/1"},
                {"op": "copy", "from": "/spec/replicas", "path": "/spec/copied"},
                {"op": "move", "from": "/spec/a~0b~1c", "path": "/spec/moved"},
                {"op": "test", "path": "/spec/moved", "value": 1}
            ]),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"spec": {"replicas": 3, "list": ["z", "b", "c"], "copied": 3, "moved": 1}})
        );
        assert!(apply(&mut d, &json!([{"op": "remove", "path": "/nope"}])).is_err());
    }
}
