//! The dynamic value model: what Go's `interface{}` holds in a Helm render.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::funcs::Function;

/// A value as templates see it.
///
/// Numbers keep their Go type because `%T`, `typeOf` and the argument checks
/// of typed functions depend on it (`len` returns `int`, Sprig's `add`
/// returns `int64`, JSON numbers are `float64`).
#[derive(Clone, Default)]
pub enum Value {
    /// Go's invalid `reflect.Value`: no value at all (a missing map key with
    /// `missingkey=default`, the result of a pipeline that produced nil).
    /// Printed as `<no value>`; functions receive it as [`Value::Nil`].
    #[default]
    Missing,
    /// A nil `interface{}` (JSON `null`, a missing key with `missingkey=zero`).
    Nil,
    /// A Go `bool`.
    Bool(bool),
    /// A Go `int`.
    Int(i64),
    /// A Go `int64`.
    Int64(i64),
    /// A Go `float64`.
    Float(f64),
    /// A Go `string`.
    String(Arc<str>),
    /// A Go slice; the element type only matters for `%T` and typed parameters.
    List(Arc<Vec<Value>>, Elem),
    /// A Go `map[string]T`, shared by reference like a Go map (`set` mutates it).
    Map(MapRef),
    /// A host object with fields and methods (Helm's `.Files`, `*semver.Version`...).
    Object(Arc<dyn Object>),
    /// A function value (only produced by host objects; used with `call`).
    Func(Function),
}

/// The element type of a [`Value::List`] or [`Value::Map`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// `interface {}`
    Any,
    /// `string`
    String,
    /// `int`
    Int,
    /// `int64`
    Int64,
    /// `float64`
    Float64,
    /// `bool`
    Bool,
}

impl Elem {
    /// The Go spelling of the element type.
    pub fn go_name(self) -> &'static str {
        match self {
            Elem::Any => "interface {}",
            Elem::String => "string",
            Elem::Int => "int",
            Elem::Int64 => "int64",
            Elem::Float64 => "float64",
            Elem::Bool => "bool",
        }
    }

    /// The zero value of the element type.
    pub fn zero(self) -> Value {
        match self {
            Elem::Any => Value::Nil,
            Elem::String => Value::from(""),
            Elem::Int => Value::Int(0),
            Elem::Int64 => Value::Int64(0),
            Elem::Float64 => Value::Float(0.0),
            Elem::Bool => Value::Bool(false),
        }
    }
}

/// A map shared by reference, as Go maps are: `set`, `unset` and `merge`
/// change it in place and every holder sees the change.
#[derive(Clone)]
pub struct MapRef {
    inner: Arc<RwLock<BTreeMap<String, Value>>>,
    elem: Elem,
}

impl MapRef {
    /// A new map with `interface {}` elements.
    pub fn new(map: BTreeMap<String, Value>) -> Self {
        Self::typed(map, Elem::Any)
    }

    /// A new map with the given element type.
    pub fn typed(map: BTreeMap<String, Value>, elem: Elem) -> Self {
        MapRef {
            inner: Arc::new(RwLock::new(map)),
            elem,
        }
    }

    /// The element type.
    pub fn elem(&self) -> Elem {
        self.elem
    }

    /// Read access to the entries.
    pub fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Value>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the entries.
    pub fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Value>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The value under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.read().get(key).cloned()
    }

    /// Whether both handles refer to the same map.
    pub fn ptr_eq(&self, other: &MapRef) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A copy of the entries, sorted by key.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

/// A host value with Go-like fields and methods, e.g. Helm's `.Files` or
/// `.Capabilities`, or Sprig's `*semver.Version` and `time.Time`.
pub trait Object: Send + Sync {
    /// The Go type name printed by `%T` and `typeOf` (e.g. `*semver.Version`).
    fn type_name(&self) -> String;
    /// The Go kind printed by `kindOf` (`struct`, `ptr`, `map`...).
    fn kind(&self) -> &'static str {
        "struct"
    }
    /// A method by name (called with the action's arguments), if there is one.
    fn method(&self, _name: &str) -> Option<Function> {
        None
    }
    /// A field (or map entry) by name, if there is one.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// The text `%v` and `{{ . }}` print (Go's `String()` method or struct syntax).
    fn display(&self) -> String;
    /// The value behind it, for functions that look through host objects
    /// (e.g. a map-typed object); `None` for opaque objects.
    fn as_value(&self) -> Option<Value> {
        None
    }
    /// Access to the concrete type, for functions that know it.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl Value {
    /// A Go string.
    pub fn str(s: impl Into<Arc<str>>) -> Value {
        Value::String(s.into())
    }

    /// A `[]interface {}`.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items), Elem::Any)
    }

    /// A `[]string`.
    pub fn string_list(items: Vec<String>) -> Value {
        Value::List(
            Arc::new(items.into_iter().map(Value::from).collect()),
            Elem::String,
        )
    }

    /// A `map[string]interface {}`.
    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(MapRef::new(entries))
    }

    /// An empty `map[string]interface {}`.
    pub fn empty_map() -> Value {
        Value::map(BTreeMap::new())
    }

    /// Converts JSON into values as Go's `encoding/json` does into `interface{}`:
    /// every number becomes a `float64`.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON as Go's `encoding/json` would marshal the value
    /// (objects use their `as_value`, or their printed form).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Missing | Value::Nil | Value::Func(_) => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
            Value::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    serde_json::Value::from(*f as i64)
                } else {
                    serde_json::Number::from_f64(*f)
                        .map(serde_json::Value::Number)
                        .unwrap_or(serde_json::Value::Null)
                }
            }
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::List(items, _) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(m) => serde_json::Value::Object(
                m.read()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Object(o) => match o.as_value() {
                Some(v) => v.to_json(),
                None => serde_json::Value::String(o.display()),
            },
        }
    }

    /// Go's `%T` spelling of the dynamic type.
    pub fn type_name(&self) -> String {
        match self {
            Value::Missing | Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::List(_, e) => format!("[]{}", e.go_name()),
            Value::Map(m) => format!("map[string]{}", m.elem().go_name()),
            Value::Object(o) => o.type_name(),
            Value::Func(_) => "func".into(),
        }
    }

    /// Go's `reflect.Kind` name (`kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(..) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind(),
            Value::Func(_) => "func",
        }
    }

    /// Go's truth (`if`, `and`, `or`, `not`): false for the zero value of its type.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l, _) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => match o.as_value() {
                Some(v) => v.truthy(),
                None => true,
            },
            Value::Func(_) => true,
        }
    }

    /// Whether this is `Missing` or `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Missing | Value::Nil)
    }

    /// The string, if this is a Go string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// `Missing` becomes `Nil` (how a function parameter sees no value).
    pub fn or_nil(self) -> Value {
        match self {
            Value::Missing => Value::Nil,
            v => v,
        }
    }

    /// `Nil` becomes `Missing` (Go's "dig down one level" after each command).
    pub fn collapse_nil(self) -> Value {
        match self {
            Value::Nil => Value::Missing,
            v => v,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({})",
            self.type_name(),
            crate::fmt::sprint(std::slice::from_ref(self))
        )
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        Value::from_json(v)
    }
}
