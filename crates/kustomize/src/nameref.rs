//! After names changed (prefix, suffix, hash), every field that referred to
//! an object by its old name is pointed at its new name, following
//! Kustomize's name-reference rules.

use serde_json::Value;

use crate::{
    Error, builtin_config as config, fieldspec,
    openapi::Schema,
    resource::{Resource, effective_namespace, split_api_version},
};

/// A kind referred to by name and the fields that refer to it: a built-in
/// entry or one from `configurations`/`crds`.
struct Back<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    referrers: Vec<fieldspec::Spec>,
}

pub(crate) fn fix(
    schema: &Schema,
    tconfig: &crate::tconfig::TransformerConfig,
    resources: &mut [Resource],
) -> Result<(), Error> {
    let mut backs: Vec<Back<'_>> = config::NAME_REFERENCE
        .iter()
        .map(|b| Back {
            group: b.group,
            version: b.version,
            kind: b.kind,
            referrers: b.referrers.iter().map(fieldspec::Spec::from).collect(),
        })
        .collect();
    for n in &tconfig.name_reference {
        let (group, version) = match n.group.as_str() {
            "" => split_api_version(&n.version),
            g => (g, n.version.as_str()),
        };
        let specs = n.field_specs.iter().map(fieldspec::Spec::from);
        match backs
            .iter_mut()
            .find(|b| b.group == group && b.version == version && b.kind == n.kind)
        {
            Some(b) => {
                let _ = fieldspec::merge_specs(&mut b.referrers, specs);
            }
            None => backs.push(Back {
                group,
                version,
                kind: &n.kind,
                referrers: specs.collect(),
            }),
        }
    }
    // Snapshot of who is who, so referrers can be edited in place.
    let referents: Vec<Referent> = resources.iter().map(|r| Referent::of(schema, r)).collect();
    for r in resources.iter_mut() {
        let (api, kind) = (r.api_version().to_owned(), r.kind().to_owned());
        let referrer = Referrer {
            namespace: r.namespace().to_owned(),
            cluster_scoped: cluster_scoped(schema, &api, &kind),
            binding_namespaces: binding_namespaces(r),
            role_ref: role_ref(r),
            affixes: r.affixes.clone(),
        };
        for back in &backs {
            for spec in &back.referrers {
                if !spec.matches(&api, &kind) {
                    continue;
                }
                let role_ref_path = spec.path.ends_with("roleRef/name");
                let _ = fieldspec::visit(&mut r.obj, &spec.path, None, &mut |node| {
                    rename(node, back, &referrer, role_ref_path, &referents);
                });
            }
        }
    }
    Ok(())
}

/// Whether Kustomize counts the kind as cluster-scoped.
fn cluster_scoped(schema: &Schema, api: &str, kind: &str) -> bool {
    schema
        .is_namespaced(api, kind)
        .map(|n| !n)
        .unwrap_or_else(|| config::is_cluster_scoped(api, kind))
}

/// For a RoleBinding, the namespaces its ServiceAccount subjects name.
fn binding_namespaces(r: &Resource) -> Vec<String> {
    if r.kind() != "RoleBinding" {
        return Vec::new();
    }
    let Some(Value::Array(subjects)) = r.obj.get("subjects") else {
        return Vec::new();
    };
    subjects
        .iter()
        .filter(|s| s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
        .filter_map(|s| s.get("namespace").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The group and kind `roleRef` names.
fn role_ref(r: &Resource) -> Option<(String, String)> {
    let rr = r.obj.get("roleRef")?;
    let group = rr.get("apiGroup")?.as_str()?;
    let kind = rr.get("kind")?.as_str()?;
    Some((group.to_owned(), kind.to_owned()))
}

/// What name-reference fixing needs to know of the object that refers.
struct Referrer {
    namespace: String,
    cluster_scoped: bool,
    binding_namespaces: Vec<String>,
    role_ref: Option<(String, String)>,
    affixes: Vec<(String, String)>,
}

struct Referent {
    group: String,
    kind: String,
    names: Vec<String>,
    name: String,
    namespace: String,
    original_namespace: String,
    cluster_scoped: bool,
    affixes: Vec<(String, String)>,
}

impl Referent {
    fn of(schema: &Schema, r: &Resource) -> Referent {
        Referent {
            group: split_api_version(r.api_version()).0.to_owned(),
            kind: r.kind().to_owned(),
            names: r.all_names().map(str::to_owned).collect(),
            name: r.name().to_owned(),
            namespace: r.namespace().to_owned(),
            original_namespace: r.source_namespace().to_owned(),
            cluster_scoped: cluster_scoped(schema, r.api_version(), r.kind()),
            affixes: r.affixes.clone(),
        }
    }
}

fn rename(
    node: &mut Value,
    back: &Back<'_>,
    referrer: &Referrer,
    role_ref_path: bool,
    referents: &[Referent],
) {
    match node {
        Value::String(old) => {
            if let Some(new) = pick(back, referrer, role_ref_path, None, referents, old)
                && new.name != *old
            {
                *old = new.name.clone();
            }
        }
        Value::Object(m) => {
            // A reference object such as a subject: a name and maybe a
            // namespace; both follow the referred-to object.
            if let Some(k) = m.get("kind").and_then(Value::as_str)
                && k != back.kind
            {
                return;
            }
            let Some(old) = m.get("name").and_then(Value::as_str).map(str::to_owned) else {
                return;
            };
            let ref_ns = m
                .get("namespace")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let Some(new) = pick(
                back,
                referrer,
                role_ref_path,
                Some(ref_ns.as_deref()),
                referents,
                &old,
            ) else {
                return;
            };
            if new.name == old && new.namespace.is_empty() {
                return;
            }
            m.insert("name".into(), Value::String(new.name.clone()));
            if !new.namespace.is_empty() {
                m.insert("namespace".into(), Value::String(new.namespace.clone()));
            }
        }
        Value::Array(items) => {
            for item in items {
                rename(item, back, referrer, role_ref_path, referents);
            }
        }
        _ => {}
    }
}

/// The object a reference names, as Kustomize's name-reference filter
/// selects it; `map_ns` is `Some` for a map reference (with its
/// `namespace` field, if any).
fn pick<'a>(
    back: &Back<'_>,
    referrer: &Referrer,
    role_ref_path: bool,
    map_ns: Option<Option<&str>>,
    referents: &'a [Referent],
    old: &str,
) -> Option<&'a Referent> {
    let eff = effective_namespace;
    // What the referrer can see at all.
    let visible = referents.iter().filter(|c| {
        referrer.cluster_scoped
            || c.cluster_scoped
            || eff(&c.namespace) == eff(&referrer.namespace)
            || referrer.binding_namespaces.contains(&c.namespace)
    });
    let mut found: Vec<&Referent> = match map_ns {
        Some(Some(ns)) => {
            let visible: Vec<&Referent> = visible.collect();
            let by_original: Vec<&Referent> = visible
                .iter()
                .copied()
                .filter(|c| !c.cluster_scoped && eff(&c.original_namespace) == ns)
                .collect();
            if by_original.is_empty() {
                visible
                    .into_iter()
                    .filter(|c| !c.cluster_scoped && eff(&c.namespace) == ns)
                    .collect()
            } else {
                by_original
            }
        }
        _ => visible.collect(),
    };
    found.retain(|c| {
        c.names.iter().any(|n| n == old)
            && c.kind == back.kind
            && (back.group.is_empty() || c.group == back.group || back.group == "*")
            && (!role_ref_path
                || referrer
                    .role_ref
                    .as_ref()
                    .is_none_or(|(g, k)| *g == c.group && *k == c.kind))
            && (referrer.cluster_scoped
                || c.cluster_scoped
                || c.kind == "ServiceAccount"
                || eff(&c.namespace) == eff(&referrer.namespace))
    });
    if found.len() > 1 {
        let same: Vec<&Referent> = found
            .iter()
            .copied()
            .filter(|c| c.affixes == referrer.affixes)
            .collect();
        if !same.is_empty() {
            found = same;
        }
    }
    let first = *found.first()?;
    let identical = found
        .iter()
        .all(|c| c.name == first.name && (map_ns.is_none() || c.namespace == first.namespace));
    identical.then_some(first)
}
