//! `values.schema.json`: the JSON-schema subset charts use (type,
//! required, properties, additionalProperties, items, enum, const,
//! minimum/maximum, minLength/maxLength, pattern), with errors worded as
//! Helm v4's validator words them.

use serde_json::{Map, Value};

struct Fail {
    at: String,
    message: String,
    causes: Vec<Fail>,
}

/// Validates `values` against `schema`; `Err` holds Helm's error list.
pub fn validate(schema: &Value, values: &Value) -> Result<(), String> {
    let errs = check(schema, values, "");
    if errs.is_empty() {
        return Ok(());
    }
    let mut out = String::new();
    for e in &errs {
        print(e, 0, &mut out);
    }
    Err(out)
}

fn print(e: &Fail, depth: usize, out: &mut String) {
    out.push_str(&format!(
        "{}- at '{}': {}\n",
        "  ".repeat(depth),
        e.at,
        e.message
    ));
    for c in &e.causes {
        print(c, depth + 1, out);
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        t => type_of(v) == t,
    }
}

fn quote(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        v => v.to_string(),
    }
}

fn num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn check(schema: &Value, v: &Value, at: &str) -> Vec<Fail> {
    let Some(s) = schema.as_object() else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    let fail = |m: String| Fail {
        at: at.to_string(),
        message: m,
        causes: Vec::new(),
    };
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !types.is_empty() && !types.iter().any(|t| type_ok(t, v)) {
            let got = if type_ok("integer", v) {
                "number"
            } else {
                type_of(v)
            };
            errs.push(fail(format!("got {got}, want {}", types.join(" or "))));
            return errs;
        }
    }
    if let Some(Value::Array(e)) = s.get("enum")
        && !e.contains(v)
    {
        let items: Vec<String> = e.iter().map(quote).collect();
        errs.push(fail(format!("value must be one of {}", items.join(", "))));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errs.push(fail(format!("value must be {}", quote(c))));
    }
    if let Some(f) = v.as_f64() {
        if let Some(m) = s.get("minimum").and_then(Value::as_f64)
            && f < m
        {
            errs.push(fail(format!("minimum: got {}, want {}", num(f), num(m))));
        }
        if let Some(m) = s.get("maximum").and_then(Value::as_f64)
            && f > m
        {
            errs.push(fail(format!("maximum: got {}, want {}", num(f), num(m))));
        }
    }
    if let Some(st) = v.as_str() {
        let n = st.chars().count();
        if let Some(m) = s.get("minLength").and_then(Value::as_u64)
            && (n as u64) < m
        {
            errs.push(fail(format!("minLength: got {n}, want {m}")));
        }
        if let Some(m) = s.get("maxLength").and_then(Value::as_u64)
            && (n as u64) > m
        {
            errs.push(fail(format!("maxLength: got {n}, want {m}")));
        }
        if let Some(p) = s.get("pattern").and_then(Value::as_str)
            && let Ok(re) = regex_lite::Regex::new(p)
            && !re.is_match(st)
        {
            errs.push(fail(format!("'{st}' does not match pattern '{p}'")));
        }
    }
    if let Value::Object(m) = v {
        object(s, m, at, &mut errs);
    }
    if let Value::Array(items) = v
        && let Some(item_schema) = s.get("items")
    {
        for (i, item) in items.iter().enumerate() {
            nest(
                check(item_schema, item, &format!("{at}/{i}")),
                &format!("{at}/{i}"),
                &mut errs,
            );
        }
    }
    errs
}

fn object(s: &Map<String, Value>, m: &Map<String, Value>, at: &str, errs: &mut Vec<Fail>) {
    if let Some(Value::Array(req)) = s.get("required") {
        let missing: Vec<String> = req
            .iter()
            .filter_map(Value::as_str)
            .filter(|k| !m.contains_key(*k))
            .map(|k| format!("'{k}'"))
            .collect();
        if missing.len() == 1 {
            errs.push(Fail {
                at: at.to_string(),
                message: format!("missing property {}", missing[0]),
                causes: Vec::new(),
            });
        } else if !missing.is_empty() {
            errs.push(Fail {
                at: at.to_string(),
                message: format!("missing properties {}", missing.join(", ")),
                causes: Vec::new(),
            });
        }
    }
    let props = s.get("properties").and_then(Value::as_object);
    if let Some(props) = props {
        for (k, ps) in props {
            if let Some(pv) = m.get(k) {
                let p = format!("{at}/{k}");
                nest(check(ps, pv, &p), &p, errs);
            }
        }
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(false)) => {
            let extra: Vec<String> = m
                .keys()
                .filter(|k| !props.is_some_and(|p| p.contains_key(*k)))
                .map(|k| format!("'{k}'"))
                .collect();
            if !extra.is_empty() {
                errs.push(Fail {
                    at: at.to_string(),
                    message: format!("additional properties {} not allowed", extra.join(", ")),
                    causes: Vec::new(),
                });
            }
        }
        Some(extra @ Value::Object(_)) => {
            for (k, pv) in m {
                if !props.is_some_and(|p| p.contains_key(k)) {
                    let p = format!("{at}/{k}");
                    nest(check(extra, pv, &p), &p, errs);
                }
            }
        }
        _ => {}
    }
}

fn nest(mut inner: Vec<Fail>, at: &str, errs: &mut Vec<Fail>) {
    match inner.len() {
        0 => {}
        1 => errs.extend(inner.pop()),
        _ => errs.push(Fail {
            at: at.to_string(),
            message: "validation failed".into(),
            causes: inner,
        }),
    }
}
