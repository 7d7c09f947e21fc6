//! The sync plan: pure logic from rendered manifests and the previous
//! inventory to the ordered applies and the prune set. No cluster access.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::Error;
use crate::app::IgnoreDifference;
use crate::object::{Object, ObjectId, is_cluster_scoped, is_foundation, kind_rank, sync_wave};

/// What one sync does, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Objects to apply, in apply order.
    pub apply: Vec<Object>,
    /// Previously inventoried objects no longer rendered, in delete order
    /// (the reverse of install order). The live objects are still checked for
    /// the prune opt-out annotation before deletion.
    pub prune: Vec<ObjectId>,
}

/// Computes the plan.
///
/// - Every manifest must be a JSON object with `apiVersion`, `kind` and
///   `metadata.name`; ids must be unique.
/// - Namespaced objects without a namespace get `default_namespace`;
///   cluster-scoped ones (built-in list, or a CRD in the same render with
///   `scope: Cluster`) lose any namespace.
/// - Fields named by matching `ignore` rules are removed, so the applier
///   neither sets nor takes ownership of them.
/// - Apply order: Namespaces, then CRDs, then everything else by sync wave,
///   install order of the kind, kind, namespace and name.
/// - An empty render with a non-empty previous inventory is refused.
pub fn plan(
    manifests: &[String],
    default_namespace: &str,
    previous: &BTreeSet<ObjectId>,
    ignore: &[IgnoreDifference],
) -> Result<Plan, Error> {
    let mut values = Vec::with_capacity(manifests.len());
    for (index, text) in manifests.iter().enumerate() {
        let value: Value = serde_json::from_str(text).map_err(|e| Error::InvalidManifest {
            index,
            message: e.to_string(),
        })?;
        values.push(value);
    }
    let crd_scopes = crd_scopes(&values);

    let mut seen = BTreeSet::new();
    let mut apply = Vec::with_capacity(values.len());
    for (index, mut manifest) in values.into_iter().enumerate() {
        let invalid = |message: String| Error::InvalidManifest { index, message };
        let field = |manifest: &Value, pointer: &str| -> Result<String, Error> {
            match manifest.pointer(pointer).and_then(Value::as_str) {
                Some(s) if !s.is_empty() => Ok(s.to_owned()),
                _ => Err(invalid(format!("{pointer} is missing or not a string"))),
            }
        };
        let api_version = field(&manifest, "/apiVersion")?;
        let kind = field(&manifest, "/kind")?;
        let name = field(&manifest, "/metadata/name")?;
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let cluster_scoped = is_cluster_scoped(group, &kind)
            || crd_scopes
                .get(&(group.to_owned(), kind.clone()))
                .is_some_and(|scope| scope == "Cluster");
        let Some(metadata) = manifest.get_mut("metadata").and_then(Value::as_object_mut) else {
            return Err(invalid("/metadata is not an object".to_owned()));
        };
        let namespace = if cluster_scoped {
            metadata.remove("namespace");
            String::new()
        } else {
            match metadata.get("namespace").and_then(Value::as_str) {
                Some(ns) if !ns.is_empty() => ns.to_owned(),
                _ => {
                    metadata.insert("namespace".to_owned(), default_namespace.into());
                    default_namespace.to_owned()
                }
            }
        };
        let id = ObjectId {
            api_version,
            kind,
            namespace,
            name,
        };
        if !seen.insert(id.clone()) {
            return Err(Error::DuplicateObject(id));
        }
        let wave = sync_wave(&manifest).map_err(invalid)?;
        strip_ignored(&mut manifest, &id, ignore);
        apply.push(Object { id, wave, manifest });
    }

    if apply.is_empty() && !previous.is_empty() {
        return Err(Error::EmptyRender {
            inventoried: previous.len(),
        });
    }

    apply.sort_by(|a, b| apply_key(a).cmp(&apply_key(b)));
    let mut prune: Vec<ObjectId> = previous.difference(&seen).cloned().collect();
    prune.sort_by(|a, b| delete_key(b).cmp(&delete_key(a)));
    tracing::debug!(apply = apply.len(), prune = prune.len(), "planned sync");
    Ok(Plan { apply, prune })
}

fn apply_key(object: &Object) -> (usize, i64, usize, &str, &str, &str, &str) {
    let id = &object.id;
    let tier = match (is_foundation(id), id.kind.as_str()) {
        (true, "Namespace") => 0,
        (true, _) => 1,
        (false, _) => 2,
    };
    (
        tier,
        object.wave,
        kind_rank(&id.kind),
        &id.kind,
        id.group(),
        &id.namespace,
        &id.name,
    )
}

fn delete_key(id: &ObjectId) -> (usize, &str, &str, &str, &str) {
    (
        kind_rank(&id.kind),
        &id.kind,
        id.group(),
        &id.namespace,
        &id.name,
    )
}

/// `(group, kind) → scope` of the CustomResourceDefinitions in a render.
fn crd_scopes(values: &[Value]) -> BTreeMap<(String, String), String> {
    values
        .iter()
        .filter(|v| v.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"))
        .filter_map(|crd| {
            let text = |p: &str| crd.pointer(p).and_then(Value::as_str).map(str::to_owned);
            Some((
                (text("/spec/group")?, text("/spec/names/kind")?),
                text("/spec/scope")?,
            ))
        })
        .collect()
}

/// Whether an ignore-differences rule applies to an object.
pub fn rule_matches(rule: &IgnoreDifference, id: &ObjectId) -> bool {
    rule.group == id.group()
        && rule.kind == id.kind
        && rule.name.as_ref().is_none_or(|name| *name == id.name)
}

/// Removes the fields of every matching rule from `manifest` (used on the
/// desired object before applying, and on both sides before comparing).
pub fn strip_ignored(manifest: &mut Value, id: &ObjectId, rules: &[IgnoreDifference]) {
    for rule in rules.iter().filter(|rule| rule_matches(rule, id)) {
        for pointer in &rule.json_pointers {
            remove_pointer(manifest, pointer);
        }
    }
}

/// Removes the value an RFC 6901 JSON pointer names; returns it if present.
pub fn remove_pointer(value: &mut Value, pointer: &str) -> Option<Value> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let last = last.replace("~1", "/").replace("~0", "~");
    let parent = if parent.is_empty() {
        value
    } else {
        value.pointer_mut(parent)?
    };
    match parent {
        Value::Object(map) => map.remove(&last),
        Value::Array(items) => {
            let index: usize = last.parse().ok()?;
            (index < items.len()).then(|| items.remove(index))
        }
        _ => None,
    }
}
