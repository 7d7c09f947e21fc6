//! The content hash Kustomize appends to generated ConfigMap and Secret
//! names.
//!
//! Kustomize encodes `{"data": …, "kind": …, "name": ""}` (plus `binaryData`
//! and `type` where they apply) as Go's `encoding/json` would — keys sorted
//! bytewise, `<`, `>`, `&`, U+2028 and U+2029 escaped — takes its sha256,
//! and keeps the first ten hex digits with `0 1 3 a e` swapped for
//! `g h k m t` so the suffix never spells words or looks like a number.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The suffix for a generated object.
pub(crate) fn suffix(obj: &Map<String, Value>) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    // Kustomize v5.5 reads the name from a field path that is never
    // there, so every generated object hashes with an empty name (checked
    // against the golden corpus: the name does not change the suffix).
    let mut m = Map::new();
    m.insert("kind".into(), Value::String(kind.to_owned()));
    m.insert("name".into(), Value::String(String::new()));
    m.insert(
        "data".into(),
        obj.get("data").cloned().unwrap_or(Value::Null),
    );
    if kind == "Secret" {
        m.insert(
            "type".into(),
            obj.get("type")
                .cloned()
                .unwrap_or(Value::String(String::new())),
        );
    } else if let Some(b) = obj.get("binaryData")
        && b.as_object().is_some_and(|b| !b.is_empty())
    {
        m.insert("binaryData".into(), b.clone());
    }
    let mut text = String::new();
    go_json(&Value::Object(m), &mut text);
    let hex = hex_lower(&Sha256::digest(text.as_bytes()));
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Encodes a value the way Go's `json.Marshal` encodes the same
/// `map[string]interface{}`.
pub(crate) fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_string(k, out);
                out.push(':');
                go_json(&map[k], out);
            }
            out.push('}');
        }
    }
}

fn go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_sorts_keys_and_escapes_html() {
        let v = serde_json::json!({"b": "<&>", "a": [1, true, null]});
        let mut s = String::new();
        go_json(&v, &mut s);
        assert_eq!(s, r#"{"a":[1,true,null],"b":"\u003c\u0026\u003e"}"#);
    }
}
