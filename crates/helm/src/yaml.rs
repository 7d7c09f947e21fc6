//! YAML as Helm reads and writes it: `sigs.k8s.io/yaml` (JSON through
//! go-yaml v2). The writer is `kiln-goyaml`, the one `kiln render` prints with.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Helm's `toYaml` body: go-yaml v2's output for the JSON form of `v`.
pub(crate) fn to_yaml(v: &Value) -> String {
    // Through JSON text, so numbers are rounded as Go rounds them.
    match kiln_goyaml::parse_json(&v.to_string()) {
        Some(v) => kiln_goyaml::to_yaml(&v),
        None => String::new(),
    }
}

/// Parses one YAML document into JSON (`sigs.k8s.io/yaml.Unmarshal`).
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let mut y: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    y.apply_merge().map_err(|e| e.to_string())?;
    to_json(y)
}

/// Parses a rendered document, with errors worded as Helm's
/// (`error converting YAML to JSON: yaml: line N: PROBLEM`).
pub(crate) fn parse_doc(text: &str) -> Result<Value, String> {
    let mut y: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let problem = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        let scanner = msg.contains("while scanning");
        let line = e
            .location()
            .map(|l| {
                if scanner {
                    l.line()
                } else {
                    l.line().saturating_sub(1)
                }
            })
            .unwrap_or(0);
        if line == 0 {
            format!("error converting YAML to JSON: yaml: {problem}")
        } else {
            format!("error converting YAML to JSON: yaml: line {line}: {problem}")
        }
    })?;
    y.apply_merge().map_err(|e| e.to_string())?;
    to_json(y)
}

/// Parses every document of a stream.
pub(crate) fn parse_all(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let mut y = serde_yaml::Value::deserialize(doc).map_err(|e| e.to_string())?;
        y.apply_merge().map_err(|e| e.to_string())?;
        out.push(to_json(y)?);
    }
    Ok(out)
}

fn to_json(y: serde_yaml::Value) -> Result<Value, String> {
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
        serde_yaml::Value::Sequence(seq) => {
            Value::Array(seq.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
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
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(t) => to_json(t.value)?,
    })
}
