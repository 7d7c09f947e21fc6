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
        check_nesting(bytes).map_err(|line| invalid(nesting_message(), Some(line)))?;
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
    check_nesting(text.as_bytes())
        .map_err(|line| Error::invalid(file, nesting_message()).at_line(Some(line)))?;
    let y: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().and_then(|l| u32::try_from(l.line()).ok());
        Error::invalid(file, format!("invalid YAML: {e}")).at_line(line)
    })?;
    yaml_to_json(y).map_err(|m| Error::invalid(file, m))
}

/// How many flow collections (`[`, `{`) may be open at once in one YAML
/// document. The YAML reader refuses nesting past 128 levels anyway, but
/// its scanner spends time quadratic in the depth before it gets there
/// (40,000 levels: seconds), so deeper input is refused before parsing. A
/// bracket inside a scalar counts too; reaching this many unclosed ones
/// that way is not something real manifests do.
pub const MAX_FLOW_NESTING: usize = 1024;

/// Checks that no YAML document in `bytes` opens more than
/// [`MAX_FLOW_NESTING`] brackets without closing them, in one linear pass;
/// `Err` gives the 1-based line where the limit was crossed.
pub fn check_nesting(bytes: &[u8]) -> Result<(), u32> {
    let mut depth = 0usize;
    let mut line = 1u32;
    let mut line_start = true;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_NESTING {
                    return Err(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            // A document separator starts the count again.
            b'-' if line_start && bytes[i..].starts_with(b"---") => depth = 0,
            _ => {}
        }
        line_start = b == b'\n';
        if line_start {
            line = line.saturating_add(1);
        }
    }
    Ok(())
}

fn nesting_message() -> String {
    format!("invalid YAML: more than {MAX_FLOW_NESTING} nested flow collections ('[' or '{{')")
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
    fn refuses_deep_flow_nesting_before_parsing_it() {
        let deep = |n: usize| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\ndata:\n  x: {}{}\n",
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        let e = parse("app/cm.yaml", deep(50_000).as_bytes()).unwrap_err();
        assert_eq!(e.file.as_deref(), Some("app/cm.yaml"));
        assert_eq!(e.line, Some(6));
        assert!(e.message.contains("more than 1024 nested"), "{}", e.message);
        assert!(parse_yaml("k.yaml", &deep(2_000)).is_err());
        // Within the limit the YAML reader decides (its own depth limit).
        let e = parse("app/cm.yaml", deep(200).as_bytes()).unwrap_err();
        assert!(!e.message.contains("nested flow"), "{}", e.message);
        // Brackets closed on the way, and a new document, start again.
        let many = format!("{}\n---\n{}", "[]".repeat(5_000), "[".repeat(1_000));
        assert_eq!(check_nesting(many.as_bytes()), Ok(()));
        let over = format!("{}\n---\n{}", "[".repeat(1_000), "[".repeat(1_025));
        assert_eq!(check_nesting(over.as_bytes()), Err(3));
    }

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
