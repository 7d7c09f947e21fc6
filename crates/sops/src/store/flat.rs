//! The flat formats: dotenv (`KEY=value` lines) and INI (as gopkg.in/ini.v1 reads and writes it).

use crate::gofmt;
use crate::value::{Key, Value};

/// sops's `ValToString` for a scalar written into a flat format.
pub fn val_to_string(v: &Value) -> String {
    match v {
        Value::Str(s) | Value::Time(s) | Value::Comment(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Float(f) => {
            let g = gofmt::format_float_g(*f).to_uppercase();
            if !g.contains('.') && !g.contains('E') {
                format!("{f:.1}")
            } else {
                g
            }
        }
        Value::Null => "<nil>".into(),
        Value::Map(_) | Value::Seq(_) => String::new(),
    }
}

/// Parses a dotenv file into entries (values with `\n` decoded).
pub fn parse_dotenv(input: &str) -> Result<Vec<(Key, Value)>, String> {
    let mut out = Vec::new();
    for line in input.split('\n') {
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            out.push((Key::Comment(c.to_string()), Value::Null));
            continue;
        }
        let Some(eq) = line.find('=') else {
            return Err(format!("invalid dotenv input line: {line}"));
        };
        out.push((
            Key::Str(line[..eq].to_string()),
            Value::Str(line[eq + 1..].replace("\\n", "\n")),
        ));
    }
    Ok(out)
}

/// Writes dotenv entries as sops does.
pub fn emit_dotenv(entries: &[(Key, Value)]) -> Result<String, String> {
    let mut out = String::new();
    for (k, v) in entries {
        match k {
            Key::Comment(c) => {
                out.push('#');
                out.push_str(c);
                out.push('\n');
            }
            Key::Str(name) => {
                let value = match v {
                    Value::Map(_) | Value::Seq(_) => {
                        return Err(format!(
                            "cannot use complex value in dotenv file; offending key {name}"
                        ));
                    }
                    Value::Str(s) => s.replace('\n', "\\n"),
                    other => val_to_string(other),
                };
                out.push_str(name);
                out.push('=');
                out.push_str(&value);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// A section of an INI file.
struct Section {
    name: String,
    comment: String,
    keys: Vec<(String, String, String)>,
}

fn strip_comment_char(c: &str) -> String {
    if c.starts_with(';') {
        c.trim_start_matches([';', ' ']).to_string()
    } else if c.starts_with('#') {
        c.trim_start_matches(['#', ' ']).to_string()
    } else {
        c.to_string()
    }
}

fn read_key_name(line: &str) -> Result<(String, usize), String> {
    let quote = if line.starts_with("\"\"\"") && line.len() > 6 {
        "\"\"\""
    } else if line.starts_with('"') {
        "\""
    } else if line.starts_with('`') {
        "`"
    } else {
        ""
    };
    if !quote.is_empty() {
        let start = quote.len();
        let pos = line[start..]
            .find(quote)
            .ok_or_else(|| format!("missing closing key quote: {line}"))?
            + start;
        let i = line[pos + start..]
            .find(['=', ':'])
            .ok_or_else(|| format!("key-value delimiter not found: {line}"))?;
        return Ok((line[start..pos].trim().to_string(), pos + i + start + 1));
    }
    match line.find(['=', ':']) {
        None => Err(format!("key-value delimiter not found: {line}")),
        Some(0) => Err(format!("empty key name: {line}")),
        Some(i) => Ok((line[..i].trim().to_string(), i + 1)),
    }
}

/// Parses INI into sops's tree: one entry per section, comments after the key they belong to.
pub fn parse_ini(input: &str) -> Result<Vec<(Key, Value)>, String> {
    let text = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut sections = vec![Section {
        name: "DEFAULT".into(),
        comment: String::new(),
        keys: Vec::new(),
    }];
    let mut comment = String::new();
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(raw) = lines.next() {
        let line = raw.trim_start();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') || line.starts_with(';') {
            comment.push_str(line);
            continue;
        }
        if line.starts_with('[') {
            let close = line
                .rfind(']')
                .ok_or_else(|| format!("unclosed section: {}", line.trim_end()))?;
            let name = line[1..close].to_string();
            let rest = line[close + 1..].trim_start();
            if rest.starts_with('#') || rest.starts_with(';') {
                comment.push_str(rest);
            }
            sections.push(Section {
                name,
                comment: comment.trim().to_string(),
                keys: Vec::new(),
            });
            comment.clear();
            continue;
        }
        let (name, offset) = read_key_name(line)?;
        let rest = line[offset..].trim_start();
        let value = if rest.is_empty() {
            String::new()
        } else {
            let q = if rest.len() > 3 && rest.starts_with("\"\"\"") {
                "\"\"\""
            } else if rest.starts_with('`') {
                "`"
            } else {
                ""
            };
            if !q.is_empty() {
                let body = &rest[q.len()..];
                if let Some(p) = body.rfind(q) {
                    body[..p].to_string()
                } else {
                    let mut val = body.to_string();
                    loop {
                        let Some(next) = lines.next() else {
                            return Err(format!("missing closing quote for key {name}"));
                        };
                        if let Some(p) = next.rfind(q) {
                            val.push_str(&next[..p]);
                            let after = next[p..].trim_start_matches(q).trim_start();
                            if after.starts_with('#') || after.starts_with(';') {
                                comment.push_str(after.trim());
                            }
                            break;
                        }
                        val.push_str(next);
                    }
                    val
                }
            } else {
                let mut line = rest.trim().to_string();
                while line.ends_with('\\') {
                    line.pop();
                    match lines.next() {
                        Some(next) => line.push_str(next.trim()),
                        None => break,
                    }
                }
                if let Some(i) = line.find(['#', ';']) {
                    comment.push_str(&line[i..]);
                    line = line[..i].trim().to_string();
                }
                let surrounded = |q: char| {
                    line.len() >= 2
                        && line.starts_with(q)
                        && line.ends_with(q)
                        && !line[1..line.len() - 1].contains(q)
                };
                if surrounded('\'') || surrounded('"') {
                    line = line[1..line.len() - 1].to_string();
                }
                line
            }
        };
        let c = comment.trim().to_string();
        comment.clear();
        let Some(sec) = sections.last_mut() else {
            continue;
        };
        if let Some(k) = sec.keys.iter_mut().find(|k| k.0 == name) {
            k.1 = value;
            k.2 = c;
        } else {
            sec.keys.push((name, value, c));
        }
    }
    Ok(sections
        .into_iter()
        .map(|s| {
            let mut items = Vec::new();
            if !s.comment.is_empty() {
                items.push((Key::Comment(strip_comment_char(&s.comment)), Value::Null));
            }
            for (k, v, c) in s.keys {
                items.push((Key::Str(k), Value::Str(v)));
                if !c.is_empty() {
                    items.push((Key::Comment(strip_comment_char(&c)), Value::Null));
                }
            }
            (Key::Str(s.name), Value::Map(items))
        })
        .collect())
}

fn comment_lines(out: &mut String, comment: &str, trim_plain: bool) {
    for line in comment.split('\n') {
        match line.chars().next() {
            Some(c @ ('#' | ';')) => {
                out.push(c);
                out.push(' ');
                out.push_str(line[1..].trim());
            }
            _ => {
                out.push_str("; ");
                out.push_str(if trim_plain { line.trim() } else { line });
            }
        }
        out.push('\n');
    }
}

/// Writes sops's INI tree as gopkg.in/ini.v1 does (aligned `=`, a blank line between sections).
pub fn emit_ini(branches: &[Vec<(Key, Value)>]) -> Result<String, String> {
    let mut sections: Vec<Section> = Vec::new();
    for b in branches {
        for (k, v) in b {
            let Key::Str(name) = k else { continue };
            let Value::Map(items) = v else {
                return Err(
                    "Error encoding section: Section values should always be TreeBranches".into(),
                );
            };
            let mut sec = Section {
                name: name.clone(),
                comment: String::new(),
                keys: Vec::new(),
            };
            let mut first = 0;
            if let Some((Key::Comment(c), _)) = items.first() {
                sec.comment = c.clone();
                first = 1;
            }
            for (ik, iv) in &items[first..] {
                match ik {
                    Key::Comment(c) => {
                        if let Some(last) = sec.keys.last_mut() {
                            last.2 = c.clone();
                        }
                    }
                    Key::Str(kn) => {
                        let val = val_to_string(iv);
                        if let Some(k) = sec.keys.iter_mut().find(|k| &k.0 == kn) {
                            k.1 = val;
                        } else {
                            sec.keys.push((kn.clone(), val, String::new()));
                        }
                    }
                }
            }
            sections.push(sec);
        }
    }
    let mut out = String::new();
    let last = sections.len().saturating_sub(1);
    for (i, sec) in sections.iter().enumerate() {
        if !sec.comment.is_empty() {
            comment_lines(&mut out, &sec.comment, false);
        }
        if i > 0 || sec.name.to_uppercase() != "DEFAULT" {
            out.push('[');
            out.push_str(&sec.name);
            out.push_str("]\n");
        } else if sec.keys.is_empty() {
            continue;
        }
        let quoted = |k: &str| -> String {
            if k.contains('"') || k.contains(['=', ':']) {
                format!("`{k}`")
            } else if k.contains('`') {
                format!("\"\"\"{k}\"\"\"")
            } else {
                k.to_string()
            }
        };
        let align = sec
            .keys
            .iter()
            .map(|k| quoted(&k.0).len())
            .max()
            .unwrap_or(0);
        for (k, v, c) in &sec.keys {
            if !c.is_empty() {
                comment_lines(&mut out, c, true);
            }
            let kn = quoted(k);
            out.push_str(&kn);
            for _ in kn.len()..align {
                out.push(' ');
            }
            out.push_str(" = ");
            if v.contains(['\n', '`']) {
                out.push_str("\"\"\"");
                out.push_str(v);
                out.push_str("\"\"\"");
            } else if v.contains(['#', ';']) {
                out.push('`');
                out.push_str(v);
                out.push('`');
            } else if v.trim().len() != v.len() {
                out.push('"');
                out.push_str(v);
                out.push('"');
            } else {
                out.push_str(v);
            }
            out.push('\n');
        }
        if i != last {
            out.push('\n');
        }
    }
    Ok(out)
}
