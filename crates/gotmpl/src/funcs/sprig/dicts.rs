//! Sprig's dictionary functions (`dict.go`, with `mergo` and `copystructure` semantics).

use std::collections::BTreeMap;

use super::{Map, Res, add, empty, s, strval};
use crate::error::FuncError;
use crate::funcs::Ty;
use crate::value::{MapRef, Value};

fn map_of(v: &Value) -> MapRef {
    match v {
        Value::Map(m) => m.clone(),
        _ => MapRef::new(BTreeMap::new()),
    }
}

pub(super) fn register(m: &mut Map) {
    use Ty::{Any, Map as Dict, String as Str};
    add(m, "dict", &[], Some(Any), |a| {
        let mut d = BTreeMap::new();
        let mut i = 0;
        while i < a.len() {
            let key = strval(&a[i]);
            let val = a.get(i + 1).cloned().unwrap_or_else(|| Value::from(""));
            d.insert(key, val);
            i += 2;
        }
        Ok(Value::map(d))
    });
    add(m, "get", &[Dict, Str], None, |a| {
        Ok(map_of(&a[0])
            .get(s(&a[1]))
            .unwrap_or_else(|| Value::from("")))
    });
    add(m, "set", &[Dict, Str, Any], None, |a| {
        let d = map_of(&a[0]);
        d.write().insert(s(&a[1]).to_string(), a[2].clone());
        Ok(Value::Map(d))
    });
    add(m, "unset", &[Dict, Str], None, |a| {
        let d = map_of(&a[0]);
        d.write().remove(s(&a[1]));
        Ok(Value::Map(d))
    });
    add(m, "hasKey", &[Dict, Str], None, |a| {
        Ok(Value::Bool(map_of(&a[0]).read().contains_key(s(&a[1]))))
    });
    add(m, "pluck", &[Str], Some(Dict), |a| {
        let key = s(&a[0]);
        Ok(Value::list(
            a[1..].iter().filter_map(|d| map_of(d).get(key)).collect(),
        ))
    });
    add(m, "keys", &[], Some(Dict), |a| {
        let mut k = Vec::new();
        for d in &a {
            k.extend(map_of(d).read().keys().cloned());
        }
        Ok(Value::string_list(k))
    });
    add(m, "values", &[Dict], None, |a| {
        Ok(Value::list(
            map_of(&a[0]).read().values().cloned().collect(),
        ))
    });
    add(m, "pick", &[Dict], Some(Str), |a| {
        let d = map_of(&a[0]);
        let src = d.read();
        let out: BTreeMap<String, Value> = a[1..]
            .iter()
            .filter_map(|k| src.get(s(k)).map(|v| (s(k).to_string(), v.clone())))
            .collect();
        Ok(Value::map(out))
    });
    add(m, "omit", &[Dict], Some(Str), |a| {
        let d = map_of(&a[0]);
        let omit: Vec<&str> = a[1..].iter().map(s).collect();
        let out: BTreeMap<String, Value> = d
            .read()
            .iter()
            .filter(|(k, _)| !omit.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Value::map(out))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        add(m, name, &[Dict], Some(Dict), move |a| {
            let dst = map_of(&a[0]);
            for src in &a[1..] {
                let src = map_of(src);
                if !src.ptr_eq(&dst) {
                    merge_into(&dst, &src, overwrite);
                }
            }
            Ok(Value::Map(dst))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        add(m, name, &[Any], None, |a| {
            if a[0].is_nil() {
                return Err(
                    "deepCopy error: reflect: call of reflect.Value.Type on zero Value".into(),
                );
            }
            Ok(deep_copy(&a[0]))
        });
    }
    add(m, "dig", &[], Some(Any), dig);
}

/// A copy sharing nothing mutable with the original.
pub(crate) fn deep_copy(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(MapRef::typed(
            m.read()
                .iter()
                .map(|(k, v)| (k.clone(), deep_copy(v)))
                .collect(),
            m.elem(),
        )),
        Value::List(l, e) => {
            Value::List(std::sync::Arc::new(l.iter().map(deep_copy).collect()), *e)
        }
        other => other.clone(),
    }
}

/// `mergo.Merge` (or `MergeWithOverwrite`) of two `map[string]interface{}`.
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool) {
    for (k, sv) in src.entries() {
        let dv = dst.get(&k);
        if sv.is_nil() {
            if overwrite {
                dst.write().insert(k, Value::Nil);
            }
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            if !sm.ptr_eq(dm) {
                merge_into(dm, sm, overwrite);
            }
            continue;
        }
        if let Some(d) = &dv
            && !empty(d)
            && matches!(sv, Value::List(..))
            && !overwrite
        {
            continue;
        }
        let set = overwrite || dv.as_ref().is_none_or(empty);
        if set {
            dst.write().insert(k, sv);
        }
    }
}

fn dig(a: Vec<Value>) -> Res {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let last = &a[a.len() - 1];
    let Value::Map(dict) = last else {
        return Err(FuncError::new(format!(
            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
            if last.is_nil() {
                "nil".to_string()
            } else {
                last.type_name()
            }
        )));
    };
    let def = a[a.len() - 2].clone();
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::String(s) => keys.push(s.to_string()),
            other => {
                return Err(FuncError::new(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    if other.is_nil() {
                        "nil".to_string()
                    } else {
                        other.type_name()
                    }
                )));
            }
        }
    }
    let mut cur = dict.clone();
    for (i, k) in keys.iter().enumerate() {
        let Some(step) = cur.get(k) else {
            return Ok(def);
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        match step {
            Value::Map(m) => cur = m,
            other => {
                return Err(FuncError::new(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    if other.is_nil() {
                        "nil".to_string()
                    } else {
                        other.type_name()
                    }
                )));
            }
        }
    }
    Ok(def)
}
