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
    /// The namespace it had before the first namespace transformer, once
    /// one ran.
    pub first_namespace: Option<String>,
    /// Map entries that are one shared YAML node in Kustomize (a label or
    /// annotation its transformer created in several places of the object
    /// at once): setting the entry in one place sets it in all.
    pub aliases: Vec<Alias>,
}

/// A label or annotation entry Kustomize shares between several maps of
/// one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Alias {
    /// The entry's key.
    pub key: String,
    /// Its current value.
    pub value: String,
    /// The field paths of the maps that hold it.
    pub paths: Vec<String>,
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
            first_namespace: None,
            aliases: Vec::new(),
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
        if self.first_namespace.is_none() {
            self.first_namespace = Some(self.namespace().to_owned());
        }
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

    /// The namespace it was read with, before any namespace transformer.
    pub fn source_namespace(&self) -> &str {
        self.first_namespace
            .as_deref()
            .unwrap_or_else(|| self.original_namespace())
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
    // go-yaml reads YAML 1.1 only: another `%YAML` version is refused.
    if let Some(line) = text
        .lines()
        .find(|l| l.starts_with("%YAML") && l.split_whitespace().nth(1) != Some("1.1"))
    {
        return Err(bad(format!(
            "MalformedYAMLError: yaml: found incompatible YAML document ('{}')",
            line.trim_end()
        )));
    }
    // JSON has no infinity or NaN: Kustomize fails to encode them.
    let lower = text.to_ascii_lowercase();
    if lower.contains(".inf") || lower.contains(".nan") {
        for doc in serde_yaml::Deserializer::from_str(text) {
            if let Ok(v) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc)
                && has_non_finite(&v)
            {
                return Err(bad(
                    "json: unsupported value: a float that is infinite or NaN".into(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let mut v: Value =
            serde::Deserialize::deserialize(doc).map_err(|e| bad(format!("invalid YAML: {e}")))?;
        go_octals(text, &mut v, None);
        push_object(file, v, &mut out)?;
    }
    Ok(out)
}

/// go-yaml v3 reads a plain `0400` as the octal integer 256 and a plain
/// `2024-06-01` as a timestamp (and `1_000` as 1000), serde_yaml as strings: strings that look
/// so are converted when the text writes them unquoted (as a mapping value
/// or a list item).
fn go_octals(text: &str, v: &mut Value, key: Option<&str>) {
    match v {
        Value::String(s) if go_int(s).is_some() && unquoted_in(text, key, s) => {
            if let Some(n) = go_int(s) {
                *v = Value::Number(n.into());
            }
        }
        Value::String(s) if unquoted_date(s).is_some() && unquoted_in(text, key, s) => {
            if let Some(t) = unquoted_date(s) {
                *v = Value::String(t);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| go_octals(text, i, None)),
        Value::Object(m) => m.iter_mut().for_each(|(k, i)| go_octals(text, i, Some(k))),
        _ => {}
    }
}

/// An integer go-yaml v3 reads where serde_yaml keeps a string: a legacy
/// octal (`0755`) or digits with underscores (`1_000`).
fn go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if !body.starts_with(|c: char| c.is_ascii_digit())
        || !body.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let digits = body.replace('_', "");
    let n = if crate::kustomization::is_go_octal(body) {
        i64::from_str_radix(&digits, 8).ok()?
    } else if body.contains('_') && !body.starts_with('0') {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -n } else { n })
}

/// A plain `2024-06-01` (go-yaml v3 reads a timestamp, JSON writes it
/// `2024-06-01T00:00:00Z`): that text, else `None`.
fn unquoted_date(s: &str) -> Option<String> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |x: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some() || !digits(y, 4..=4) || !digits(m, 1..=2) || !digits(d, 1..=2) {
        return None;
    }
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| format!("{y}-{m:02}-{d:02}T00:00:00Z"))
}

/// Whether `s` appears unquoted in `text` as the value of `key` (or as a
/// list item when there is no key).
fn unquoted_in(text: &str, key: Option<&str>, s: &str) -> bool {
    let want = match key {
        Some(k) => format!("{k}: {s}"),
        None => format!("- {s}"),
    };
    text.lines().any(|l| {
        let l = l.split(" #").next().unwrap_or(l).trim();
        let l = l.strip_prefix("- ").unwrap_or(l);
        l == want || (key.is_none() && format!("- {l}") == want)
    })
}

/// True when a YAML value holds an infinite or NaN float.
fn has_non_finite(v: &serde_yaml::Value) -> bool {
    match v {
        serde_yaml::Value::Number(n) => n.as_f64().is_some_and(|f| !f.is_finite()),
        serde_yaml::Value::Sequence(items) => items.iter().any(has_non_finite),
        serde_yaml::Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| has_non_finite(k) || has_non_finite(v)),
        serde_yaml::Value::Tagged(t) => has_non_finite(&t.value),
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_read_as_go_yaml_reads_them() {
        let text = "apiVersion: v1\nkind: X\nmetadata: {name: a}\nspec:\n  mode: 0400\n  quoted: '0400'\n  n: 1_000\n  d: 2024-6-1\n  s: \"2024-06-01\"\n";
        let objs = parse_objects("x.yaml", text.as_bytes()).unwrap();
        let spec = &objs[0]["spec"];
        assert_eq!(spec["mode"], 256);
        assert_eq!(spec["quoted"], "0400");
        assert_eq!(spec["n"], 1000);
        assert_eq!(spec["d"], "2024-06-01T00:00:00Z");
        assert_eq!(spec["s"], "2024-06-01");
        assert!(parse_objects("x.yaml", b"%YAML 1.2\n---\na: 1\n").is_err());
        assert!(parse_objects("x.yaml", b"kind: X\nmetadata: {name: a}\nv: .inf\n").is_err());
    }
}
