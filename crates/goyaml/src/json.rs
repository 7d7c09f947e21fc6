//! A JSON reader that reads every number to the nearest `f64`.
//!
//! serde_json, built without its `float_roundtrip` feature, may read a
//! decimal number into a neighbouring `f64`. Kustomize's Go reads the
//! nearest one and prints its shortest form, so that last bit shows (for
//! example `0.09938699999999999` against `0.099387`). Numbers here go
//! through the standard library's correctly rounded parser instead.
//!
//! Only called on text serde_json has already accepted, so it reports no
//! details, just `None` on malformed input.

use serde_json::{Map, Number, Value};

/// The deepest nesting of arrays and objects read (serde_json's limit).
pub(super) const MAX_DEPTH: usize = 128;

/// Reads one JSON value filling the whole of `text` (surrounding whitespace
/// allowed).
pub(super) fn parse(text: &str) -> Option<Value> {
    let mut r = Reader {
        text,
        pos: 0,
        depth: 0,
    };
    let v = r.value()?;
    r.skip_whitespace();
    (r.pos == text.len()).then_some(v)
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// Arrays and objects currently open.
    depth: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_whitespace();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, word: &str, value: Value) -> Option<Value> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Some(value)
        } else {
            None
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_whitespace();
        match self.peek()? {
            b'{' | b'[' if self.depth >= MAX_DEPTH => None,
            b'{' => {
                self.depth += 1;
                let v = self.object();
                self.depth -= 1;
                v
            }
            b'[' => {
                self.depth += 1;
                let v = self.array();
                self.depth -= 1;
                v
            }
            b'"' => self.string().map(Value::String),
            b't' => self.keyword("true", Value::Bool(true)),
            b'f' => self.keyword("false", Value::Bool(false)),
            b'n' => self.keyword("null", Value::Null),
            _ => self.number(),
        }
    }

    fn object(&mut self) -> Option<Value> {
        self.pos += 1; // '{'
        let mut map = Map::new();
        if self.eat(b'}') {
            return Some(Value::Object(map));
        }
        loop {
            self.skip_whitespace();
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            let value = self.value()?;
            // A repeated key keeps the last value, as Go's decoder does.
            map.insert(key, value);
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}').then_some(Value::Object(map));
        }
    }

    fn array(&mut self) -> Option<Value> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        if self.eat(b']') {
            return Some(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.eat(b',') {
                continue;
            }
            return self.eat(b']').then_some(Value::Array(items));
        }
    }

    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let end = rest.find(['"', '\\'])?;
            out.push_str(&rest[..end]);
            self.pos += end + 1;
            if rest.as_bytes()[end] == b'"' {
                return Some(out);
            }
            let escape = self.peek()?;
            self.pos += 1;
            let c = match escape {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => self.unicode_escape()?,
                _ => return None,
            };
            out.push(c);
        }
    }

    /// The code point of `\uXXXX`, or of a `\uXXXX\uXXXX` surrogate pair.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if !(0xD800..0xDC00).contains(&first) {
            return char::from_u32(first);
        }
        if !self.text[self.pos..].starts_with("\\u") {
            return None;
        }
        self.pos += 2;
        let second = self.hex4()?;
        if !(0xDC00..0xE000).contains(&second) {
            return None;
        }
        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(digits, 16).ok()?;
        self.pos += 4;
        Some(v)
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        let mut integral = true;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => integral = false,
                _ => break,
            }
            self.pos += 1;
        }
        let text = &self.text[start..self.pos];
        if integral {
            if let Ok(u) = text.parse::<u64>() {
                return Some(Value::Number(u.into()));
            }
            if let Ok(i) = text.parse::<i64>() {
                return Some(Value::Number(i.into()));
            }
        }
        // Correctly rounded; out-of-range values give infinity, which
        // `from_f64` refuses.
        let f: f64 = text.parse().ok()?;
        Number::from_f64(f).map(Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json() {
        let v = parse(r#" {"a": [1, -2, 18446744073709551615, 1.5e3, true, false, null, {}], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} "#)
            .unwrap();
        assert_eq!(v["a"][0], 1);
        assert_eq!(v["a"][1], -2);
        assert_eq!(v["a"][2].as_u64(), Some(u64::MAX));
        assert_eq!(v["a"][3].as_f64(), Some(1500.0));
        assert_eq!(v["b"], "x\"\\/\u{8}\u{c}\n\r\té😀");
        assert!(parse("{} x").is_none());
        assert!(parse(r#""\ud83d""#).is_none());
    }

    #[test]
    fn refuses_deep_nesting() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_some());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).is_none());
    }

    #[test]
    fn floats_are_correctly_rounded() {
        for text in [
            "0.09938699999999999",
            "-1.87e27",
            "229834.04986520298",
            "2.8e26",
        ] {
            let want: f64 = text.parse().unwrap();
            assert_eq!(parse(text).unwrap().as_f64(), Some(want), "{text}");
        }
    }
}
