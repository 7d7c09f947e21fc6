//! Go's number and time text forms, as sops (strconv, encoding/json, yaml.v3, time) writes and reads them.

/// Shortest round-trip digits and decimal exponent: `d.ddd × 10^exp`.
fn shortest(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

fn special(f: f64, inf: &str, nan: &str) -> Option<String> {
    if f.is_nan() {
        Some(nan.to_string())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            format!("+{inf}")
        } else {
            format!("-{inf}")
        })
    } else {
        None
    }
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`.
pub fn format_float_f(f: f64) -> String {
    if let Some(s) = special(f, "Inf", "NaN") {
        return s;
    }
    // Rust's Display is the shortest round-trip form without exponent, like Go's 'f' -1.
    let s = format!("{f}");
    if s == "-0" { "-0".to_string() } else { s }
}

fn format_e(f: f64, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn format_float_g(f: f64) -> String {
    if let Some(s) = special(f, "Inf", "NaN") {
        return s;
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, exp) = shortest(f);
    if !(-4..6).contains(&exp) {
        format_e(f, &digits, exp)
    } else {
        format_float_f(f)
    }
}

/// How yaml.v3 writes a float64.
pub fn format_float_yaml(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    format_float_g(f)
}

/// How encoding/json writes a float64.
pub fn format_float_json(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let (digits, exp) = shortest(f);
        let s = format_e(f, &digits, exp);
        // encoding/json writes e-7, not e-07.
        Some(s.replacen("e-0", "e-", 1).replacen("e+0", "e+", 1))
    } else {
        Some(format_float_f(f))
    }
}

/// `strconv.Atoi`.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let b = s.strip_prefix('+').unwrap_or(s);
    if b.is_empty() || b.starts_with('+') || b.starts_with("-+") {
        return None;
    }
    b.parse().ok()
}

/// `strconv.ParseFloat(s, 64)` for the forms sops writes.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.to_ascii_lowercase();
    match t.trim_start_matches(['+', '-']) {
        "inf" | "infinity" | "nan" => {}
        _ if t.contains("inf") || t.contains("nan") => return None,
        _ => {}
    }
    t.parse().ok()
}

/// `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `strconv.ParseInt(s, 0, 64)`: sign, then `0x`, `0o`, `0b` or a leading `0` (octal).
pub fn parse_int_base0(s: &str) -> Option<i128> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.is_empty() {
        return None;
    }
    let lower = rest.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// Days since 1970-01-01 to a civil date.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Now, UTC, as `time.RFC3339` (seconds, `Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        r / 3600,
        (r / 60) % 60,
        r % 60
    )
}

/// A parsed timestamp: date, time, nanoseconds and offset in seconds (`None` = UTC / `Z`).
#[derive(Debug, Clone, PartialEq)]
struct Stamp {
    y: u32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    nanos: String,
    offset: Option<(char, u32, u32)>,
}

fn num(s: &str, i: &mut usize, min: usize, max: usize) -> Option<u32> {
    let b = s.as_bytes();
    let start = *i;
    while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
        *i += 1;
    }
    if *i - start < min {
        return None;
    }
    s[start..*i].parse().ok()
}

fn parse_stamp(s: &str, allow_t: bool) -> Option<Stamp> {
    let b = s.as_bytes();
    let mut i = 0;
    let y = num(s, &mut i, 4, 4)?;
    if b.get(i) != Some(&b'-') {
        return None;
    }
    i += 1;
    let mo = num(s, &mut i, 1, 2)?;
    if b.get(i) != Some(&b'-') {
        return None;
    }
    i += 1;
    let d = num(s, &mut i, 1, 2)?;
    if !(1..=12).contains(&mo) || d == 0 || d > 31 {
        return None;
    }
    let mut st = Stamp {
        y,
        mo,
        d,
        h: 0,
        mi: 0,
        s: 0,
        nanos: String::new(),
        offset: None,
    };
    if i == b.len() {
        return Some(st);
    }
    let sep = b[i];
    let with_zone = match sep {
        b'T' | b't' if allow_t => true,
        b' ' => false,
        _ => return None,
    };
    i += 1;
    st.h = num(s, &mut i, 1, 2)?;
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    st.mi = num(s, &mut i, 1, 2)?;
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    st.s = num(s, &mut i, 1, 2)?;
    if st.h > 23 || st.mi > 59 || st.s > 59 {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return None;
        }
        st.nanos = s[start..i].trim_end_matches('0').to_string();
    }
    if with_zone {
        match b.get(i) {
            Some(b'Z') => i += 1,
            Some(&c) if c == b'+' || c == b'-' => {
                i += 1;
                let oh = num(s, &mut i, 2, 2)?;
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i += 1;
                let om = num(s, &mut i, 2, 2)?;
                if oh != 0 || om != 0 {
                    st.offset = Some((c as char, oh, om));
                }
            }
            _ => return None,
        }
    }
    (i == b.len()).then_some(st)
}

/// yaml.v3's timestamp resolution of a plain scalar, as `time.MarshalText` writes the result.
pub fn yaml_timestamp(s: &str) -> Option<String> {
    let st = parse_stamp(s, true)?;
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        st.y, st.mo, st.d, st.h, st.mi, st.s
    );
    if !st.nanos.is_empty() {
        out.push('.');
        out.push_str(&st.nanos);
    }
    match st.offset {
        None => out.push('Z'),
        Some((c, h, m)) => out.push_str(&format!("{c}{h:02}:{m:02}")),
    }
    Some(out)
}

/// The `lastmodified` text as Go's `time.Format(time.RFC3339)` re-writes it (the MAC's additional data).
pub fn normalize_rfc3339(s: &str) -> Option<String> {
    let st = parse_stamp(s, true)?;
    if !s.contains(['T', 't']) {
        return None;
    }
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        st.y, st.mo, st.d, st.h, st.mi, st.s
    );
    match st.offset {
        None => out.push('Z'),
        Some((c, h, m)) => out.push_str(&format!("{c}{h:02}:{m:02}")),
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        assert_eq!(format_float_f(1.5), "1.5");
        assert_eq!(format_float_f(1e6), "1000000");
        assert_eq!(format_float_f(1.0), "1");
        assert_eq!(format_float_yaml(1e6), "1e+06");
        assert_eq!(format_float_yaml(123456.0), "123456");
        assert_eq!(format_float_yaml(1.5e-7), "1.5e-07");
        assert_eq!(format_float_yaml(0.0001), "0.0001");
        assert_eq!(format_float_yaml(2.25), "2.25");
        assert_eq!(format_float_json(1e21).as_deref(), Some("1e+21"));
        assert_eq!(format_float_json(1.5e-7).as_deref(), Some("1.5e-7"));
        assert_eq!(format_float_json(42.0).as_deref(), Some("42"));
    }

    #[test]
    fn stamps() {
        assert_eq!(
            yaml_timestamp("2024-01-01").as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            yaml_timestamp("2024-1-2T3:04:05.500+02:00").as_deref(),
            Some("2024-01-02T03:04:05.5+02:00")
        );
        assert_eq!(yaml_timestamp("2024-01-01x"), None);
        assert_eq!(parse_int_base0("017"), Some(15));
        assert_eq!(parse_int_base0("0x1F"), Some(31));
        assert_eq!(parse_int_base0("08"), None);
        assert_eq!(now_rfc3339().len(), 20);
    }
}
