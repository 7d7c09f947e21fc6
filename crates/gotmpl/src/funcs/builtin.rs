//! Go's builtin template functions (`text/template/funcs.go`).

use std::collections::HashMap;

use super::{Function, Special, Ty};
use crate::error::FuncError;
use crate::fmt::{sprint, sprintf, sprintln};
use crate::value::Value;

type Res = Result<Value, FuncError>;

/// Registers the builtins into `m`.
pub(crate) fn register(m: &mut HashMap<String, Function>) {
    let mut add = |name: &str, f: Function| {
        m.insert(name.to_string(), f);
    };
    add(
        "and",
        Function::pure(&[Ty::Value], Some(Ty::Value), |a| {
            Ok(a.into_iter().next().unwrap_or_default())
        })
        .special(Special::And),
    );
    add(
        "or",
        Function::pure(&[Ty::Value], Some(Ty::Value), |a| {
            Ok(a.into_iter().next().unwrap_or_default())
        })
        .special(Special::Or),
    );
    add(
        "not",
        Function::pure(&[Ty::Value], None, |a| Ok(Value::Bool(!a[0].truthy()))),
    );
    add("len", Function::pure(&[Ty::Value], None, |a| length(&a[0])));
    add(
        "index",
        Function::pure(&[Ty::Value], Some(Ty::Value), index),
    );
    add(
        "slice",
        Function::pure(&[Ty::Value], Some(Ty::Value), slice),
    );
    add(
        "print",
        Function::pure(&[], Some(Ty::Any), |a| Ok(Value::from(sprint(&a)))),
    );
    add(
        "println",
        Function::pure(&[], Some(Ty::Any), |a| Ok(Value::from(sprintln(&a)))),
    );
    add(
        "printf",
        Function::pure(&[Ty::String], Some(Ty::Any), |a| {
            let f = a[0].as_str().unwrap_or_default().to_string();
            Ok(Value::from(sprintf(&f, &a[1..])))
        }),
    );
    add(
        "eq",
        Function::pure(&[Ty::Value], Some(Ty::Value), |a| {
            if a.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            for b in &a[1..] {
                if eq(&a[0], b)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }),
    );
    add(
        "ne",
        Function::pure(&[Ty::Value, Ty::Value], None, |a| {
            Ok(Value::Bool(!eq(&a[0], &a[1])?))
        }),
    );
    add(
        "lt",
        Function::pure(&[Ty::Value, Ty::Value], None, |a| {
            Ok(Value::Bool(lt(&a[0], &a[1])?))
        }),
    );
    add(
        "le",
        Function::pure(&[Ty::Value, Ty::Value], None, |a| {
            Ok(Value::Bool(le(&a[0], &a[1])?))
        }),
    );
    add(
        "gt",
        Function::pure(&[Ty::Value, Ty::Value], None, |a| {
            Ok(Value::Bool(!le(&a[0], &a[1])?))
        }),
    );
    add(
        "ge",
        Function::pure(&[Ty::Value, Ty::Value], None, |a| {
            Ok(Value::Bool(!lt(&a[0], &a[1])?))
        }),
    );
    add(
        "html",
        Function::pure(&[], Some(Ty::Any), |a| {
            Ok(Value::from(html_escape(&eval_args(&a))))
        }),
    );
    add(
        "js",
        Function::pure(&[], Some(Ty::Any), |a| {
            Ok(Value::from(js_escape(&eval_args(&a))))
        }),
    );
    add(
        "urlquery",
        Function::pure(&[], Some(Ty::Any), |a| {
            Ok(Value::from(query_escape(&eval_args(&a))))
        }),
    );
    add(
        "call",
        Function::new(&[Ty::Value], Some(Ty::Value), |ctx, a| {
            let mut it = a.into_iter();
            let callee = crate::fmt::to_string(&it.next().unwrap_or_default());
            match it.next().unwrap_or_default() {
                Value::Func(f) => {
                    let args: Vec<Value> = it.map(Value::or_nil).collect();
                    f.call(ctx, args)
                }
                Value::Missing | Value::Nil => Err("call of nil".into()),
                v => Err(format!("non-function {callee} of type {}", v.type_name()).into()),
            }
        })
        .special(Special::Call),
    );
}

fn eval_args(a: &[Value]) -> String {
    if let [Value::String(s)] = a {
        return s.to_string();
    }
    sprint(a)
}

fn length(v: &Value) -> Res {
    match v {
        Value::Nil => Err("len of nil pointer".into()),
        Value::Missing => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::String(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(l, _) => Ok(Value::Int(l.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.len() as i64)),
        Value::Object(o) => match o.as_value() {
            Some(inner) => length(&inner),
            None => Err(format!("len of type {}", v.type_name()).into()),
        },
        _ => Err(format!("len of type {}", v.type_name()).into()),
    }
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, FuncError> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Missing | Value::Nil => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!("cannot index slice/array with type {}", v.type_name()).into());
        }
    };
    if x < 0 || x as usize > cap {
        return Err(format!("index out of range: {x}").into());
    }
    Ok(x as usize)
}

fn unwrap_object(v: Value) -> Value {
    match v {
        Value::Object(o) => o.as_value().unwrap_or(Value::Object(o)),
        v => v,
    }
}

fn index(a: Vec<Value>) -> Res {
    let mut it = a.into_iter();
    let mut item = unwrap_object(it.next().unwrap_or_default());
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    for idx in it {
        item = match &item {
            Value::Nil | Value::Missing => return Err("index of nil pointer".into()),
            Value::List(l, _) => {
                let x = index_arg(&idx, l.len())?;
                if x == l.len() {
                    return Err(format!("index out of range: {x}").into());
                }
                l[x].clone()
            }
            Value::String(s) => {
                let x = index_arg(&idx, s.len())?;
                if x == s.len() {
                    return Err(format!("index out of range: {x}").into());
                }
                Value::Int(s.as_bytes()[x] as i64)
            }
            Value::Map(m) => {
                let key = match &idx {
                    Value::String(k) => k.clone(),
                    Value::Missing | Value::Nil => {
                        return Err("value is nil; should be of type string".into());
                    }
                    v => {
                        return Err(
                            format!("value has type {}; should be string", v.type_name()).into(),
                        );
                    }
                };
                m.get(&key).unwrap_or_else(|| m.elem().zero())
            }
            v => return Err(format!("can't index item of type {}", v.type_name()).into()),
        };
        item = unwrap_object(item);
    }
    Ok(item)
}

fn slice(a: Vec<Value>) -> Res {
    let item = unwrap_object(a[0].clone());
    let indexes = &a[1..];
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()).into());
    }
    let len = match &item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l, _) => l.len(),
        v => return Err(format!("can't slice item of type {}", v.type_name()).into()),
    };
    let mut idx = [0, len, len];
    for (i, x) in indexes.iter().enumerate() {
        idx[i] = index_arg(x, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]).into());
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]).into());
    }
    Ok(match &item {
        Value::String(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Value::from(sub),
            None => {
                Value::from(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
            }
        },
        Value::List(l, e) => Value::List(std::sync::Arc::new(l[idx[0]..idx[1]].to_vec()), *e),
        _ => Value::Missing,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn is_valid(v: &Value) -> bool {
    !v.is_nil()
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn float_of(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// Go's builtin `eq` for one pair.
pub(crate) fn eq(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let a = &unwrap_object(a.clone());
    let b = &unwrap_object(b.clone());
    let k1 = basic_kind(a);
    let k2 = basic_kind(b);
    if k1 != k2 {
        if is_valid(a) && is_valid(b) {
            return Err(format!(
                "incompatible types for comparison: {} and {}",
                a.type_name(),
                b.type_name()
            )
            .into());
        }
        return Ok(false);
    }
    Ok(match k1 {
        Kind::Bool => a.truthy() == b.truthy(),
        Kind::Int => int_of(a) == int_of(b),
        Kind::Float => float_of(a) == float_of(b),
        Kind::String => a.as_str() == b.as_str(),
        Kind::Invalid => {
            let same_kind = a.kind_name() == b.kind_name();
            if !same_kind && is_valid(a) && is_valid(b) {
                return Err(format!(
                    "non-comparable types {}: {}, {}: {}",
                    sprint(std::slice::from_ref(a)),
                    a.type_name(),
                    b.type_name(),
                    sprint(std::slice::from_ref(b))
                )
                .into());
            }
            if !is_valid(a) || !is_valid(b) {
                !is_valid(a) && !is_valid(b)
            } else {
                match (a, b) {
                    (Value::List(..) | Value::Map(_), _) => {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            sprint(std::slice::from_ref(b)),
                            b.type_name()
                        )
                        .into());
                    }
                    (Value::Object(x), Value::Object(y)) => std::sync::Arc::ptr_eq(x, y),
                    _ => false,
                }
            }
        }
    })
}

/// Go's builtin `lt`.
pub(crate) fn lt(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let a = &unwrap_object(a.clone());
    let b = &unwrap_object(b.clone());
    let k1 = basic_kind(a);
    if k1 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    let k2 = basic_kind(b);
    if k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        )
        .into());
    }
    Ok(match k1 {
        Kind::Bool | Kind::Invalid => return Err("invalid type for comparison".into()),
        Kind::Int => int_of(a) < int_of(b),
        Kind::Float => float_of(a) < float_of(b),
        Kind::String => a.as_str() < b.as_str(),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, FuncError> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, b)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if crate::fmt::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
