//! Sprig's defaults, flow control and JSON functions (`defaults.go`).

use super::{Map, add, empty, s};
use crate::error::FuncError;
use crate::funcs::Ty;
use crate::value::Value;

pub(super) fn register(m: &mut Map) {
    use Ty::{Any, Bool, String as Str};
    add(m, "default", &[Any], Some(Any), |mut a| {
        if a.len() < 2 || empty(&a[1]) {
            return Ok(a.swap_remove(0));
        }
        Ok(a.swap_remove(1))
    });
    add(m, "empty", &[Any], None, |a| Ok(Value::Bool(empty(&a[0]))));
    add(m, "coalesce", &[], Some(Any), |a| {
        Ok(a.into_iter().find(|v| !empty(v)).unwrap_or(Value::Nil))
    });
    add(m, "all", &[], Some(Any), |a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    add(m, "any", &[], Some(Any), |a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    add(m, "ternary", &[Any, Any, Bool], None, |mut a| {
        let cond = a[2].truthy();
        Ok(if cond {
            a.swap_remove(0)
        } else {
            a.swap_remove(1)
        })
    });
    add(m, "fail", &[Str], None, |a| Err(FuncError::new(s(&a[0]))));
    add(m, "fromJson", &[Str], None, |a| {
        Ok(from_json(s(&a[0])).unwrap_or(Value::Nil))
    });
    add(m, "mustFromJson", &[Str], None, |a| {
        from_json(s(&a[0])).map_err(FuncError::new)
    });
    add(m, "toJson", &[Any], None, |a| {
        Ok(to_json(&a[0], false, true).into())
    });
    add(m, "mustToJson", &[Any], None, |a| {
        Ok(to_json(&a[0], false, true).into())
    });
    add(m, "toPrettyJson", &[Any], None, |a| {
        Ok(to_json(&a[0], true, true).into())
    });
    add(m, "mustToPrettyJson", &[Any], None, |a| {
        Ok(to_json(&a[0], true, true).into())
    });
    add(m, "toRawJson", &[Any], None, |a| {
        Ok(to_json(&a[0], false, false).into())
    });
    add(m, "mustToRawJson", &[Any], None, |a| {
        Ok(to_json(&a[0], false, false).into())
    });
}

/// `json.Unmarshal` into `interface{}` (numbers become `float64`).
pub(crate) fn from_json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|v| Value::from_json(&v))
        .map_err(|e| go_json_error(text, &e))
}

/// Rewords a `serde_json` error as Go's `encoding/json` words the common cases.
fn go_json_error(text: &str, e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "unexpected end of JSON input".into();
    }
    let offset: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + e.column().saturating_sub(1);
    match text.get(offset..).and_then(|r| r.chars().next()) {
        Some(c) => format!(
            "invalid character {} looking for beginning of value",
            crate::fmt::quote_rune(c, false)
        ),
        None => e.to_string(),
    }
}

/// `json.Marshal` (sorted keys, Go's float format and HTML escaping), or
/// `MarshalIndent` with two spaces when `pretty`.
pub fn to_json(v: &Value, pretty: bool, escape_html: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, v, pretty, escape_html, 0);
    out
}

fn write_json(out: &mut String, v: &Value, pretty: bool, esc: bool, depth: usize) {
    let nl = |out: &mut String, d: usize| {
        if pretty {
            out.push('\n');
            for _ in 0..d {
                out.push_str("  ");
            }
        }
    };
    match v {
        Value::Missing | Value::Nil | Value::Func(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&json_float(*f)),
        Value::String(s) => json_string(out, s, esc),
        Value::List(l, _) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                write_json(out, x, pretty, esc, depth + 1);
            }
            nl(out, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let entries = m.entries();
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, x)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                json_string(out, k, esc);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(out, x, pretty, esc, depth + 1);
            }
            nl(out, depth);
            out.push('}');
        }
        Value::Object(o) => match o.as_value() {
            Some(inner) => write_json(out, &inner, pretty, esc, depth),
            None => json_string(out, &o.display(), esc),
        },
    }
}

/// Go's `encoding/json` float format.
pub(crate) fn json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = crate::fmt::format_float(f, 'e', -1);
        // Go trims "e-07" to "e-7".
        if let Some((m, e)) = s.split_once('e') {
            let (sign, digits) = e.split_at(1);
            let digits = digits.trim_start_matches('0');
            return format!("{m}e{sign}{digits}");
        }
        return s;
    }
    crate::fmt::format_float(f, 'f', -1)
}

fn json_string(out: &mut String, s: &str, esc: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if esc => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
