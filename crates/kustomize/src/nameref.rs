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
    let referents: Vec<Referent> = resources.iter().map(Referent::of).collect();
    for r in resources.iter_mut() {
        let (api, kind, ns) = (
            r.api_version().to_owned(),
            r.kind().to_owned(),
            r.namespace().to_owned(),
        );
        let affixes = r.affixes.clone();
        for back in &backs {
            let namespaced_referent = schema
                .is_namespaced(&format_api(back.group, back.version), back.kind)
                .unwrap_or(!config::is_cluster_scoped(
                    &format_api(back.group, back.version),
                    back.kind,
                ));
            for spec in &back.referrers {
                if !spec.matches(&api, &kind) {
                    continue;
                }
                let _ = fieldspec::visit(&mut r.obj, &spec.path, None, &mut |node| {
                    rename(node, back, namespaced_referent, &ns, &affixes, &referents);
                });
            }
        }
    }
    Ok(())
}

fn format_api(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

struct Referent {
    group: String,
    kind: String,
    names: Vec<String>,
    name: String,
    namespace: String,
    affixes: Vec<(String, String)>,
}

impl Referent {
    fn of(r: &Resource) -> Referent {
        Referent {
            group: split_api_version(r.api_version()).0.to_owned(),
            kind: r.kind().to_owned(),
            names: r.all_names().map(str::to_owned).collect(),
            name: r.name().to_owned(),
            namespace: r.namespace().to_owned(),
            affixes: r.affixes.clone(),
        }
    }
}

fn rename(
    node: &mut Value,
    back: &Back<'_>,
    namespaced: bool,
    referrer_ns: &str,
    referrer_affixes: &[(String, String)],
    referents: &[Referent],
) {
    match node {
        Value::String(old) => {
            if let Some(new) = pick(
                back,
                namespaced,
                referrer_ns,
                None,
                referrer_affixes,
                referents,
                old,
            ) {
                *old = new.name.clone();
            }
        }
        Value::Object(m) => {
            // A reference object such as a subject or roleRef: it names its
            // kind (which must match) and maybe a namespace.
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
            if let Some(new) = pick(
                back,
                namespaced,
                referrer_ns,
                ref_ns.as_deref(),
                referrer_affixes,
                referents,
                &old,
            ) {
                m.insert("name".into(), Value::String(new.name.clone()));
                if ref_ns.is_some() && !new.namespace.is_empty() {
                    m.insert("namespace".into(), Value::String(new.namespace.clone()));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rename(
                    item,
                    back,
                    namespaced,
                    referrer_ns,
                    referrer_affixes,
                    referents,
                );
            }
        }
        _ => {}
    }
}

fn pick<'a>(
    back: &Back<'_>,
    namespaced: bool,
    referrer_ns: &str,
    ref_ns: Option<&str>,
    referrer_affixes: &[(String, String)],
    referents: &'a [Referent],
    old: &str,
) -> Option<&'a Referent> {
    let eff = effective_namespace;
    let mut found: Vec<&Referent> = referents
        .iter()
        .filter(|c| {
            c.kind == back.kind
                && (back.group.is_empty() || c.group == back.group || back.group == "*")
        })
        .filter(|c| c.names.iter().any(|n| n == old))
        .filter(|c| {
            !namespaced
                || match ref_ns {
                    Some(ns) => {
                        eff(ns) == eff(&c.namespace) || eff(referrer_ns) == eff(&c.namespace)
                    }
                    None => eff(referrer_ns) == eff(&c.namespace),
                }
        })
        .collect();
    if found.len() > 1 {
        let same: Vec<&Referent> = found
            .iter()
            .copied()
            .filter(|c| c.affixes == referrer_affixes)
            .collect();
        if !same.is_empty() {
            found = same;
        }
    }
    match found.as_slice() {
        [one] if one.name != old => Some(one),
        _ => None,
    }
}
