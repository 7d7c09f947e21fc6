//! A YAML writer that reproduces what sops writes through yaml.v3: indentation, scalar
//! styles and comment placement.

use crate::gofmt;
use crate::value::{Key, Value};

/// Writes documents (one per branch) with the given indentation (sops's default is 4).
pub fn emit(branches: &[Vec<(Key, Value)>], indent: usize) -> String {
    let mut e = Emitter {
        out: String::new(),
        best: indent.max(2),
        open_ended: false,
    };
    for (i, b) in branches.iter().enumerate() {
        if i > 0 {
            e.out.push_str("---\n");
        }
        e.top(b);
    }
    if e.open_ended {
        e.out.push_str("...\n");
    }
    e.out
}

struct Emitter {
    out: String,
    best: usize,
    open_ended: bool,
}

fn is_comment_entry(e: &(Key, Value)) -> bool {
    matches!(e.0, Key::Comment(_))
}

/// Splits the comments at the start of a mapping from the rest.
fn leading_comments(entries: &[(Key, Value)]) -> (Vec<&str>, &[(Key, Value)]) {
    let n = entries.iter().take_while(|e| is_comment_entry(e)).count();
    let c = entries[..n]
        .iter()
        .filter_map(|(k, _)| match k {
            Key::Comment(c) => Some(c.as_str()),
            Key::Str(_) => None,
        })
        .collect();
    (c, &entries[n..])
}

fn leading_seq_comments(items: &[Value]) -> (Vec<&str>, &[Value]) {
    let n = items
        .iter()
        .take_while(|v| matches!(v, Value::Comment(_)))
        .count();
    let c = items[..n]
        .iter()
        .filter_map(|v| match v {
            Value::Comment(c) => Some(c.as_str()),
            _ => None,
        })
        .collect();
    (c, &items[n..])
}

/// Comments hoisted before a `-`, and the rest of the nested mapping or sequence.
type Hoisted<'a> = (
    Vec<&'a str>,
    Option<&'a [(Key, Value)]>,
    Option<&'a [Value]>,
);

impl Emitter {
    fn spaces(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    fn comment_lines(&mut self, comments: &[&str], indent: usize) {
        for c in comments {
            self.spaces(indent);
            self.out.push('#');
            self.out.push_str(c);
            self.out.push('\n');
        }
    }

    fn child_indent(&self, indent: usize) -> usize {
        self.best * ((indent + self.best) / self.best)
    }

    fn top(&mut self, entries: &[(Key, Value)]) {
        if entries.iter().all(is_comment_entry) {
            let (c, _) = leading_comments(entries);
            self.comment_lines(&c, 0);
            self.out.push_str("{}\n");
            return;
        }
        self.mapping(entries, 0, false);
    }

    /// A block mapping at `indent`; with `inline`, the first key goes where the cursor is.
    fn mapping(&mut self, entries: &[(Key, Value)], indent: usize, inline: bool) {
        let mut pending: Vec<&str> = Vec::new();
        let mut first = true;
        for (k, v) in entries {
            match k {
                Key::Comment(c) => pending.push(c),
                Key::Str(name) => {
                    if !(first && inline) {
                        self.comment_lines(&pending, indent);
                        self.spaces(indent);
                    }
                    pending.clear();
                    first = false;
                    self.open_ended = false;
                    self.scalar_str(name, true, indent);
                    self.out.push(':');
                    self.value(v, indent, false);
                }
            }
        }
        self.comment_lines(&pending, indent);
    }

    /// A value after `key:` (or after `-` when `in_seq`), then the line end.
    fn value(&mut self, v: &Value, indent: usize, in_seq: bool) {
        let child = if in_seq {
            indent + 2
        } else {
            self.child_indent(indent)
        };
        match v {
            Value::Map(entries) if entries.iter().any(|e| !is_comment_entry(e)) => {
                if in_seq {
                    let (c, rest) = leading_comments(entries);
                    debug_assert!(c.is_empty(), "hoisted by the caller");
                    self.out.push(' ');
                    self.mapping(rest, child, true);
                } else {
                    self.out.push('\n');
                    let (c, rest) = leading_comments(entries);
                    self.comment_lines(&c, child);
                    self.mapping(rest, child, false);
                }
            }
            Value::Seq(items) if items.iter().any(|i| !matches!(i, Value::Comment(_))) => {
                let seq_indent = if in_seq { indent + 2 } else { child };
                if in_seq {
                    self.out.push(' ');
                    self.sequence(items, seq_indent, true);
                } else {
                    self.out.push('\n');
                    self.sequence(items, seq_indent, false);
                }
            }
            Value::Map(_) => self.out.push_str(" {}\n"),
            Value::Seq(_) => self.out.push_str(" []\n"),
            scalar => {
                self.out.push(' ');
                self.scalar(scalar, child);
                if !self.out.ends_with('\n') {
                    self.out.push('\n');
                }
            }
        }
    }

    fn sequence(&mut self, items: &[Value], indent: usize, inline: bool) {
        let mut pending: Vec<&str> = Vec::new();
        let mut first = true;
        for item in items {
            if let Value::Comment(c) = item {
                pending.push(c);
                continue;
            }
            // Comments opening a nested collection are written before its `-`.
            let (inner, rest_map, rest_seq): Hoisted<'_> = match item {
                Value::Map(e) if e.iter().any(|x| !is_comment_entry(x)) => {
                    let (c, r) = leading_comments(e);
                    (c, Some(r), None)
                }
                Value::Seq(s) if s.iter().any(|x| !matches!(x, Value::Comment(_))) => {
                    let (c, r) = leading_seq_comments(s);
                    (c, None, Some(r))
                }
                _ => (Vec::new(), None, None),
            };
            pending.extend(inner);
            if !(first && inline) {
                self.comment_lines(&pending, indent);
                self.spaces(indent);
            }
            pending.clear();
            first = false;
            self.open_ended = false;
            self.out.push('-');
            match (rest_map, rest_seq) {
                (Some(m), _) => {
                    self.out.push(' ');
                    self.mapping(m, indent + 2, true);
                }
                (_, Some(s)) => {
                    self.out.push(' ');
                    self.sequence(s, indent + 2, true);
                }
                _ => self.value(item, indent, true),
            }
        }
        self.comment_lines(&pending, indent);
    }

    fn scalar(&mut self, v: &Value, block_indent: usize) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => self.out.push_str(&gofmt::format_float_yaml(*f)),
            Value::Time(t) => self.out.push_str(t),
            Value::Str(s) => self.scalar_str(s, false, block_indent),
            Value::Comment(c) => self.scalar_str(c, false, block_indent),
            Value::Bytes(b) => {
                use base64::Engine as _;
                self.out.push_str("!!binary ");
                let enc = base64::engine::general_purpose::STANDARD.encode(b);
                self.out.push_str(&enc);
            }
            Value::Map(_) | Value::Seq(_) => {}
        }
    }

    fn scalar_str(&mut self, s: &str, key: bool, block_indent: usize) {
        match choose_style(s, key) {
            Style::Plain => self.out.push_str(s),
            Style::Single => {
                self.out.push('\'');
                self.out.push_str(&s.replace('\'', "''"));
                self.out.push('\'');
            }
            Style::Double => self.out.push_str(&double_quote(s)),
            Style::Literal => self.literal(s, block_indent),
        }
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.out.push('|');
        let first = s.chars().next();
        if matches!(
            first,
            Some(' ')
                | Some('\n')
                | Some('\r')
                | Some('\u{85}')
                | Some('\u{2028}')
                | Some('\u{2029}')
        ) {
            self.out.push_str(&self.best.to_string());
        }
        let mut rev = s.chars().rev();
        let last = rev.next();
        let before = rev.next();
        if !last.is_some_and(is_break) {
            self.out.push('-');
        } else if s.chars().count() == 1 || before.is_some_and(is_break) {
            self.out.push('+');
            self.open_ended = true;
        }
        self.out.push('\n');
        let mut at_line_start = true;
        for c in s.chars() {
            if c == '\n' {
                self.out.push('\n');
                at_line_start = true;
            } else {
                if at_line_start {
                    self.spaces(indent);
                    at_line_start = false;
                }
                self.out.push(c);
                if is_break(c) {
                    at_line_start = true;
                }
            }
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// yaml.v3's notion of a printable character.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_ind = s.starts_with("---") || s.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
    let mut tabs = false;
    let (mut lead_space, mut lead_break, mut trail_space, mut trail_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_ws = true;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let followed_ws =
            i + 1 >= n || matches!(chars[i + 1], ' ' | '\t') || is_break(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_ind = true,
                '?' | ':' if followed_ws => block_ind = true,
                '-' if followed_ws => block_ind = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_ws => block_ind = true,
                '#' if preceded_ws => block_ind = true,
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                lead_space = true;
            }
            if i + 1 == n {
                trail_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                lead_break = true;
            }
            if i + 1 == n {
                trail_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain: true,
        single: true,
        block: true,
    };
    if lead_space || lead_break || trail_space || trail_break {
        a.block_plain = false;
    }
    if trail_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || tabs || special {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block = false;
    }
    if line_breaks || block_ind {
        a.block_plain = false;
    }
    a
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        let g = &b[st..i];
        let ok = match g.len() {
            1 => true,
            2 => g[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

fn choose_style(s: &str, key: bool) -> Style {
    let resolves_str =
        matches!(super::yaml_parse::resolve_plain(s), Value::Str(_)) && !matches!(s, "<<");
    let can_plain = resolves_str && !is_base60_float(s) && !is_old_bool(s);
    let mut style = if s.contains('\n') {
        Style::Literal
    } else if can_plain {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    // First pass (the value on its own), as Node.Encode does.
    style = select(style, &a, false);
    // Second pass, in the mapping.
    if key {
        style = select(style, &a, true);
    }
    style
}

fn select(mut style: Style, a: &Analysis, simple_key: bool) -> Style {
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain && !a.block_plain {
        style = Style::Single;
    }
    if style == Style::Single && !a.single {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block || simple_key) {
        style = Style::Double;
    }
    style
}

fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let u = c as u32;
        let esc = !is_printable(c) || u == 0xFEFF || is_break(c) || c == '"' || c == '\\';
        if !esc {
            out.push(c);
            continue;
        }
        match c {
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            _ if u <= 0xFF => out.push_str(&format!("\\x{u:02X}")),
            _ if u <= 0xFFFF => out.push_str(&format!("\\u{u:04X}")),
            _ => out.push_str(&format!("\\U{u:08X}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles() {
        assert_eq!(choose_style("a: b", false), Style::Single);
        assert_eq!(choose_style(" x", false), Style::Single);
        assert_eq!(choose_style("true", false), Style::Double);
        assert_eq!(choose_style("yes", true), Style::Double);
        assert_eq!(choose_style("s3cr#t", false), Style::Plain);
        assert_eq!(choose_style("a\nb", false), Style::Literal);
        assert_eq!(choose_style("a \nb", false), Style::Double);
        assert_eq!(choose_style("", false), Style::Double);
        assert_eq!(choose_style("2024-01-01", false), Style::Double);
        assert_eq!(double_quote("\u{1F600}"), "\"\\U0001F600\"");
    }
}
