//! YAML scalars as Kustomize's YAML library (go-yaml v3) reads and writes
//! them when a transformer edits a field's text: the text of a value, the
//! type a plain scalar resolves to, and a text put back into a typed field.

use serde_json::{Number, Value};

/// The text of a scalar as YAML holds it (`""` for maps and lists, as a
/// YAML node's value is empty for them). Numbers read from YAML lose their
/// original spelling: `1.0` comes back as `1.0`, `0x10` as `16`.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(_) | Value::Object(_) => String::new(),
    }
}

/// Whether the value is a YAML scalar node (`null` is one).
pub(crate) fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// The value a plain (unquoted, untagged) scalar with this text has, as
/// go-yaml v3 resolves it: null, booleans, integers (decimal, `0x`, `0o`,
/// `0b`), floats (including `.inf` and `.nan`, which JSON cannot hold and
/// stay strings here), else a string.
pub(crate) fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(i) = parse_int(s) {
        return Value::Number(i.into());
    }
    if is_float(s)
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_owned())
}

/// The YAML tag name (`str`, `int`, `float`, `bool`, `null`, `map`, `seq`)
/// of a value, for messages.
pub(crate) fn tag(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "str",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        Value::Array(_) => "seq",
        Value::Object(_) => "map",
    }
}

/// Puts `text` into a scalar field that keeps its type, as Kustomize does
/// when it copies only the text of a node: a string field takes any text,
/// a number, boolean or null field only a text that reads as one. The
/// error is go-yaml's, as kubectl prints it.
pub(crate) fn retyped(field: &Value, text: &str) -> Result<Value, String> {
    if field.is_string() {
        return Ok(Value::String(text.to_owned()));
    }
    let plain = resolve_plain(text);
    let fits = match (field, &plain) {
        (Value::Number(n), Value::Number(p)) => n.is_f64() || !p.is_f64(),
        (Value::Bool(_), Value::Bool(_)) | (Value::Null, Value::Null) => true,
        _ => false,
    };
    if fits {
        Ok(plain)
    } else {
        Err(format!(
            "yaml: cannot decode !!{} `{text}` as a !!{}",
            tag(&plain),
            tag(field)
        ))
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b") {
        (2, d)
    } else {
        (10, body)
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// go-yaml v3's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match b.find(['e', 'E']) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_scalars_resolve_as_go_yaml_v3() {
        assert_eq!(resolve_plain("4"), json!(4));
        assert_eq!(resolve_plain("-0x10"), json!(-16));
        assert_eq!(resolve_plain("1.5e3"), json!(1500.0));
        assert_eq!(resolve_plain("True"), json!(true));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("5.4.3"), json!("5.4.3"));
        assert_eq!(resolve_plain("yes"), json!("yes"));
    }

    #[test]
    fn typed_fields_take_only_fitting_text() {
        assert_eq!(retyped(&json!(1), "4"), Ok(json!(4)));
        assert_eq!(retyped(&json!("x"), "4"), Ok(json!("4")));
        assert_eq!(
            retyped(&json!(true), "4"),
            Err("yaml: cannot decode !!int `4` as a !!bool".into())
        );
    }
}
