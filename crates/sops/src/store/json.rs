//! JSON as sops reads it (Go's token stream: numbers are floats, key order and duplicates kept)
//! and writes it (`encoding/json` escaping, tab indentation).

use crate::gofmt;
use crate::value::{Key, Value};

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: &str) -> Result<T, String> {
        Err(format!("{msg} at byte {}", self.i))
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 512 {
            return self.err("nesting too deep");
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                Ok(Value::Map(self.object(depth)?))
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Value::Seq(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Seq(items));
                        }
                        _ => return self.err("expected , or ]"),
                    }
                }
            }
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') => self.lit("true", Value::Bool(true)),
            Some(b'f') => self.lit("false", Value::Bool(false)),
            Some(b'n') => self.lit("null", Value::Null),
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            _ => self.err("expected a JSON value"),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Vec<(Key, Value)>, String> {
        let mut entries = Vec::new();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(entries);
        }
        loop {
            if self.peek() != Some(b'"') {
                return self.err("expected an object key");
            }
            let k = self.string()?;
            if self.peek() != Some(b':') {
                return self.err("expected :");
            }
            self.i += 1;
            let v = self.value(depth + 1)?;
            entries.push((Key::Str(k), v));
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(entries);
                }
                _ => return self.err("expected , or }"),
            }
        }
    }

    fn lit(&mut self, word: &str, v: Value) -> Result<Value, String> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            self.err("invalid literal")
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len()
            && matches!(
                self.s[self.i],
                b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
            )
        {
            self.i += 1;
        }
        let t =
            std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "bad number".to_string())?;
        t.parse::<f64>()
            .map(Value::Float)
            .or_else(|_| self.err("invalid number"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|t| u32::from_str_radix(t, 16).ok());
        match h {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => self.err("bad \\u escape"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return self.err("unterminated string");
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("unterminated escape");
                    };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                        .unwrap_or('\u{FFFD}')
                                } else {
                                    self.i = save;
                                    '\u{FFFD}'
                                }
                            } else {
                                char::from_u32(hi).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => return self.err("invalid escape"),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return self.err("control character in string"),
                c => out.push(c),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Parses a JSON document whose top level is an object.
pub fn parse(input: &[u8]) -> Result<Vec<(Key, Value)>, String> {
    let mut p = Parser { s: input, i: 0 };
    if p.peek() != Some(b'{') {
        return p.err("expected a JSON object at the top level");
    }
    p.i += 1;
    let entries = p.object(0)?;
    if p.peek().is_some() {
        return p.err("unexpected data after the top-level object");
    }
    Ok(entries)
}

/// `encoding/json`'s string form (HTML-safe escaping).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
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
    out
}

fn emit_value(v: &Value, depth: usize, indent: &str, out: &mut String) -> Result<(), String> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out
            .push_str(&gofmt::format_float_json(*f).ok_or("json: unsupported value: NaN or Inf")?),
        Value::Str(s) | Value::Time(s) => out.push_str(&quote(s)),
        Value::Bytes(b) => {
            use base64::Engine as _;
            out.push_str(&quote(&base64::engine::general_purpose::STANDARD.encode(b)))
        }
        Value::Comment(_) => {}
        Value::Map(entries) => emit_entries(entries, depth, indent, out)?,
        Value::Seq(items) => {
            let items: Vec<_> = items
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1, indent);
                emit_value(v, depth + 1, indent, out)?;
            }
            newline(out, depth, indent);
            out.push(']');
        }
    }
    Ok(())
}

fn emit_entries(
    entries: &[(Key, Value)],
    depth: usize,
    indent: &str,
    out: &mut String,
) -> Result<(), String> {
    let items: Vec<_> = entries
        .iter()
        .filter_map(|(k, v)| k.as_str().map(|k| (k, v)))
        .collect();
    if items.is_empty() {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, depth + 1, indent);
        out.push_str(&quote(k));
        out.push_str(": ");
        emit_value(v, depth + 1, indent, out)?;
    }
    newline(out, depth, indent);
    out.push('}');
    Ok(())
}

fn newline(out: &mut String, depth: usize, indent: &str) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str(indent);
    }
}

/// Writes a branch as sops does: indented (tab by default), with a final newline.
pub fn emit(entries: &[(Key, Value)], indent: &str) -> Result<String, String> {
    let mut out = String::new();
    emit_entries(entries, 0, indent, &mut out)?;
    out.push('\n');
    Ok(out)
}
