//! Drift: the live objects against what a server-side apply of the render
//! would make of them.
//!
//! The desired side of each object is the answer of a server-side **dry-run**
//! apply (forced, so another manager's fields do not hide the comparison),
//! so fields the API server defaults, and fields other managers own, are the
//! same on both sides and are never mistaken for drift. Both sides lose
//! `status`, server-written metadata (`managedFields`, `resourceVersion`,
//! `generation`, `uid`, `creationTimestamp`) and the fields of the
//! application's ignore-differences rules before they are compared.

use std::fmt;

use kube::api::{Patch, PatchParams};
use serde_json::Value;

use crate::Error;
use crate::app::Application;
use crate::object::ObjectId;
use crate::plan::{plan, strip_ignored};
use crate::sync::{
    Action, FIELD_MANAGER, Failure, FailureKind, classify, dynamic_api, message, read_inventory,
    with_retry,
};

/// How a live object differs from the render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftKind {
    /// Rendered but absent from the cluster.
    Missing,
    /// Present with different content.
    Modified,
    /// In the inventory and the cluster but no longer rendered (prune would
    /// delete it).
    Extraneous,
}

impl fmt::Display for DriftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriftKind::Missing => "missing",
            DriftKind::Modified => "modified",
            DriftKind::Extraneous => "extraneous",
        })
    }
}

/// One drifted object, with both sides normalised for comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// The object.
    pub id: ObjectId,
    /// How it differs.
    pub kind: DriftKind,
    /// The live object (normalised); `None` when missing.
    pub live: Option<Value>,
    /// The desired object (normalised); `None` when extraneous.
    pub desired: Option<Value>,
}

/// The outcome of a drift check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriftReport {
    /// Drifted objects, in apply order (extraneous ones last).
    pub drifted: Vec<Drift>,
    /// Objects that could not be compared, with the cause.
    pub failed: Vec<Failure>,
    /// How many objects were compared.
    pub compared: usize,
}

impl DriftReport {
    /// Whether the live state matches the render.
    pub fn in_sync(&self) -> bool {
        self.drifted.is_empty() && self.failed.is_empty()
    }

    /// `kind id` per drifted object, for the recorded status.
    pub fn summary(&self) -> Vec<String> {
        self.drifted
            .iter()
            .map(|d| format!("{} {}", d.kind, d.id))
            .collect()
    }

    /// A unified diff of every drifted object, as `kubectl diff` prints it.
    pub fn unified_diff(&self) -> String {
        let mut out = String::new();
        for drift in &self.drifted {
            let name = format!(
                "{}.{}.{}.{}",
                drift.id.api_version.replace('/', "."),
                drift.id.kind,
                drift.id.namespace,
                drift.id.name
            );
            let yaml = |v: &Option<Value>| {
                v.as_ref()
                    .map(|v| serde_yaml::to_string(&sorted(v)).unwrap_or_default())
                    .unwrap_or_default()
            };
            out.push_str(&crate::diff::unified(
                &yaml(&drift.live),
                &yaml(&drift.desired),
                &format!("live/{name}"),
                &format!("merged/{name}"),
                3,
            ));
        }
        out
    }
}

/// `value` with the keys of every object in sorted order, as kubectl prints.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Server-written metadata that is never drift.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// Removes what is never compared: `status`, server-written metadata, the
/// last-applied annotation, and ignored fields.
pub fn normalize(value: &mut Value, id: &ObjectId, app: &Application) {
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in SERVER_METADATA {
            meta.remove(*key);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    strip_ignored(value, id, &app.spec.ignore_differences);
}

/// Compares the live objects with the render (see the module docs).
#[tracing::instrument(skip_all, fields(app = %app.metadata.name))]
pub async fn detect(
    client: &kube::Client,
    app: &Application,
    manifests: &[String],
) -> Result<DriftReport, Error> {
    let retry = &app.spec.sync_policy.retry;
    let previous = read_inventory(client, app).await?;
    let plan = plan(
        manifests,
        &app.spec.destination.namespace,
        &previous,
        &app.spec.ignore_differences,
    )?;
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = true;
    let mut report = DriftReport::default();
    for object in &plan.apply {
        let id = &object.id;
        report.compared += 1;
        let api = dynamic_api(client, id);
        let live = match with_retry(retry, "read live", || api.get_opt(&id.name)).await {
            Ok(live) => live,
            // The kind itself is unknown (its CRD is not installed).
            Err(e) if classify(&e) == FailureKind::NotFound => None,
            Err(e) => {
                report.failed.push(failure(id, &e));
                continue;
            }
        };
        let Some(live) = live else {
            let mut desired = object.manifest.clone();
            normalize(&mut desired, id, app);
            report.drifted.push(Drift {
                id: id.clone(),
                kind: DriftKind::Missing,
                live: None,
                desired: Some(desired),
            });
            continue;
        };
        let body = Patch::Apply(&object.manifest);
        let desired = match with_retry(retry, "dry-run apply", || {
            api.patch(&id.name, &params, &body)
        })
        .await
        {
            Ok(desired) => desired,
            Err(e) => {
                report.failed.push(failure(id, &e));
                continue;
            }
        };
        let mut live = serde_json::to_value(&live).unwrap_or_default();
        let mut desired = serde_json::to_value(&desired).unwrap_or_default();
        normalize(&mut live, id, app);
        normalize(&mut desired, id, app);
        if live != desired {
            tracing::info!(object = %id, "drift");
            report.drifted.push(Drift {
                id: id.clone(),
                kind: DriftKind::Modified,
                live: Some(live),
                desired: Some(desired),
            });
        }
    }
    for id in &plan.prune {
        let api = dynamic_api(client, id);
        match with_retry(retry, "read live", || api.get_opt(&id.name)).await {
            Ok(Some(live)) => {
                let mut live = serde_json::to_value(&live).unwrap_or_default();
                normalize(&mut live, id, app);
                report.drifted.push(Drift {
                    id: id.clone(),
                    kind: DriftKind::Extraneous,
                    live: Some(live),
                    desired: None,
                });
            }
            Ok(None) => {}
            Err(e) if classify(&e) == FailureKind::NotFound => {}
            Err(e) => report.failed.push(failure(id, &e)),
        }
    }
    Ok(report)
}

fn failure(id: &ObjectId, error: &kube::Error) -> Failure {
    Failure {
        id: id.clone(),
        action: Action::Compare,
        kind: classify(error),
        message: message(error),
    }
}
