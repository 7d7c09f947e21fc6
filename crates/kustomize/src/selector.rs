//! Kubernetes label selectors in their string form
//! (`app=web,tier!=db,env in (a,b),!legacy`).

use serde_json::{Map, Value};

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector(Vec<Req>);

/// Parses a selector string.
pub(crate) fn parse(s: &str) -> Result<Selector, String> {
    let mut reqs = Vec::new();
    for part in split_top(s) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let bad = || format!("invalid selector requirement '{part}'");
        if let Some(key) = part.strip_prefix('!') {
            reqs.push(Req::NotExists(key.trim().to_owned()));
        } else if let Some((k, v)) = part.split_once("!=") {
            reqs.push(Req::NotEq(k.trim().to_owned(), v.trim().to_owned()));
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            reqs.push(Req::Eq(k.trim().to_owned(), v.trim().to_owned()));
        } else if let Some((k, rest)) = part.split_once(" notin ") {
            reqs.push(Req::NotIn(k.trim().to_owned(), set(rest).ok_or_else(bad)?));
        } else if let Some((k, rest)) = part.split_once(" in ") {
            reqs.push(Req::In(k.trim().to_owned(), set(rest).ok_or_else(bad)?));
        } else if part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            reqs.push(Req::Exists(part.to_owned()));
        } else {
            return Err(bad());
        }
    }
    Ok(Selector(reqs))
}

fn set(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_owned()).collect())
}

/// Splits at commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

impl Selector {
    /// True when the labels satisfy every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator() {
        let labels: Map<String, Value> =
            serde_json::from_str(r#"{"app":"web","env":"prod"}"#).unwrap();
        for (s, want) in [
            ("app=web", true),
            ("app==web,env=prod", true),
            ("app!=web", false),
            ("env in (dev, prod)", true),
            ("env notin (prod)", false),
            ("app", true),
            ("!tier", true),
            ("!app", false),
        ] {
            assert_eq!(parse(s).unwrap().matches(&labels), want, "{s}");
        }
    }
}
