//! The cluster side: server-side apply in plan order, prune of what the
//! previous inventory lists and the render no longer does, and the inventory
//! ConfigMap.

use std::collections::BTreeSet;
use std::fmt;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
    PropagationPolicy,
};
use serde_json::{Value, json};

use crate::Error;
use crate::app::Application;
use crate::object::{ObjectId, is_foundation, prune_disabled};
use crate::plan::plan;

/// The server-side apply field manager of every write the applier makes.
pub const FIELD_MANAGER: &str = "kiln-applier";
/// Key of the inventory ConfigMap's data holding the object list (JSON).
pub const INVENTORY_KEY: &str = "objects";

/// What a per-object failure was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Server-side apply.
    Apply,
    /// Prune (read or delete).
    Prune,
    /// Writing the inventory ConfigMap.
    Inventory,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Apply => "apply",
            Action::Prune => "prune",
            Action::Inventory => "inventory",
        })
    }
}

/// One object that could not be applied, pruned or recorded, with the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The object.
    pub id: ObjectId,
    /// What was attempted.
    pub action: Action,
    /// The API server's (or client's) message.
    pub message: String,
}

/// Why an object the render no longer has was not deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneSkip {
    /// The sync policy has `prune: false`; the object stays in the inventory.
    PolicyDisabled,
    /// An apply failed, so nothing is pruned this time.
    ApplyFailed,
    /// The live object opts out (`kiln.dev/prune: disabled`); it is dropped
    /// from the inventory and left in the cluster.
    OptedOut,
    /// The object no longer exists.
    AlreadyGone,
}

/// The outcome of one sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Whether this was a server-side dry run (nothing persisted).
    pub dry_run: bool,
    /// Objects applied, in order.
    pub applied: Vec<ObjectId>,
    /// Objects not attempted because an earlier wave failed.
    pub not_attempted: Vec<ObjectId>,
    /// Objects deleted, in order.
    pub pruned: Vec<ObjectId>,
    /// Objects no longer rendered and not deleted, with the reason.
    pub prune_skipped: Vec<(ObjectId, PruneSkip)>,
    /// Per-object failures.
    pub failed: Vec<Failure>,
    /// Whether the destination namespace was applied by `createNamespace`.
    pub created_namespace: bool,
}

impl SyncReport {
    /// Whether the cluster now matches the render: everything applied and
    /// nothing left to prune.
    pub fn is_synced(&self) -> bool {
        self.failed.is_empty()
            && self.not_attempted.is_empty()
            && self
                .prune_skipped
                .iter()
                .all(|(_, why)| matches!(why, PruneSkip::OptedOut | PruneSkip::AlreadyGone))
    }
}

/// The discovery-free API resource of an object id. The plural is derived by
/// kube's rules (lowercase kind; `-s`/`-x`/`-z`/`-ch`/`-sh` take `-es`,
/// consonant + `-y` becomes `-ies`, `Endpoints` is unchanged), which hold for
/// every built-in kind and conventional custom resources.
pub fn api_resource(id: &ObjectId) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(id.group(), id.version(), &id.kind))
}

fn dynamic_api(client: &kube::Client, id: &ObjectId) -> Api<DynamicObject> {
    let resource = api_resource(id);
    if id.namespace.is_empty() {
        Api::all_with(client.clone(), &resource)
    } else {
        Api::namespaced_with(client.clone(), &id.namespace, &resource)
    }
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

fn message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!("{} ({}, {})", status.message, status.reason, status.code)
        }
        other => other.to_string(),
    }
}

fn inventory_id(app: &Application) -> ObjectId {
    ObjectId {
        api_version: "v1".to_owned(),
        kind: "ConfigMap".to_owned(),
        namespace: app.spec.destination.namespace.clone(),
        name: app.inventory_name(),
    }
}

/// Reads the application's inventory; a missing ConfigMap is an empty one.
pub async fn read_inventory(
    client: &kube::Client,
    app: &Application,
) -> Result<BTreeSet<ObjectId>, Error> {
    let namespace = &app.spec.destination.namespace;
    let name = app.inventory_name();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let Some(config_map) = api.get_opt(&name).await? else {
        return Ok(BTreeSet::new());
    };
    let Some(text) = config_map.data.as_ref().and_then(|d| d.get(INVENTORY_KEY)) else {
        return Ok(BTreeSet::new());
    };
    let ids: Vec<ObjectId> = serde_json::from_str(text).map_err(|e| Error::Inventory {
        name: name.clone(),
        namespace: namespace.clone(),
        message: format!("data.{INVENTORY_KEY}: {e}"),
    })?;
    Ok(ids.into_iter().collect())
}

/// The inventory ConfigMap recording `ids`, as a server-side apply body.
pub fn inventory_manifest(app: &Application, ids: &BTreeSet<ObjectId>) -> Value {
    let list: Vec<&ObjectId> = ids.iter().collect();
    let objects = serde_json::to_string_pretty(&list).unwrap_or_default();
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": app.inventory_name(),
            "namespace": app.spec.destination.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": FIELD_MANAGER,
                "kiln.dev/application": app.metadata.name,
            },
        },
        "data": { INVENTORY_KEY: objects },
    })
}

async fn write_inventory(
    client: &kube::Client,
    app: &Application,
    ids: &BTreeSet<ObjectId>,
) -> Result<(), kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &app.spec.destination.namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(
        &app.inventory_name(),
        &params,
        &Patch::Apply(inventory_manifest(app, ids)),
    )
    .await?;
    Ok(())
}

/// Syncs an application once: reads the inventory, applies the rendered
/// `manifests` (JSON, as `GenerateManifests` returns them) with server-side
/// apply in plan order, prunes what the previous inventory lists and the
/// render no longer does, and records the new inventory.
///
/// A later sync wave is not started when an earlier one has a failure, and
/// nothing is pruned after any failure. With `dry_run`, every write is a
/// server-side dry run and the inventory is left unchanged.
pub async fn sync_once(
    client: &kube::Client,
    app: &Application,
    manifests: &[String],
    dry_run: bool,
) -> Result<SyncReport, Error> {
    let name = &app.metadata.name;
    let previous = read_inventory(client, app).await?;
    let plan = plan(
        manifests,
        &app.spec.destination.namespace,
        &previous,
        &app.spec.ignore_differences,
    )?;
    tracing::info!(app = %name, apply = plan.apply.len(), prune = plan.prune.len(), dry_run, "syncing");
    let mut report = SyncReport {
        dry_run,
        ..SyncReport::default()
    };
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = app.spec.sync_options.force_conflicts;
    params.dry_run = dry_run;

    let destination = &app.spec.destination.namespace;
    if app.spec.sync_options.create_namespace
        && !plan
            .apply
            .iter()
            .any(|o| o.id.kind == "Namespace" && o.id.name == *destination)
    {
        let id = ObjectId {
            api_version: "v1".to_owned(),
            kind: "Namespace".to_owned(),
            namespace: String::new(),
            name: destination.clone(),
        };
        let body =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": destination}});
        match dynamic_api(client, &id)
            .patch(destination, &params, &Patch::Apply(body))
            .await
        {
            Ok(_) => report.created_namespace = true,
            Err(e) => report.failed.push(Failure {
                id,
                action: Action::Apply,
                message: message(&e),
            }),
        }
    }

    // Waves: Namespaces, then CRDs, then each sync wave in turn. A wave is
    // not started after a failure.
    let mut current_wave = None;
    let mut stopped = false;
    for object in &plan.apply {
        let wave = match (is_foundation(&object.id), object.id.kind.as_str()) {
            (true, "Namespace") => (0, 0),
            (true, _) => (1, 0),
            (false, _) => (2, object.wave),
        };
        if current_wave != Some(wave) {
            stopped |= !report.failed.is_empty();
            current_wave = Some(wave);
        }
        if stopped {
            report.not_attempted.push(object.id.clone());
            continue;
        }
        let id = &object.id;
        let result = dynamic_api(client, id)
            .patch(&id.name, &params, &Patch::Apply(&object.manifest))
            .await;
        match result {
            Ok(_) => {
                tracing::debug!(app = %name, object = %id, "applied");
                report.applied.push(id.clone());
            }
            Err(e) => {
                tracing::warn!(app = %name, object = %id, error = %e, "apply failed");
                report.failed.push(Failure {
                    id: id.clone(),
                    action: Action::Apply,
                    message: message(&e),
                });
            }
        }
    }

    let mut dropped = BTreeSet::new();
    if !report.failed.is_empty() {
        report.prune_skipped.extend(
            plan.prune
                .iter()
                .map(|id| (id.clone(), PruneSkip::ApplyFailed)),
        );
    } else if !app.spec.sync_policy.prune {
        report.prune_skipped.extend(
            plan.prune
                .iter()
                .map(|id| (id.clone(), PruneSkip::PolicyDisabled)),
        );
    } else {
        for id in &plan.prune {
            let api = dynamic_api(client, id);
            let live = match api.get_opt(&id.name).await {
                Ok(live) => live,
                Err(e) => {
                    report.failed.push(Failure {
                        id: id.clone(),
                        action: Action::Prune,
                        message: message(&e),
                    });
                    continue;
                }
            };
            let Some(live) = live else {
                report
                    .prune_skipped
                    .push((id.clone(), PruneSkip::AlreadyGone));
                dropped.insert(id.clone());
                continue;
            };
            let live = serde_json::to_value(&live).unwrap_or_default();
            if prune_disabled(&live) {
                tracing::info!(app = %name, object = %id, "prune opted out; left in place");
                report.prune_skipped.push((id.clone(), PruneSkip::OptedOut));
                dropped.insert(id.clone());
                continue;
            }
            let params = DeleteParams {
                dry_run,
                propagation_policy: Some(PropagationPolicy::Background),
                ..DeleteParams::default()
            };
            match api.delete(&id.name, &params).await {
                Ok(_) => {
                    tracing::info!(app = %name, object = %id, "pruned");
                    report.pruned.push(id.clone());
                    dropped.insert(id.clone());
                }
                Err(e) if is_not_found(&e) => {
                    report
                        .prune_skipped
                        .push((id.clone(), PruneSkip::AlreadyGone));
                    dropped.insert(id.clone());
                }
                Err(e) => report.failed.push(Failure {
                    id: id.clone(),
                    action: Action::Prune,
                    message: message(&e),
                }),
            }
        }
    }

    // Everything owned before and not let go, plus everything applied now.
    let inventory: BTreeSet<ObjectId> = previous
        .iter()
        .filter(|id| !dropped.contains(*id))
        .chain(report.applied.iter())
        .cloned()
        .collect();
    if !dry_run
        && !same_ids(&inventory, &previous)
        && let Err(e) = write_inventory(client, app, &inventory).await
    {
        report.failed.push(Failure {
            id: inventory_id(app),
            action: Action::Inventory,
            message: message(&e),
        });
    }
    tracing::info!(
        app = %name,
        applied = report.applied.len(),
        pruned = report.pruned.len(),
        failed = report.failed.len(),
        synced = report.is_synced(),
        "sync finished"
    );
    Ok(report)
}

/// Set equality including `apiVersion`, so a version change is recorded.
fn same_ids(a: &BTreeSet<ObjectId>, b: &BTreeSet<ObjectId>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y && x.api_version == y.api_version)
}
