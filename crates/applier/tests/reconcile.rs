//! Sync, CRD wait, retries, error classification, prune guards, drift,
//! ignore-differences, self-heal and health against a fake API server with
//! realistic answers (see `support`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiln_applier::drift::{self, DriftKind};
use kiln_applier::health::HealthStatus;
use kiln_applier::reconcile::{self, HealthWait};
use kiln_applier::sync::{Action, FailureKind, PruneSkip};
use kiln_applier::{SyncParams, sync};
use serde_json::json;
use support::*;

fn params(commit: &str) -> SyncParams {
    SyncParams {
        commit: commit.into(),
        crd_timeout: Duration::from_millis(200),
        poll: Duration::from_millis(5),
        ..SyncParams::default()
    }
}

fn crd() -> String {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"kind": "Widget", "plural": "widgets"},
                    "versions": [{"name": "v1", "served": true, "storage": true}]}})
    .to_string()
}

fn widget() -> String {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}).to_string()
}

const CRD_PATH: &str =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com";
const WIDGET_PATH: &str = "/apis/example.com/v1/namespaces/shop/widgets/w";
const WEB: &str = "/apis/apps/v1/namespaces/shop/deployments/web";

#[tokio::test]
async fn custom_resources_wait_until_their_crd_is_established() {
    let fake = Arc::new(Mutex::new(Fake {
        establish_after_reads: Some(3),
        ..Fake::default()
    }));
    let (client, _server) = client(&fake);
    let report = sync(&client, &app(""), &[widget(), crd()], &params("c1"))
        .await
        .unwrap();
    assert!(report.is_synced(), "{report:?}");
    let seen = lines(&fake);
    let crd_gets = seen
        .iter()
        .filter(|l| l.starts_with(&format!("GET {CRD_PATH}")))
        .count();
    assert_eq!(crd_gets, 4, "polled until Established: {seen:#?}");
    let last_get = seen
        .iter()
        .rposition(|l| l.starts_with(&format!("GET {CRD_PATH}")))
        .unwrap();
    let widget_patch = seen
        .iter()
        .position(|l| l.starts_with(&format!("PATCH {WIDGET_PATH}")))
        .unwrap();
    assert!(last_get < widget_patch, "{seen:#?}");
}

#[tokio::test]
async fn crd_never_established_times_out_and_stops_later_waves() {
    let fake = Arc::new(Mutex::new(Fake {
        establish_after_reads: Some(usize::MAX),
        ..Fake::default()
    }));
    let (client, _server) = client(&fake);
    let report = sync(&client, &app(""), &[widget(), crd()], &params("c1"))
        .await
        .unwrap();
    assert!(!report.is_synced());
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failure = &report.failed[0];
    assert_eq!(failure.action, Action::Establish);
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert!(failure.message.contains("not Established"), "{failure}");
    assert_eq!(
        report.not_attempted,
        [id("example.com/v1", "Widget", "shop", "w")]
    );
    assert!(!lines(&fake).iter().any(|l| l.contains(WIDGET_PATH)));
    let status = recorded_status(&fake);
    assert_eq!(status["synced"], false);
    assert_eq!(status["syncedCommit"], "", "half-applied is never synced");
    assert!(
        status["lastError"].as_str().unwrap().starts_with(
            "establish apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com: timeout"
        ),
        "{status}"
    );
}

#[tokio::test]
async fn dry_run_skips_custom_resources_of_uninstalled_crds() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let mut p = params("c1");
    p.dry_run = true;
    let report = sync(&client, &app(""), &[widget(), crd()], &p)
        .await
        .unwrap();
    assert_eq!(
        report.skipped_unknown_kind,
        [id("example.com/v1", "Widget", "shop", "w")]
    );
    assert!(report.failed.is_empty(), "{report:?}");
    assert!(fake.lock().unwrap().objects.is_empty(), "nothing persisted");
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let cm = "/api/v1/namespaces/shop/configmaps/a";
    fake.lock().unwrap().script.insert(
        cm.into(),
        vec![
            (503, "ServiceUnavailable", "etcd is busy"),
            (429, "TooManyRequests", "slow down"),
        ],
    );
    let (client, _server) = client(&fake);
    let app = app("  syncPolicy: {retry: {limit: 2, backoff: 10ms}}\n");
    let started = std::time::Instant::now();
    let report = sync(&client, &app, &[config_map("a", "1")], &params("c1"))
        .await
        .unwrap();
    assert!(report.is_synced(), "{report:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "10ms then 20ms"
    );
    let patches = lines(&fake)
        .iter()
        .filter(|l| l.starts_with(&format!("PATCH {cm}")))
        .count();
    assert_eq!(patches, 3);

    // Out of retries: reported per object as unavailable, not synced.
    fake.lock().unwrap().script.insert(
        cm.into(),
        vec![(503, "ServiceUnavailable", "etcd is busy"); 3],
    );
    let report = sync(&client, &app, &[config_map("a", "2")], &params("c2"))
        .await
        .unwrap();
    assert!(!report.is_synced());
    assert_eq!(report.failed[0].kind, FailureKind::Unavailable);
    assert!(report.failed[0].message.contains("etcd is busy"));
    assert_eq!(recorded_status(&fake)["syncedCommit"], "c1");
}

#[tokio::test]
async fn rejections_are_not_retried_and_are_classified_per_object() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let app = app("");
    // web: spec.replicas owned by the HPA controller.
    sync(&client, &app, &[deployment("web", "web:1")], &params("c1"))
        .await
        .unwrap();
    {
        let mut f = fake.lock().unwrap();
        f.objects.get_mut(WEB).unwrap()["spec"]["replicas"] = json!(5);
        f.foreign.push((
            WEB.into(),
            "/spec/replicas".into(),
            "kube-controller-manager",
        ));
        f.script.insert(
            "/api/v1/namespaces/shop/secrets/s".into(),
            vec![(
                403,
                "Forbidden",
                "secrets \"s\" is forbidden: User \"kiln\" cannot patch resource \"secrets\"",
            )],
        );
        f.script.insert(
            "/api/v1/namespaces/shop/configmaps/bad".into(),
            vec![(
                422,
                "Invalid",
                "ConfigMap \"bad\" is invalid: data[k!]: Invalid value",
            )],
        );
    }
    let mut web = serde_json::from_str::<serde_json::Value>(&deployment("web", "web:1")).unwrap();
    web["spec"]["replicas"] = json!(2);
    let secret =
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}).to_string();
    let manifests = [web.to_string(), secret, config_map("bad", "x")];
    let before = lines(&fake).len();
    let report = sync(&client, &app, &manifests, &params("c2"))
        .await
        .unwrap();
    assert!(!report.is_synced());
    let kinds: Vec<_> = report
        .failed
        .iter()
        .map(|f| (f.id.name.as_str(), f.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("s", FailureKind::Forbidden),
            ("bad", FailureKind::Invalid),
            ("web", FailureKind::Conflict),
        ]
    );
    assert!(report.failed[2].message.contains("kube-controller-manager"));
    // One request each: rejections are final.
    assert_eq!(
        lines(&fake)[before..]
            .iter()
            .filter(|l| l.starts_with("PATCH") && !l.contains("kiln-inventory"))
            .count(),
        3
    );
    assert_eq!(recorded_status(&fake)["syncedCommit"], "c1");

    // forceConflicts takes the field over.
    let forced = support::app("  syncOptions: {forceConflicts: true}\n");
    let report = sync(&client, &forced, &manifests[..1], &params("c3"))
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(fake.lock().unwrap().objects[WEB]["spec"]["replicas"], 2);
}

#[tokio::test]
async fn prune_is_refused_when_the_render_shares_nothing_with_the_inventory() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let app = app("  syncPolicy: {prune: true}\n");
    let old = [config_map("a", "1"), config_map("b", "1")];
    sync(&client, &app, &old, &params("c1")).await.unwrap();

    // A wrong path renders something else entirely: nothing is deleted.
    let other = [config_map("x", "1")];
    let report = sync(&client, &app, &other, &params("c2")).await.unwrap();
    assert!(!report.is_synced());
    assert!(report.pruned.is_empty());
    assert!(
        report
            .prune_skipped
            .iter()
            .all(|(_, why)| *why == PruneSkip::DisjointRender),
        "{report:?}"
    );
    assert!(report.problem().contains("shares no object"));
    assert!(!lines(&fake).iter().any(|l| l.starts_with("DELETE")));
    assert_eq!(recorded_status(&fake)["syncedCommit"], "c1");

    // Forced, it prunes.
    let mut p = params("c3");
    p.force_prune = true;
    let report = sync(&client, &app, &[config_map("y", "1")], &p)
        .await
        .unwrap();
    assert!(report.is_synced(), "{report:?}");
    assert_eq!(report.pruned.len(), 3, "a, b and x");
    assert_eq!(recorded_status(&fake)["syncedCommit"], "c3");
}

#[tokio::test]
async fn defaulted_fields_are_not_drift_and_ignored_fields_are_not_compared() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let app = app(
        "  ignoreDifferences:\n  - {group: apps, kind: Deployment, name: web, jsonPointers: [/spec/replicas]}\n",
    );
    let manifests = [deployment("web", "web:1"), config_map("cfg", "1")];
    sync(&client, &app, &manifests, &params("c1"))
        .await
        .unwrap();
    // The live object carries defaults, managedFields and status.
    {
        let mut f = fake.lock().unwrap();
        let web = f.objects.get_mut(WEB).unwrap();
        assert_eq!(web["spec"]["progressDeadlineSeconds"], 600);
        assert!(web.pointer("/metadata/managedFields").is_some());
        web["status"] = json!({"observedGeneration": 1, "replicas": 1});
        // An HPA scales it: ignored.
        web["spec"]["replicas"] = json!(7);
    }
    let report = drift::detect(&client, &app, &manifests).await.unwrap();
    assert!(report.in_sync(), "{:#?}", report.drifted);
    assert_eq!(report.compared, 2);
    let dry_runs = lines(&fake)
        .iter()
        .filter(|l| l.contains("dryRun=All"))
        .count();
    assert_eq!(dry_runs, 2, "desired side comes from a server-side dry run");

    // Someone edits the image and deletes the ConfigMap.
    {
        let mut f = fake.lock().unwrap();
        f.objects.get_mut(WEB).unwrap()["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("web:hotfix");
        f.objects.remove("/api/v1/namespaces/shop/configmaps/cfg");
    }
    let report = drift::detect(&client, &app, &manifests).await.unwrap();
    let kinds: Vec<_> = report
        .drifted
        .iter()
        .map(|d| (d.id.name.as_str(), d.kind))
        .collect();
    assert_eq!(
        kinds,
        [("cfg", DriftKind::Missing), ("web", DriftKind::Modified)]
    );
    let diff = report.unified_diff();
    assert!(
        diff.contains(
            "--- live/apps.v1.Deployment.shop.web\n+++ merged/apps.v1.Deployment.shop.web\n"
        ),
        "{diff}"
    );
    assert!(
        diff.contains("\n-      - image: web:hotfix\n+      - image: web:1\n"),
        "{diff}"
    );
    assert!(
        !diff.contains("replicas"),
        "ignored field never shown: {diff}"
    );
    assert!(!diff.contains("managedFields"), "{diff}");
    assert!(
        diff.contains("+++ merged/v1.ConfigMap.shop.cfg\n@@ -0,0 +1,"),
        "{diff}"
    );
}

#[tokio::test]
async fn drift_is_reported_without_self_heal_and_corrected_with_it() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let manifests = [deployment("web", "web:1")];
    let report_only = app("");
    reconcile::apply(&client, &report_only, &manifests, &params("c1"), None)
        .await
        .unwrap();
    let tamper = |fake: &Arc<Mutex<Fake>>| {
        fake.lock().unwrap().objects.get_mut(WEB).unwrap()["spec"]["template"]["spec"]["containers"]
            [0]["image"] = json!("evil:1");
    };
    tamper(&fake);

    let checked = reconcile::check(&client, &report_only, &manifests, &params("c1"), None)
        .await
        .unwrap();
    assert!(checked.healed.is_none());
    assert_eq!(checked.drift.drifted.len(), 1);
    assert_eq!(
        fake.lock().unwrap().objects[WEB]["spec"]["template"]["spec"]["containers"][0]["image"],
        "evil:1",
        "reported only"
    );
    assert_eq!(
        recorded_status(&fake)["drift"],
        json!(["modified apps/Deployment/shop/web"])
    );

    let healing = app("  syncPolicy: {selfHeal: true}\n");
    let checked = reconcile::check(&client, &healing, &manifests, &params("c1"), None)
        .await
        .unwrap();
    let healed = checked.healed.expect("self-heal syncs");
    assert!(healed.report.is_synced());
    assert_eq!(
        fake.lock().unwrap().objects[WEB]["spec"]["template"]["spec"]["containers"][0]["image"],
        "web:1"
    );
    assert_eq!(recorded_status(&fake)["drift"], json!([]));
    let again = drift::detect(&client, &healing, &manifests).await.unwrap();
    assert!(again.in_sync());
}

#[tokio::test]
async fn health_is_waited_for_and_reported_with_the_reason() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let manifests = [deployment("web", "web:1")];
    let wait = HealthWait {
        timeout: Duration::from_millis(60),
        poll: Duration::from_millis(10),
    };
    let applied = reconcile::apply(&client, &app(""), &manifests, &params("c1"), Some(&wait))
        .await
        .unwrap();
    assert!(applied.report.is_synced());
    assert!(!applied.ok(), "synced but not healthy");
    assert_eq!(applied.health, Some(HealthStatus::Progressing));
    assert!(
        applied.unhealthy[0]
            .1
            .message
            .contains("waiting for spec update to be observed"),
        "{:?}",
        applied.unhealthy
    );
    let status = recorded_status(&fake);
    assert_eq!(status["health"], "Progressing");
    assert_eq!(status["syncedCommit"], "c1");

    // The controller rolls it out while we wait.
    let rollout = {
        let fake = Arc::clone(&fake);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            fake.lock().unwrap().objects.get_mut(WEB).unwrap()["status"] = json!({
                "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                "readyReplicas": 1, "availableReplicas": 1});
        })
    };
    let wait = HealthWait {
        timeout: Duration::from_secs(5),
        poll: Duration::from_millis(10),
    };
    let applied = reconcile::apply(&client, &app(""), &manifests, &params("c1"), Some(&wait))
        .await
        .unwrap();
    rollout.await.unwrap();
    assert!(applied.ok(), "{:?}", applied.unhealthy);
    assert_eq!(recorded_status(&fake)["health"], "Healthy");
}

#[tokio::test]
async fn extraneous_objects_are_not_healed_without_prune() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let keep = config_map("keep", "1");
    let app = app("  syncPolicy: {selfHeal: true}\n");
    sync(
        &client,
        &app,
        &[keep.clone(), config_map("old", "1")],
        &params("c1"),
    )
    .await
    .unwrap();
    let before = lines(&fake).len();
    let checked = reconcile::check(&client, &app, &[keep], &params("c2"), None)
        .await
        .unwrap();
    assert!(checked.healed.is_none(), "prune is off: nothing to heal");
    assert_eq!(checked.drift.drifted.len(), 1);
    assert_eq!(checked.drift.drifted[0].kind, DriftKind::Extraneous);
    assert!(
        !lines(&fake)[before..].iter().any(|l| l.starts_with("PATCH")
            && !l.contains("dryRun")
            && !l.contains("kiln-inventory")),
        "no apply"
    );
    assert_eq!(
        recorded_status(&fake)["drift"],
        json!(["extraneous /ConfigMap/shop/old"])
    );
}

#[tokio::test]
async fn crd_with_rejected_names_fails_at_once() {
    let fake = Arc::new(Mutex::new(Fake {
        establish_after_reads: Some(usize::MAX),
        ..Fake::default()
    }));
    let (client, _server) = client(&fake);
    let (client2, fake2) = (client.clone(), Arc::clone(&fake));
    // The API server refuses the names once the CRD is stored.
    let report = {
        let task = tokio::spawn(async move {
            sync(&client2, &app(""), &[widget(), crd()], &params("c1")).await
        });
        loop {
            tokio::task::yield_now().await;
            let mut f = fake2.lock().unwrap();
            if let Some(crd) = f.objects.get_mut(CRD_PATH) {
                crd["status"] = json!({"conditions": [{"type": "NamesAccepted", "status": "False",
                    "reason": "MultipleNamesNotAllowed", "message": "widgets is already in use"}]});
                f.establish_after_reads = None;
                break;
            }
        }
        task.await.unwrap().unwrap()
    };
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].action, Action::Establish);
    assert_eq!(report.failed[0].kind, FailureKind::Invalid);
    assert!(report.failed[0].message.contains("MultipleNamesNotAllowed"));
    assert_eq!(report.not_attempted.len(), 1);
}
