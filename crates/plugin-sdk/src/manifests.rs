//! Parsing YAML and JSON manifests the way Kubernetes tools read them.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::Error;

/// Parses a YAML (multi-document) or JSON file into Kubernetes objects.
///
/// Empty documents are skipped, `kind: List` is expanded into its items,
/// YAML merge keys are applied, and every object must be a mapping with
/// `apiVersion` and `kind`. Errors name the file and, for syntax errors, the
/// line.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Value>, Error> {
    let invalid = |msg: String, line: Option<u32>| Error::invalid(file, msg).at_line(line);
    let mut docs = Vec::new();
    if file.ends_with(".json") {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("invalid JSON: {e}"), u32::try_from(e.line()).ok()))?;
        match v {
            Value::Array(items) => docs.extend(items),
            v => docs.push(v),
        }
    } else {
        for (i, doc) in serde_yaml::Deserializer::from_slice(bytes).enumerate() {
            let mut y = serde_yaml::Value::deserialize(doc).map_err(|e| {
                let line = e.location().and_then(|l| u32::try_from(l.line()).ok());
                invalid(format!("invalid YAML in document {}: {e}", i + 1), line)
            })?;
            y.apply_merge()
                .map_err(|e| invalid(format!("document {}: {e}", i + 1), None))?;
            docs.push(
                yaml_to_json(y).map_err(|m| invalid(format!("document {}: {m}", i + 1), None))?,
            );
        }
    }
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        expand(doc, &mut out).map_err(|m| invalid(format!("document {}: {m}", i + 1), None))?;
    }
    Ok(out)
}

fn expand(doc: Value, out: &mut Vec<Value>) -> Result<(), String> {
    match doc {
        Value::Null => Ok(()),
        Value::Object(map) => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
            let api = map
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind == "List" && map.get("items").is_some_and(Value::is_array) {
                if let Some(Value::Array(items)) = map.get("items") {
                    for item in items {
                        expand(item.clone(), out)?;
                    }
                }
                return Ok(());
            }
            if api.is_empty() {
                return Err("object has no apiVersion".into());
            }
            if kind.is_empty() {
                return Err("object has no kind".into());
            }
            out.push(Value::Object(map));
            Ok(())
        }
        other => Err(format!(
            "expected a Kubernetes object (a mapping), found {}",
            match other {
                Value::Array(_) => "a sequence",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "something else",
            }
        )),
    }
}

/// Parses one YAML document (a configuration file, not a manifest) into a
/// JSON value; the error names the file and line.
pub fn parse_yaml(file: &str, text: &str) -> Result<Value, Error> {
    let y: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().and_then(|l| u32::try_from(l.line()).ok());
        Error::invalid(file, format!("invalid YAML: {e}")).at_line(line)
    })?;
    yaml_to_json(y).map_err(|m| Error::invalid(file, m))
}

/// Converts YAML to JSON; mapping keys become strings as Kubernetes does.
fn yaml_to_json(y: serde_yaml::Value) -> Result<Value, String> {
    Ok(match y {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("number {n} cannot be represented in JSON"))?
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(seq) => Value::Array(
            seq.into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        serde_yaml::Value::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Null => "null".to_owned(),
                    _ => return Err("a mapping key is not a scalar".into()),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(t) => yaml_to_json(t.value)?,
    })
}

/// Kinds that are never namespaced, so a default namespace is not added.
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Gives a namespaced object without a namespace the request's default
/// namespace (`""` leaves it alone), as Argo CD does for its apps.
pub fn set_default_namespace(obj: &mut Value, namespace: &str) {
    if namespace.is_empty() {
        return;
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if CLUSTER_SCOPED.contains(&kind) {
        return;
    }
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        let missing = meta
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if missing {
            meta.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
    } else if let Value::Object(map) = obj {
        let mut meta = Map::new();
        meta.insert("namespace".into(), Value::String(namespace.to_owned()));
        map.insert("metadata".into(), Value::Object(meta));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multi_doc_yaml_and_lists() {
        let y = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: b}\n";
        let v = parse("x.yaml", y).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1]["kind"], "Secret");
    }

    #[test]
    fn reports_line_of_syntax_errors() {
        let y = b"apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: [unclosed\n";
        let e = parse("apps/x.yaml", y).unwrap_err();
        assert_eq!(e.file.as_deref(), Some("apps/x.yaml"));
        assert!(e.line.is_some_and(|l| l >= 5), "{e:?}");
        assert!(e.describe().starts_with("apps/x.yaml:"), "{}", e.describe());
    }

    #[test]
    fn rejects_non_objects() {
        assert!(parse("a.yaml", b"- a\n- b\n").is_err());
        assert!(
            parse("a.yaml", b"kind: X\n")
                .unwrap_err()
                .message
                .contains("apiVersion")
        );
        assert!(parse("a.json", b"{\"apiVersion\": \"v1\"").is_err());
    }

    #[test]
    fn default_namespace_fills_only_namespaced_objects_without_one() {
        let mut cm = serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "a"}});
        let mut kept = serde_json::json!({"kind": "ConfigMap", "metadata": {"namespace": "x"}});
        let mut role = serde_json::json!({"kind": "ClusterRole", "metadata": {"name": "r"}});
        let mut bare = serde_json::json!({"kind": "Secret"});
        for o in [&mut cm, &mut kept, &mut role, &mut bare] {
            super::set_default_namespace(o, "demo");
        }
        assert_eq!(cm["metadata"]["namespace"], "demo");
        assert_eq!(kept["metadata"]["namespace"], "x");
        assert!(role["metadata"].get("namespace").is_none());
        assert_eq!(bare["metadata"]["namespace"], "demo");
    }
}
