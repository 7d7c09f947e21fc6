//! Sprig's arithmetic and number conversions (`numeric.go`, `cast`).

use super::{Map, add, n, strval, to_float64, to_int64};
use crate::error::FuncError;
use crate::funcs::Ty;
use crate::value::{Elem, Value};

pub(super) fn register(m: &mut Map) {
    use Ty::{Any, Float64, Int, String as Str};
    add(m, "add1", &[Any], None, |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    add(m, "add", &[], Some(Any), |a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v))),
        ))
    });
    add(m, "sub", &[Any, Any], None, |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    add(m, "div", &[Any, Any], None, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(divide_by_zero());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    add(m, "mod", &[Any, Any], None, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(divide_by_zero());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    add(m, "mul", &[Any], Some(Any), |a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |s, v| s.wrapping_mul(to_int64(v))),
        ))
    });
    for name in ["max", "biggest"] {
        add(m, name, &[Any], Some(Any), |a| {
            Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
        });
    }
    add(m, "min", &[Any], Some(Any), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    add(m, "maxf", &[Any], Some(Any), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |s, v| go_max(s, to_float64(v))),
        ))
    });
    add(m, "minf", &[Any], Some(Any), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |s, v| go_min(s, to_float64(v))),
        ))
    });
    add(m, "floor", &[Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    add(m, "ceil", &[Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    add(m, "round", &[Any, Int], Some(Float64), |a| {
        let round_on = a.get(2).map(to_float64).unwrap_or(0.5);
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(n(&a[1]) as f64);
        let digit = pow * val;
        let frac = digit - digit.trunc();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    add(m, "add1f", &[Any], None, |a| {
        Ok(Value::Float(decimal_op(&a[0], &[Value::Int(1)], Op::Add)))
    });
    add(m, "addf", &[], Some(Any), |a| {
        Ok(Value::Float(decimal_op(&Value::Float(0.0), &a, Op::Add)))
    });
    add(m, "subf", &[Any], Some(Any), |a| {
        Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Sub)))
    });
    add(m, "mulf", &[Any], Some(Any), |a| {
        Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Mul)))
    });
    add(m, "divf", &[Any], Some(Any), |a| {
        if a[1..].iter().any(|v| to_float64(v) == 0.0) {
            return Err("decimal division by 0".into());
        }
        Ok(Value::Float(decimal_op(&a[0], &a[1..], Op::Div)))
    });
    add(m, "int64", &[Any], None, |a| {
        Ok(Value::Int64(to_int64(&a[0])))
    });
    add(m, "int", &[Any], None, |a| Ok(Value::Int(to_int64(&a[0]))));
    add(m, "float64", &[Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    add(m, "atoi", &[Str], None, |a| {
        Ok(Value::Int(atoi(super::s(&a[0]))))
    });
    add(m, "toDecimal", &[Any], None, |a| {
        let s = strval(&a[0]);
        Ok(Value::Int64(
            i64::from_str_radix(&s, 8)
                .ok()
                .filter(|_| !s.starts_with('+') || s.len() > 1)
                .unwrap_or(0),
        ))
    });
    add(m, "until", &[Int], None, |a| {
        let c = n(&a[0]);
        Ok(int_list(until_step(0, c, if c < 0 { -1 } else { 1 })))
    });
    add(m, "untilStep", &[Int, Int, Int], None, |a| {
        Ok(int_list(until_step(n(&a[0]), n(&a[1]), n(&a[2]))))
    });
    add(m, "seq", &[], Some(Int), |a| {
        Ok(seq(&a.iter().map(n).collect::<Vec<_>>()).into())
    });
}

fn divide_by_zero() -> FuncError {
    FuncError::new("runtime error: integer divide by zero")
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Go's `strconv.Atoi`, 0 on error (as Sprig wraps it).
fn atoi(s: &str) -> i64 {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse::<i64>().unwrap_or(0)
}

fn int_list(v: Vec<i64>) -> Value {
    Value::List(
        std::sync::Arc::new(v.into_iter().map(Value::Int).collect()),
        Elem::Int,
    )
}

fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    let mut v = Vec::new();
    if stop < start {
        if step >= 0 {
            return v;
        }
        let mut i = start;
        while i > stop {
            v.push(i);
            i += step;
        }
        return v;
    }
    if step <= 0 {
        return v;
    }
    let mut i = start;
    while i < stop {
        v.push(i);
        i += step;
    }
    v
}

fn seq(p: &[i64]) -> String {
    let join = |v: Vec<i64>| v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
    match p {
        [end] => {
            let start = 1;
            let inc = if *end < start { -1 } else { 1 };
            join(until_step(start, end + inc, inc))
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            join(until_step(*start, end + step, step))
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return String::new();
                }
            }
            join(until_step(*start, end + inc, *step))
        }
        _ => String::new(),
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A decimal number `mant * 10^-scale`, as `shopspring/decimal` holds it.
#[derive(Clone, Copy)]
struct Dec {
    mant: i128,
    scale: u32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips.
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let neg = m.starts_with('-');
        let m = m.trim_start_matches('-');
        let (ip, fp) = m.split_once('.').unwrap_or((m, ""));
        let digits = format!("{ip}{fp}");
        let mut mant: i128 = digits.parse().ok()?;
        let mut scale = fp.len() as i32 - e;
        while scale < 0 {
            mant = mant.checked_mul(10)?;
            scale += 1;
        }
        if neg {
            mant = -mant;
        }
        Some(Dec {
            mant,
            scale: scale as u32,
        })
    }

    fn align(a: Dec, b: Dec) -> Option<(i128, i128, u32)> {
        let scale = a.scale.max(b.scale);
        let am = a.mant.checked_mul(10i128.checked_pow(scale - a.scale)?)?;
        let bm = b.mant.checked_mul(10i128.checked_pow(scale - b.scale)?)?;
        Some((am, bm, scale))
    }

    fn op(self, o: Dec, op: Op) -> Option<Dec> {
        match op {
            Op::Add | Op::Sub => {
                let (a, b, scale) = Dec::align(self, o)?;
                let mant = if matches!(op, Op::Add) {
                    a.checked_add(b)?
                } else {
                    a.checked_sub(b)?
                };
                Some(Dec { mant, scale })
            }
            Op::Mul => Some(Dec {
                mant: self.mant.checked_mul(o.mant)?,
                scale: self.scale + o.scale,
            }),
            Op::Div => {
                if o.mant == 0 {
                    return None;
                }
                // shopspring: DivRound(d2, DivisionPrecision=16).
                let (a, b, _) = Dec::align(self, o)?;
                let prec = 16u32;
                let num = a.checked_mul(10i128.checked_pow(prec + 1)?)?;
                let q = num / b;
                let rounded = if q >= 0 { (q + 5) / 10 } else { (q - 5) / 10 };
                Some(Dec {
                    mant: rounded,
                    scale: prec,
                })
            }
        }
    }

    fn to_f64(self) -> f64 {
        let s = self.mant.unsigned_abs().to_string();
        let sign = if self.mant < 0 { "-" } else { "" };
        format!("{sign}{s}e-{}", self.scale).parse().unwrap_or(0.0)
    }
}

fn decimal_op(a: &Value, rest: &[Value], op: Op) -> f64 {
    let fa = to_float64(a);
    let Some(mut acc) = Dec::from_f64(fa) else {
        return rest.iter().fold(fa, |s, v| float_op(s, to_float64(v), op));
    };
    for v in rest {
        let f = to_float64(v);
        match Dec::from_f64(f).and_then(|d| acc.op(d, op)) {
            Some(d) => acc = d,
            None => {
                if matches!(op, Op::Div) && f == 0.0 {
                    return f64::NAN;
                }
                return rest.iter().fold(fa, |s, v| float_op(s, to_float64(v), op));
            }
        }
    }
    acc.to_f64()
}

fn float_op(a: f64, b: f64, op: Op) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
    }
}
