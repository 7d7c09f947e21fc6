//! `semver` and `semverCompare`: Masterminds/semver v3 versions and constraints.

use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

use super::{Map, add, s};
use crate::error::FuncError;
use crate::funcs::{Function, Ty};
use crate::value::{Object, Value};

/// A parsed semantic version (`*semver.Version`).
#[derive(Clone, Debug)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Regexes {
    loose: regex::Regex,
    constraint: regex::Regex,
    range: regex::Regex,
    find: regex::Regex,
    valid: regex::Regex,
}

fn regexes() -> Option<&'static Regexes> {
    static R: OnceLock<Option<Regexes>> = OnceLock::new();
    R.get_or_init(|| {
        Some(Regexes {
            loose: regex::Regex::new(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$").ok()?,
            constraint: regex::Regex::new(&format!(r"^\s*({OPS})\s*({CV})\s*$")).ok()?,
            range: regex::Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).ok()?,
            find: regex::Regex::new(&format!(r"({OPS})\s*({CV})")).ok()?,
            valid: regex::Regex::new(&format!(
                r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
            ))
            .ok()?,
        })
    })
    .as_ref()
}

fn only(s: &str, f: impl Fn(char) -> bool) -> bool {
    s.chars().all(f)
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

impl Version {
    /// Masterminds' `NewVersion` (coercing: `v1.2` is `1.2.0`).
    pub fn parse(v: &str) -> Result<Version, String> {
        let re = regexes().ok_or("semver regexes failed to compile")?;
        let m = re.loose.captures(v).ok_or("invalid semantic version")?;
        let g = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
        let num = |s: &str| -> Result<u64, String> {
            let s = s.trim_start_matches('.');
            if s.is_empty() {
                return Ok(0);
            }
            s.parse::<u64>().map_err(|_| {
                format!(
                    "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
                    crate::fmt::quote_go(s)
                )
            })
        };
        let ver = Version {
            major: num(g(1))?,
            minor: num(g(2))?,
            patch: num(g(3))?,
            pre: g(5).to_string(),
            metadata: g(8).to_string(),
            original: v.to_string(),
        };
        if !ver.pre.is_empty() {
            for p in ver.pre.split('.') {
                if p.is_empty() {
                    return Err("invalid prerelease string".into());
                } else if only(p, |c| c.is_ascii_digit()) {
                    if p.len() > 1 && p.starts_with('0') {
                        return Err("version segment starts with 0".into());
                    }
                } else if !only(p, allowed) {
                    return Err("invalid prerelease string".into());
                }
            }
        }
        if !ver.metadata.is_empty()
            && ver
                .metadata
                .split('.')
                .any(|p| p.is_empty() || !only(p, allowed))
        {
            return Err("invalid metadata string".into());
        }
        Ok(ver)
    }

    /// `Compare`: -1, 0 or 1 by precedence (metadata ignored).
    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    /// Masterminds' `NewConstraint(constraint).Check(v)`: whether this
    /// version meets a constraint such as `~1.2.0`, `^1`, `>=1.0.0 <2.0.0`
    /// or `1.2.x` (prereleases only when the constraint names one).
    pub fn satisfies(&self, constraint: &str) -> Result<bool, String> {
        check(constraint, self)
    }

    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let sa: Vec<&str> = a.split('.').collect();
    let sb: Vec<&str> = b.split('.').collect();
    for i in 0..sa.len().max(sb.len()) {
        let d = compare_pre_part(
            sa.get(i).copied().unwrap_or(""),
            sb.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => s.cmp(o),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(x), Ok(y)) => x.cmp(&y),
    }
}

impl Object for Version {
    fn type_name(&self) -> String {
        "*semver.Version".into()
    }
    fn kind(&self) -> &'static str {
        "ptr"
    }
    fn method(&self, name: &str) -> Option<Function> {
        let v = self.clone();
        let val: Value = match name {
            "Major" => Value::Int64(v.major as i64),
            "Minor" => Value::Int64(v.minor as i64),
            "Patch" => Value::Int64(v.patch as i64),
            "Prerelease" => Value::from(v.pre.as_str()),
            "Metadata" => Value::from(v.metadata.as_str()),
            "Original" => Value::from(v.original.as_str()),
            "String" => Value::from(v.string()),
            _ => return None,
        };
        Some(Function::pure(&[], None, move |_| Ok(val.clone())))
    }
    fn display(&self) -> String {
        self.string()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str, re: &Regexes) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            op: String::new(),
            con: Version::parse("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = re
        .constraint
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {}", crate::fmt::quote_go(c)))?;
    let g = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(g(3)) || g(3).is_empty() {
        dirty = true;
        format!("0.0.0{}", g(6))
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{}.0.0{}", g(3), g(6))
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{}{}.0{}", g(3), g(4), g(6))
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        op: g(1).to_string(),
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

/// Masterminds' `NewConstraint(c).Check(v)`.
pub(crate) fn check(constraint: &str, v: &Version) -> Result<bool, String> {
    let re = regexes().ok_or("semver regexes failed to compile")?;
    // rewriteRange: "a - b" becomes ">= a, <= b".
    let mut c = constraint.to_string();
    let ranges: Vec<(String, String, String)> = re
        .range
        .captures_iter(constraint)
        .map(|m| {
            (
                m.get(0).map(|x| x.as_str().to_string()).unwrap_or_default(),
                m.get(1).map(|x| x.as_str().to_string()).unwrap_or_default(),
                m.get(11)
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    for (all, a, b) in ranges {
        c = c.replacen(&all, &format!(">= {a}, <= {b} "), 1);
    }
    let mut groups = Vec::new();
    for or in c.split("||") {
        if !re.valid.is_match(or) {
            return Err(format!("improper constraint: {}", crate::fmt::quote_go(or)));
        }
        let mut parts: Vec<&str> = re.find.find_iter(or).map(|m| m.as_str()).collect();
        if parts.is_empty() {
            parts.push(or);
        }
        let mut cs = Vec::new();
        let mut has_pre = false;
        for p in parts {
            let pc = parse_constraint(p, re)?;
            has_pre |= !pc.con.pre.is_empty();
            cs.push(pc);
        }
        groups.push((cs, has_pre));
    }
    Ok(groups
        .iter()
        .any(|(cs, pre)| cs.iter().all(|c| check_one(c, v, *pre))))
}

fn check_one(c: &Constraint, v: &Version, include_pre: bool) -> bool {
    if !v.pre.is_empty() && !include_pre {
        return false;
    }
    let cmp = v.compare(&c.con);
    match c.op.as_str() {
        "" | "=" => {
            if c.dirty {
                tilde(c, v)
            } else {
                cmp == Ordering::Equal
            }
        }
        "!=" => {
            if c.dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !c.con.pre.is_empty() {
                        return compare_prerelease(&v.pre, &c.con.pre) != Ordering::Equal;
                    }
                    return false;
                }
            }
            cmp != Ordering::Equal
        }
        ">" => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major > c.con.major {
                true
            } else if v.major < c.con.major || c.minor_dirty {
                false
            } else if c.patch_dirty {
                v.minor > c.con.minor
            } else {
                cmp == Ordering::Greater
            }
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            !(v.major > c.con.major
                || (v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty))
        }
        "~" | "~>" => tilde(c, v),
        "^" => {
            if cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            c.con.patch == v.patch
        }
        _ => false,
    }
}

fn tilde(c: &Constraint, v: &Version) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    if v.minor != c.con.minor && !c.minor_dirty {
        return false;
    }
    true
}

pub(super) fn register(m: &mut Map) {
    use Ty::String as Str;
    add(m, "semver", &[Str], None, |a| {
        Version::parse(s(&a[0]))
            .map(|v| Value::Object(Arc::new(v)))
            .map_err(FuncError::new)
    });
    add(m, "semverCompare", &[Str, Str], None, |a| {
        let v = Version::parse(s(&a[1])).map_err(FuncError::new)?;
        check(s(&a[0]), &v).map(Value::Bool).map_err(FuncError::new)
    });
}
