//! One reconciliation step of an application: sync then wait for health, or
//! check drift and self-heal, recording the outcome in the inventory.

use std::time::Duration;

use crate::Error;
use crate::app::Application;
use crate::drift::{self, DriftReport};
use crate::health::{self, Health, HealthStatus};
use crate::object::ObjectId;
use crate::sync::{self, SyncParams, SyncReport, record_status};

/// How long to wait for health after a sync.
#[derive(Debug, Clone)]
pub struct HealthWait {
    /// Give up after this long and report what is not healthy.
    pub timeout: Duration,
    /// Poll period.
    pub poll: Duration,
}

/// What [`apply`] did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The sync.
    pub report: SyncReport,
    /// Overall health after the sync (and the wait); `None` on a dry run.
    pub health: Option<HealthStatus>,
    /// Objects not healthy, with the reason.
    pub unhealthy: Vec<(ObjectId, Health)>,
}

impl Applied {
    /// Synced and healthy (or a clean dry run).
    pub fn ok(&self) -> bool {
        self.report.is_synced() && self.health.is_none_or(|h| h == HealthStatus::Healthy)
    }
}

fn health_lines(unhealthy: &[(ObjectId, Health)]) -> Vec<String> {
    unhealthy
        .iter()
        .map(|(id, h)| format!("{id}: {}: {}", h.status, h.message))
        .collect()
}

/// Syncs, then (unless a dry run) assesses the health of every applied
/// object, waiting up to `wait` for it, and records health in the status.
#[tracing::instrument(skip_all, fields(app = %app.metadata.name, commit = %params.commit))]
pub async fn apply(
    client: &kube::Client,
    app: &Application,
    manifests: &[String],
    params: &SyncParams,
    wait: Option<&HealthWait>,
) -> Result<Applied, Error> {
    let report = sync::sync(client, app, manifests, params).await?;
    if params.dry_run {
        return Ok(Applied {
            report,
            health: None,
            unhealthy: Vec::new(),
        });
    }
    let unhealthy = match wait {
        Some(wait) => health::wait_healthy(client, &report.applied, wait.timeout, wait.poll).await,
        None => health::check(client, &report.applied)
            .await
            .into_iter()
            .filter(|(_, h)| h.status != HealthStatus::Healthy)
            .collect(),
    };
    let overall = health::overall(&unhealthy);
    for (id, h) in &unhealthy {
        tracing::warn!(object = %id, health = %h.status, reason = %h.message, "not healthy");
    }
    let synced = report.is_synced();
    record_status(client, app, |status| {
        status.health = Some(overall);
        status.health_detail = health_lines(&unhealthy);
        if synced {
            status.drift.clear();
        }
    })
    .await?;
    Ok(Applied {
        report,
        health: Some(overall),
        unhealthy,
    })
}

/// What [`check`] found and did.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The drift found.
    pub drift: DriftReport,
    /// The sync that corrected it, when self-heal is on and there was drift.
    pub healed: Option<Applied>,
}

/// Compares the live state with the render; with `selfHeal`, corrects drift
/// by syncing (and logs what it corrects), otherwise records and reports it.
#[tracing::instrument(skip_all, fields(app = %app.metadata.name, commit = %params.commit))]
pub async fn check(
    client: &kube::Client,
    app: &Application,
    manifests: &[String],
    params: &SyncParams,
    wait: Option<&HealthWait>,
) -> Result<Checked, Error> {
    let drift = drift::detect(client, app, manifests).await?;
    // Extraneous objects are only healed by a sync that may prune them;
    // otherwise every interval would sync again for nothing.
    let healable = drift
        .drifted
        .iter()
        .any(|d| d.kind != drift::DriftKind::Extraneous || app.spec.sync_policy.prune);
    if healable && app.spec.sync_policy.self_heal && !params.dry_run {
        for d in &drift.drifted {
            tracing::info!(object = %d.id, drift = %d.kind, "self-heal: correcting drift");
        }
        let healed = apply(client, app, manifests, params, wait).await?;
        return Ok(Checked {
            drift,
            healed: Some(healed),
        });
    }
    for d in &drift.drifted {
        tracing::warn!(object = %d.id, drift = %d.kind, "drift (self-heal off: reported only)");
    }
    let healths = health::check(client, &rendered_ids(manifests, app)).await;
    let unhealthy: Vec<_> = healths
        .into_iter()
        .filter(|(_, h)| h.status != HealthStatus::Healthy)
        .collect();
    let summary = drift.summary();
    let errors: Vec<String> = drift.failed.iter().map(ToString::to_string).collect();
    if !params.dry_run {
        record_status(client, app, |status| {
            status.drift = summary;
            status.health = Some(health::overall(&unhealthy));
            status.health_detail = health_lines(&unhealthy);
            if let Some(first) = errors.first() {
                status.last_error = first.clone();
            }
        })
        .await?;
    }
    Ok(Checked {
        drift,
        healed: None,
    })
}

/// The rendered object ids (for a health check after a drift check).
fn rendered_ids(manifests: &[String], app: &Application) -> Vec<ObjectId> {
    crate::plan::plan(
        manifests,
        &app.spec.destination.namespace,
        &Default::default(),
        &[],
    )
    .map(|p| p.apply.into_iter().map(|o| o.id).collect())
    .unwrap_or_default()
}
