//! Helm's own template functions: include, tpl, required, fail, the YAML,
//! JSON and TOML converters, and lookup (empty, as in `helm template`).

use kiln_gotmpl::{Function, Templates, Ty, Value};

use crate::yaml;

/// Converts JSON to template values; integers stay `int64` (as `--set`
/// gives them), other numbers are `float64` (as YAML and JSON give them).
pub(crate) fn to_tmpl(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Number(n) if !n.is_f64() => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::Array(a) => Value::list(a.iter().map(to_tmpl).collect()),
        serde_json::Value::Object(o) => {
            Value::map(o.iter().map(|(k, v)| (k.clone(), to_tmpl(v))).collect())
        }
        v => Value::from_json(v),
    }
}

/// Every number becomes a float, as `sigs.k8s.io/yaml` decodes into Go.
pub(crate) fn go_numbers(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) => serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0))
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(go_numbers).collect())
        }
        serde_json::Value::Object(o) => {
            serde_json::Value::Object(o.into_iter().map(|(k, v)| (k, go_numbers(v))).collect())
        }
        v => v,
    }
}

fn warn_wrap(m: &str) -> String {
    format!("HELM_ERR_START{m}HELM_ERR_END")
}

fn str_arg(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Adds Helm's functions to a set (before any template is parsed).
pub(crate) fn register(set: &mut Templates) {
    set.add_func(
        "include",
        Function::new(&[Ty::String, Ty::Any], None, |ctx, a| {
            let name = str_arg(&a[0]);
            Ok(Value::from(ctx.execute_template(&name, a[1].clone())?))
        }),
    );
    set.add_func(
        "tpl",
        Function::new(&[Ty::String, Ty::Any], None, |ctx, a| {
            let text = str_arg(&a[0]);
            let mut t = ctx.templates().clone();
            let name = t.name().to_string();
            if let Err(e) = t.parse(&name, &text) {
                return Err(format!("cannot parse template {text:?}: {e}").into());
            }
            match ctx.execute_in(&t, &name, a[1].clone()) {
                Ok(out) => Ok(Value::from(out.replace("<no value>", ""))),
                Err(e) => Err(kiln_gotmpl::FuncError {
                    message: format!("error during tpl function execution for {text:?}: {e}"),
                    source: Some(Box::new(e)),
                }),
            }
        }),
    );
    set.add_func(
        "required",
        Function::pure(&[Ty::String, Ty::Any], None, |a| {
            if a[1].is_nil() || a[1].as_str() == Some("") {
                return Err(warn_wrap(&str_arg(&a[0])).into());
            }
            Ok(a[1].clone())
        }),
    );
    set.add_func(
        "fail",
        Function::pure(&[Ty::String], None, |a| {
            Err(warn_wrap(&str_arg(&a[0])).into())
        }),
    );
    let to_yaml = Function::pure(&[Ty::Any], None, |a| {
        let y = yaml::to_yaml(&a[0].to_json());
        Ok(Value::from(y.strip_suffix('\n').unwrap_or(&y).to_string()))
    });
    set.add_func("toYaml", to_yaml.clone());
    set.add_func("mustToYaml", to_yaml);
    set.add_func(
        "toYamlPretty",
        Function::pure(&[Ty::Any], None, |a| {
            let y = yaml::to_yaml(&a[0].to_json());
            Ok(Value::from(y.strip_suffix('\n').unwrap_or(&y).to_string()))
        }),
    );
    set.add_func(
        "fromYaml",
        Function::pure(&[Ty::String], None, |a| {
            Ok(match yaml::parse(a[0].as_str().unwrap_or_default()) {
                Ok(v @ serde_json::Value::Object(_)) => to_tmpl(&go_numbers(v)),
                Ok(serde_json::Value::Null) => Value::empty_map(),
                Ok(_) => error_map("cannot unmarshal into map[string]interface {}"),
                Err(e) => error_map(&e),
            })
        }),
    );
    set.add_func(
        "fromYamlArray",
        Function::pure(&[Ty::String], None, |a| {
            Ok(match yaml::parse(a[0].as_str().unwrap_or_default()) {
                Ok(v @ serde_json::Value::Array(_)) => to_tmpl(&go_numbers(v)),
                Ok(serde_json::Value::Null) => Value::list(Vec::new()),
                Ok(_) => Value::list(vec![Value::from("cannot unmarshal into []interface {}")]),
                Err(e) => Value::list(vec![Value::from(e)]),
            })
        }),
    );
    let to_json = Function::pure(&[Ty::Any], None, |a| {
        Ok(Value::from(
            serde_json::to_string(&a[0].to_json()).unwrap_or_default(),
        ))
    });
    set.add_func("toJson", to_json.clone());
    set.add_func("mustToJson", to_json);
    set.add_func(
        "fromJson",
        Function::pure(&[Ty::String], None, |a| {
            Ok(
                match serde_json::from_str::<serde_json::Value>(a[0].as_str().unwrap_or_default()) {
                    Ok(v @ serde_json::Value::Object(_)) => to_tmpl(&go_numbers(v)),
                    Ok(_) => error_map(
                        "json: cannot unmarshal into Go value of type map[string]interface {}",
                    ),
                    Err(e) => error_map(&e.to_string()),
                },
            )
        }),
    );
    set.add_func(
        "fromJsonArray",
        Function::pure(&[Ty::String], None, |a| {
            Ok(
                match serde_json::from_str::<serde_json::Value>(a[0].as_str().unwrap_or_default()) {
                    Ok(v @ serde_json::Value::Array(_)) => to_tmpl(&go_numbers(v)),
                    Ok(_) => Value::list(vec![Value::from(
                        "json: cannot unmarshal into Go value of type []interface {}",
                    )]),
                    Err(e) => Value::list(vec![Value::from(e.to_string())]),
                },
            )
        }),
    );
    set.add_func(
        "toToml",
        Function::pure(&[Ty::Any], None, |a| {
            Ok(Value::from(crate::toml::encode(&a[0].to_json())))
        }),
    );
    set.add_func(
        "lookup",
        Function::pure(
            &[Ty::String, Ty::String, Ty::String, Ty::String],
            None,
            |_| Ok(Value::empty_map()),
        ),
    );
}

fn error_map(e: &str) -> Value {
    let mut m = std::collections::BTreeMap::new();
    m.insert("Error".to_string(), Value::from(e));
    Value::map(m)
}
