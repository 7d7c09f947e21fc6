//! The block-style YAML writer: layout, scalar analysis, style choice and the
//! scalar writers of go-yaml v2's emitter (the libyaml port behind
//! `yaml.Marshal`), for the events `yaml.Marshal` produces from a JSON
//! value: block mappings and sequences, `[]` and `{}` for empty ones, and
//! untagged scalars.
//!
//! The emitter's state (current column, indentation stack, and the
//! `whitespace`/`indention` flags) is kept as in the original, because
//! line breaks, indentation and folding all follow from it.

use serde_json::Value;

use super::encode::{self, Style};

/// Spaces per indentation level.
const BEST_INDENT: i64 = 2;
/// The indentation indicator of a block scalar whose first line starts
/// with a space or a break: [`BEST_INDENT`] as a digit.
const INDENT_HINT: char = '2';
/// The column after which long scalars are folded at a space.
const BEST_WIDTH: i64 = 80;
/// The longest key, in bytes, written as `key: value` rather than `? key`.
const MAX_SIMPLE_KEY: usize = 128;

/// Where a node sits: the emitter's `mapping_context` and
/// `simple_key_context`.
#[derive(Clone, Copy, Default)]
struct Context {
    /// A key or value of a mapping.
    mapping: bool,
    /// A key written in the short `key: value` form.
    simple_key: bool,
}

impl Context {
    /// A mapping key in the short `key: value` form.
    const SIMPLE_KEY: Context = Context {
        mapping: true,
        simple_key: true,
    };
    /// A mapping key after `? `, or a mapping value.
    const MAPPING: Context = Context {
        mapping: true,
        simple_key: false,
    };
}

/// Writes one document.
pub(super) struct Emitter {
    out: String,
    /// Characters (not bytes) since the last line break.
    column: i64,
    indent: i64,
    indents: Vec<i64>,
    /// The last thing written was whitespace (or nothing).
    whitespace: bool,
    /// Only indentation has been written on the current line.
    indention: bool,
}

impl Emitter {
    /// An emitter at the start of a stream.
    pub(super) fn new() -> Self {
        Emitter {
            out: String::new(),
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
        }
    }

    /// Writes `root` as an implicit document (no `---`, no `...`).
    pub(super) fn document(mut self, root: &Value) -> String {
        self.node(root, Context::default());
        self.write_indent();
        self.out
    }

    fn node(&mut self, value: &Value, ctx: Context) {
        match value {
            Value::Array(items) if items.is_empty() => self.empty_flow('[', ']'),
            Value::Object(map) if map.is_empty() => self.empty_flow('{', '}'),
            Value::Array(items) => self.block_sequence(items, ctx),
            Value::Object(map) => self.block_mapping(map),
            scalar => {
                let (text, style) = encode::scalar(scalar);
                let analysis = Analysis::of(&text);
                self.scalar(&text, style, &analysis, ctx);
            }
        }
    }

    fn empty_flow(&mut self, open: char, close: char) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Value], ctx: Context) {
        // A sequence that is a mapping value is indented no further than its
        // key (`key:\n- item`).
        self.increase_indent(false, ctx.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator('-', true, false, true);
            self.node(item, Context::default());
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, map: &serde_json::Map<String, Value>) {
        self.increase_indent(false, false);
        for (key, value) in encode::sorted_entries(map) {
            self.write_indent();
            let style = encode::string_style(key);
            let analysis = Analysis::of(key);
            if !analysis.multiline && key.len() <= MAX_SIMPLE_KEY {
                self.scalar(key, style, &analysis, Context::SIMPLE_KEY);
                self.write_indicator(':', false, false, false);
            } else {
                self.write_indicator('?', true, false, true);
                self.scalar(key, style, &analysis, Context::MAPPING);
                self.write_indent();
                self.write_indicator(':', true, false, true);
            }
            self.node(value, Context::MAPPING);
        }
        self.pop_indent();
    }

    fn scalar(&mut self, text: &str, requested: Style, analysis: &Analysis, ctx: Context) {
        let style = select_style(text, requested, analysis, ctx);
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(text, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(text, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(text, allow_breaks),
            Style::Literal => self.write_literal(text),
        }
        self.pop_indent();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copies a line-break character: `\n` as a break, others verbatim
    /// (they still end the line as far as the column is concerned).
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        c: char,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.put(c);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, text: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && chars.peek() != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, text: &str, allow_breaks: bool) {
        self.write_indicator('\'', true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == ' ' {
                let next_is_space = chars.peek().is_some_and(|&(_, n)| n == ' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < text.len()
                    && !next_is_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator('\'', false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, text: &str, allow_breaks: bool) {
        self.write_indicator('"', true, false, false);
        // go-yaml v2 tests for a byte-order mark at the start of the value
        // rather than at the current character, so such a value has every
        // character escaped.
        let bom_start = text.starts_with('\u{FEFF}');
        let mut spaces = false;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if !is_printable(c) || bom_start || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                self.write_escape(c);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < text.len()
                {
                    self.write_indent();
                    if chars.peek().is_some_and(|&(_, n)| n == ' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator('"', false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// The part of a double-quoted escape after the backslash.
    fn write_escape(&mut self, c: char) {
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{b}' => Some('v'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{a0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(s) = short {
            self.put(s);
            return;
        }
        let v = u32::from(c);
        let (letter, digits) = match v {
            0..=0xFF => ('x', 2),
            0x100..=0xFFFF => ('u', 4),
            _ => ('U', 8),
        };
        self.put(letter);
        for k in (0..digits).rev() {
            let d = (v >> (4 * k)) & 0xF;
            self.put(char::from_digit(d, 16).map_or('0', |h| h.to_ascii_uppercase()));
        }
    }

    fn write_literal(&mut self, text: &str) {
        self.write_indicator('|', true, false, false);
        if text.starts_with(|c: char| c == ' ' || is_break(c)) {
            self.write_indicator(INDENT_HINT, false, false, false);
        }
        let mut rev = text.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some('-'),
            (Some(last), _) if !is_break(last) => Some('-'),
            (Some(_), None) => Some('+'),
            (Some(_), Some(prev)) if is_break(prev) => Some('+'),
            _ => None,
        };
        if let Some(c) = chomp {
            self.write_indicator(c, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in text.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// The emitter's verdict on which styles can represent a scalar.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    /// go-yaml v2's `yaml_emitter_analyze_scalar`, for block context.
    fn of(text: &str) -> Self {
        if text.is_empty() {
            return Analysis {
                multiline: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        let mut block_indicators = text.starts_with("---") || text.starts_with("...");
        let mut line_breaks = false;
        let mut special_characters = false;
        let mut leading_space = false;
        let mut leading_break = false;
        let mut trailing_space = false;
        let mut trailing_break = false;
        let mut break_space = false;
        let mut space_break = false;
        let mut preceded_by_whitespace = true;
        let mut previous_space = false;
        let mut previous_break = false;

        let mut chars = text.chars().enumerate().peekable();
        while let Some((index, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            let first = index == 0;
            let last = next.is_none();
            let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t');
            if first {
                match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\''
                    | '"' | '%' | '@' | '`' => block_indicators = true,
                    '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                    _ => {}
                }
            } else {
                match c {
                    ':' if followed_by_whitespace => block_indicators = true,
                    '#' if preceded_by_whitespace => block_indicators = true,
                    _ => {}
                }
            }
            if !is_printable(c) {
                special_characters = true;
            }
            if c == ' ' {
                leading_space |= first;
                trailing_space |= last;
                break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= first;
                trailing_break |= last;
                space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
        }

        let mut a = Analysis {
            multiline: line_breaks,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.block_plain_allowed = false;
        }
        if trailing_space {
            a.block_allowed = false;
        }
        if break_space {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break || special_characters {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
            a.block_allowed = false;
        }
        if line_breaks || block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }
}

/// go-yaml v2's `yaml_emitter_select_scalar_style` outside flow context.
fn select_style(text: &str, requested: Style, a: &Analysis, ctx: Context) -> Style {
    let mut style = requested;
    if ctx.simple_key && a.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!a.block_plain_allowed || (text.is_empty() && ctx.simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !a.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!a.block_allowed || ctx.simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// CR, LF, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Characters go-yaml v2 writes unescaped: LF, printable ASCII, and the
/// Basic Multilingual Plane from U+00A0 except surrogates, U+FEFF, U+FFFE
/// and U+FFFF. Characters beyond U+FFFF count as non-printable.
fn is_printable(c: char) -> bool {
    matches!(u32::from(c), 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}
