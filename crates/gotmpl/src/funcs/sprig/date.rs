//! Sprig's date functions over a UTC-only `time.Time`: with no time zone
//! database, `Local` and every named zone are UTC (as Go falls back to UTC
//! when a zone cannot be loaded). `now` is the instant the host chose.

use std::sync::Arc;

use super::{Map, add, s};
use crate::error::FuncError;
use crate::funcs::{Function, Ty};
use crate::value::{Object, Value};

/// A `time.Time` in UTC: Unix seconds and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    weekday: usize,
    yday: u32,
}

impl Time {
    fn parts(&self) -> Parts {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil(days);
        let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        Parts {
            year,
            month,
            day,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
            nanos: self.nanos,
            weekday: (days + 4).rem_euclid(7) as usize,
            yday,
        }
    }

    /// Go's `Time.Format` with a reference-time layout (UTC).
    pub fn format(&self, layout: &str) -> String {
        let p = self.parts();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (tok, len) = next_token(rest);
            match tok {
                Tok::Lit => {
                    let c = rest.chars().next().unwrap_or(' ');
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                    continue;
                }
                Tok::LongMonth => out.push_str(MONTHS[p.month as usize - 1]),
                Tok::Month => out.push_str(&MONTHS[p.month as usize - 1][..3]),
                Tok::NumMonth => out.push_str(&p.month.to_string()),
                Tok::ZeroMonth => out.push_str(&format!("{:02}", p.month)),
                Tok::LongWeekDay => out.push_str(DAYS[p.weekday]),
                Tok::WeekDay => out.push_str(&DAYS[p.weekday][..3]),
                Tok::Day => out.push_str(&p.day.to_string()),
                Tok::UnderDay => out.push_str(&format!("{:>2}", p.day)),
                Tok::ZeroDay => out.push_str(&format!("{:02}", p.day)),
                Tok::UnderYearDay => out.push_str(&format!("{:>3}", p.yday)),
                Tok::ZeroYearDay => out.push_str(&format!("{:03}", p.yday)),
                Tok::Hour => out.push_str(&format!("{:02}", p.hour)),
                Tok::Hour12 => out.push_str(
                    &(if p.hour.is_multiple_of(12) {
                        12
                    } else {
                        p.hour % 12
                    })
                    .to_string(),
                ),
                Tok::ZeroHour12 => out.push_str(&format!(
                    "{:02}",
                    if p.hour.is_multiple_of(12) {
                        12
                    } else {
                        p.hour % 12
                    }
                )),
                Tok::Minute => out.push_str(&p.min.to_string()),
                Tok::ZeroMinute => out.push_str(&format!("{:02}", p.min)),
                Tok::Second => out.push_str(&p.sec.to_string()),
                Tok::ZeroSecond => out.push_str(&format!("{:02}", p.sec)),
                Tok::LongYear => out.push_str(&format!("{:04}", p.year)),
                Tok::Year => out.push_str(&format!("{:02}", p.year.rem_euclid(100))),
                Tok::PM => out.push_str(if p.hour >= 12 { "PM" } else { "AM" }),
                Tok::Pm => out.push_str(if p.hour >= 12 { "pm" } else { "am" }),
                Tok::TZ => out.push_str("UTC"),
                Tok::IsoTZ(_) => out.push('Z'),
                Tok::NumTZ(f) => out.push_str(&f.replace('-', "+").replace('7', "0")),
                Tok::Frac(sep, digits, trim) => {
                    let f = format!("{:09}", p.nanos);
                    let mut f = f[..digits.min(9)].to_string();
                    if trim {
                        f = f.trim_end_matches('0').to_string();
                    }
                    if !f.is_empty() {
                        out.push(sep);
                        out.push_str(&f);
                    }
                }
            }
            rest = &rest[len..];
        }
        out
    }

    /// Go's `Time.String()`.
    pub fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// Go's `time.ParseInLocation(layout, value, UTC)` for numeric layouts.
    pub fn parse(layout: &str, value: &str) -> Result<Time, String> {
        let err = |v: &str, l: &str| {
            format!(
                "parsing time {} as {}: cannot parse {} as {}",
                crate::fmt::quote_go(value),
                crate::fmt::quote_go(layout),
                crate::fmt::quote_go(v),
                crate::fmt::quote_go(l)
            )
        };
        let (mut y, mut mo, mut d, mut h, mut mi, mut se, mut ns) =
            (1i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
        let mut pm: Option<bool> = None;
        let mut offset: i64 = 0;
        let mut l = layout;
        let mut v = value;
        while !l.is_empty() {
            let (tok, len) = next_token(l);
            let ltok = &l[..len.max(1).min(l.len())];
            let num = |v: &str, min: usize, max: usize| -> Option<(u32, usize)> {
                let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
                if n < min {
                    return None;
                }
                v[..n].parse().ok().map(|x| (x, n))
            };
            let take =
                |v: &str, min: usize, max: usize| num(v, min, max).ok_or_else(|| err(v, ltok));
            match tok {
                Tok::Lit => {
                    let c = l.chars().next().unwrap_or(' ');
                    if !v.starts_with(c) {
                        return Err(err(v, l));
                    }
                    l = &l[c.len_utf8()..];
                    v = &v[c.len_utf8()..];
                    continue;
                }
                Tok::LongYear => {
                    let (x, n) = take(v, 4, 4)?;
                    y = x as i64;
                    v = &v[n..];
                }
                Tok::Year => {
                    let (x, n) = take(v, 2, 2)?;
                    y = if x >= 69 {
                        1900 + x as i64
                    } else {
                        2000 + x as i64
                    };
                    v = &v[n..];
                }
                Tok::ZeroMonth | Tok::NumMonth => {
                    let (x, n) = take(v, if tok == Tok::ZeroMonth { 2 } else { 1 }, 2)?;
                    mo = x;
                    v = &v[n..];
                }
                Tok::Month | Tok::LongMonth => {
                    let idx = MONTHS.iter().position(|m| {
                        let m = if tok == Tok::Month { &m[..3] } else { m };
                        v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                    });
                    let Some(i) = idx else {
                        return Err(err(v, ltok));
                    };
                    mo = i as u32 + 1;
                    let n = if tok == Tok::Month {
                        3
                    } else {
                        MONTHS[i].len()
                    };
                    v = &v[n..];
                }
                Tok::WeekDay | Tok::LongWeekDay => {
                    let idx = DAYS.iter().position(|m| {
                        let m = if tok == Tok::WeekDay { &m[..3] } else { m };
                        v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                    });
                    let Some(i) = idx else {
                        return Err(err(v, ltok));
                    };
                    v = &v[if tok == Tok::WeekDay {
                        3
                    } else {
                        DAYS[i].len()
                    }..];
                }
                Tok::ZeroDay | Tok::Day | Tok::UnderDay => {
                    let vv = if tok == Tok::UnderDay {
                        v.strip_prefix(' ').unwrap_or(v)
                    } else {
                        v
                    };
                    let (x, n) = take(vv, if tok == Tok::ZeroDay { 2 } else { 1 }, 2)?;
                    d = x;
                    v = &vv[n..];
                }
                Tok::Hour => {
                    let (x, n) = take(v, 2, 2)?;
                    h = x;
                    v = &v[n..];
                }
                Tok::Hour12 | Tok::ZeroHour12 => {
                    let (x, n) = take(v, if tok == Tok::ZeroHour12 { 2 } else { 1 }, 2)?;
                    h = x;
                    v = &v[n..];
                }
                Tok::Minute | Tok::ZeroMinute => {
                    let (x, n) = take(v, if tok == Tok::ZeroMinute { 2 } else { 1 }, 2)?;
                    mi = x;
                    v = &v[n..];
                }
                Tok::Second | Tok::ZeroSecond => {
                    let (x, n) = take(v, if tok == Tok::ZeroSecond { 2 } else { 1 }, 2)?;
                    se = x;
                    v = &v[n..];
                    if (v.starts_with('.') || v.starts_with(','))
                        && !matches!(next_token(&l[len..]).0, Tok::Frac(..))
                    {
                        let digits = v[1..].bytes().take_while(u8::is_ascii_digit).count();
                        let f = format!("{:0<9}", &v[1..1 + digits.min(9)]);
                        ns = f.parse().unwrap_or(0);
                        v = &v[1 + digits..];
                    }
                }
                Tok::Frac(_, digits, trim) => {
                    if !(v.starts_with('.') || v.starts_with(',')) {
                        if trim {
                            l = &l[len..];
                            continue;
                        }
                        return Err(err(v, ltok));
                    }
                    let n = v[1..].bytes().take_while(u8::is_ascii_digit).count();
                    if !trim && n != digits {
                        return Err(err(v, ltok));
                    }
                    let f = format!("{:0<9}", &v[1..1 + n.min(9)]);
                    ns = f.parse().unwrap_or(0);
                    v = &v[1 + n..];
                }
                Tok::UnderYearDay | Tok::ZeroYearDay => {
                    let vv = v.trim_start_matches(' ');
                    let (_, n) = take(vv, 1, 3)?;
                    v = &vv[n..];
                }
                Tok::PM | Tok::Pm => {
                    let up = v.get(..2).map(str::to_ascii_uppercase);
                    match up.as_deref() {
                        Some("PM") => pm = Some(true),
                        Some("AM") => pm = Some(false),
                        _ => return Err(err(v, ltok)),
                    }
                    v = &v[2..];
                }
                Tok::TZ => {
                    let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(err(v, ltok));
                    }
                    v = &v[n..];
                }
                Tok::IsoTZ(f) | Tok::NumTZ(f) => {
                    if matches!(tok, Tok::IsoTZ(_)) && v.starts_with('Z') {
                        v = &v[1..];
                    } else {
                        let sign = match v.as_bytes().first() {
                            Some(b'+') => 1,
                            Some(b'-') => -1,
                            _ => return Err(err(v, ltok)),
                        };
                        let body_len = f.len() - if f.starts_with('Z') { 0 } else { 1 };
                        let body = v.get(1..1 + body_len).ok_or_else(|| err(v, ltok))?;
                        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
                        let hh: i64 = digits.get(..2).and_then(|x| x.parse().ok()).unwrap_or(0);
                        let mm: i64 = digits.get(2..4).and_then(|x| x.parse().ok()).unwrap_or(0);
                        let ss: i64 = digits.get(4..6).and_then(|x| x.parse().ok()).unwrap_or(0);
                        offset = sign * (hh * 3600 + mm * 60 + ss);
                        v = &v[1 + body_len..];
                    }
                }
            }
            l = &l[len..];
        }
        if !v.is_empty() {
            return Err(format!(
                "parsing time {}: extra text: {}",
                crate::fmt::quote_go(value),
                crate::fmt::quote_go(v)
            ));
        }
        if let Some(pm) = pm {
            if h == 12 {
                h = 0;
            }
            if pm {
                h += 12;
            }
        }
        if !(1..=12).contains(&mo) {
            return Err(format!(
                "parsing time {}: month out of range",
                crate::fmt::quote_go(value)
            ));
        }
        if !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 59 {
            return Err(format!(
                "parsing time {}: day out of range",
                crate::fmt::quote_go(value)
            ));
        }
        let days = days_from_civil(y, mo, d);
        Ok(Time {
            secs: days * 86_400 + (h * 3600 + mi * 60 + se) as i64 - offset,
            nanos: ns,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit,
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    IsoTZ(&'static str),
    NumTZ(&'static str),
    Frac(char, usize, bool),
}

/// Go's `nextStdChunk`, for a layout starting at `l`: the token and its length.
fn next_token(l: &str) -> (Tok, usize) {
    let st = |p: &str| l.starts_with(p);
    let b = l.as_bytes();
    match b.first() {
        Some(b'J') if st("January") => (Tok::LongMonth, 7),
        Some(b'J') if st("Jan") => (Tok::Month, 3),
        Some(b'M') if st("Monday") => (Tok::LongWeekDay, 6),
        Some(b'M') if st("Mon") => (Tok::WeekDay, 3),
        Some(b'M') if st("MST") => (Tok::TZ, 3),
        Some(b'0') if st("01") => (Tok::ZeroMonth, 2),
        Some(b'0') if st("02") => (Tok::ZeroDay, 2),
        Some(b'0') if st("03") => (Tok::ZeroHour12, 2),
        Some(b'0') if st("04") => (Tok::ZeroMinute, 2),
        Some(b'0') if st("05") => (Tok::ZeroSecond, 2),
        Some(b'0') if st("06") => (Tok::Year, 2),
        Some(b'0') if st("002") => (Tok::ZeroYearDay, 3),
        Some(b'1') if st("15") => (Tok::Hour, 2),
        Some(b'1') => (Tok::NumMonth, 1),
        Some(b'2') if st("2006") => (Tok::LongYear, 4),
        Some(b'2') => (Tok::Day, 1),
        Some(b'_') if st("_2006") => (Tok::Lit, 1),
        Some(b'_') if st("__2") => (Tok::UnderYearDay, 3),
        Some(b'_') if st("_2") => (Tok::UnderDay, 2),
        Some(b'3') => (Tok::Hour12, 1),
        Some(b'4') => (Tok::Minute, 1),
        Some(b'5') => (Tok::Second, 1),
        Some(b'P') if st("PM") => (Tok::PM, 2),
        Some(b'p') if st("pm") => (Tok::Pm, 2),
        Some(b'-') => {
            for f in ["-07:00:00", "-0700", "-07:00", "-070000", "-07"] {
                if st(f) {
                    return (Tok::NumTZ(f), f.len());
                }
            }
            (Tok::Lit, 1)
        }
        Some(b'Z') => {
            for f in ["Z07:00:00", "Z0700", "Z07:00", "Z070000", "Z07"] {
                if st(f) {
                    return (Tok::IsoTZ(f), f.len());
                }
            }
            (Tok::Lit, 1)
        }
        Some(c @ (b'.' | b',')) if b.len() > 1 && (b[1] == b'0' || b[1] == b'9') => {
            let d = b[1];
            let n = b[1..].iter().take_while(|x| **x == d).count();
            let after = b.get(1 + n);
            if after.is_some_and(u8::is_ascii_digit) {
                return (Tok::Lit, 1);
            }
            (Tok::Frac(*c as char, n, d == b'9'), 1 + n)
        }
        _ => (Tok::Lit, 1),
    }
}

impl Object for Time {
    fn type_name(&self) -> String {
        "time.Time".into()
    }
    fn method(&self, name: &str) -> Option<Function> {
        let t = *self;
        let p = t.parts();
        let v: Value = match name {
            "Unix" => Value::Int64(t.secs),
            "UnixNano" => Value::Int64(t.secs.wrapping_mul(1_000_000_000) + t.nanos as i64),
            "Year" => Value::Int(p.year),
            "Month" => Value::from(MONTHS[p.month as usize - 1]),
            "Day" => Value::Int(p.day as i64),
            "Hour" => Value::Int(p.hour as i64),
            "Minute" => Value::Int(p.min as i64),
            "Second" => Value::Int(p.sec as i64),
            "Nanosecond" => Value::Int(p.nanos as i64),
            "YearDay" => Value::Int(p.yday as i64),
            "Weekday" => Value::from(DAYS[p.weekday]),
            "String" => Value::from(t.go_string()),
            "UTC" | "Local" => Value::Object(Arc::new(t)),
            "Format" => {
                return Some(Function::pure(&[Ty::String], None, move |a| {
                    Ok(t.format(s(&a[0])).into())
                }));
            }
            _ => return None,
        };
        Some(Function::pure(&[], None, move |_| Ok(v.clone())))
    }
    fn display(&self) -> String {
        self.go_string()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn time_of(v: &Value, now: Time) -> Time {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<Time>().copied().unwrap_or(now),
        Value::Int(i) | Value::Int64(i) => Time { secs: *i, nanos: 0 },
        _ => now,
    }
}

fn time_arg(v: &Value) -> Result<Time, FuncError> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<Time>().copied().ok_or_else(|| {
            FuncError::new(format!(
                "wrong type for value; expected time.Time; got {}",
                o.type_name()
            ))
        }),
        other => Err(FuncError::new(format!(
            "wrong type for value; expected time.Time; got {}",
            other.type_name()
        ))),
    }
}

/// Go's `Duration.String()`.
pub(crate) fn duration_string(d: i128) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        let m = u / 60_000_000_000 % 60;
        let sns = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(sns, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn frac(v: u128, div: u128) -> String {
    let whole = v / div;
    let rem = v % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{rem:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .bytes()
            .take_while(|c| !c.is_ascii_digit() && *c != b'.')
            .count();
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[u..];
        total += num * unit;
    }
    let v = total.round() as i128;
    Some(if neg { -v } else { v })
}

pub(super) fn register(m: &mut Map, now_unix: i64) {
    use Ty::{Any, String as Str};
    let now = Time {
        secs: now_unix,
        nanos: 0,
    };
    add(m, "now", &[], None, move |_| {
        Ok(Value::Object(Arc::new(now)))
    });
    {
        add(m, "date", &[Str, Any], None, move |a| {
            Ok(time_of(&a[1], now).format(s(&a[0])).into())
        });
    }
    for name in ["dateInZone", "date_in_zone"] {
        add(m, name, &[Str, Any, Str], None, move |a| {
            Ok(time_of(&a[1], now).format(s(&a[0])).into())
        });
    }
    add(m, "htmlDate", &[Any], None, move |a| {
        Ok(time_of(&a[0], now).format("2006-01-02").into())
    });
    add(m, "htmlDateInZone", &[Any, Str], None, move |a| {
        Ok(time_of(&a[0], now).format("2006-01-02").into())
    });
    add(m, "toDate", &[Str, Str], None, |a| {
        let t = Time::parse(s(&a[0]), s(&a[1])).unwrap_or(Time {
            secs: -62_135_596_800,
            nanos: 0,
        });
        Ok(Value::Object(Arc::new(t)))
    });
    add(m, "mustToDate", &[Str, Str], None, |a| {
        Time::parse(s(&a[0]), s(&a[1]))
            .map(|t| Value::Object(Arc::new(t)))
            .map_err(FuncError::new)
    });
    add(m, "unixEpoch", &[Any], None, |a| {
        Ok(time_arg(&a[0])?.secs.to_string().into())
    });
    for (name, must) in [
        ("dateModify", false),
        ("date_modify", false),
        ("mustDateModify", true),
        ("must_date_modify", true),
    ] {
        add(m, name, &[Str, Any], None, move |a| {
            let t = time_arg(&a[1])?;
            match parse_duration(s(&a[0])) {
                Some(d) => {
                    let total = t.secs as i128 * 1_000_000_000 + t.nanos as i128 + d;
                    Ok(Value::Object(Arc::new(Time {
                        secs: total.div_euclid(1_000_000_000) as i64,
                        nanos: total.rem_euclid(1_000_000_000) as u32,
                    })))
                }
                None if must => Err(FuncError::new(format!(
                    "time: invalid duration {}",
                    crate::fmt::quote_go(s(&a[0]))
                ))),
                None => Ok(Value::Object(Arc::new(t))),
            }
        });
    }
    add(m, "ago", &[Any], None, move |a| {
        let t = time_of(&a[0], now);
        let d = (now.secs - t.secs) as i128 * 1_000_000_000;
        Ok(duration_string(d).into())
    });
    add(m, "duration", &[Any], None, |a| {
        let n: i64 = match &a[0] {
            Value::String(x) => x.parse().unwrap_or(0),
            Value::Int64(i) => *i,
            _ => 0,
        };
        Ok(duration_string(n as i128 * 1_000_000_000).into())
    });
    add(m, "durationRound", &[Any], None, move |a| {
        let d: i128 = match &a[0] {
            Value::String(x) => parse_duration(x).unwrap_or(0),
            Value::Int64(i) => *i as i128,
            Value::Object(_) => (now.secs - time_of(&a[0], now).secs) as i128 * 1_000_000_000,
            _ => 0,
        };
        let u = d.unsigned_abs();
        let hour: u128 = 3_600_000_000_000;
        let units: [(u128, &str); 6] = [
            (hour * 24 * 365, "y"),
            (hour * 24 * 30, "mo"),
            (hour * 24, "d"),
            (hour, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
        ];
        for (size, name) in units {
            if u > size {
                return Ok(format!("{}{name}", u / size).into());
            }
        }
        Ok("0s".into())
    });
}
