//! Legacy `vars`: `$(NAME)` in Kustomize's var-reference fields replaced by
//! a field of a named object, as Kustomize v5.5 does it.
//!
//! Each kustomization, after its transformers, marks the one object its
//! var refers to (by group, version, kind and current or earlier name, and
//! namespace when the var names one) and adds the var to the build's set;
//! a name may be declared once in a build. At the very end, after hash
//! suffixes and name references, every var takes the value of its field
//! (default `metadata.name`) in the marked object as it is then, and
//! `$(NAME)` is replaced in the string values of the var-reference fields.
//! `$$` stands for `$`; unknown names stay as written.

use serde::Deserialize;
use serde_json::Value;

use crate::{
    Error, builtin_config as config, fieldpath, fieldspec, resource::Resource, scalar,
    target::Accumulated,
};

/// One entry of `vars`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct Var {
    name: String,
    #[serde(alias = "objRef", alias = "ObjRef")]
    objref: ObjRef,
    #[serde(alias = "fieldRef", alias = "FieldRef")]
    fieldref: FieldRef,
}

/// The object a var reads.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct ObjRef {
    #[serde(rename = "apiVersion", alias = "apiversion")]
    api_version: String,
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
}

/// The field a var reads.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct FieldRef {
    #[serde(rename = "fieldPath", alias = "fieldpath", alias = "FieldPath")]
    field_path: String,
}

impl ObjRef {
    /// Group and version, from `apiVersion` when it is set.
    fn group_version(&self) -> (String, String) {
        if self.api_version.is_empty() {
            return (self.group.clone(), self.version.clone());
        }
        match self.api_version.split('/').collect::<Vec<_>>()[..] {
            [g, v] => (g.to_owned(), v.to_owned()),
            [v] => (self.group.clone(), v.to_owned()),
            _ => (self.group.clone(), self.version.clone()),
        }
    }
}

impl Var {
    /// The var with Kustomize's defaults: field `metadata.name`, group and
    /// version from `apiVersion`.
    fn defaulted(mut self) -> Var {
        if self.fieldref.field_path.is_empty() {
            self.fieldref.field_path = "metadata.name".into();
        }
        let (g, v) = self.objref.group_version();
        self.objref.group = g;
        self.objref.version = v;
        self
    }

    /// Kustomize's (Go's) spelling: `{NAME Kind.version.group {fieldPath}}`.
    fn show(&self) -> String {
        let or = |s: &str, none: &'static str| {
            if s.is_empty() {
                none.to_owned()
            } else {
                s.to_owned()
            }
        };
        format!(
            "{{{} {}.{}.{} {{{}}}}}",
            self.name,
            or(&self.objref.kind, "[noKind]"),
            or(&self.objref.version, "[noVer]"),
            or(&self.objref.group, "[noGrp]"),
            self.fieldref.field_path
        )
    }

    /// Whether the var's object is `r` (by its current or an earlier id).
    fn refers_to(&self, r: &Resource) -> bool {
        let (g, v) = self.objref.group_version();
        let (rg, rv) = crate::resource::split_api_version(r.api_version());
        if g != rg || v != rv || self.objref.kind != r.kind() {
            return false;
        }
        let ns = &self.objref.namespace;
        std::iter::once((r.name(), r.namespace()))
            .chain(r.previous.iter().map(|(n, s)| (n.as_str(), s.as_str())))
            .any(|(name, rns)| {
                name == self.objref.name
                    && (ns.is_empty()
                        || crate::resource::effective_namespace(ns)
                            == crate::resource::effective_namespace(rns))
            })
    }
}

/// Parses a kustomization's `vars`.
pub(crate) fn parse(file: &str, raw: &[Value]) -> Result<Vec<Var>, Error> {
    raw.iter()
        .map(|v| {
            serde_json::from_value(v.clone()).map_err(|e| Error::Entry {
                file: file.to_owned(),
                field: "vars".into(),
                entry: v
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                cause: e.to_string(),
            })
        })
        .collect()
}

/// Marks the objects a kustomization's vars refer to and adds the vars to
/// the build's set.
pub(crate) fn merge(file: &str, vars: &[Var], acc: &mut Accumulated) -> Result<(), Error> {
    let err = |cause: String| Error::Kustomization {
        file: file.to_owned(),
        cause: format!("vars: {cause}"),
    };
    for v in vars {
        let matched: Vec<usize> = acc
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| v.refers_to(r))
            .map(|(i, _)| i)
            .collect();
        match matched[..] {
            [i] => acc.resources[i].ref_vars.push(v.name.clone()),
            [] => {}
            _ => {
                return Err(err(format!(
                    "found {} resId matches for var {} (unable to disambiguate)",
                    matched.len(),
                    v.show()
                )));
            }
        }
    }
    for v in vars {
        add(&mut acc.vars, v.clone().defaulted()).map_err(|e| {
            let all: Vec<String> = vars.iter().map(Var::show).collect();
            err(format!("merging vars [{}]: {e}", all.join(" ")))
        })?;
    }
    Ok(())
}

/// Adds a var to a set, refusing a name already there.
pub(crate) fn add(set: &mut Vec<Var>, v: Var) -> Result<(), String> {
    if set.iter().any(|x| x.name == v.name) {
        return Err(format!("var '{}' already encountered", v.name));
    }
    set.push(v);
    Ok(())
}

/// Replaces `$(NAME)` everywhere Kustomize looks for it, once all names
/// are final.
pub(crate) fn resolve(
    file: &str,
    vars: &[Var],
    tconfig: &crate::tconfig::TransformerConfig,
    resources: &mut [Resource],
) -> Result<(), Error> {
    if vars.is_empty() {
        return Ok(());
    }
    let err = |cause: String| Error::Kustomization {
        file: file.to_owned(),
        cause: format!("vars: {cause}"),
    };
    let mut sorted: Vec<&Var> = vars.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut values: Vec<(String, Option<Value>)> = Vec::new();
    for v in sorted {
        let Some(r) = resources.iter().find(|r| r.ref_vars.contains(&v.name)) else {
            return Err(err(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.show()
            )));
        };
        let obj = Value::Object(r.obj.clone());
        let found = fieldpath::lookup(&obj, &slice_indexes(&v.fieldref.field_path))
            .ok()
            .flatten();
        let Some(found) = found else {
            return Err(err(format!(
                "field specified in var '{}' not found in corresponding resource",
                v.show()
            )));
        };
        // Maps and lists cannot be put into a string: such a var is left
        // as written. `null` is read as its text.
        let value = match found {
            Value::Array(_) | Value::Object(_) => None,
            Value::Null => Some(Value::String("null".into())),
            other => Some(other.clone()),
        };
        values.push((v.name.clone(), value));
    }
    let specs = crate::tconfig::specs(config::VAR_REFERENCE, &tconfig.var_reference)
        .map_err(|e| err(format!("merging transformer configuration: {e}")))?;
    for r in resources.iter_mut() {
        let (api, kind) = (r.api_version().to_owned(), r.kind().to_owned());
        for spec in &specs {
            if !spec.matches(&api, &kind) {
                continue;
            }
            fieldspec::try_visit(&mut r.obj, &spec.path, None, &mut |node| {
                substitute(node, &values).map_err(VarError::Value)
            })
            .map_err(|e| err(e.to_string()))?;
        }
    }
    Ok(())
}

/// Why substitution in one field failed.
#[derive(Debug, thiserror::Error)]
enum VarError {
    #[error(transparent)]
    Path(#[from] fieldspec::PathError),
    #[error("{0}")]
    Value(String),
}

/// Substitutes in a string, the string values of a map, or a list of
/// strings (anything else in the list is an error, as in Kustomize).
fn substitute(node: &mut Value, values: &[(String, Option<Value>)]) -> Result<(), String> {
    match node {
        Value::String(s) => *node = expand(s, values),
        Value::Object(m) => {
            for v in m.values_mut() {
                if let Value::String(s) = v {
                    *v = expand(s, values);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                let Value::String(s) = item else {
                    return Err("invalid value type expect a string".into());
                };
                *item = expand(s, values);
            }
        }
        _ => {}
    }
    Ok(())
}

/// A var's field path: dotted, with `name[0]` read as `name.0`.
fn slice_indexes(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in fieldpath::split(path) {
        let indexed = part.strip_suffix(']').and_then(|p| {
            let (head, idx) = p.rsplit_once('[')?;
            (!idx.is_empty() && idx.bytes().all(|b| b.is_ascii_digit()))
                .then(|| (head.to_owned(), idx.to_owned()))
        });
        match indexed {
            Some((head, idx)) => {
                if !head.is_empty() {
                    out.push(head);
                }
                out.push(idx);
            }
            None => out.push(part),
        }
    }
    out
}

/// Kustomize's `$(NAME)` expansion of one string. A string that is only
/// `$(NAME)` takes the var's value with its type (a number stays one).
fn expand(input: &str, values: &[(String, Option<Value>)]) -> Value {
    let lookup = |name: &str| -> Option<&Value> {
        values
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_ref())
    };
    if let Some(name) = input.strip_prefix("$(").and_then(|s| s.strip_suffix(')'))
        && !name.contains(')')
        && let Some(v) = lookup(name)
    {
        return v.clone();
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if after.is_empty() {
            out.push('$');
            rest = after;
            break;
        }
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(') {
            match body.find(')') {
                Some(end) => {
                    let name = &body[..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&scalar::text(v)),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &body[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = body;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_as_kustomize() {
        let values = vec![
            ("A".to_owned(), Some(Value::String("x".into()))),
            ("N".to_owned(), Some(Value::from(8080))),
            ("M".to_owned(), None),
        ];
        assert_eq!(expand("$(A)-$(A)", &values), "x-x");
        assert_eq!(expand("$$(A) $(B) $(M)", &values), "$(A) $(B) $(M)");
        assert_eq!(expand("a$ $(A", &values), "a$ $(A");
        assert_eq!(expand("$", &values), "$");
        assert_eq!(expand("$(N)", &values), Value::from(8080));
        assert_eq!(expand(":$(N)", &values), ":8080");
        assert_eq!(
            slice_indexes("spec.ports[0].port"),
            ["spec", "ports", "0", "port"]
        );
    }
}
