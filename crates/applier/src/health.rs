//! Health assessment of live objects, and waiting until they are healthy.
//!
//! The rules follow what `kubectl rollout status` judges for workloads
//! (observed generation, then updated, ready and available replicas), plus
//! Job completion, PersistentVolumeClaim binding, CRD establishment and
//! load-balancer addresses of `LoadBalancer` Services and Ingresses. Every
//! other kind is healthy as soon as it exists. Nothing here reads Pods.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object::ObjectId;
use crate::sync::{dynamic_api, message};

/// The health of one object, or of an application (the worst of its objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HealthStatus {
    /// Rolled out / bound / established / complete.
    Healthy,
    /// Still converging; may become healthy without intervention.
    Progressing,
    /// The object does not exist.
    Missing,
    /// Failed (a failed Job, a rollout past its deadline, a lost volume).
    Degraded,
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthStatus::Healthy => "Healthy",
            HealthStatus::Progressing => "Progressing",
            HealthStatus::Missing => "Missing",
            HealthStatus::Degraded => "Degraded",
        })
    }
}

/// A health status with the reason when it is not healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The status.
    pub status: HealthStatus,
    /// Why, in the words of `kubectl rollout status` where it has them;
    /// empty when healthy.
    pub message: String,
}

impl Health {
    fn healthy() -> Self {
        Health {
            status: HealthStatus::Healthy,
            message: String::new(),
        }
    }

    fn progressing(message: impl Into<String>) -> Self {
        Health {
            status: HealthStatus::Progressing,
            message: message.into(),
        }
    }

    fn degraded(message: impl Into<String>) -> Self {
        Health {
            status: HealthStatus::Degraded,
            message: message.into(),
        }
    }

    /// A missing object.
    pub fn missing() -> Self {
        Health {
            status: HealthStatus::Missing,
            message: "object not found".to_owned(),
        }
    }
}

fn int(value: &Value, pointer: &str) -> Option<i64> {
    value.pointer(pointer).and_then(Value::as_i64)
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The condition of `type_` in `status.conditions`, as `(status, reason, message)`.
fn condition<'a>(value: &'a Value, type_: &str) -> Option<(&'a str, &'a str, &'a str)> {
    value
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        .map(|c| {
            let field = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
            (field("status"), field("reason"), field("message"))
        })
}

/// `Some(progressing)` while the controller has not seen the latest spec.
fn generation_pending(live: &Value) -> Option<Health> {
    let generation = int(live, "/metadata/generation")?;
    let observed = int(live, "/status/observedGeneration").unwrap_or(0);
    (observed < generation).then(|| {
        Health::progressing(format!(
            "waiting for spec update to be observed (generation {generation}, observed {observed})"
        ))
    })
}

/// Assesses a live object (as the API server returns it).
pub fn assess(live: &Value) -> Health {
    let group = text(live, "/apiVersion")
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(g, _)| g);
    let kind = text(live, "/kind").unwrap_or("");
    match (group, kind) {
        ("apps", "Deployment") => deployment(live),
        ("apps", "StatefulSet") => stateful_set(live),
        ("apps", "DaemonSet") => daemon_set(live),
        ("batch", "Job") => job(live),
        ("", "PersistentVolumeClaim") => match text(live, "/status/phase") {
            Some("Bound") => Health::healthy(),
            Some("Lost") => Health::degraded("claim lost its volume"),
            phase => Health::progressing(format!(
                "claim is {} (not Bound)",
                phase.unwrap_or("without a phase")
            )),
        },
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(live),
        ("", "Service") if text(live, "/spec/type") == Some("LoadBalancer") => load_balancer(live),
        ("networking.k8s.io" | "extensions", "Ingress") => load_balancer(live),
        _ => Health::healthy(),
    }
}

fn deployment(live: &Value) -> Health {
    if let Some(pending) = generation_pending(live) {
        return pending;
    }
    if let Some(("False" | "True", "ProgressDeadlineExceeded", _)) = condition(live, "Progressing")
    {
        return Health::degraded("deployment exceeded its progress deadline");
    }
    let replicas = int(live, "/spec/replicas").unwrap_or(1);
    let updated = int(live, "/status/updatedReplicas").unwrap_or(0);
    let total = int(live, "/status/replicas").unwrap_or(0);
    let available = int(live, "/status/availableReplicas").unwrap_or(0);
    if updated < replicas {
        return Health::progressing(format!(
            "{updated} out of {replicas} new replicas have been updated"
        ));
    }
    if total > updated {
        return Health::progressing(format!(
            "{} old replicas are pending termination",
            total - updated
        ));
    }
    if available < updated {
        return Health::progressing(format!(
            "{available} of {updated} updated replicas are available"
        ));
    }
    Health::healthy()
}

fn stateful_set(live: &Value) -> Health {
    if let Some(pending) = generation_pending(live) {
        return pending;
    }
    if text(live, "/spec/updateStrategy/type") == Some("OnDelete") {
        // kubectl cannot judge OnDelete rollouts either; the set exists.
        return Health::healthy();
    }
    let replicas = int(live, "/spec/replicas").unwrap_or(1);
    let ready = int(live, "/status/readyReplicas").unwrap_or(0);
    if ready < replicas {
        return Health::progressing(format!("{ready} of {replicas} pods are ready"));
    }
    if let Some(partition) = int(live, "/spec/updateStrategy/rollingUpdate/partition") {
        let updated = int(live, "/status/updatedReplicas").unwrap_or(0);
        let wanted = replicas - partition;
        if updated < wanted {
            return Health::progressing(format!(
                "partitioned rollout: {updated} of {wanted} new pods have been updated"
            ));
        }
        return Health::healthy();
    }
    let update = text(live, "/status/updateRevision").unwrap_or("");
    let current = text(live, "/status/currentRevision").unwrap_or("");
    if update != current {
        let updated = int(live, "/status/updatedReplicas").unwrap_or(0);
        return Health::progressing(format!(
            "waiting for rolling update to complete: {updated} pods at revision {update}"
        ));
    }
    Health::healthy()
}

fn daemon_set(live: &Value) -> Health {
    if let Some(pending) = generation_pending(live) {
        return pending;
    }
    if text(live, "/spec/updateStrategy/type") == Some("OnDelete") {
        return Health::healthy();
    }
    let desired = int(live, "/status/desiredNumberScheduled").unwrap_or(0);
    let updated = int(live, "/status/updatedNumberScheduled").unwrap_or(0);
    let available = int(live, "/status/numberAvailable").unwrap_or(0);
    if updated < desired {
        return Health::progressing(format!(
            "{updated} out of {desired} new pods have been updated"
        ));
    }
    if available < desired {
        return Health::progressing(format!(
            "{available} of {desired} updated pods are available"
        ));
    }
    Health::healthy()
}

fn job(live: &Value) -> Health {
    if let Some(("True", _, _)) = condition(live, "Complete") {
        return Health::healthy();
    }
    if let Some(("True", reason, message)) = condition(live, "Failed") {
        return Health::degraded(format!("job failed: {reason}: {message}"));
    }
    let succeeded = int(live, "/status/succeeded").unwrap_or(0);
    let completions = int(live, "/spec/completions").unwrap_or(1);
    Health::progressing(format!("job has {succeeded} of {completions} completions"))
}

fn crd(live: &Value) -> Health {
    if let Some(("False", reason, message)) = condition(live, "NamesAccepted") {
        return Health::degraded(format!("names not accepted: {reason}: {message}"));
    }
    match condition(live, "Established") {
        Some(("True", _, _)) => Health::healthy(),
        _ => Health::progressing("not yet Established"),
    }
}

fn load_balancer(live: &Value) -> Health {
    let has_ingress = live
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if has_ingress {
        Health::healthy()
    } else {
        Health::progressing("waiting for a load balancer address")
    }
}

/// Reads every object and assesses it; a read failure is reported as
/// Progressing with the API's message (it may be transient).
#[tracing::instrument(skip_all, fields(objects = ids.len()))]
pub async fn check(client: &kube::Client, ids: &[ObjectId]) -> Vec<(ObjectId, Health)> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let health = match dynamic_api(client, id).get_opt(&id.name).await {
            Ok(Some(live)) => assess(&serde_json::to_value(&live).unwrap_or_default()),
            Ok(None) => Health::missing(),
            Err(e) => Health::progressing(format!("cannot read: {}", message(&e))),
        };
        out.push((id.clone(), health));
    }
    out
}

/// The worst status of a set of assessments; Healthy when empty.
pub fn overall(healths: &[(ObjectId, Health)]) -> HealthStatus {
    healths
        .iter()
        .map(|(_, h)| h.status)
        .max()
        .unwrap_or(HealthStatus::Healthy)
}

/// Polls [`check`] every `poll` until everything is healthy, something is
/// degraded, or `timeout` passes; returns the last assessment of the objects
/// that are not healthy (empty: all healthy).
pub async fn wait_healthy(
    client: &kube::Client,
    ids: &[ObjectId],
    timeout: Duration,
    poll: Duration,
) -> Vec<(ObjectId, Health)> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let unhealthy: Vec<_> = check(client, ids)
            .await
            .into_iter()
            .filter(|(_, h)| h.status != HealthStatus::Healthy)
            .collect();
        let degraded = unhealthy
            .iter()
            .any(|(_, h)| h.status == HealthStatus::Degraded);
        if unhealthy.is_empty() || degraded || tokio::time::Instant::now() + poll > deadline {
            return unhealthy;
        }
        tokio::time::sleep(poll).await;
    }
}
