//! A YAML reader for sops documents: block and flow collections, all scalar styles, anchors,
//! and comments placed in the tree the way sops (over yaml.v3) places them.
//!
//! Not covered: complex keys (`? `), tags other than the core ones (they are ignored), and
//! directives (skipped).

use std::collections::HashMap;

use crate::gofmt;
use crate::value::{Key, Value};

type PResult<T> = Result<T, String>;

/// Parses every document of a YAML stream into one branch each.
pub fn parse(input: &str) -> PResult<Vec<Vec<(Key, Value)>>> {
    let text = input.replace("\r\n", "\n");
    let mut p = Parser {
        s: text.as_bytes(),
        src: &text,
        pos: 0,
        pending: Vec::new(),
        anchors: HashMap::new(),
        depth: 0,
    };
    let mut docs = Vec::new();
    loop {
        let doc = p.document()?;
        match doc {
            Some(d) => docs.push(d),
            None => break,
        }
    }
    Ok(docs)
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    /// Comment lines not yet placed: (column, text after `#`).
    pending: Vec<(usize, String)>,
    anchors: HashMap<String, Value>,
    depth: usize,
}

/// What the next content is.
enum Next {
    /// Content at this column.
    Content(usize),
    /// `---` or `...` at column 0, or the end of input.
    DocEnd,
}

fn comment_entry(c: String) -> (Key, Value) {
    (Key::Comment(c), Value::Null)
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: &str) -> PResult<T> {
        let line = self.s[..self.pos.min(self.s.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        Err(format!("line {line}: {msg}"))
    }

    fn col(&self, pos: usize) -> usize {
        let start = self.s[..pos]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        pos - start
    }

    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    fn is_doc_marker(&self, pos: usize) -> bool {
        if self.col(pos) != 0 {
            return false;
        }
        let r = &self.s[pos..];
        (r.starts_with(b"---") || r.starts_with(b"..."))
            && matches!(r.get(3), None | Some(b' ' | b'\n' | b'\t'))
    }

    fn line_end(&self, from: usize) -> usize {
        self.s[from..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(self.s.len(), |i| from + i)
    }

    /// Skips blanks, blank lines and comment lines (collected as pending) up to content.
    fn skip(&mut self) -> Next {
        loop {
            while matches!(self.at(self.pos), b' ' | b'\t') {
                self.pos += 1;
            }
            if self.pos >= self.s.len() {
                return Next::DocEnd;
            }
            match self.s[self.pos] {
                b'\n' => self.pos += 1,
                b'#' => {
                    let col = self.col(self.pos);
                    let end = self.line_end(self.pos);
                    self.pending
                        .push((col, self.src[self.pos + 1..end].to_string()));
                    self.pos = end;
                }
                b'%' if self.col(self.pos) == 0 => self.pos = self.line_end(self.pos),
                _ => {
                    if self.is_doc_marker(self.pos) {
                        return Next::DocEnd;
                    }
                    return Next::Content(self.col(self.pos));
                }
            }
        }
    }

    /// After a value on a line: an optional trailing comment, then the line end.
    fn end_of_line(&mut self, out: &mut Vec<String>) -> PResult<()> {
        while matches!(self.at(self.pos), b' ' | b'\t') {
            self.pos += 1;
        }
        match self.at(self.pos) {
            0 | b'\n' => Ok(()),
            b'#' => {
                let end = self.line_end(self.pos);
                out.push(self.src[self.pos + 1..end].to_string());
                self.pos = end;
                Ok(())
            }
            _ => self.err("unexpected text after a value"),
        }
    }

    fn document(&mut self) -> PResult<Option<Vec<(Key, Value)>>> {
        // Leading document markers.
        let mut saw_marker = false;
        loop {
            match self.skip() {
                Next::DocEnd if self.pos >= self.s.len() => {
                    if saw_marker || !self.pending.is_empty() {
                        let entries: Vec<_> = self
                            .pending
                            .drain(..)
                            .map(|(_, c)| comment_entry(c))
                            .collect();
                        return Ok(Some(entries));
                    }
                    return Ok(None);
                }
                Next::DocEnd => {
                    let is_start = self.s[self.pos..].starts_with(b"---");
                    self.pos += 3;
                    if is_start {
                        if saw_marker {
                            // An empty document.
                            let entries: Vec<_> = self
                                .pending
                                .drain(..)
                                .map(|(_, c)| comment_entry(c))
                                .collect();
                            return Ok(Some(entries));
                        }
                        saw_marker = true;
                        // Content may follow `--- ` on the same line.
                        while self.at(self.pos) == b' ' {
                            self.pos += 1;
                        }
                        if !matches!(self.at(self.pos), 0 | b'\n' | b'#') {
                            return self.err("a document that is not a mapping is not supported");
                        }
                    } else {
                        // `...`: end of a (possibly empty) document.
                        if saw_marker {
                            let entries: Vec<_> = self
                                .pending
                                .drain(..)
                                .map(|(_, c)| comment_entry(c))
                                .collect();
                            return Ok(Some(entries));
                        }
                    }
                }
                Next::Content(col) => {
                    let mut entries = Vec::new();
                    let v = self.block_node(col, None, &mut entries)?;
                    match v {
                        Value::Map(mut inner) => entries.append(&mut inner),
                        Value::Null => {}
                        Value::Seq(_) => {
                            return self.err("YAML documents that are sequences are not supported");
                        }
                        _ => return self.err("YAML documents that are values are not supported"),
                    }
                    match self.skip() {
                        Next::DocEnd => {}
                        Next::Content(_) => {
                            return self.err("unexpected content after the document");
                        }
                    }
                    entries.extend(self.pending.drain(..).map(|(_, c)| comment_entry(c)));
                    if self.s[self.pos..].starts_with(b"...") && self.is_doc_marker(self.pos) {
                        self.pos += 3;
                    }
                    return Ok(Some(entries));
                }
            }
        }
    }

    /// Reads `&anchor` and `!tag` properties at the cursor.
    fn properties(&mut self) -> PResult<(Option<String>, Option<String>)> {
        let mut anchor = None;
        let mut tag = None;
        loop {
            match self.at(self.pos) {
                b'&' | b'!' => {
                    let c = self.s[self.pos];
                    let start = self.pos + 1;
                    let mut end = start;
                    while !matches!(self.at(end), 0 | b' ' | b'\t' | b'\n' | b',' | b']' | b'}') {
                        end += 1;
                    }
                    let name = self.src[start..end].to_string();
                    if c == b'&' {
                        anchor = Some(name);
                    } else {
                        tag = Some(name);
                    }
                    self.pos = end;
                    while matches!(self.at(self.pos), b' ' | b'\t') {
                        self.pos += 1;
                    }
                }
                _ => return Ok((anchor, tag)),
            }
        }
    }

    /// A node in block context starting at the cursor (which is at content in column `col`).
    ///
    /// `parent` is the indentation of the enclosing collection (None at the top).
    /// Comments that sops places before the node (line comments) go to `before`.
    fn block_node(
        &mut self,
        col: usize,
        parent: Option<usize>,
        before: &mut Vec<(Key, Value)>,
    ) -> PResult<Value> {
        self.depth += 1;
        if self.depth > 256 {
            return self.err("nesting too deep");
        }
        let r = self.block_node_inner(col, parent, before);
        self.depth -= 1;
        r
    }

    fn block_node_inner(
        &mut self,
        col: usize,
        parent: Option<usize>,
        before: &mut Vec<(Key, Value)>,
    ) -> PResult<Value> {
        let (anchor, tag) = self.properties()?;
        if anchor.is_some() || tag.is_some() {
            // Properties alone on a line: the node follows on the next lines.
            if matches!(self.at(self.pos), 0 | b'\n' | b'#') {
                let mut lc = Vec::new();
                self.end_of_line(&mut lc)?;
                before.extend(lc.into_iter().map(comment_entry));
                let v = match self.skip() {
                    Next::Content(c) if parent.is_none_or(|p| c > p) => {
                        self.block_node(c, parent, before)?
                    }
                    _ => Value::Null,
                };
                let v = apply_tag(v, tag.as_deref());
                if let Some(a) = anchor {
                    self.anchors.insert(a, v.clone());
                }
                return Ok(v);
            }
        }
        let c = self.at(self.pos);
        let v = if c == b'-' && matches!(self.at(self.pos + 1), 0 | b' ' | b'\n' | b'\t') {
            let col = self.col(self.pos);
            self.sequence(col, before)?
        } else if self.looks_like_key() {
            let col = self.col(self.pos);
            self.mapping(col, before)?
        } else {
            let _ = col;
            let v = self.scalar_or_flow(parent.map_or(0, |p| p + 1), tag.as_deref())?;
            let mut lc = Vec::new();
            self.end_of_line(&mut lc)?;
            before.extend(lc.into_iter().map(comment_entry));
            v
        };
        if let Some(a) = anchor {
            self.anchors.insert(a, v.clone());
        }
        Ok(v)
    }

    /// Whether the line from the cursor is `key:` (plain or quoted key followed by `: ` or `:` at end).
    fn looks_like_key(&self) -> bool {
        let mut i = self.pos;
        match self.at(i) {
            b'"' | b'\'' => {
                let q = self.s[i];
                i += 1;
                while i < self.s.len() && self.s[i] != b'\n' {
                    if self.s[i] == b'\\' && q == b'"' {
                        i += 2;
                        continue;
                    }
                    if self.s[i] == q {
                        if q == b'\'' && self.at(i + 1) == b'\'' {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        while self.at(i) == b' ' {
                            i += 1;
                        }
                        return self.at(i) == b':'
                            && matches!(self.at(i + 1), 0 | b' ' | b'\n' | b'\t');
                    }
                    i += 1;
                }
                false
            }
            b'[' | b'{' | b'*' | b'|' | b'>' | b'#' => {
                // An alias key (`*a :`) is not supported; flow collections are values.
                false
            }
            _ => {
                while i < self.s.len() && self.s[i] != b'\n' {
                    if self.s[i] == b':' && matches!(self.at(i + 1), 0 | b' ' | b'\n' | b'\t') {
                        return true;
                    }
                    if self.s[i] == b'#' && i > 0 && matches!(self.s[i - 1], b' ' | b'\t') {
                        return false;
                    }
                    i += 1;
                }
                false
            }
        }
    }

    fn place_pending(&mut self, into: &mut Vec<(Key, Value)>, min_col: Option<usize>) {
        let mut keep = Vec::new();
        for (c, t) in self.pending.drain(..) {
            if min_col.is_none_or(|m| c >= m) {
                into.push(comment_entry(t));
            } else {
                keep.push((c, t));
            }
        }
        self.pending = keep;
    }

    fn place_pending_seq(&mut self, into: &mut Vec<Value>, min_col: Option<usize>) {
        let mut keep = Vec::new();
        for (c, t) in self.pending.drain(..) {
            if min_col.is_none_or(|m| c >= m) {
                into.push(Value::Comment(t));
            } else {
                keep.push((c, t));
            }
        }
        self.pending = keep;
    }

    fn mapping(&mut self, indent: usize, _before: &mut [(Key, Value)]) -> PResult<Value> {
        let mut entries: Vec<(Key, Value)> = Vec::new();
        let mut first = true;
        loop {
            if !first {
                match self.skip() {
                    Next::Content(c) if c == indent => {}
                    Next::Content(c) if c < indent => {
                        self.place_pending(&mut entries, Some(indent));
                        break;
                    }
                    Next::Content(_) => return self.err("bad indentation of a mapping entry"),
                    Next::DocEnd => {
                        self.place_pending(&mut entries, Some(indent));
                        break;
                    }
                }
            }
            first = false;
            self.place_pending(&mut entries, None);
            if self.at(self.pos) == b'-' && matches!(self.at(self.pos + 1), 0 | b' ' | b'\n') {
                return self.err("a sequence item where a mapping key was expected");
            }
            if !self.looks_like_key() {
                return self.err("expected a mapping key");
            }
            let key = self.key()?;
            // After `:`.
            while matches!(self.at(self.pos), b' ' | b'\t') {
                self.pos += 1;
            }
            let mut before: Vec<(Key, Value)> = Vec::new();
            let value = if matches!(self.at(self.pos), 0 | b'\n' | b'#') {
                let mut lc = Vec::new();
                self.end_of_line(&mut lc)?;
                before.extend(lc.into_iter().map(comment_entry));
                match self.skip() {
                    Next::Content(c) if c > indent => {
                        self.block_node(c, Some(indent), &mut before)?
                    }
                    Next::Content(c)
                        if c == indent
                            && self.at(self.pos) == b'-'
                            && matches!(self.at(self.pos + 1), 0 | b' ' | b'\n' | b'\t') =>
                    {
                        self.sequence(c, &mut before)?
                    }
                    _ => Value::Null,
                }
            } else {
                self.value_after_indicator(indent, &mut before)?
            };
            entries.append(&mut before);
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }

    /// The value after `key:` or `- ` on the same line.
    fn value_after_indicator(
        &mut self,
        indent: usize,
        before: &mut Vec<(Key, Value)>,
    ) -> PResult<Value> {
        let col = self.col(self.pos);
        let c = self.at(self.pos);
        if matches!(c, b'&' | b'!') {
            return self.block_node(col, Some(indent), before);
        }
        if c == b'*' {
            let v = self.alias()?;
            let mut lc = Vec::new();
            self.end_of_line(&mut lc)?;
            before.extend(lc.into_iter().map(comment_entry));
            return Ok(v);
        }
        if matches!(c, b'|' | b'>') {
            return self.block_scalar(indent, before);
        }
        if c == b'-' && matches!(self.at(self.pos + 1), b' ' | b'\n' | 0) {
            return self.err("a block sequence cannot start on the line of its key");
        }
        let v = self.scalar_or_flow(indent + 1, None)?;
        let mut lc = Vec::new();
        self.end_of_line(&mut lc)?;
        before.extend(lc.into_iter().map(comment_entry));
        Ok(v)
    }

    fn alias(&mut self) -> PResult<Value> {
        let start = self.pos + 1;
        let mut end = start;
        while !matches!(self.at(end), 0 | b' ' | b'\t' | b'\n' | b',' | b']' | b'}') {
            end += 1;
        }
        let name = &self.src[start..end];
        self.pos = end;
        match self.anchors.get(name) {
            Some(v) => Ok(v.clone()),
            None => self.err(&format!("unknown anchor `{name}`")),
        }
    }

    fn key(&mut self) -> PResult<Key> {
        let (anchor, tag) = self.properties()?;
        let v = match self.at(self.pos) {
            b'"' => Value::Str(self.double_quoted(0)?),
            b'\'' => Value::Str(self.single_quoted(0)?),
            _ => {
                let start = self.pos;
                let mut i = start;
                while i < self.s.len() && self.s[i] != b'\n' {
                    if self.s[i] == b':' && matches!(self.at(i + 1), 0 | b' ' | b'\n' | b'\t') {
                        break;
                    }
                    i += 1;
                }
                let text = self.src[start..i].trim_end();
                self.pos = i;
                apply_tag(resolve_plain(text), tag.as_deref())
            }
        };
        if let Some(a) = anchor {
            self.anchors.insert(a, v.clone());
        }
        while matches!(self.at(self.pos), b' ' | b'\t') {
            self.pos += 1;
        }
        if self.at(self.pos) != b':' {
            return self.err("expected `:` after a mapping key");
        }
        self.pos += 1;
        match v {
            Value::Str(s) => Ok(Key::Str(s)),
            Value::Null => Ok(Key::Str(String::new())),
            _ => self.err("a mapping key that is not a string is not supported by sops"),
        }
    }

    fn sequence(&mut self, indent: usize, _before: &mut [(Key, Value)]) -> PResult<Value> {
        let mut items: Vec<Value> = Vec::new();
        let mut first = true;
        loop {
            if !first {
                match self.skip() {
                    Next::Content(c)
                        if c == indent
                            && self.at(self.pos) == b'-'
                            && matches!(self.at(self.pos + 1), 0 | b' ' | b'\n' | b'\t') => {}
                    Next::Content(c) if c <= indent => {
                        self.place_pending_seq(&mut items, Some(indent));
                        break;
                    }
                    Next::Content(_) => return self.err("bad indentation of a sequence item"),
                    Next::DocEnd => {
                        self.place_pending_seq(&mut items, Some(indent));
                        break;
                    }
                }
            }
            first = false;
            self.place_pending_seq(&mut items, None);
            self.pos += 1; // '-'
            while matches!(self.at(self.pos), b' ' | b'\t') {
                self.pos += 1;
            }
            let mut before: Vec<(Key, Value)> = Vec::new();
            let value = if matches!(self.at(self.pos), 0 | b'\n' | b'#') {
                let mut lc = Vec::new();
                self.end_of_line(&mut lc)?;
                before.extend(lc.into_iter().map(comment_entry));
                match self.skip() {
                    Next::Content(c) if c > indent => {
                        self.block_node(c, Some(indent), &mut before)?
                    }
                    _ => Value::Null,
                }
            } else {
                let col = self.col(self.pos);
                let c = self.at(self.pos);
                if (c == b'-' && matches!(self.at(self.pos + 1), 0 | b' ' | b'\n' | b'\t'))
                    || self.looks_like_key()
                    || matches!(c, b'&' | b'!')
                {
                    self.block_node(col, Some(indent), &mut before)?
                } else {
                    self.value_after_indicator(indent, &mut before)?
                }
            };
            items.extend(before.into_iter().filter_map(|(k, _)| match k {
                Key::Comment(c) => Some(Value::Comment(c)),
                Key::Str(_) => None,
            }));
            items.push(value);
        }
        Ok(Value::Seq(items))
    }

    /// A scalar (plain, quoted) or a flow collection; `min_col` bounds continuation lines.
    fn scalar_or_flow(&mut self, min_col: usize, tag: Option<&str>) -> PResult<Value> {
        let v = match self.at(self.pos) {
            b'"' => Value::Str(self.double_quoted(min_col)?),
            b'\'' => Value::Str(self.single_quoted(min_col)?),
            b'[' | b'{' => self.flow_node(0)?,
            b'*' => return self.alias(),
            _ => {
                let text = self.plain_multiline(min_col)?;
                resolve_plain(&text)
            }
        };
        Ok(apply_tag(v, tag))
    }

    /// A plain scalar in block context, folding continuation lines.
    fn plain_multiline(&mut self, min_col: usize) -> PResult<String> {
        let mut out = self.plain_line(false);
        loop {
            // Look ahead: blank lines then a more-indented, non-comment, non-key line.
            let save = self.pos;
            let mut breaks = 0;
            let mut p = self.pos;
            if self.at(p) != b'\n' {
                break;
            }
            let found = loop {
                if self.at(p) != b'\n' {
                    break false;
                }
                p += 1;
                breaks += 1;
                let mut q = p;
                while self.at(q) == b' ' {
                    q += 1;
                }
                let c = self.at(q);
                if c == b'\n' {
                    p = q;
                    continue;
                }
                if c == 0 || c == b'#' || q - p < min_col || self.is_doc_marker(q) {
                    break false;
                }
                p = q;
                break true;
            };
            if !found {
                self.pos = save;
                break;
            }
            self.pos = p;
            if self.looks_like_key() {
                self.pos = save;
                break;
            }
            if breaks == 1 {
                out.push(' ');
            } else {
                for _ in 1..breaks {
                    out.push('\n');
                }
            }
            out.push_str(&self.plain_line(false));
        }
        Ok(out)
    }

    /// One line of a plain scalar: up to ` #`, `: ` (in a key) or the line end, trailing blanks trimmed.
    fn plain_line(&mut self, flow: bool) -> String {
        let start = self.pos;
        let mut i = start;
        while i < self.s.len() {
            let c = self.s[i];
            if c == b'\n' {
                break;
            }
            if c == b'#' && i > start && matches!(self.s[i - 1], b' ' | b'\t') {
                break;
            }
            if c == b':' && matches!(self.at(i + 1), 0 | b' ' | b'\n' | b'\t') && flow {
                break;
            }
            if flow && matches!(c, b',' | b']' | b'}') {
                break;
            }
            if flow && c == b':' && matches!(self.at(i + 1), b',' | b']' | b'}') {
                break;
            }
            i += 1;
        }
        let text = self.src[start..i].trim_end_matches([' ', '\t']);
        self.pos = start + text.len();
        text.to_string()
    }

    fn fold_quoted_break(&mut self, out: &mut String) {
        // At a '\n' inside a quoted scalar: trailing blanks of the line are already trimmed.
        let mut breaks = 0;
        while self.at(self.pos) == b'\n' {
            breaks += 1;
            self.pos += 1;
            while matches!(self.at(self.pos), b' ' | b'\t') {
                self.pos += 1;
            }
        }
        if breaks == 1 {
            out.push(' ');
        } else {
            for _ in 1..breaks {
                out.push('\n');
            }
        }
    }

    fn single_quoted(&mut self, _min_col: usize) -> PResult<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.at(self.pos) {
                0 => return self.err("unterminated single-quoted string"),
                b'\'' => {
                    if self.at(self.pos + 1) == b'\'' {
                        out.push('\'');
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        return Ok(out);
                    }
                }
                b'\n' => {
                    let t = out.trim_end_matches([' ', '\t']).len();
                    out.truncate(t);
                    self.fold_quoted_break(&mut out);
                }
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('\u{FFFD}');
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }

    fn hex(&mut self, n: usize) -> PResult<char> {
        let h = self
            .src
            .get(self.pos..self.pos + n)
            .and_then(|t| u32::from_str_radix(t, 16).ok());
        match h.and_then(char::from_u32) {
            Some(c) => {
                self.pos += n;
                Ok(c)
            }
            None => self.err("bad escape in a double-quoted string"),
        }
    }

    fn double_quoted(&mut self, _min_col: usize) -> PResult<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.at(self.pos) {
                0 => return self.err("unterminated double-quoted string"),
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let e = self.at(self.pos);
                    self.pos += 1;
                    let ch = match e {
                        b'0' => '\0',
                        b'a' => '\u{7}',
                        b'b' => '\u{8}',
                        b't' | b'\t' => '\t',
                        b'n' => '\n',
                        b'v' => '\u{b}',
                        b'f' => '\u{c}',
                        b'r' => '\r',
                        b'e' => '\u{1b}',
                        b' ' => ' ',
                        b'"' => '"',
                        b'/' => '/',
                        b'\\' => '\\',
                        b'N' => '\u{85}',
                        b'_' => '\u{a0}',
                        b'L' => '\u{2028}',
                        b'P' => '\u{2029}',
                        b'x' => self.hex(2)?,
                        b'u' => self.hex(4)?,
                        b'U' => self.hex(8)?,
                        b'\n' => {
                            // Escaped line break: join without a space.
                            while matches!(self.at(self.pos), b' ' | b'\t') {
                                self.pos += 1;
                            }
                            continue;
                        }
                        _ => return self.err("bad escape in a double-quoted string"),
                    };
                    out.push(ch);
                }
                b'\n' => {
                    let t = out.trim_end_matches([' ', '\t']).len();
                    out.truncate(t);
                    self.fold_quoted_break(&mut out);
                }
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('\u{FFFD}');
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }

    /// A `|` or `>` block scalar; `indent` is the parent's indentation.
    fn block_scalar(&mut self, indent: usize, before: &mut Vec<(Key, Value)>) -> PResult<Value> {
        let literal = self.s[self.pos] == b'|';
        self.pos += 1;
        let mut chomp = 0i8; // -1 strip, 0 clip, 1 keep
        let mut explicit: Option<usize> = None;
        for _ in 0..2 {
            match self.at(self.pos) {
                b'-' => {
                    chomp = -1;
                    self.pos += 1;
                }
                b'+' => {
                    chomp = 1;
                    self.pos += 1;
                }
                c @ b'1'..=b'9' => {
                    explicit = Some((c - b'0') as usize);
                    self.pos += 1;
                }
                _ => {}
            }
        }
        let mut lc = Vec::new();
        self.end_of_line(&mut lc)?;
        before.extend(lc.into_iter().map(comment_entry));
        // Collect lines.
        let mut lines: Vec<&str> = Vec::new();
        let mut p = if self.at(self.pos) == b'\n' {
            self.pos + 1
        } else {
            self.pos
        };
        let mut content_indent = explicit.map(|e| indent + e);
        let mut end_pos = self.pos;
        while p < self.s.len() {
            let le = self.line_end(p);
            let line = &self.src[p..le];
            let spaces = line.len() - line.trim_start_matches(' ').len();
            let blank = line.trim().is_empty();
            if !blank {
                let ci = *content_indent.get_or_insert(spaces);
                if spaces < ci || spaces <= indent {
                    break;
                }
                if self.is_doc_marker(p) {
                    break;
                }
            }
            lines.push(line);
            end_pos = le;
            p = le + 1;
        }
        let ci = content_indent.unwrap_or(0);
        // Trailing blank lines belong to the scalar (for keep chomping).
        let mut body: Vec<String> = lines
            .iter()
            .map(|l| {
                if l.len() >= ci {
                    l[ci..].to_string()
                } else {
                    String::new()
                }
            })
            .collect();
        let mut trailing = 0;
        while body.last().is_some_and(String::is_empty) {
            body.pop();
            trailing += 1;
        }
        let mut text = if literal {
            body.join("\n")
        } else {
            fold_fix(&body)
        };
        match chomp {
            -1 => {}
            0 => {
                if !body.is_empty() {
                    text.push('\n');
                }
            }
            _ => {
                if !body.is_empty() {
                    text.push('\n');
                }
                for _ in 0..trailing {
                    text.push('\n');
                }
            }
        }
        self.pos = end_pos;
        Ok(Value::Str(text))
    }

    /// A flow collection or flow scalar.
    fn flow_node(&mut self, depth: usize) -> PResult<Value> {
        if depth > 256 {
            return self.err("nesting too deep");
        }
        self.flow_ws();
        let (anchor, tag) = self.properties()?;
        self.flow_ws();
        let v = match self.at(self.pos) {
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.flow_ws();
                    if self.at(self.pos) == b']' {
                        self.pos += 1;
                        break;
                    }
                    let item = self.flow_node(depth + 1)?;
                    self.flow_ws();
                    // A single-pair mapping inside a sequence: `[a: b]`.
                    let item = if self.at(self.pos) == b':' {
                        self.pos += 1;
                        let v = self.flow_node(depth + 1)?;
                        let k = match item {
                            Value::Str(s) => s,
                            _ => return self.err("a flow key that is not a string"),
                        };
                        self.flow_ws();
                        Value::Map(vec![(Key::Str(k), v)])
                    } else {
                        item
                    };
                    items.push(item);
                    match self.at(self.pos) {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            break;
                        }
                        _ => return self.err("expected , or ] in a flow sequence"),
                    }
                }
                Value::Seq(items)
            }
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    self.flow_ws();
                    if self.at(self.pos) == b'}' {
                        self.pos += 1;
                        break;
                    }
                    let k = self.flow_node(depth + 1)?;
                    let k = match k {
                        Value::Str(s) => s,
                        Value::Null => String::new(),
                        _ => {
                            return self.err(
                                "a mapping key that is not a string is not supported by sops",
                            );
                        }
                    };
                    self.flow_ws();
                    let v = if self.at(self.pos) == b':' {
                        self.pos += 1;
                        self.flow_ws();
                        if matches!(self.at(self.pos), b',' | b'}') {
                            Value::Null
                        } else {
                            self.flow_node(depth + 1)?
                        }
                    } else {
                        Value::Null
                    };
                    entries.push((Key::Str(k), v));
                    self.flow_ws();
                    match self.at(self.pos) {
                        b',' => self.pos += 1,
                        b'}' => {
                            self.pos += 1;
                            break;
                        }
                        _ => return self.err("expected , or } in a flow mapping"),
                    }
                }
                Value::Map(entries)
            }
            b'"' => Value::Str(self.double_quoted(0)?),
            b'\'' => Value::Str(self.single_quoted(0)?),
            b'*' => self.alias()?,
            _ => {
                let t = self.plain_line(true);
                resolve_plain(&t)
            }
        };
        let v = apply_tag(v, tag.as_deref());
        if let Some(a) = anchor {
            self.anchors.insert(a, v.clone());
        }
        Ok(v)
    }

    fn flow_ws(&mut self) {
        loop {
            match self.at(self.pos) {
                b' ' | b'\t' | b'\n' => self.pos += 1,
                b'#' => {
                    let end = self.line_end(self.pos);
                    self.pos = end;
                }
                _ => return,
            }
        }
    }
}

fn fold_fix(body: &[String]) -> String {
    let mut text = String::new();
    let mut i = 0;
    let mut prev_more = false;
    let mut started = false;
    while i < body.len() {
        let l = &body[i];
        if l.is_empty() {
            // Count the run of empty lines.
            let mut n = 0;
            while i < body.len() && body[i].is_empty() {
                n += 1;
                i += 1;
            }
            if started {
                for _ in 0..n {
                    text.push('\n');
                }
                if i < body.len() && (prev_more || body[i].starts_with([' ', '\t'])) {
                    text.push('\n');
                }
            } else {
                for _ in 0..n {
                    text.push('\n');
                }
            }
            if i < body.len() {
                let l = &body[i];
                text.push_str(l);
                prev_more = l.starts_with([' ', '\t']);
                started = true;
                i += 1;
            }
            continue;
        }
        let more = l.starts_with([' ', '\t']);
        if started {
            let prev_empty = body[i - 1].is_empty();
            if !prev_empty {
                text.push(if more || prev_more { '\n' } else { ' ' });
            }
        }
        text.push_str(l);
        prev_more = more;
        started = true;
        i += 1;
    }
    text
}

fn apply_tag(v: Value, tag: Option<&str>) -> Value {
    let Some(t) = tag else { return v };
    let text = match &v {
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => gofmt::format_float_yaml(*f),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        _ => return v,
    };
    match t {
        "!str" | "!<tag:yaml.org,2002:str>" => Value::Str(text),
        "!int" => gofmt::parse_int_base0(&text.replace('_', ""))
            .and_then(|i| i64::try_from(i).ok())
            .map_or(v, Value::Int),
        "!float" => text.parse::<f64>().map_or(v, Value::Float),
        "!bool" | "!null" => v,
        "!binary" => {
            use base64::Engine as _;
            let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(clean) {
                Ok(b) => match String::from_utf8(b) {
                    Ok(s) => Value::Str(s),
                    Err(e) => Value::Bytes(e.into_bytes()),
                },
                Err(_) => v,
            }
        }
        _ => v,
    }
}

/// yaml.v3's resolution of a plain scalar into a typed value.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => {
            if let Some(f) = gofmt::parse_go_float(s)
                && !s.contains(['i', 'I', 'n', 'N'])
            {
                return Value::Float(f);
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if let Some(t) = gofmt::yaml_timestamp(s) {
                return Value::Time(t);
            }
            let plain = s.replace('_', "");
            if let Some(i) = gofmt::parse_int_base0(&plain) {
                if let Ok(i) = i64::try_from(i) {
                    return Value::Int(i);
                }
                // Beyond int64: sops cannot walk it; keep the text.
                return Value::Str(s.to_string());
            }
            if is_yaml_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return Value::Float(f);
            }
        }
        _ => {}
    }
    Value::Str(s.to_string())
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
