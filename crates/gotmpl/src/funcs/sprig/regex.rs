//! Sprig's regular expression functions (`regex.go`), over the `regex` crate
//! (RE2 syntax, as Go's `regexp`).

use super::{Map, Res, add, n, s};
use crate::error::FuncError;
use crate::funcs::Ty;
use crate::value::Value;

fn compile(re: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(re).map_err(|e| FuncError::new(format!("error parsing regexp: {e}")))
}

pub(super) fn register(m: &mut Map) {
    use Ty::{Int, String as Str};
    for (name, must) in [("regexMatch", false), ("mustRegexMatch", true)] {
        add(m, name, &[Str, Str], None, move |a| {
            match compile(s(&a[0])) {
                Ok(r) => Ok(Value::Bool(r.is_match(s(&a[1])))),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::Bool(false)),
            }
        });
    }
    for name in ["regexFindAll", "mustRegexFindAll"] {
        add(m, name, &[Str, Str, Int], None, |a| {
            let r = compile(s(&a[0]))?;
            let limit = n(&a[2]);
            if limit == 0 {
                return Ok(Value::string_list(Vec::new()));
            }
            let it = r.find_iter(s(&a[1])).map(|m| m.as_str().to_string());
            let v: Vec<String> = if limit < 0 {
                it.collect()
            } else {
                it.take(limit as usize).collect()
            };
            Ok(Value::string_list(v))
        });
    }
    for name in ["regexFind", "mustRegexFind"] {
        add(m, name, &[Str, Str], None, |a| {
            let r = compile(s(&a[0]))?;
            Ok(r.find(s(&a[1])).map(|m| m.as_str()).unwrap_or("").into())
        });
    }
    for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
        add(m, name, &[Str, Str, Str], None, |a| {
            let r = compile(s(&a[0]))?;
            Ok(r.replace_all(s(&a[1]), s(&a[2])).into_owned().into())
        });
    }
    for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
        add(m, name, &[Str, Str, Str], None, |a| {
            let r = compile(s(&a[0]))?;
            Ok(r.replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
                .into_owned()
                .into())
        });
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        add(m, name, &[Str, Str, Int], None, |a| {
            split(&compile(s(&a[0]))?, s(&a[1]), n(&a[2]))
        });
    }
    add(m, "regexQuoteMeta", &[Str], None, |a| {
        Ok(regex::escape(s(&a[0])).into())
    });
}

/// Go's `Regexp.Split`.
fn split(re: &regex::Regex, s: &str, n: i64) -> Res {
    if n == 0 {
        return Ok(Value::string_list(Vec::new()));
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return Ok(Value::string_list(vec![String::new()]));
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in re.find_iter(s) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    Ok(Value::string_list(out))
}
