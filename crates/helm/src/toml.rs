//! `toToml`: maps as TOML (BurntSushi/toml's encoder layout for the
//! common cases: scalars first, then tables).

use serde_json::{Map, Value};

/// Encodes a JSON object as TOML; other values give an empty string.
pub(crate) fn encode(v: &Value) -> String {
    let mut out = String::new();
    if let Value::Object(m) = v {
        table(m, "", &mut out);
    }
    out
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Array(a) => format!("[{}]", a.iter().map(scalar).collect::<Vec<_>>().join(", ")),
        Value::Null => "\"\"".into(),
        v => v.to_string(),
    }
}

fn table(m: &Map<String, Value>, prefix: &str, out: &mut String) {
    let depth = if prefix.is_empty() {
        0
    } else {
        prefix.matches('.').count() + 1
    };
    let indent = "  ".repeat(depth);
    let head = indent.clone();
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for k in &keys {
        let v = &m[*k];
        if !v.is_object() {
            out.push_str(&format!("{indent}{} = {}\n", key(k), scalar(v)));
        }
    }
    for k in &keys {
        if let Value::Object(sub) = &m[*k] {
            let name = if prefix.is_empty() {
                key(k)
            } else {
                format!("{prefix}.{}", key(k))
            };
            out.push_str(&format!("\n{head}[{name}]\n"));
            table(sub, &name, out);
        }
    }
}
