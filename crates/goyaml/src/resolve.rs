//! Would a plain scalar be read back as something other than a string?
//!
//! Kustomize prints through go-yaml v2, which quotes a string when its plain
//! form would resolve, under YAML 1.1 rules, to a bool, null, int, float,
//! timestamp or merge key, or when it looks like a base-60 number. This
//! module answers that question with the same tests go-yaml v2 applies,
//! including the quirks of Go's `strconv` and `time.Parse` it relies on.

/// Whether `s` needs quoting because its plain form is not read as a string.
pub(super) fn needs_quotes(s: &str) -> bool {
    resolves_to_non_string(s) || is_base60_float(s)
}

/// The YAML 1.1 words go-yaml v2 maps to bools, null, special floats and
/// the merge key (exact, case-sensitive matches).
const RESERVED_WORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no", "No",
    "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null", "NULL", ".nan",
    ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    "<<",
];

/// The implicit-type resolution of an untagged plain scalar.
fn resolves_to_non_string(s: &str) -> bool {
    // The first byte decides which resolutions are tried at all; the empty
    // string is looked up in the word table only.
    let hint = match s.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => return false,
    };
    if RESERVED_WORDS.contains(&s) {
        return true;
    }
    match hint {
        b'.' => go_parse_float(s).is_some(),
        b'D' | b'S' => {
            if is_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if go_parse_int(&plain, 0).is_some() || go_parse_uint(&plain, 0).is_some() {
                return true;
            }
            if is_yaml_style_float(&plain) && go_parse_float(&plain).is_some() {
                return true;
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                go_parse_int(rest, 2).is_some() || go_parse_uint(rest, 2).is_some()
            } else if let Some(rest) = plain.strip_prefix("-0b") {
                go_parse_int(&format!("-{rest}"), 2).is_some()
            } else {
                false
            }
        }
        _ => false,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// YAML 1.1 base-60 numbers, `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`,
/// which go-yaml v2 quotes for the sake of other parsers.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    // One or more `:` groups of one or two digits, the first of two in 0-5.
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        let d = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let ok = match d {
            1 => true,
            2 => b[i + 1] <= b'5',
            // Three or more digits: the regex can take at most two, and
            // what follows must be `:`, `.` or the end, never a digit.
            _ => false,
        };
        if !ok {
            return false;
        }
        i += 1 + d;
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseUint(s, base, 64)` for base 0 (prefixes `0b`, `0o`,
/// `0x`, a bare leading `0` for octal, underscores allowed) and base 2.
fn go_parse_uint(s: &str, base: u32) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let base0 = base == 0;
    let (base, digits) = if base0 {
        if b[0] == b'0' {
            match b.get(1).map(u8::to_ascii_lowercase) {
                Some(b'b') if b.len() >= 3 => (2, &b[2..]),
                Some(b'o') if b.len() >= 3 => (8, &b[2..]),
                Some(b'x') if b.len() >= 3 => (16, &b[2..]),
                _ => (8, &b[1..]),
            }
        } else {
            (10, b)
        }
    } else {
        (base, b)
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u32::from(c - b'0'),
            _ if c.is_ascii_alphabetic() => u32::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    if underscores && !underscore_ok(s) {
        return None;
    }
    Some(n)
}

/// Go's `strconv.ParseInt(s, base, 64)`: an optional sign, then
/// [`go_parse_uint`], within the range of an `int64`.
fn go_parse_int(s: &str, base: u32) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let un = go_parse_uint(rest, base)?;
    if neg {
        0i64.checked_sub_unsigned(un)
    } else {
        i64::try_from(un).ok()
    }
}

/// Go's rule for underscores in number literals: only between digits, or
/// between a base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(b'+' | b'-') = b.first() {
        b = &b[1..];
    }
    // What came last: '^' start, '0' digit or prefix, '_' underscore, '!' other.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Go's `strconv.ParseFloat(s, 64)` succeeding: the syntax check of its
/// decimal reader (hexadecimal and `inf`/`nan` forms are not needed here: the
/// callers only pass strings starting with `.` or matching
/// [`is_yaml_style_float`]), then no overflow to infinity.
fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut underscores = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i + 2 < b.len() && b[i] == b'0' && b[i + 1].eq_ignore_ascii_case(&b'x') {
        // Hexadecimal floats never reach here (see above); treat as syntax error.
        return None;
    }
    let mut saw_dot = false;
    let mut saw_digits = false;
    while i < b.len() {
        match b[i] {
            b'_' => underscores = true,
            b'.' if !saw_dot => saw_dot = true,
            b'0'..=b'9' => saw_digits = true,
            _ => break,
        }
        i += 1;
    }
    if !saw_digits {
        return None;
    }
    if i < b.len() && b[i].eq_ignore_ascii_case(&b'e') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            underscores |= b[i] == b'_';
            i += 1;
        }
    }
    if underscores && !underscore_ok(&s[..i]) {
        return None;
    }
    if i != b.len() {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    // Rust accepts `.5` and `5.` like Go does; an empty mantissa was
    // rejected above. Overflow gives infinity, which Go reports as an error.
    let f: f64 = clean.parse().ok()?;
    f.is_finite().then_some(f)
}

/// go-yaml v2's timestamp test: `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00`, the same with a lower-case `t`,
/// `2006-1-2 15:4:5.999999999` and `2006-1-2`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: u32 = b[..4].iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0'));
    let mut p = Parser { b, i: 5 };
    let Some(month) = p.num(false) else {
        return false;
    };
    if !(1..=12).contains(&month) || !p.lit(b'-') {
        return false;
    }
    let Some(day) = p.num(false) else {
        return false;
    };
    if day < 1 || day > days_in(month, year) {
        return false;
    }
    let after_date = p.i;
    if after_date == b.len() {
        return true; // `2006-1-2`
    }
    // `T`, `t`, or a run of spaces (Go's layout space matches any number).
    for sep in [b'T', b't', b' '] {
        let mut p = Parser { b, i: after_date };
        let ok_sep = if sep == b' ' {
            if p.peek() != Some(b' ') {
                false
            } else {
                while p.peek() == Some(b' ') {
                    p.i += 1;
                }
                true
            }
        } else {
            p.lit(sep)
        };
        if !ok_sep || !p.clock() {
            continue;
        }
        if sep == b' ' {
            if p.i == b.len() {
                return true;
            }
            continue;
        }
        if p.zone() && p.i == b.len() {
            return true;
        }
    }
    false
}

/// Days in `month` of `year`, Gregorian.
fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over a timestamp candidate, mirroring `time.Parse` pieces.
struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn is_digit_at(&self, k: usize) -> bool {
        self.b.get(self.i + k).is_some_and(u8::is_ascii_digit)
    }

    fn lit(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Go's `getnum`: one or two digits (exactly two when `fixed`).
    fn num(&mut self, fixed: bool) -> Option<u32> {
        if !self.is_digit_at(0) {
            return None;
        }
        let d0 = u32::from(self.b[self.i] - b'0');
        if !self.is_digit_at(1) {
            if fixed {
                return None;
            }
            self.i += 1;
            return Some(d0);
        }
        let d1 = u32::from(self.b[self.i + 1] - b'0');
        self.i += 2;
        Some(d0 * 10 + d1)
    }

    /// `15:4:5.999999999`: hour, minute, second, optional fraction
    /// (introduced by `.` or `,`, any number of digits).
    fn clock(&mut self) -> bool {
        let Some(h) = self.num(false) else {
            return false;
        };
        if h >= 24 || !self.lit(b':') {
            return false;
        }
        let Some(m) = self.num(false) else {
            return false;
        };
        if m >= 60 || !self.lit(b':') {
            return false;
        }
        let Some(sec) = self.num(false) else {
            return false;
        };
        if sec >= 60 {
            return false;
        }
        if matches!(self.peek(), Some(b'.' | b',')) && self.is_digit_at(1) {
            self.i += 1;
            while self.is_digit_at(0) {
                self.i += 1;
            }
        }
        true
    }

    /// `Z07:00`: `Z`, or a sign, two-digit hours (at most 24), `:` and
    /// two-digit minutes (at most 60).
    fn zone(&mut self) -> bool {
        if self.lit(b'Z') {
            return true;
        }
        let rest = &self.b[self.i..];
        if rest.len() < 6 || rest[3] != b':' || !matches!(rest[0], b'+' | b'-') {
            return false;
        }
        let two = |x: &[u8]| {
            (x[0].is_ascii_digit() && x[1].is_ascii_digit())
                .then(|| u32::from(x[0] - b'0') * 10 + u32::from(x[1] - b'0'))
        };
        match (two(&rest[1..3]), two(&rest[4..6])) {
            (Some(h), Some(m)) if h <= 24 && m <= 60 => {
                self.i += 6;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_decisions_match_go_yaml_v2() {
        let quoted = [
            "",
            "~",
            "null",
            "yes",
            "N",
            "off",
            "1",
            "-0",
            "+1",
            "0x1F",
            "0o17",
            "017",
            "08",
            "1_000",
            "0b-1",
            "-0b101",
            ".5",
            ".5_5",
            "5.",
            "1e3",
            "1e-400",
            ".inf",
            "1:20",
            "-1:20",
            "+1:2:3.5",
            "2001-12-14",
            "2000-02-29",
            "2001-12-14  21:59:43",
            "2001-12-14T21:59:43+24:00",
            "2001-12-14T21:59:43,5Z",
            "9223372036854775808",
            "18446744073709551616",
        ];
        for s in quoted {
            assert!(needs_quotes(s), "{s:?} should need quotes");
        }
        let plain = [
            "<<x",
            "<<",
            "1e400",
            "-1e400",
            "._5",
            ".5_",
            "0b",
            "0x",
            "1:60",
            "_1",
            "2001-02-29",
            "2001-12-14T21:59:43",
            "2001-12-14T21:59:43+25:00",
            "2001-12-14 24:00:00",
            "2001-13-14",
            ".iNf",
            "inf",
            "NaN",
            "+",
            "-",
            "yEs",
            "..5",
            ".e3",
            "1,000",
            "0x1p3",
        ];
        for s in plain {
            assert!(!needs_quotes(s), "{s:?} should stay plain");
        }
    }
}
