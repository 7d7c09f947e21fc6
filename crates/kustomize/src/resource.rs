//! Objects as a build holds them, with their identity and history.

use serde_json::{Map, Value};

use crate::Error;

/// One object of a build.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// The object.
    pub obj: Map<String, Value>,
    /// Names it had before prefixes, suffixes and hashes, oldest first,
    /// with the namespace it had then.
    pub previous: Vec<(String, String)>,
    /// Made by a generator: merge behaviour and whether it gets a hash suffix.
    pub generated: Option<Generated>,
    /// Prefixes and suffixes applied by the kustomizations it went through,
    /// innermost first: name-reference fixing prefers referents that went
    /// through the same ones.
    pub affixes: Vec<(String, String)>,
    /// Names of the `vars` that read this object.
    pub ref_vars: Vec<String>,
}

/// What a generator says about its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Generated {
    /// `create`, `merge` or `replace`.
    pub behavior: String,
    /// Whether a content hash is appended to the name.
    pub hash: bool,
}

/// An object's identity: group, version, kind, name, namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ResId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl std::fmt::Display for ResId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Kustomize's spelling: [noGrp/]Version.Kind/name.[namespace]
        let group = if self.group.is_empty() {
            "noGrp"
        } else {
            &self.group
        };
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(
            f,
            "{}_{}_{}|{}|{}",
            group, self.version, self.kind, ns, self.name
        )
    }
}

/// Splits `apiVersion` at its first `/` into group and version, as
/// Kustomize does: `apps/v1` is (`apps`, `v1`), `v1` is (``, `v1`).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

impl Resource {
    pub fn new(obj: Map<String, Value>) -> Resource {
        Resource {
            obj,
            previous: Vec::new(),
            generated: None,
            affixes: Vec::new(),
            ref_vars: Vec::new(),
        }
    }

    pub fn str_at(&self, path: &[&str]) -> &str {
        str_in(&self.obj, path)
    }

    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"])
    }

    pub fn kind(&self) -> &str {
        self.str_at(&["kind"])
    }

    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"])
    }

    pub fn namespace(&self) -> &str {
        self.str_at(&["metadata", "namespace"])
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        ensure_map(self.obj.entry("metadata").or_insert(Value::Null))
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_owned()));
    }

    pub fn set_namespace(&mut self, ns: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_owned()));
    }

    /// Labels or annotations as a map (empty when absent).
    pub fn string_map(&self, field: &str) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub fn id(&self) -> ResId {
        let (g, v) = split_api_version(self.api_version());
        ResId {
            group: g.to_owned(),
            version: v.to_owned(),
            kind: self.kind().to_owned(),
            name: self.name().to_owned(),
            namespace: self.namespace().to_owned(),
        }
    }

    /// The name it had first, before any prefix, suffix or hash.
    pub fn original_name(&self) -> &str {
        self.previous
            .first()
            .map(|(n, _)| n.as_str())
            .unwrap_or_else(|| self.name())
    }

    /// The namespace it had first.
    pub fn original_namespace(&self) -> &str {
        self.previous
            .first()
            .map(|(_, n)| n.as_str())
            .unwrap_or_else(|| self.namespace())
    }

    /// Records the current name before it changes.
    pub fn remember_name(&mut self) {
        let now = (self.name().to_owned(), self.namespace().to_owned());
        self.previous.push(now);
    }

    /// Every name it has had, including the current one.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        self.previous
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(std::iter::once(self.name()))
    }
}

/// The string at `path` in an object, `""` when absent or not a string.
pub(crate) fn str_in<'a>(obj: &'a Map<String, Value>, path: &[&str]) -> &'a str {
    let Some((first, rest)) = path.split_first() else {
        return "";
    };
    rest.iter()
        .try_fold(obj.get(*first), |v, p| Some(v?.get(*p)))
        .flatten()
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The namespace Kustomize compares: `""` counts as `default`.
pub(crate) fn effective_namespace(ns: &str) -> &str {
    if ns.is_empty() { "default" } else { ns }
}

/// The value as a map, replacing it with an empty map when it is not one.
pub(crate) fn ensure_map(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("the value was just made a map"),
    }
}

/// Parses a YAML (or JSON) stream of objects; `kind: List` objects give
/// their items. Empty documents are skipped.
pub(crate) fn parse_objects(file: &str, bytes: &[u8]) -> Result<Vec<Map<String, Value>>, Error> {
    let bad = |cause: String| Error::Resource {
        file: file.to_owned(),
        cause,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8: {e}")))?;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v: Value =
            serde::Deserialize::deserialize(doc).map_err(|e| bad(format!("invalid YAML: {e}")))?;
        push_object(file, v, &mut out)?;
    }
    Ok(out)
}

fn push_object(file: &str, v: Value, out: &mut Vec<Map<String, Value>>) -> Result<(), Error> {
    let bad = |cause: String| Error::Resource {
        file: file.to_owned(),
        cause,
    };
    match v {
        Value::Null => Ok(()),
        Value::Object(map) if map.is_empty() => Ok(()),
        Value::Object(map) => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("List") && map.get("items").is_some_and(Value::is_array) {
                if let Some(Value::Array(items)) = map.get("items") {
                    for item in items.clone() {
                        push_object(file, item, out)?;
                    }
                }
                return Ok(());
            }
            if kind.is_empty() {
                return Err(bad("missing kind in object".into()));
            }
            out.push(map);
            Ok(())
        }
        other => Err(bad(format!(
            "expected a Kubernetes object, found {}",
            match other {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                _ => "a scalar",
            }
        ))),
    }
}
