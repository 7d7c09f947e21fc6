//! Sprig's string functions (`strings.go` and the `goutils`/`xstrings` helpers it uses).

use std::collections::BTreeMap;

use super::{Map, Res, add, n, s, strval};
use crate::funcs::Ty;
use crate::value::{Elem, MapRef, Value};

pub(super) fn register(m: &mut Map) {
    use Ty::{Any, Int, String as Str};
    add(m, "trim", &[Str], None, |a| {
        Ok(s(&a[0]).trim_matches(is_space).into())
    });
    add(m, "upper", &[Str], None, |a| {
        Ok(s(&a[0]).to_uppercase().into())
    });
    add(m, "lower", &[Str], None, |a| {
        Ok(s(&a[0]).to_lowercase().into())
    });
    add(m, "title", &[Str], None, |a| Ok(title(s(&a[0])).into()));
    add(m, "untitle", &[Str], None, |a| Ok(untitle(s(&a[0])).into()));
    add(m, "substr", &[Int, Int, Str], None, |a| {
        substr(n(&a[0]), n(&a[1]), s(&a[2]))
    });
    add(m, "repeat", &[Int, Str], None, |a| {
        let c = n(&a[0]);
        if c < 0 {
            return Err("strings: negative Repeat count".into());
        }
        Ok(s(&a[1]).repeat(c as usize).into())
    });
    for name in ["trimall", "trimAll"] {
        add(m, name, &[Str, Str], None, |a| {
            let cut: Vec<char> = s(&a[0]).chars().collect();
            Ok(s(&a[1]).trim_matches(cut.as_slice()).into())
        });
    }
    add(m, "trimSuffix", &[Str, Str], None, |a| {
        Ok(s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])).into())
    });
    add(m, "trimPrefix", &[Str, Str], None, |a| {
        Ok(s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])).into())
    });
    add(m, "nospace", &[Str], None, |a| {
        Ok(s(&a[0])
            .chars()
            .filter(|c| !is_space(*c))
            .collect::<std::string::String>()
            .into())
    });
    add(m, "initials", &[Str], None, |a| {
        Ok(initials(s(&a[0])).into())
    });
    add(m, "swapcase", &[Str], None, |a| {
        Ok(swapcase(s(&a[0])).into())
    });
    add(m, "snakecase", &[Str], None, |a| {
        Ok(delimited(s(&a[0]), '_').into())
    });
    add(m, "kebabcase", &[Str], None, |a| {
        Ok(delimited(s(&a[0]), '-').into())
    });
    add(
        m,
        "camelcase",
        &[Str],
        None,
        |a| Ok(pascal(s(&a[0])).into()),
    );
    add(m, "wrap", &[Int, Str], None, |a| {
        Ok(wrap_custom(s(&a[1]), n(&a[0]), "\n", false).into())
    });
    add(m, "wrapWith", &[Int, Str, Str], None, |a| {
        Ok(wrap_custom(s(&a[2]), n(&a[0]), s(&a[1]), true).into())
    });
    add(m, "contains", &[Str, Str], None, |a| {
        Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
    });
    add(m, "hasPrefix", &[Str, Str], None, |a| {
        Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
    });
    add(m, "hasSuffix", &[Str, Str], None, |a| {
        Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
    });
    add(m, "quote", &[], Some(Any), |a| {
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| crate::fmt::quote_go(&strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    add(m, "squote", &[], Some(Any), |a| {
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", crate::fmt::sprint(std::slice::from_ref(v))))
            .collect();
        Ok(parts.join(" ").into())
    });
    add(m, "cat", &[], Some(Any), |a| {
        let v: Vec<Value> = a.into_iter().filter(|v| !v.is_nil()).collect();
        let f = "%v ".repeat(v.len());
        Ok(crate::fmt::sprintf(f.trim_matches(is_space), &v).into())
    });
    add(m, "indent", &[Int, Str], None, |a| {
        Ok(indent(n(&a[0]), s(&a[1])).into())
    });
    add(m, "nindent", &[Int, Str], None, |a| {
        Ok(format!("\n{}", indent(n(&a[0]), s(&a[1]))).into())
    });
    add(m, "replace", &[Str, Str, Str], None, |a| {
        Ok(go_replace(s(&a[2]), s(&a[0]), s(&a[1])).into())
    });
    add(m, "plural", &[Str, Str, Int], None, |a| {
        Ok(if n(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    add(m, "toString", &[Any], None, |a| Ok(strval(&a[0]).into()));
    add(m, "trunc", &[Int, Str], None, |a| {
        Ok(trunc(n(&a[0]), s(&a[1])).into())
    });
    add(m, "abbrev", &[Int, Str], None, |a| {
        let w = n(&a[0]);
        if w < 4 {
            return Ok(a[1].clone());
        }
        Ok(abbreviate_full(s(&a[1]), 0, w).into())
    });
    add(m, "abbrevboth", &[Int, Int, Str], None, |a| {
        let (l, r) = (n(&a[0]), n(&a[1]));
        if r < 4 || (l > 0 && r < 7) {
            return Ok(a[2].clone());
        }
        Ok(abbreviate_full(s(&a[2]), l, r).into())
    });
    add(m, "split", &[Str, Str], None, |a| {
        Ok(split_map(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    add(m, "splitn", &[Str, Int, Str], None, |a| {
        Ok(split_map(go_split(s(&a[2]), s(&a[0]), n(&a[1]))))
    });
    add(m, "splitList", &[Str, Str], None, |a| {
        Ok(Value::string_list(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    add(m, "join", &[Str, Any], None, |a| {
        Ok(strslice(&a[1]).join(s(&a[0])).into())
    });
    add(m, "toStrings", &[Any], None, |a| {
        Ok(Value::string_list(strslice(&a[0])))
    });
    add(m, "sortAlpha", &[Any], None, |a| {
        let mut v = match &a[0] {
            Value::List(..) => strslice(&a[0]),
            other => vec![strval(other)],
        };
        v.sort();
        Ok(Value::string_list(v))
    });
}

/// Go's `unicode.IsSpace`.
pub(crate) fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// Sprig's `strslice`: a list as strings, nils dropped; a scalar as one string.
pub(crate) fn strslice(v: &Value) -> Vec<std::string::String> {
    match v {
        Value::List(l, _) => l.iter().filter(|v| !v.is_nil()).map(strval).collect(),
        Value::Missing | Value::Nil => Vec::new(),
        Value::Object(o) => match o.as_value() {
            Some(inner @ Value::List(..)) => strslice(&inner),
            _ => vec![strval(v)],
        },
        other => vec![strval(other)],
    }
}

fn split_map(parts: Vec<std::string::String>) -> Value {
    let m: BTreeMap<std::string::String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::from(p)))
        .collect();
    Value::Map(MapRef::typed(m, Elem::String))
}

/// Go's `strings.SplitN` (`n < 0`: all).
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Vec<std::string::String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<std::string::String> = s.chars().map(|c| c.to_string()).collect();
        if n > 0 && chars.len() > n as usize {
            let mut v: Vec<std::string::String> = chars[..n as usize - 1].to_vec();
            v.push(chars[n as usize - 1..].concat());
            return v;
        }
        return chars;
    }
    if n < 0 {
        s.split(sep).map(str::to_string).collect()
    } else {
        s.splitn(n as usize, sep).map(str::to_string).collect()
    }
}

/// Go's `strings.Replace(s, old, new, -1)` (an empty `old` inserts between runes).
pub(crate) fn go_replace(src: &str, old: &str, new: &str) -> std::string::String {
    if old.is_empty() {
        let mut out = std::string::String::from(new);
        for c in src.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    src.replace(old, new)
}

fn indent(spaces: i64, v: &str) -> std::string::String {
    let pad = " ".repeat(spaces.max(0) as usize);
    let mut out = pad.clone();
    out.push_str(&v.replace('\n', &format!("\n{pad}")));
    out
}

fn bytes_str(b: &[u8]) -> std::string::String {
    std::string::String::from_utf8_lossy(b).into_owned()
}

fn trunc(c: i64, s: &str) -> std::string::String {
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return bytes_str(&s.as_bytes()[(len + c) as usize..]);
    }
    if c >= 0 && len > c {
        return bytes_str(&s.as_bytes()[..c as usize]);
    }
    s.to_string()
}

fn substr(start: i64, end: i64, s: &str) -> Res {
    let b = s.as_bytes();
    let len = b.len() as i64;
    let oob = |a: std::string::String| {
        Err(format!("runtime error: slice bounds out of range {a}").into())
    };
    if start < 0 {
        if end < 0 || end > len {
            return oob(format!("[:{end}] with length {len}"));
        }
        return Ok(bytes_str(&b[..end as usize]).into());
    }
    if end < 0 || end > len {
        if start > len {
            return oob(format!("[{start}:{len}]"));
        }
        return Ok(bytes_str(&b[start as usize..]).into());
    }
    if start > end {
        return oob(format!("[{start}:{end}]"));
    }
    Ok(bytes_str(&b[start as usize..end as usize]).into())
}

/// Go's `strings.Title`.
fn title(s: &str) -> std::string::String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    is_space(c)
}

fn untitle(s: &str) -> std::string::String {
    let mut out = std::string::String::with_capacity(s.len());
    let mut at_start = true;
    for c in s.chars() {
        if is_space(c) {
            at_start = true;
            out.push(c);
        } else if at_start {
            out.extend(c.to_lowercase());
            at_start = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn initials(s: &str) -> std::string::String {
    let mut out = std::string::String::new();
    let mut at_start = true;
    for c in s.chars() {
        if is_space(c) {
            at_start = true;
        } else if at_start {
            out.push(c);
            at_start = false;
        }
    }
    out
}

fn swapcase(s: &str) -> std::string::String {
    let mut ws = true;
    let mut out = std::string::String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_uppercase() {
            out.extend(c.to_lowercase());
            ws = false;
        } else if c.is_lowercase() {
            if ws {
                out.extend(c.to_uppercase());
                ws = false;
            } else {
                out.extend(c.to_uppercase());
            }
        } else {
            ws = is_space(c);
            out.push(c);
        }
    }
    out
}

/// Splits into words as `xstrings` does: separators (anything not a letter
/// or digit) end a word, and a case change from lower to upper starts one
/// (`HTTPServer` → `http`, `server`).
fn words(s: &str) -> Vec<std::string::String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = std::string::String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn delimited(s: &str, sep: char) -> std::string::String {
    words(s)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(&sep.to_string())
}

fn pascal(s: &str) -> std::string::String {
    words(s)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => {
                    f.to_uppercase().collect::<std::string::String>() + &c.as_str().to_lowercase()
                }
                None => std::string::String::new(),
            }
        })
        .collect()
}

/// `goutils.WrapCustom`.
fn wrap_custom(s: &str, wrap_length: i64, new_line: &str, wrap_long: bool) -> std::string::String {
    if s.is_empty() {
        return std::string::String::new();
    }
    let new_line = if new_line.is_empty() { "\n" } else { new_line };
    let wrap_length = if wrap_length < 1 {
        1
    } else {
        wrap_length as usize
    };
    let input: Vec<char> = s.chars().collect();
    let len = input.len();
    let mut offset = 0usize;
    let mut out = std::string::String::new();
    let slice = |a: usize, b: usize| -> std::string::String { input[a..b].iter().collect() };
    while len - offset > wrap_length {
        if input[offset] == ' ' {
            offset += 1;
            continue;
        }
        let end = wrap_length + offset + 1;
        let space_pos = slice(offset, end.min(len))
            .rfind(' ')
            .map(|p| input[..offset].len() + slice(offset, end.min(len))[..p].chars().count());
        if let Some(sp) = space_pos.filter(|sp| *sp >= offset) {
            out.push_str(&slice(offset, sp));
            out.push_str(new_line);
            offset = sp + 1;
        } else if wrap_long {
            out.push_str(&slice(offset, wrap_length + offset));
            out.push_str(new_line);
            offset += wrap_length;
        } else {
            let rest = slice(wrap_length + offset, len);
            match rest.find(' ') {
                Some(p) => {
                    let sp = wrap_length + offset + rest[..p].chars().count();
                    out.push_str(&slice(offset, sp));
                    out.push_str(new_line);
                    offset = sp + 1;
                }
                None => {
                    out.push_str(&slice(offset, len));
                    offset = len;
                }
            }
        }
    }
    out.push_str(&slice(offset, len));
    out
}

/// `goutils.AbbreviateFull`.
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> std::string::String {
    let b = s.as_bytes();
    let len = b.len() as i64;
    if s.is_empty() || max_width < 4 {
        return std::string::String::new();
    }
    if len <= max_width {
        return s.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return bytes_str(&b[..(max_width - 3) as usize]) + "...";
    }
    if max_width < 7 {
        return std::string::String::new();
    }
    if offset + max_width - 3 < len {
        let rest = bytes_str(&b[offset as usize..]);
        return "...".to_string() + &abbreviate_full(&rest, 0, max_width - 3);
    }
    "...".to_string() + &bytes_str(&b[(len - (max_width - 3)) as usize..])
}
