//! Health rules, as `kubectl rollout status` judges workloads, and the
//! unified diff printer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kiln_applier::diff::unified;
use kiln_applier::health::{HealthStatus, assess};
use serde_json::{Value, json};

fn judge(object: Value) -> (HealthStatus, String) {
    let health = assess(&object);
    (health.status, health.message)
}

fn deployment(spec_replicas: i64, generation: i64, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "generation": generation},
           "spec": {"replicas": spec_replicas}, "status": status})
}

#[test]
fn deployments() {
    use HealthStatus::*;
    let (s, m) = judge(deployment(3, 2, json!({"observedGeneration": 1})));
    assert_eq!(s, Progressing);
    assert!(m.contains("waiting for spec update to be observed"), "{m}");
    let (s, m) = judge(deployment(
        3,
        2,
        json!({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 3}),
    ));
    assert_eq!(
        (s, m.as_str()),
        (Progressing, "1 out of 3 new replicas have been updated")
    );
    let (s, m) = judge(deployment(
        3,
        2,
        json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4}),
    ));
    assert_eq!(
        (s, m.as_str()),
        (Progressing, "1 old replicas are pending termination")
    );
    let (s, m) = judge(deployment(
        3,
        2,
        json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2}),
    ));
    assert_eq!(
        (s, m.as_str()),
        (Progressing, "2 of 3 updated replicas are available")
    );
    let (s, _) = judge(deployment(
        3,
        2,
        json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}),
    ));
    assert_eq!(s, Healthy);
    let (s, m) = judge(deployment(
        3,
        2,
        json!({"observedGeneration": 2,
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
    ));
    assert_eq!(s, Degraded);
    assert!(m.contains("progress deadline"));
}

#[test]
fn stateful_sets_and_daemon_sets() {
    use HealthStatus::*;
    let sts = |status: Value, strategy: Value| {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"generation": 1},
               "spec": {"replicas": 2, "updateStrategy": strategy}, "status": status})
    };
    let base = json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 2,
                      "currentRevision": "a", "updateRevision": "a"});
    assert_eq!(
        judge(sts(base.clone(), json!({"type": "RollingUpdate"}))).0,
        Healthy
    );
    let mut rolling = base.clone();
    rolling["updateRevision"] = json!("b");
    assert_eq!(
        judge(sts(rolling, json!({"type": "RollingUpdate"}))).0,
        Progressing
    );
    let mut partitioned = base.clone();
    partitioned["updateRevision"] = json!("b");
    partitioned["updatedReplicas"] = json!(1);
    assert_eq!(
        judge(sts(
            partitioned,
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}})
        ))
        .0,
        Healthy
    );
    let mut not_ready = base;
    not_ready["readyReplicas"] = json!(1);
    assert_eq!(
        judge(sts(not_ready, json!({}))),
        (Progressing, "1 of 2 pods are ready".to_owned())
    );

    let ds = |updated: i64, available: i64| {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"generation": 3},
               "status": {"observedGeneration": 3, "desiredNumberScheduled": 4,
                          "updatedNumberScheduled": updated, "numberAvailable": available}})
    };
    assert_eq!(
        judge(ds(2, 2)),
        (
            Progressing,
            "2 out of 4 new pods have been updated".to_owned()
        )
    );
    assert_eq!(
        judge(ds(4, 3)),
        (Progressing, "3 of 4 updated pods are available".to_owned())
    );
    assert_eq!(judge(ds(4, 4)).0, Healthy);
}

#[test]
fn jobs_claims_crds_and_load_balancers() {
    use HealthStatus::*;
    let job = |conditions: Value| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"completions": 2},
               "status": {"succeeded": 1, "conditions": conditions}})
    };
    assert_eq!(
        judge(job(json!([]))),
        (Progressing, "job has 1 of 2 completions".to_owned())
    );
    assert_eq!(
        judge(job(json!([{"type": "Complete", "status": "True"}]))).0,
        Healthy
    );
    let (s, m) = judge(job(
        json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]),
    ));
    assert_eq!(s, Degraded);
    assert!(m.contains("BackoffLimitExceeded"));

    let pvc = |phase: &str| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": phase}});
    assert_eq!(judge(pvc("Bound")).0, Healthy);
    assert_eq!(
        judge(pvc("Pending")),
        (Progressing, "claim is Pending (not Bound)".to_owned())
    );
    assert_eq!(judge(pvc("Lost")).0, Degraded);

    let crd = |conditions: Value| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "status": {"conditions": conditions}})
    };
    assert_eq!(
        judge(crd(json!([{"type": "Established", "status": "True"}]))).0,
        Healthy
    );
    assert_eq!(judge(crd(json!([]))).0, Progressing);
    assert_eq!(
        judge(crd(json!([{"type": "NamesAccepted", "status": "False", "reason": "MultipleNamesNotAllowed"}]))).0,
        Degraded
    );

    let service = |type_: &str, ingress: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": type_},
               "status": {"loadBalancer": {"ingress": ingress}}})
    };
    assert_eq!(judge(service("ClusterIP", json!([]))).0, Healthy);
    assert_eq!(judge(service("LoadBalancer", json!([]))).0, Progressing);
    assert_eq!(
        judge(service("LoadBalancer", json!([{"ip": "10.0.0.1"}]))).0,
        Healthy
    );
    let ingress = |ingress: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "status": {"loadBalancer": {"ingress": ingress}}})
    };
    assert_eq!(judge(ingress(json!([]))).0, Progressing);
    assert_eq!(
        judge(ingress(json!([{"hostname": "lb.example"}]))).0,
        Healthy
    );
    assert_eq!(
        judge(json!({"apiVersion": "v1", "kind": "ConfigMap"})).0,
        Healthy
    );
}

#[test]
fn unified_diff_format() {
    assert_eq!(unified("a\nb\n", "a\nb\n", "x", "y", 3), "");
    let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
    let new = "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n";
    assert_eq!(
        unified(old, new, "live/a", "merged/a", 2),
        "--- live/a\n+++ merged/a\n\
         @@ -1,5 +1,5 @@\n 1\n 2\n-3\n+three\n 4\n 5\n\
         @@ -11,2 +11,3 @@\n 11\n 12\n+13\n"
    );
    assert_eq!(
        unified("", "a: 1\n", "live/x", "merged/x", 3),
        "--- live/x\n+++ merged/x\n@@ -0,0 +1 @@\n+a: 1\n"
    );
}
