//! The Sprig v3.3 function library as Helm v4 registers it (`env` and
//! `expandenv` removed). Randomness is deterministic: a seeded generator
//! replaces `crypto/rand`, so a render is reproducible for a given seed.

mod crypto;
mod date;
mod defaults;
mod dicts;
mod encoding;
mod lists;
mod math;
mod paths;
mod random;
mod reflect;
mod regex;
mod semver;
mod strings;

use std::collections::HashMap;
use std::sync::Arc;

use super::{Function, Ty};
use crate::error::FuncError;
use crate::value::Value;

pub use self::date::Time;
pub use self::semver::Version;

type Res = Result<Value, FuncError>;
type Map = HashMap<String, Function>;

/// What the host decides for Sprig's non-deterministic functions.
#[derive(Clone, Debug, Default)]
pub struct SprigOptions {
    /// Seed of the generator behind `randAlphaNum`, `randInt`, `uuidv4`,
    /// `shuffle`... (Sprig uses `crypto/rand`; a seed keeps renders reproducible).
    pub seed: u64,
    /// What `now` returns, in Unix seconds (UTC).
    pub now_unix: i64,
}

/// Registers every Sprig function Helm exposes, with the given options.
pub fn register_with(m: &mut Map, opts: &SprigOptions) {
    strings::register(m);
    math::register(m);
    lists::register(m);
    dicts::register(m);
    defaults::register(m);
    encoding::register(m);
    reflect::register(m);
    regex::register(m);
    paths::register(m);
    semver::register(m);
    date::register(m, opts.now_unix);
    random::register(m, opts.seed);
    crypto::register(m);
}

/// Adds a context-free function.
fn add(
    m: &mut Map,
    name: &str,
    params: &[Ty],
    variadic: Option<Ty>,
    f: impl Fn(Vec<Value>) -> Res + Send + Sync + 'static,
) {
    m.insert(name.to_string(), Function::pure(params, variadic, f));
}

/// The string argument (type-checked by the executor).
fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The `int` argument (type-checked by the executor).
fn n(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

/// Sprig's `strval`: strings as they are, everything else as `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Object(o) => o.display(),
        _ => crate::fmt::sprint(std::slice::from_ref(v)),
    }
}

/// `cast.ToInt64`.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => {
            // Go's float-to-int conversion on amd64: out of range is MinInt64.
            if f.is_nan() || *f >= i64::MAX as f64 || *f < i64::MIN as f64 {
                i64::MIN
            } else {
                *f as i64
            }
        }
        Value::Bool(b) => *b as i64,
        Value::String(s) => {
            let t = trim_zero_decimal(s);
            crate::parse::parse_go_int(t)
                .filter(|v| *v >= i64::MIN as i128 && *v <= i64::MAX as i128)
                .map(|v| v as i64)
                .unwrap_or(0)
        }
        _ => 0,
    }
}

fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    let mut i = b.len();
    while i > 0 {
        match b[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
                return s;
            }
            b'0' => found_zero = true,
            _ => return s,
        }
        i -= 1;
    }
    s
}

/// `cast.ToFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::String(s) => crate::parse::parse_go_float(s)
            .or_else(
                || match s.to_ascii_lowercase().trim_start_matches(['+', '-']) {
                    "inf" | "infinity" => Some(if s.starts_with('-') {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    }),
                    "nan" => Some(f64::NAN),
                    _ => None,
                },
            )
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`: the zero value of its type.
pub(crate) fn empty(v: &Value) -> bool {
    match v {
        Value::Missing | Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l, _) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Object(o) => o.as_value().is_some_and(|v| empty(&v)),
        Value::Func(_) => false,
    }
}

/// `reflect.DeepEqual`.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Missing | Value::Nil, Value::Missing | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x, ex), Value::List(y, ey)) => {
            ex == ey && x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| deep_equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            if x.ptr_eq(y) {
                return true;
            }
            let (xa, ya) = (x.entries(), y.entries());
            x.elem() == y.elem()
                && xa.len() == ya.len()
                && xa
                    .iter()
                    .zip(ya.iter())
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && deep_equal(v1, v2))
        }
        (Value::Object(x), Value::Object(y)) => {
            Arc::ptr_eq(x, y) || (x.type_name() == y.type_name() && x.display() == y.display())
        }
        _ => false,
    }
}

/// The reflect kind name Sprig's errors print (`Cannot find first on type string`).
fn kind(v: &Value) -> Result<&'static str, FuncError> {
    match v {
        Value::Missing | Value::Nil => Err(nil_panic()),
        v => Ok(v.kind_name()),
    }
}

/// The message Go's runtime gives for calling a method on a nil `reflect.Type`.
fn nil_panic() -> FuncError {
    FuncError::new("runtime error: invalid memory address or nil pointer dereference")
}

/// The items of a slice argument, or Sprig's "Cannot VERB on type KIND".
fn items(v: &Value, verb: &str) -> Result<Arc<Vec<Value>>, FuncError> {
    match v {
        Value::List(l, _) => Ok(l.clone()),
        Value::Object(o) => match o.as_value() {
            Some(Value::List(l, _)) => Ok(l),
            _ => Err(FuncError::new(format!(
                "Cannot {verb} on type {}",
                kind(v)?
            ))),
        },
        _ => Err(FuncError::new(format!(
            "Cannot {verb} on type {}",
            kind(v)?
        ))),
    }
}
