//! Sprig's list functions (`list.go`).

use std::sync::Arc;

use super::{Map, Res, add, deep_equal, empty, items, kind, n, to_int64};
use crate::error::FuncError;
use crate::funcs::Ty;
use crate::value::{Elem, Value};

fn list(v: Vec<Value>) -> Value {
    Value::List(Arc::new(v), Elem::Any)
}

pub(super) fn register(m: &mut Map) {
    use Ty::{Any, Int};
    for name in ["list", "tuple"] {
        add(m, name, &[], Some(Any), |a| Ok(list(a)));
    }
    for name in ["append", "push", "mustAppend", "mustPush"] {
        add(m, name, &[Any, Any], None, |a| {
            let mut v = items(&a[0], "push")?.to_vec();
            v.push(a[1].clone());
            Ok(list(v))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        add(m, name, &[Any, Any], None, |a| {
            let mut v = vec![a[1].clone()];
            v.extend(items(&a[0], "prepend")?.iter().cloned());
            Ok(list(v))
        });
    }
    for name in ["first", "mustFirst"] {
        add(m, name, &[Any], None, |a| {
            Ok(items(&a[0], "find first")?
                .first()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        add(m, name, &[Any], None, |a| {
            Ok(items(&a[0], "find last")?
                .last()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        add(m, name, &[Any], None, |a| {
            let v = items(&a[0], "find rest")?;
            if v.is_empty() {
                return Ok(Value::List(Arc::new(Vec::new()), Elem::Any));
            }
            Ok(list(v[1..].to_vec()))
        });
    }
    for name in ["initial", "mustInitial"] {
        add(m, name, &[Any], None, |a| {
            let v = items(&a[0], "find initial")?;
            if v.is_empty() {
                return Ok(list(Vec::new()));
            }
            Ok(list(v[..v.len() - 1].to_vec()))
        });
    }
    for name in ["reverse", "mustReverse"] {
        add(m, name, &[Any], None, |a| {
            let mut v = items(&a[0], "find reverse")?.to_vec();
            v.reverse();
            Ok(list(v))
        });
    }
    for name in ["compact", "mustCompact"] {
        add(m, name, &[Any], None, |a| {
            let v = items(&a[0], "compact")?;
            Ok(list(v.iter().filter(|x| !empty(x)).cloned().collect()))
        });
    }
    for name in ["uniq", "mustUniq"] {
        add(m, name, &[Any], None, |a| {
            let v = items(&a[0], "find uniq")?;
            let mut out: Vec<Value> = Vec::new();
            for x in v.iter() {
                if !out.iter().any(|o| deep_equal(o, x)) {
                    out.push(x.clone());
                }
            }
            Ok(list(out))
        });
    }
    for name in ["without", "mustWithout"] {
        add(m, name, &[Any], Some(Any), |a| {
            let v = items(&a[0], "find without")?;
            let omit = &a[1..];
            Ok(list(
                v.iter()
                    .filter(|x| !omit.iter().any(|o| deep_equal(o, x)))
                    .cloned()
                    .collect(),
            ))
        });
    }
    for name in ["has", "mustHas"] {
        add(m, name, &[Any, Any], None, |a| {
            if a[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            let v = items(&a[1], "find has")?;
            Ok(Value::Bool(v.iter().any(|x| deep_equal(&a[0], x))))
        });
    }
    for name in ["slice", "mustSlice"] {
        add(m, name, &[Any], Some(Any), slice);
    }
    add(m, "concat", &[], Some(Any), |a| {
        let mut out = Vec::new();
        for l in &a {
            match l {
                Value::List(v, _) => out.extend(v.iter().cloned()),
                other => {
                    return Err(FuncError::new(format!(
                        "Cannot concat type {} as list",
                        kind(other)?
                    )));
                }
            }
        }
        Ok(list(out))
    });
    for name in ["chunk", "mustChunk"] {
        add(m, name, &[Int, Any], None, |a| {
            let size = n(&a[0]);
            let v = items(&a[1], "chunk")?;
            if size <= 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            let chunks: Vec<Value> = v.chunks(size as usize).map(|c| list(c.to_vec())).collect();
            if chunks.is_empty() {
                return Ok(Value::List(Arc::new(vec![list(Vec::new())]), Elem::Any));
            }
            Ok(list(chunks))
        });
    }
}

fn slice(a: Vec<Value>) -> Res {
    let (v, elem) = match &a[0] {
        Value::List(v, e) => (v.clone(), *e),
        other => {
            return Err(FuncError::new(format!(
                "list should be type of slice or array but {}",
                kind(other)?
            )));
        }
    };
    if v.is_empty() {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map(to_int64).unwrap_or(0);
    let end = a.get(2).map(to_int64).unwrap_or(v.len() as i64);
    if start < 0 || end < start || end > v.len() as i64 {
        return Err("reflect.Value.Slice: slice index out of bounds".into());
    }
    Ok(Value::List(
        Arc::new(v[start as usize..end as usize].to_vec()),
        elem,
    ))
}
