//! Sprig's path and URL functions (`path`, `path/filepath` on Linux, `url.go`).

use std::collections::BTreeMap;

use super::{Map, add, s, strval};
use crate::error::FuncError;
use crate::funcs::Ty;
use crate::value::Value;

pub(super) fn register(m: &mut Map) {
    use Ty::{Map as Dict, String as Str};
    for p in ["", "os"] {
        let name = |n: &str| {
            if p.is_empty() {
                n.to_string()
            } else {
                format!("os{}{}", n[..1].to_uppercase(), &n[1..])
            }
        };
        add(
            m,
            &name("base"),
            &[Str],
            None,
            |a| Ok(base(s(&a[0])).into()),
        );
        add(m, &name("dir"), &[Str], None, |a| Ok(dir(s(&a[0])).into()));
        add(m, &name("clean"), &[Str], None, |a| {
            Ok(clean(s(&a[0])).into())
        });
        add(m, &name("ext"), &[Str], None, |a| Ok(ext(s(&a[0])).into()));
        add(m, &name("isAbs"), &[Str], None, |a| {
            Ok(Value::Bool(s(&a[0]).starts_with('/')))
        });
    }
    add(m, "urlParse", &[Str], None, |a| url_parse(s(&a[0])));
    add(m, "urlJoin", &[Dict], None, |a| Ok(url_join(&a[0]).into()));
}

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> std::string::String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn base(p: &str) -> std::string::String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn dir(p: &str) -> std::string::String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

fn ext(p: &str) -> std::string::String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    std::string::String::new()
}

fn unescape(s: &str) -> std::string::String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    std::string::String::from_utf8_lossy(&out).into_owned()
}

fn url_parse(v: &str) -> Result<Value, FuncError> {
    let mut rest = v;
    let mut fragment = "";
    if let Some(i) = rest.find('#') {
        fragment = &rest[i + 1..];
        rest = &rest[..i];
    }
    let mut scheme = "";
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        if !cand.is_empty()
            && cand.starts_with(|c: char| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand;
            rest = &rest[i + 1..];
        } else if cand.is_empty() {
            return Err(FuncError::new(format!(
                "unable to parse url: parse {}: missing protocol scheme",
                crate::fmt::quote_go(v)
            )));
        }
    }
    let mut query = "";
    if let Some(i) = rest.find('?') {
        query = &rest[i + 1..];
        rest = &rest[..i];
    }
    let (mut host, mut userinfo, mut opaque, mut path) = ("", "", "", rest);
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let auth = &after[..end];
        path = &after[end..];
        match auth.rfind('@') {
            Some(i) => {
                userinfo = &auth[..i];
                host = &auth[i + 1..];
            }
            None => host = auth,
        }
    } else if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest;
        path = "";
    }
    let hostname = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    let mut d = BTreeMap::new();
    d.insert(
        "scheme".to_string(),
        Value::from(scheme.to_ascii_lowercase()),
    );
    d.insert("host".to_string(), Value::from(host));
    d.insert("hostname".to_string(), Value::from(hostname));
    d.insert("path".to_string(), Value::from(unescape(path)));
    d.insert("query".to_string(), Value::from(query));
    d.insert("opaque".to_string(), Value::from(opaque));
    d.insert("fragment".to_string(), Value::from(unescape(fragment)));
    d.insert("userinfo".to_string(), Value::from(userinfo));
    Ok(Value::map(d))
}

fn url_join(d: &Value) -> std::string::String {
    let get = |k: &str| match d {
        Value::Map(m) => m.get(k).map(|v| strval(&v)).unwrap_or_default(),
        _ => std::string::String::new(),
    };
    let (scheme, host, path, query, opaque, fragment, user) = (
        get("scheme"),
        get("host"),
        get("path"),
        get("query"),
        get("opaque"),
        get("fragment"),
        get("userinfo"),
    );
    let mut out = std::string::String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || !user.is_empty() {
            if !host.is_empty() || !path.is_empty() || !user.is_empty() {
                out.push_str("//");
            }
            if !user.is_empty() {
                out.push_str(&user);
                out.push('@');
            }
            out.push_str(&host);
        }
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&fragment);
    }
    out
}
