//! Helm's `strvals`: `--set a.b=c,list[0].x=1,tags={a,b}` into values.

use serde_json::{Map, Value};

/// How the right-hand side of `K=V` is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: typed (`true`, `null`, integers) with `{a,b}` lists.
    Typed,
    /// `--set-string`: always a string.
    String,
    /// `--set-json`: a JSON document.
    Json,
    /// `--set-file`: the (already read) file contents as a string.
    File,
}

/// Parses one expression into `data` (Helm's `strvals.ParseInto`);
/// `read_file` supplies `--set-file` contents by path.
pub fn parse_into(
    expr: &str,
    data: &mut Map<String, Value>,
    kind: SetKind,
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<(), String> {
    let mut p = Parser {
        s: expr.chars().collect(),
        i: 0,
        kind,
        read_file,
    };
    while p.i < p.s.len() {
        p.key(data)?;
    }
    Ok(())
}

struct Parser<'a> {
    s: Vec<char>,
    i: usize,
    kind: SetKind,
    read_file: &'a mut dyn FnMut(&str) -> Result<String, String>,
}

impl Parser<'_> {
    /// Reads until one of `stop` (escapes honoured); returns the text and the stop char.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        while self.i < self.s.len() {
            let c = self.s[self.i];
            self.i += 1;
            if c == '\\' {
                if self.i < self.s.len() {
                    out.push(self.s[self.i]);
                    self.i += 1;
                }
                continue;
            }
            if stop.contains(&c) {
                return (out, Some(c));
            }
            out.push(c);
        }
        (out, None)
    }

    fn key(&mut self, data: &mut Map<String, Value>) -> Result<(), String> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    Ok(())
                } else {
                    Err(format!("key \"{k}\" has no value"))
                }
            }
            Some(',') => Err(format!("key \"{k}\" has no value (cannot end with ,)")),
            Some('=') => {
                let v = self.value()?;
                data.insert(k, v);
                Ok(())
            }
            Some('.') => {
                if k.is_empty() {
                    return Err("key \"\" has no value".into());
                }
                let mut inner = match data.remove(&k) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let r = self.key(&mut inner);
                data.insert(k, Value::Object(inner));
                r
            }
            Some('[') => {
                let mut list = match data.remove(&k) {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                let i = self.index()?;
                let r = self.list_item(&mut list, i);
                data.insert(k, Value::Array(list));
                r
            }
            Some(c) => Err(format!("unexpected {c}")),
        }
    }

    fn index(&mut self) -> Result<usize, String> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err("error parsing index: unexpected end".into());
        }
        let n: i64 = v.parse().map_err(|_| {
            format!("error parsing index: strconv.Atoi: parsing \"{v}\": invalid syntax")
        })?;
        if n < 0 {
            return Err(format!("negative {n} index not allowed"));
        }
        if n > 65536 {
            return Err(format!(
                "index of {n} is greater than maximum supported index of 65536"
            ));
        }
        Ok(n as usize)
    }

    fn list_item(&mut self, list: &mut Vec<Value>, i: usize) -> Result<(), String> {
        if list.len() <= i {
            list.resize(i + 1, Value::Null);
        }
        let c = self.s.get(self.i).copied();
        self.i += 1;
        match c {
            None => Err("unexpected end of input".into()),
            Some('=') => {
                list[i] = self.value()?;
                Ok(())
            }
            Some('.') => {
                let mut inner = match std::mem::take(&mut list[i]) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                let r = self.key(&mut inner);
                list[i] = Value::Object(inner);
                r
            }
            Some('[') => {
                let mut inner = match std::mem::take(&mut list[i]) {
                    Value::Array(a) => a,
                    _ => Vec::new(),
                };
                let j = self.index()?;
                let r = self.list_item(&mut inner, j);
                list[i] = Value::Array(inner);
                r
            }
            Some(c) => Err(format!("parse error: unexpected token {c:?}")),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.kind {
            SetKind::Json => {
                let rest: String = self.s[self.i..].iter().collect();
                let mut de = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
                let v = match de.next() {
                    Some(Ok(v)) => v,
                    Some(Err(e)) => return Err(e.to_string()),
                    None => Value::Null,
                };
                let used = rest[..de.byte_offset()].chars().count();
                self.i += used;
                while self.s.get(self.i).is_some_and(|c| c.is_whitespace()) {
                    self.i += 1;
                }
                match self.s.get(self.i) {
                    None => {}
                    Some(',') => self.i += 1,
                    Some(c) => return Err(format!("unexpected {c} after JSON value")),
                }
                Ok(v)
            }
            SetKind::Typed if self.s.get(self.i) == Some(&'{') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    let (v, last) = self.until(&[',', '}']);
                    match last {
                        Some(',') => items.push(typed(&v)),
                        Some('}') => {
                            if !v.is_empty() || !items.is_empty() {
                                items.push(typed(&v));
                            }
                            if self.s.get(self.i) == Some(&',') {
                                self.i += 1;
                            }
                            return Ok(Value::Array(items));
                        }
                        _ => return Err("list must terminate with '}'".into()),
                    }
                }
            }
            _ => {
                let (v, _) = self.until(&[',']);
                Ok(match self.kind {
                    SetKind::Typed => typed(&v),
                    SetKind::File => Value::String((self.read_file)(&v)?),
                    _ => Value::String(v),
                })
            }
        }
    }
}

/// Helm's `typedVal`.
fn typed(v: &str) -> Value {
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if v == "0" {
        return Value::from(0);
    }
    if !v.is_empty()
        && !v.starts_with('0')
        && let Ok(i) = v.parse::<i64>()
        && !v.starts_with('+')
    {
        return Value::from(i);
    }
    Value::String(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: SetKind, expr: &str) -> Result<Value, String> {
        let mut m = Map::new();
        parse_into(expr, &mut m, kind, &mut |p| Ok(format!("<{p}>")))?;
        Ok(Value::Object(m))
    }

    #[test]
    fn typed_values_nesting_lists_and_escapes() {
        let v = parse(
            SetKind::Typed,
            r"a.b=1,c=true,d=null,e=0,f=012,g={x,2},h[1].i=j,k\.l=m",
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": {"b": 1}, "c": true, "d": null, "e": 0, "f": "012",
                "g": ["x", 2], "h": [null, {"i": "j"}], "k.l": "m"})
        );
    }

    #[test]
    fn strings_json_and_files() {
        assert_eq!(
            parse(SetKind::String, "a=1,b=true").unwrap(),
            serde_json::json!({"a": "1", "b": "true"})
        );
        assert_eq!(
            parse(SetKind::Json, r#"a={"b":[1,2]},c="d""#).unwrap(),
            serde_json::json!({"a": {"b": [1, 2]}, "c": "d"})
        );
        assert_eq!(
            parse(SetKind::File, "a=x.txt").unwrap(),
            serde_json::json!({"a": "<x.txt>"})
        );
    }

    #[test]
    fn errors_are_worded_as_helms() {
        assert_eq!(
            parse(SetKind::Typed, "a").unwrap_err(),
            "key \"a\" has no value"
        );
        assert_eq!(
            parse(SetKind::Typed, "a,b=1").unwrap_err(),
            "key \"a\" has no value (cannot end with ,)"
        );
        assert_eq!(
            parse(SetKind::Typed, "a={{ x }}").unwrap_err(),
            "key \"}\" has no value"
        );
        assert_eq!(
            parse(SetKind::Typed, "a[-1]=x").unwrap_err(),
            "negative -1 index not allowed"
        );
    }
}
