//! Sprig's reflection functions (`reflect.go`).

use super::{Map, add, deep_equal, s};
use crate::funcs::Ty;
use crate::value::Value;

pub(super) fn register(m: &mut Map) {
    use Ty::{Any, String as Str};
    add(m, "typeOf", &[Any], None, |a| Ok(a[0].type_name().into()));
    add(m, "typeIs", &[Str, Any], None, |a| {
        Ok(Value::Bool(s(&a[0]) == a[1].type_name()))
    });
    add(m, "typeIsLike", &[Str, Any], None, |a| {
        let t = a[1].type_name();
        Ok(Value::Bool(s(&a[0]) == t || format!("*{}", s(&a[0])) == t))
    });
    add(m, "kindOf", &[Any], None, |a| Ok(a[0].kind_name().into()));
    add(m, "kindIs", &[Str, Any], None, |a| {
        Ok(Value::Bool(s(&a[0]) == a[1].kind_name()))
    });
    add(m, "deepEqual", &[Any, Any], None, |a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
}
