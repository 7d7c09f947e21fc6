//! The cluster side: server-side apply in plan order (waiting for CRDs to be
//! Established before their custom resources), retries of transient API
//! failures, prune of what the previous inventory lists and the render no
//! longer does, and the inventory ConfigMap with the application's status.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
    PropagationPolicy,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Error;
use crate::app::{Application, Retry};
use crate::health::HealthStatus;
use crate::object::{ObjectId, is_foundation, prune_disabled};
use crate::plan::{Plan, plan};

/// The server-side apply field manager of every write the applier makes.
pub const FIELD_MANAGER: &str = "kiln-applier";
/// Key of the inventory ConfigMap's data holding the object list (JSON).
pub const INVENTORY_KEY: &str = "objects";
/// Key of the inventory ConfigMap's data holding the [`AppStatus`] (JSON).
pub const STATUS_KEY: &str = "status";

/// What a per-object failure was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Server-side apply.
    Apply,
    /// Waiting for a CustomResourceDefinition to be Established.
    Establish,
    /// Prune (read or delete).
    Prune,
    /// Reading or dry-run applying an object to compare it.
    Compare,
    /// Writing the inventory ConfigMap.
    Inventory,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Apply => "apply",
            Action::Establish => "establish",
            Action::Prune => "prune",
            Action::Compare => "compare",
            Action::Inventory => "inventory",
        })
    }
}

/// Why the API server (or the client) refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The object is invalid (422, 400).
    Invalid,
    /// RBAC forbids it (403) or the credentials are refused (401).
    Forbidden,
    /// Another field manager owns a field the applier sets (409 on apply);
    /// `syncOptions.forceConflicts` takes the field over.
    Conflict,
    /// The kind is not served (404 on apply: a CRD missing or not ready).
    NotFound,
    /// A timeout: the API server's (504, reason Timeout) or the applier's own
    /// wait (CRD establishment).
    Timeout,
    /// Still failing after the retries: 429, 5xx or a connection error.
    Unavailable,
    /// Anything else.
    Other,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureKind::Invalid => "invalid",
            FailureKind::Forbidden => "forbidden",
            FailureKind::Conflict => "conflict",
            FailureKind::NotFound => "not found",
            FailureKind::Timeout => "timeout",
            FailureKind::Unavailable => "unavailable",
            FailureKind::Other => "error",
        })
    }
}

/// Classifies a client error.
pub fn classify(error: &kube::Error) -> FailureKind {
    match error {
        kube::Error::Api(status) => match (status.code, status.reason.as_str()) {
            (504, _) | (_, "Timeout") => FailureKind::Timeout,
            (400 | 422, _) => FailureKind::Invalid,
            (401 | 403, _) => FailureKind::Forbidden,
            (409, _) => FailureKind::Conflict,
            (404, _) => FailureKind::NotFound,
            (429 | 500..=599, _) => FailureKind::Unavailable,
            _ => FailureKind::Other,
        },
        other if other.to_string().contains("timed out") => FailureKind::Timeout,
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::HttpError(_) => {
            FailureKind::Unavailable
        }
        _ => FailureKind::Other,
    }
}

/// Whether an error is worth retrying: throttling, a server error, or no
/// answer at all. Rejections (invalid, forbidden, conflict) are final.
pub fn is_transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::HttpError(_) => true,
        _ => false,
    }
}

/// The delay before retry `attempt` (0-based): `backoff · 2^attempt`, at
/// most five minutes.
pub fn backoff_delay(retry: &Retry, attempt: u32) -> Duration {
    retry
        .backoff
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(Duration::from_secs(300))
}

/// Runs `call` and retries it with exponential backoff while it fails
/// transiently, at most `retry.limit` times.
pub async fn with_retry<T, F, Fut>(retry: &Retry, what: &str, mut call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if attempt < retry.limit && is_transient(&e) => {
                let delay = backoff_delay(retry, attempt);
                tracing::warn!(what, attempt = attempt + 1, delay = ?delay, error = %e, "transient failure; retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// One object that could not be applied, pruned or recorded, with the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The object.
    pub id: ObjectId,
    /// What was attempted.
    pub action: Action,
    /// What kind of refusal it was.
    pub kind: FailureKind,
    /// The API server's (or client's) message.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}: {}",
            self.action, self.id, self.kind, self.message
        )
    }
}

impl Failure {
    fn new(id: &ObjectId, action: Action, error: &kube::Error) -> Self {
        Failure {
            id: id.clone(),
            action,
            kind: classify(error),
            message: message(error),
        }
    }
}

/// Why an object the render no longer has was not deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneSkip {
    /// The sync policy has `prune: false`; the object stays in the inventory.
    PolicyDisabled,
    /// An apply failed, so nothing is pruned this time.
    ApplyFailed,
    /// The render shares no object with a non-empty previous inventory (a
    /// wrong path or repository looks like this); prune needs `force_prune`.
    DisjointRender,
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
    /// Dry run only: custom resources whose CRD is rendered but not yet in
    /// the cluster, so the API server cannot dry-run them.
    pub skipped_unknown_kind: Vec<ObjectId>,
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
    /// nothing left to prune. A half-applied sync is never synced.
    pub fn is_synced(&self) -> bool {
        self.failed.is_empty()
            && self.not_attempted.is_empty()
            && self
                .prune_skipped
                .iter()
                .all(|(_, why)| matches!(why, PruneSkip::OptedOut | PruneSkip::AlreadyGone))
    }

    /// A one-line summary of what keeps the sync from being complete, or
    /// an empty string.
    pub fn problem(&self) -> String {
        if let Some(first) = self.failed.first() {
            let more = self.failed.len() - 1;
            return if more > 0 {
                format!("{first} (and {more} more failures)")
            } else {
                first.to_string()
            };
        }
        if !self.not_attempted.is_empty() {
            return format!("{} objects not attempted", self.not_attempted.len());
        }
        let waiting: Vec<_> = self
            .prune_skipped
            .iter()
            .filter(|(_, why)| !matches!(why, PruneSkip::OptedOut | PruneSkip::AlreadyGone))
            .collect();
        match waiting.first() {
            Some((_, PruneSkip::DisjointRender)) => format!(
                "prune refused: the render shares no object with the inventory; {} objects not pruned (force to prune)",
                waiting.len()
            ),
            Some(_) => format!("{} objects awaiting prune", waiting.len()),
            None => String::new(),
        }
    }
}

/// Options of one sync beyond the Application's own.
#[derive(Debug, Clone)]
pub struct SyncParams {
    /// Server-side dry run: nothing is persisted, the inventory is unchanged.
    pub dry_run: bool,
    /// The commit the manifests were rendered from (recorded in the status).
    pub commit: String,
    /// Prune even when the render shares no object with the inventory.
    pub force_prune: bool,
    /// How long to wait for a CustomResourceDefinition to be Established.
    pub crd_timeout: Duration,
    /// How often to poll while waiting.
    pub poll: Duration,
}

impl Default for SyncParams {
    fn default() -> Self {
        Self {
            dry_run: false,
            commit: String::new(),
            force_prune: false,
            crd_timeout: Duration::from_secs(60),
            poll: Duration::from_millis(500),
        }
    }
}

/// What the inventory ConfigMap says about the application, beside its
/// objects. Written by each sync and each drift/health check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppStatus {
    /// The last commit fully synced (every object applied, prune done).
    pub synced_commit: String,
    /// The commit of the last sync attempt.
    pub attempted_commit: String,
    /// Whether the last attempt completed.
    pub synced: bool,
    /// Health after the last sync or check; `None` until assessed.
    pub health: Option<HealthStatus>,
    /// What is not healthy, one line per object.
    pub health_detail: Vec<String>,
    /// Objects that differed from the render at the last drift check.
    pub drift: Vec<String>,
    /// The last error, empty after a clean sync.
    pub last_error: String,
}

/// The inventory ConfigMap's content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The objects the application owns.
    pub objects: BTreeSet<ObjectId>,
    /// The recorded status.
    pub status: AppStatus,
    /// Whether the ConfigMap exists.
    pub exists: bool,
}

/// The discovery-free API resource of an object id. The plural is derived by
/// kube's rules (lowercase kind; `-s`/`-x`/`-z`/`-ch`/`-sh` take `-es`,
/// consonant + `-y` becomes `-ies`, `Endpoints` is unchanged), which hold for
/// every built-in kind and conventional custom resources.
pub fn api_resource(id: &ObjectId) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(id.group(), id.version(), &id.kind))
}

pub(crate) fn dynamic_api(client: &kube::Client, id: &ObjectId) -> Api<DynamicObject> {
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

pub(crate) fn message(error: &kube::Error) -> String {
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

/// Reads the application's inventory ConfigMap; a missing one is empty.
pub async fn read_record(client: &kube::Client, app: &Application) -> Result<Inventory, Error> {
    let namespace = &app.spec.destination.namespace;
    let name = app.inventory_name();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let Some(config_map) = with_retry(&app.spec.sync_policy.retry, "read inventory", || {
        api.get_opt(&name)
    })
    .await?
    else {
        return Ok(Inventory::default());
    };
    let malformed = |key: &str, e: serde_json::Error| Error::Inventory {
        name: name.clone(),
        namespace: namespace.clone(),
        message: format!("data.{key}: {e}"),
    };
    let data = config_map.data.unwrap_or_default();
    let objects = match data.get(INVENTORY_KEY) {
        Some(text) => serde_json::from_str::<Vec<ObjectId>>(text)
            .map_err(|e| malformed(INVENTORY_KEY, e))?
            .into_iter()
            .collect(),
        None => BTreeSet::new(),
    };
    let status = match data.get(STATUS_KEY) {
        Some(text) => serde_json::from_str(text).map_err(|e| malformed(STATUS_KEY, e))?,
        None => AppStatus::default(),
    };
    Ok(Inventory {
        objects,
        status,
        exists: true,
    })
}

/// Reads the application's inventory; a missing ConfigMap is an empty one.
pub async fn read_inventory(
    client: &kube::Client,
    app: &Application,
) -> Result<BTreeSet<ObjectId>, Error> {
    Ok(read_record(client, app).await?.objects)
}

/// The inventory ConfigMap recording `ids` and `status`, as a server-side
/// apply body.
pub fn inventory_manifest(
    app: &Application,
    ids: &BTreeSet<ObjectId>,
    status: &AppStatus,
) -> Value {
    let list: Vec<&ObjectId> = ids.iter().collect();
    let objects = serde_json::to_string_pretty(&list).unwrap_or_default();
    let status = serde_json::to_string_pretty(status).unwrap_or_default();
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
        "data": { INVENTORY_KEY: objects, STATUS_KEY: status },
    })
}

async fn write_inventory(
    client: &kube::Client,
    app: &Application,
    ids: &BTreeSet<ObjectId>,
    status: &AppStatus,
) -> Result<(), kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &app.spec.destination.namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let body = Patch::Apply(inventory_manifest(app, ids, status));
    let name = app.inventory_name();
    with_retry(&app.spec.sync_policy.retry, "write inventory", || {
        api.patch(&name, &params, &body)
    })
    .await?;
    Ok(())
}

/// Updates the recorded status (health, drift) without touching the object
/// list; writes only when something changed and the inventory exists.
pub async fn record_status(
    client: &kube::Client,
    app: &Application,
    update: impl FnOnce(&mut AppStatus),
) -> Result<AppStatus, Error> {
    let record = read_record(client, app).await?;
    let mut status = record.status.clone();
    update(&mut status);
    if record.exists && status != record.status {
        write_inventory(client, app, &record.objects, &status).await?;
    }
    Ok(status)
}

/// Syncs an application once with default [`SyncParams`] (see [`sync`]).
pub async fn sync_once(
    client: &kube::Client,
    app: &Application,
    manifests: &[String],
    dry_run: bool,
) -> Result<SyncReport, Error> {
    let params = SyncParams {
        dry_run,
        ..SyncParams::default()
    };
    sync(client, app, manifests, &params).await
}

/// Waits until the CRD `id` reports `Established`; a failure otherwise.
async fn wait_established(
    client: &kube::Client,
    app: &Application,
    id: &ObjectId,
    params: &SyncParams,
) -> Result<(), Failure> {
    let deadline = tokio::time::Instant::now() + params.crd_timeout;
    let api = dynamic_api(client, id);
    loop {
        let live = with_retry(&app.spec.sync_policy.retry, "read CRD", || {
            api.get_opt(&id.name)
        })
        .await
        .map_err(|e| Failure::new(id, Action::Establish, &e))?;
        let health = live
            .map(|l| crate::health::assess(&serde_json::to_value(&l).unwrap_or_default()))
            .unwrap_or_else(crate::health::Health::missing);
        match health.status {
            HealthStatus::Healthy => return Ok(()),
            HealthStatus::Degraded => {
                return Err(Failure {
                    id: id.clone(),
                    action: Action::Establish,
                    kind: FailureKind::Invalid,
                    message: health.message,
                });
            }
            _ if tokio::time::Instant::now() + params.poll > deadline => {
                return Err(Failure {
                    id: id.clone(),
                    action: Action::Establish,
                    kind: FailureKind::Timeout,
                    message: format!(
                        "not Established after {:?}: {}",
                        params.crd_timeout, health.message
                    ),
                });
            }
            _ => tokio::time::sleep(params.poll).await,
        }
    }
}

/// Syncs an application: reads the inventory, applies the rendered
/// `manifests` (JSON, as `GenerateManifests` returns them) with server-side
/// apply in plan order, prunes what the previous inventory lists and the
/// render no longer does, and records the new inventory and status.
///
/// - Transient API failures (429, 5xx, no answer) are retried with the
///   application's backoff; anything else is a per-object [`Failure`].
/// - After the CRD wave, every applied CRD must become Established (within
///   `crd_timeout`) before the custom resources are applied.
/// - A later wave is not started after a failure, and nothing is pruned
///   after any failure, nor when the render shares no object with a
///   non-empty inventory (unless `force_prune`).
/// - With `dry_run`, every write is a server-side dry run and the inventory
///   is left unchanged; custom resources of CRDs not yet in the cluster are
///   listed in `skipped_unknown_kind`.
#[tracing::instrument(skip_all, fields(app = %app.metadata.name, commit = %params.commit, dry_run = params.dry_run))]
pub async fn sync(
    client: &kube::Client,
    app: &Application,
    manifests: &[String],
    params: &SyncParams,
) -> Result<SyncReport, Error> {
    let name = &app.metadata.name;
    let dry_run = params.dry_run;
    let retry = &app.spec.sync_policy.retry;
    let record = read_record(client, app).await?;
    let previous = record.objects.clone();
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
    let mut patch_params = PatchParams::apply(FIELD_MANAGER);
    patch_params.force = app.spec.sync_options.force_conflicts;
    patch_params.dry_run = dry_run;

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
        let body = Patch::Apply(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": destination}}),
        );
        let api = dynamic_api(client, &id);
        match with_retry(retry, "create namespace", || {
            api.patch(destination, &patch_params, &body)
        })
        .await
        {
            Ok(_) => report.created_namespace = true,
            Err(e) => report.failed.push(Failure::new(&id, Action::Apply, &e)),
        }
    }

    // Waves: Namespaces, then CRDs, then each sync wave in turn. A wave is
    // not started after a failure; custom resources wait for their CRDs.
    let mut applied_crds: Vec<ObjectId> = Vec::new();
    let mut missing_crd_kinds: BTreeSet<(String, String)> = BTreeSet::new();
    let mut current_wave = None;
    let mut stopped = false;
    for object in &plan.apply {
        let wave = match (is_foundation(&object.id), object.id.kind.as_str()) {
            (true, "Namespace") => (0, 0),
            (true, _) => (1, 0),
            (false, _) => (2, object.wave),
        };
        if current_wave != Some(wave) {
            if current_wave == Some((1, 0)) && !stopped && report.failed.is_empty() {
                // Leaving the CRD wave: every CRD must be Established first.
                for crd in std::mem::take(&mut applied_crds) {
                    if dry_run {
                        let api = dynamic_api(client, &crd);
                        if let Ok(None) = api.get_opt(&crd.name).await {
                            missing_crd_kinds.extend(crd_kind_of(&plan, &crd));
                        }
                        continue;
                    }
                    if let Err(failure) = wait_established(client, app, &crd, params).await {
                        tracing::warn!(app = %name, object = %crd, error = %failure.message, "CRD not established");
                        report.failed.push(failure);
                    }
                }
            }
            stopped |= !report.failed.is_empty();
            current_wave = Some(wave);
        }
        let id = &object.id;
        if stopped {
            report.not_attempted.push(id.clone());
            continue;
        }
        if dry_run && missing_crd_kinds.contains(&(id.group().to_owned(), id.kind.clone())) {
            report.skipped_unknown_kind.push(id.clone());
            continue;
        }
        let api = dynamic_api(client, id);
        let body = Patch::Apply(&object.manifest);
        let result = with_retry(retry, "apply", || api.patch(&id.name, &patch_params, &body)).await;
        match result {
            Ok(_) => {
                tracing::debug!(app = %name, object = %id, "applied");
                report.applied.push(id.clone());
                if id.kind == "CustomResourceDefinition" && id.group() == "apiextensions.k8s.io" {
                    applied_crds.push(id.clone());
                }
            }
            Err(e) => {
                tracing::warn!(app = %name, object = %id, error = %e, "apply failed");
                report.failed.push(Failure::new(id, Action::Apply, &e));
            }
        }
    }
    // A render of CRDs only still waits for them.
    if current_wave == Some((1, 0)) && !dry_run && report.failed.is_empty() {
        for crd in applied_crds {
            if let Err(failure) = wait_established(client, app, &crd, params).await {
                report.failed.push(failure);
            }
        }
    }

    let disjoint = !previous.is_empty()
        && !plan.apply.is_empty()
        && plan.apply.iter().all(|o| !previous.contains(&o.id));
    let mut dropped = BTreeSet::new();
    let skip_all = |why: PruneSkip| plan.prune.iter().map(move |id| (id.clone(), why));
    if !report.failed.is_empty() {
        report
            .prune_skipped
            .extend(skip_all(PruneSkip::ApplyFailed));
    } else if !app.spec.sync_policy.prune {
        report
            .prune_skipped
            .extend(skip_all(PruneSkip::PolicyDisabled));
    } else if disjoint && !params.force_prune && !plan.prune.is_empty() {
        tracing::warn!(app = %name, inventoried = previous.len(), "render shares nothing with the inventory; prune refused");
        report
            .prune_skipped
            .extend(skip_all(PruneSkip::DisjointRender));
    } else {
        prune(client, app, &plan.prune, dry_run, &mut report, &mut dropped).await;
    }

    // Everything owned before and not let go, plus everything applied now.
    let inventory: BTreeSet<ObjectId> = previous
        .iter()
        .filter(|id| !dropped.contains(*id))
        .chain(report.applied.iter())
        .cloned()
        .collect();
    if !dry_run {
        let mut status = record.status.clone();
        status.attempted_commit = params.commit.clone();
        status.synced = report.is_synced();
        status.last_error = report.problem();
        if status.synced {
            status.synced_commit = params.commit.clone();
        }
        if (!same_ids(&inventory, &previous) || status != record.status)
            && let Err(e) = write_inventory(client, app, &inventory, &status).await
        {
            report
                .failed
                .push(Failure::new(&inventory_id(app), Action::Inventory, &e));
        }
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

fn crd_kind_of(plan: &Plan, crd: &ObjectId) -> Option<(String, String)> {
    let object = plan.apply.iter().find(|o| o.id == *crd)?;
    let text = |p: &str| object.manifest.pointer(p).and_then(Value::as_str);
    Some((
        text("/spec/group")?.to_owned(),
        text("/spec/names/kind")?.to_owned(),
    ))
}

async fn prune(
    client: &kube::Client,
    app: &Application,
    ids: &[ObjectId],
    dry_run: bool,
    report: &mut SyncReport,
    dropped: &mut BTreeSet<ObjectId>,
) {
    let name = &app.metadata.name;
    let retry = &app.spec.sync_policy.retry;
    for id in ids {
        let api = dynamic_api(client, id);
        let live = match with_retry(retry, "read before prune", || api.get_opt(&id.name)).await {
            Ok(live) => live,
            Err(e) => {
                report.failed.push(Failure::new(id, Action::Prune, &e));
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
        match with_retry(retry, "prune", || api.delete(&id.name, &params)).await {
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
            Err(e) => report.failed.push(Failure::new(id, Action::Prune, &e)),
        }
    }
}

/// Set equality including `apiVersion`, so a version change is recorded.
fn same_ids(a: &BTreeSet<ObjectId>, b: &BTreeSet<ObjectId>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y && x.api_version == y.api_version)
}
