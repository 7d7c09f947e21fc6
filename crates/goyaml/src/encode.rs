//! What `yaml.Marshal` (go-yaml v2) asks the emitter to write for a JSON
//! value: the text and requested style of each scalar, and the order of
//! map keys.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::{resolve, unicode};

/// A scalar style, as requested by the encoder or chosen by the emitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    /// Unquoted.
    Plain,
    /// `'…'`.
    SingleQuoted,
    /// `"…"` with backslash escapes.
    DoubleQuoted,
    /// `|` block.
    Literal,
}

/// The text of a non-collection value and the style the encoder requests.
pub(super) fn scalar(value: &Value) -> (Cow<'_, str>, Style) {
    match value {
        Value::Null => (Cow::Borrowed("null"), Style::Plain),
        Value::Bool(true) => (Cow::Borrowed("true"), Style::Plain),
        Value::Bool(false) => (Cow::Borrowed("false"), Style::Plain),
        Value::Number(n) => (Cow::Owned(number_text(n)), Style::Plain),
        Value::String(s) => {
            let text = through_json(s);
            let style = string_style(&text);
            (text, style)
        }
        // Collections never reach here; print them as JSON rather than fail.
        other => (Cow::Owned(other.to_string()), Style::DoubleQuoted),
    }
}

/// A string value as go-yaml v2 reads it back from the JSON kustomize writes.
///
/// Go's `encoding/json` escapes every line break and control character
/// except NEL (U+0085), which go-yaml v2 then takes for a line break inside
/// a double-quoted scalar and folds: a run of spaces and NELs becomes one
/// space if it holds one NEL, else one line feed per NEL after the first.
pub(super) fn through_json(s: &str) -> Cow<'_, str> {
    if !s.contains('\u{85}') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let (mut spaces, mut nels) = (0usize, 0usize);
    let flush = |out: &mut String, spaces: &mut usize, nels: &mut usize| {
        match *nels {
            0 => out.extend(std::iter::repeat_n(' ', *spaces)),
            1 => out.push(' '),
            n => out.extend(std::iter::repeat_n('\n', n - 1)),
        }
        (*spaces, *nels) = (0, 0);
    };
    for c in s.chars() {
        match c {
            ' ' => spaces += 1,
            '\u{85}' => nels += 1,
            _ => {
                flush(&mut out, &mut spaces, &mut nels);
                out.push(c);
            }
        }
    }
    flush(&mut out, &mut spaces, &mut nels);
    Cow::Owned(out)
}

/// The style go-yaml v2 requests for a string: literal if it has a line
/// feed, double-quoted if its plain form would read back as another type,
/// else plain (the emitter may still fall back to a quoted style).
pub(super) fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolve::needs_quotes(s) {
        Style::DoubleQuoted
    } else {
        Style::Plain
    }
}

/// How kustomize prints a number that reached it as JSON.
///
/// Kustomize holds numbers as Go `int64`/`uint64`/`float64`, marshals them
/// with `encoding/json` (which writes an integral float below 1e21 without
/// fraction or exponent), and go-yaml v2 reads that text back: integers in
/// range become integers, everything else a float printed with
/// `strconv.FormatFloat(f, 'g', -1, 64)`. So `1.0` prints `1`, `1e6` prints
/// `1000000`, `1234567.5` prints `1.2345675e+06` and `1e-7` prints `1e-07`.
fn number_text(n: &Number) -> String {
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    match n.as_f64() {
        Some(f) => float_text(f),
        None => n.to_string(),
    }
}

/// See [`number_text`].
fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        // encoding/json writes the shortest digits padded with zeros
        // (2^63 becomes 9223372036854776000); go-yaml v2 keeps that text
        // as an integer if it fits an int64 or a uint64.
        let (digits, exp) = shortest_digits(f);
        let zeros = usize::try_from(exp + 1)
            .unwrap_or(0)
            .saturating_sub(digits.len());
        let text = format!("{}{}", digits, "0".repeat(zeros));
        if f.is_sign_negative() {
            if let Ok(i) = format!("-{text}").parse::<i64>() {
                return i.to_string();
            }
        } else if let Ok(u) = text.parse::<u64>() {
            return u.to_string();
        }
    }
    go_format_g(f)
}

/// The shortest decimal digits that read back as `f.abs()` (non-zero,
/// finite), and the decimal exponent of the first digit.
fn shortest_digits(f: f64) -> (String, i64) {
    // Rust's `{:e}` gives the shortest round-tripping digits, as Go does.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    (
        mantissa.chars().filter(char::is_ascii_digit).collect(),
        exp.parse().unwrap_or(0),
    )
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` with go-yaml's spellings of
/// the non-finite values.
fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    let (digits, exp) = shortest_digits(f);
    let digits = digits.into_bytes();
    let nd = digits.len() as i64;
    let mut out = String::from(sign);
    if !(-4..6).contains(&exp) {
        // %e: d.ddde±XX, at least two exponent digits.
        if let Some((&first, rest)) = digits.split_first() {
            out.push(char::from(first));
            if !rest.is_empty() {
                out.push('.');
                out.extend(rest.iter().map(|&d| char::from(d)));
            }
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else {
        // %f with exactly the digits needed.
        let dp = exp + 1; // digits before the decimal point
        let digit = |j: i64| {
            usize::try_from(j)
                .ok()
                .and_then(|j| digits.get(j))
                .map_or('0', |&d| char::from(d))
        };
        if dp > 0 {
            out.extend((0..dp).map(digit));
        } else {
            out.push('0');
        }
        let decimals = (nd - dp).max(0);
        if decimals > 0 {
            out.push('.');
            out.extend((0..decimals).map(|i| digit(dp + i)));
        }
    }
    out
}

/// The entries of a JSON object in go-yaml v2's key order.
///
/// Keys are not passed through [`through_json`]: kustomize fails on a key
/// holding NEL (go-yaml v2 rejects the multi-line key in the JSON it reads).
pub(super) fn sorted_entries(map: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut entries: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    // Start from byte order so that the result never depends on the order
    // of the JSON input (see `merge_sort` for why that matters).
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let chars: Vec<Vec<char>> = entries.iter().map(|(k, _)| k.chars().collect()).collect();
    let mut order: Vec<usize> = (0..entries.len()).collect();
    merge_sort(&mut order, &|&a: &usize, &b: &usize| {
        key_less(&chars[a], &chars[b])
    });
    order.into_iter().map(|i| entries[i]).collect()
}

/// A stable merge sort driven by a "less" function that may not be a total
/// order, so (unlike the standard library's sorts) it must never panic.
///
/// go-yaml v2's key order is not transitive for some key sets: "10" < "1e3"
/// (a letter sorts after a digit), "1e3" < "9" (1 < 9) and "9" < "10".
/// Go sorts the keys in map iteration order, which is random, so kustomize
/// prints such maps differently from run to run; here the order is at least
/// fixed. For all other key sets any correct sort gives kustomize's order.
fn merge_sort<T: Copy>(items: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    if items.len() <= 1 {
        return;
    }
    let mid = items.len() / 2;
    merge_sort(&mut items[..mid], less);
    merge_sort(&mut items[mid..], less);
    let mut merged = Vec::with_capacity(items.len());
    let (mut i, mut j) = (0, mid);
    while i < mid && j < items.len() {
        if less(&items[j], &items[i]) {
            merged.push(items[j]);
            j += 1;
        } else {
            merged.push(items[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&items[i..mid]);
    merged.extend_from_slice(&items[j..]);
    items.copy_from_slice(&merged);
}

/// go-yaml v2's ordering of two string keys: at the first differing
/// character, letters sort after everything else and by code point among
/// themselves; otherwise runs of digits starting there compare by numeric
/// value, then by length, then by code point.
fn key_less(ar: &[char], br: &[char]) -> bool {
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = is_letter(ar[i]);
        let bl = is_letter(br[i]);
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            // Inside a number with a non-zero digit before, zeros count.
            for &c in ar[..i].iter().rev() {
                if !is_digit(c) {
                    break;
                }
                if c != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let (ai, an) = digit_run(ar, i, an);
        let (bi, bn) = digit_run(br, i, bn);
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Accumulates the digits from `start` onto `n` the way Go does (code point
/// minus `'0'`, wrapping on overflow); returns the end index and the value.
fn digit_run(s: &[char], start: usize, mut n: i64) -> (usize, i64) {
    let mut i = start;
    while i < s.len() && is_digit(s[i]) {
        n = n
            .wrapping_mul(10)
            .wrapping_add(i64::from(u32::from(s[i])) - i64::from(b'0'));
        i += 1;
    }
    (i, n)
}

/// Go's `unicode.IsLetter`.
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_table(unicode::LETTER, c)
    }
}

/// Go's `unicode.IsDigit`.
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_table(unicode::DIGIT, c)
    }
}

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let c = u32::from(c);
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                Ordering::Less
            } else if lo > c {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        let cases = [
            (1.0, "1"),
            (1e6, "1000000"),
            (-0.0, "0"),
            (0.5, "0.5"),
            (1e-7, "1e-07"),
            (1.5, "1.5"),
            (123456.5, "123456.5"),
            (1234567.5, "1.2345675e+06"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (-2.5e-10, "-2.5e-10"),
            (9.223_372_036_854_776e18, "9223372036854776000"),
            (-9.223_372_036_854_776e18, "-9.223372036854776e+18"),
            (1.8446744073709552e19, "1.8446744073709552e+19"),
            (123456789012345678.0, "123456789012345680"),
        ];
        for (f, want) in cases {
            assert_eq!(float_text(f), want, "{f:e}");
        }
    }

    #[test]
    fn keys_sort_like_go_yaml_v2() {
        let mut keys = vec![
            "a10", "a9", "_x", "A", "a", "10", "9", "a-b", "ab", "B", "a01", "a1",
        ];
        merge_sort(&mut keys, &|a: &&str, b: &&str| {
            key_less(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        });
        assert_eq!(
            keys,
            [
                "_x", "9", "10", "A", "B", "a", "a-b", "a1", "a01", "a9", "a10", "ab"
            ]
        );
    }

    #[test]
    fn non_transitive_key_sets_get_a_fixed_order() {
        let orders = [
            r#"{"10":0,"1e3":0,"9":0}"#,
            r#"{"9":0,"1e3":0,"10":0}"#,
            r#"{"1e3":0,"10":0,"9":0}"#,
        ];
        let sorted: Vec<Vec<String>> = orders
            .iter()
            .map(|json| {
                let map: Map<String, Value> = serde_json::from_str(json).unwrap();
                sorted_entries(&map)
                    .into_iter()
                    .map(|(k, _)| k.to_owned())
                    .collect()
            })
            .collect();
        assert!(sorted.windows(2).all(|w| w[0] == w[1]), "{sorted:?}");
    }

    #[test]
    fn nel_folds_like_a_json_round_trip() {
        assert_eq!(through_json("a\u{85}b"), "a b");
        assert_eq!(through_json("a \u{85} b"), "a b");
        assert_eq!(through_json("a\u{85}\u{85}\u{85}b"), "a\n\nb");
        assert_eq!(through_json("x  y"), "x  y");
    }
}
