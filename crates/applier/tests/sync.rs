//! The cluster side against a mocked Kubernetes API (kube's tower-test
//! pattern): the exact requests made, in order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kiln_applier::sync::{Action, INVENTORY_KEY, PruneSkip};
use kiln_applier::{Application, Error, ObjectId, parse_applications, sync_once};
use kube::client::Body;
use serde_json::{Value, json};

/// One request the fake API server received.
#[derive(Debug, Clone)]
struct Seen {
    /// `METHOD path?query`.
    line: String,
    content_type: String,
    body: Value,
}

/// A tiny in-memory API server: objects by path; PATCH stores (unless dry
/// run), GET reads, DELETE removes; paths in `reject` answer 422.
#[derive(Default)]
struct Fake {
    objects: BTreeMap<String, Value>,
    reject: Vec<String>,
    seen: Vec<Seen>,
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn status(code: u16, reason: &str, message: &str) -> (StatusCode, Value) {
    (
        StatusCode::from_u16(code).unwrap(),
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code}),
    )
}

async fn serve(mut handle: Handle, fake: Arc<Mutex<Fake>>) {
    while let Some((request, send)) = handle.next_request().await {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or("").to_owned();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let mut fake = fake.lock().unwrap();
        fake.seen.push(Seen {
            line: format!("{} {path}?{query}", parts.method),
            content_type,
            body: body.clone(),
        });
        let dry_run = query.contains("dryRun=All") || body.get("dryRun").is_some();
        let (code, answer) = if fake.reject.contains(&path) {
            status(422, "Invalid", "spec.replicas: Invalid value")
        } else {
            match parts.method.as_str() {
                "GET" => match fake.objects.get(&path) {
                    Some(object) => (StatusCode::OK, object.clone()),
                    None => status(404, "NotFound", "not found"),
                },
                "PATCH" => {
                    let mut body = body;
                    if body["kind"] == "CustomResourceDefinition" {
                        // The API server establishes a valid CRD at once.
                        body["status"] = json!({"conditions": [
                            {"type": "NamesAccepted", "status": "True"},
                            {"type": "Established", "status": "True"}]});
                    }
                    if !dry_run {
                        fake.objects.insert(path, body.clone());
                    }
                    (StatusCode::OK, body)
                }
                "DELETE" => {
                    let found = if dry_run {
                        fake.objects.get(&path).cloned()
                    } else {
                        fake.objects.remove(&path)
                    };
                    match found {
                        Some(object) => (StatusCode::OK, object),
                        None => status(404, "NotFound", "not found"),
                    }
                }
                _ => status(405, "MethodNotAllowed", "no"),
            }
        };
        let response = Response::builder()
            .status(code)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&answer).unwrap()))
            .unwrap();
        send.send_response(response);
    }
}

fn client(fake: &Arc<Mutex<Fake>>) -> (kube::Client, tokio::task::JoinHandle<()>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(serve(handle, Arc::clone(fake)));
    (kube::Client::new(service, "default"), server)
}

fn app(extra: &str) -> Application {
    let text = format!(
        "apiVersion: kiln.dev/v1alpha1\nkind: Application\nmetadata: {{name: shop}}\n\
         spec:\n  source: {{repoURL: https://git.example/shop.git}}\n  destination: {{namespace: shop}}\n{extra}"
    );
    parse_applications(&text, Path::new("shop.yaml"))
        .unwrap()
        .remove(0)
}

fn object(api_version: &str, kind: &str, name: &str) -> String {
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}).to_string()
}

fn id(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectId {
    ObjectId {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

const INVENTORY: &str = "/api/v1/namespaces/shop/configmaps/kiln-inventory-shop";
const APPLY: &str = "?&fieldManager=kiln-applier";

fn lines(fake: &Arc<Mutex<Fake>>) -> Vec<String> {
    fake.lock()
        .unwrap()
        .seen
        .iter()
        .map(|s| s.line.clone())
        .collect()
}

fn inventory(fake: &Arc<Mutex<Fake>>) -> Vec<String> {
    let fake = fake.lock().unwrap();
    let text = fake.objects[INVENTORY]["data"][INVENTORY_KEY]
        .as_str()
        .unwrap()
        .to_owned();
    let ids: Vec<ObjectId> = serde_json::from_str(&text).unwrap();
    ids.iter().map(ToString::to_string).collect()
}

fn recorded_status(fake: &Arc<Mutex<Fake>>) -> Value {
    let fake = fake.lock().unwrap();
    let text = fake.objects[INVENTORY]["data"]["status"].as_str().unwrap();
    serde_json::from_str(text).unwrap()
}

fn store_inventory(fake: &Arc<Mutex<Fake>>, ids: &[ObjectId]) {
    let data = serde_json::to_string(ids).unwrap();
    fake.lock().unwrap().objects.insert(
        INVENTORY.into(),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "kiln-inventory-shop", "namespace": "shop"},
               "data": {INVENTORY_KEY: data}}),
    );
}

fn store(fake: &Arc<Mutex<Fake>>, path: &str, annotations: Value) {
    fake.lock().unwrap().objects.insert(
        path.into(),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": path.rsplit('/').next().unwrap(), "namespace": "shop", "annotations": annotations}}),
    );
}

#[tokio::test]
async fn first_sync_applies_in_order_and_records_inventory() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let manifests = vec![
        object("apps/v1", "Deployment", "web"),
        object("example.com/v1", "Widget", "w"),
        object("v1", "Service", "web"),
        object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "widgets.example.com",
        ),
        object("v1", "Namespace", "shop"),
    ];
    let report = sync_once(&client, &app(""), &manifests, false)
        .await
        .unwrap();
    assert!(report.is_synced(), "{report:?}");
    assert_eq!(
        lines(&fake),
        [
            format!("GET {INVENTORY}?"),
            format!("PATCH /api/v1/namespaces/shop{APPLY}"),
            format!(
                "PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com{APPLY}"
            ),
            // Custom resources wait until their CRD is Established.
            "GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com?"
                .to_owned(),
            format!("PATCH /api/v1/namespaces/shop/services/web{APPLY}"),
            format!("PATCH /apis/apps/v1/namespaces/shop/deployments/web{APPLY}"),
            format!("PATCH /apis/example.com/v1/namespaces/shop/widgets/w{APPLY}"),
            format!("PATCH {INVENTORY}?&force=true&fieldManager=kiln-applier"),
        ]
    );
    let seen = fake.lock().unwrap().seen.clone();
    for request in seen.iter().filter(|r| r.line.starts_with("PATCH")) {
        assert_eq!(request.content_type, "application/apply-patch+yaml");
    }
    assert_eq!(
        seen[5].body["metadata"]["namespace"], "shop",
        "default namespace applied"
    );
    assert_eq!(
        inventory(&fake),
        [
            "/Namespace//shop",
            "/Service/shop/web",
            "apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com",
            "apps/Deployment/shop/web",
            "example.com/Widget/shop/w",
        ]
    );
    let labels = fake.lock().unwrap().objects[INVENTORY]["metadata"]["labels"].clone();
    assert_eq!(labels["kiln.dev/application"], "shop");

    // A second identical sync re-applies and leaves the inventory alone.
    let report = sync_once(&client, &app(""), &manifests, false)
        .await
        .unwrap();
    assert!(report.is_synced());
    assert_eq!(lines(&fake).len(), 8 + 7);
    assert!(
        !lines(&fake)[8..]
            .iter()
            .any(|l| l.starts_with(&format!("PATCH {INVENTORY}")))
    );
}

#[tokio::test]
async fn prune_deletes_only_previously_inventoried_objects() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    store_inventory(
        &fake,
        &[
            id("v1", "ConfigMap", "shop", "kept"),
            id("v1", "ConfigMap", "shop", "old"),
            id("v1", "ConfigMap", "shop", "precious"),
            id("v1", "ConfigMap", "shop", "gone"),
        ],
    );
    store(&fake, "/api/v1/namespaces/shop/configmaps/kept", json!({}));
    store(&fake, "/api/v1/namespaces/shop/configmaps/old", json!({}));
    store(
        &fake,
        "/api/v1/namespaces/shop/configmaps/precious",
        json!({"kiln.dev/prune": "disabled"}),
    );
    // In the cluster, not rendered, but never inventoried: not ours.
    store(
        &fake,
        "/api/v1/namespaces/shop/configmaps/stranger",
        json!({}),
    );
    let (client, _server) = client(&fake);

    let manifests = vec![object("v1", "ConfigMap", "kept")];
    let report = sync_once(
        &client,
        &app("  syncPolicy: {prune: true}\n"),
        &manifests,
        false,
    )
    .await
    .unwrap();
    assert!(report.is_synced(), "{report:?}");
    assert_eq!(report.pruned, [id("v1", "ConfigMap", "shop", "old")]);
    assert_eq!(
        report.prune_skipped,
        [
            (
                id("v1", "ConfigMap", "shop", "precious"),
                PruneSkip::OptedOut
            ),
            (
                id("v1", "ConfigMap", "shop", "gone"),
                PruneSkip::AlreadyGone
            ),
        ]
    );
    let cm = "/api/v1/namespaces/shop/configmaps";
    assert_eq!(
        lines(&fake),
        [
            format!("GET {INVENTORY}?"),
            format!("PATCH {cm}/kept{APPLY}"),
            format!("GET {cm}/precious?"),
            format!("GET {cm}/old?"),
            format!("DELETE {cm}/old?"),
            format!("GET {cm}/gone?"),
            format!("PATCH {INVENTORY}?&force=true&fieldManager=kiln-applier"),
        ]
    );
    assert_eq!(
        fake.lock().unwrap().seen[4].body["propagationPolicy"],
        "Background"
    );
    assert!(
        fake.lock()
            .unwrap()
            .objects
            .contains_key(&format!("{cm}/stranger"))
    );
    assert!(
        fake.lock()
            .unwrap()
            .objects
            .contains_key(&format!("{cm}/precious"))
    );
    assert_eq!(inventory(&fake), ["/ConfigMap/shop/kept"]);
}

#[tokio::test]
async fn empty_render_is_refused_before_any_write() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    store_inventory(&fake, &[id("v1", "ConfigMap", "shop", "a")]);
    let (client, _server) = client(&fake);
    let err = sync_once(&client, &app("  syncPolicy: {prune: true}\n"), &[], false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::EmptyRender { inventoried: 1 }),
        "{err}"
    );
    assert_eq!(lines(&fake), [format!("GET {INVENTORY}?")]);
}

#[tokio::test]
async fn prune_policy_off_only_reports() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    store_inventory(
        &fake,
        &[
            id("v1", "ConfigMap", "shop", "a"),
            id("v1", "ConfigMap", "shop", "old"),
        ],
    );
    let (client, _server) = client(&fake);
    let report = sync_once(&client, &app(""), &[object("v1", "ConfigMap", "a")], false)
        .await
        .unwrap();
    assert!(!report.is_synced());
    assert_eq!(
        report.prune_skipped,
        [(
            id("v1", "ConfigMap", "shop", "old"),
            PruneSkip::PolicyDisabled
        )]
    );
    assert_eq!(
        lines(&fake),
        [
            format!("GET {INVENTORY}?"),
            format!("PATCH /api/v1/namespaces/shop/configmaps/a{APPLY}"),
            format!("PATCH {INVENTORY}?&force=true&fieldManager=kiln-applier"),
        ],
        "no delete; only the status is recorded"
    );
    assert_eq!(
        inventory(&fake),
        ["/ConfigMap/shop/a", "/ConfigMap/shop/old"]
    );
    let status = recorded_status(&fake);
    assert_eq!(status["synced"], false);
    assert!(
        status["lastError"]
            .as_str()
            .unwrap()
            .contains("1 objects awaiting prune"),
        "{status}"
    );
}

#[tokio::test]
async fn apply_failure_stops_later_waves_and_skips_prune() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    store_inventory(&fake, &[id("v1", "ConfigMap", "shop", "old")]);
    fake.lock()
        .unwrap()
        .reject
        .push("/apis/apps/v1/namespaces/shop/deployments/bad".into());
    let (client, _server) = client(&fake);
    let late = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "late", "annotations": {"kiln.dev/sync-wave": "1"}}});
    let manifests = vec![
        object("v1", "ConfigMap", "first"),
        object("apps/v1", "Deployment", "bad"),
        object("apps/v1", "Deployment", "good"),
        late.to_string(),
    ];
    let report = sync_once(
        &client,
        &app("  syncPolicy: {prune: true}\n"),
        &manifests,
        false,
    )
    .await
    .unwrap();
    assert!(!report.is_synced());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(
        report.failed[0].id,
        id("apps/v1", "Deployment", "shop", "bad")
    );
    assert_eq!(report.failed[0].action, Action::Apply);
    assert!(
        report.failed[0].message.contains("Invalid value"),
        "{:?}",
        report.failed
    );
    assert_eq!(
        report.not_attempted,
        [id("v1", "ConfigMap", "shop", "late")]
    );
    assert_eq!(
        report.prune_skipped,
        [(id("v1", "ConfigMap", "shop", "old"), PruneSkip::ApplyFailed)]
    );
    assert!(
        !lines(&fake)
            .iter()
            .any(|l| l.starts_with("DELETE") || l.contains("/late"))
    );
    // What was applied is owned from now on; what was not pruned stays owned.
    assert_eq!(
        inventory(&fake),
        [
            "/ConfigMap/shop/first",
            "/ConfigMap/shop/old",
            "apps/Deployment/shop/good"
        ]
    );
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    store_inventory(
        &fake,
        &[
            id("v1", "ConfigMap", "shop", "a"),
            id("v1", "ConfigMap", "shop", "old"),
        ],
    );
    store(&fake, "/api/v1/namespaces/shop/configmaps/old", json!({}));
    let (client, _server) = client(&fake);
    let report = sync_once(
        &client,
        &app("  syncPolicy: {prune: true}\n"),
        &[object("v1", "ConfigMap", "a")],
        true,
    )
    .await
    .unwrap();
    assert!(report.dry_run && report.is_synced(), "{report:?}");
    let cm = "/api/v1/namespaces/shop/configmaps";
    assert_eq!(
        lines(&fake),
        [
            format!("GET {INVENTORY}?"),
            format!("PATCH {cm}/a?&dryRun=All&fieldManager=kiln-applier"),
            format!("GET {cm}/old?"),
            format!("DELETE {cm}/old?"),
        ]
    );
    assert_eq!(fake.lock().unwrap().seen[3].body["dryRun"], json!(["All"]));
    assert!(
        fake.lock()
            .unwrap()
            .objects
            .contains_key(&format!("{cm}/old"))
    );
    assert!(
        !fake
            .lock()
            .unwrap()
            .objects
            .contains_key(&format!("{cm}/a"))
    );
    assert_eq!(
        inventory(&fake),
        ["/ConfigMap/shop/a", "/ConfigMap/shop/old"]
    );
}

#[tokio::test]
async fn force_conflicts_and_create_namespace() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let app = app("  syncOptions: {forceConflicts: true, createNamespace: true}\n");
    let report = sync_once(&client, &app, &[object("v1", "ConfigMap", "a")], false)
        .await
        .unwrap();
    assert!(report.created_namespace && report.is_synced());
    let force = "?&force=true&fieldManager=kiln-applier";
    assert_eq!(
        lines(&fake),
        [
            format!("GET {INVENTORY}?"),
            format!("PATCH /api/v1/namespaces/shop{force}"),
            format!("PATCH /api/v1/namespaces/shop/configmaps/a{force}"),
            format!("PATCH {INVENTORY}{force}"),
        ]
    );
    // The created namespace is not owned: it is never pruned.
    assert_eq!(inventory(&fake), ["/ConfigMap/shop/a"]);
}

#[tokio::test]
async fn malformed_inventory_stops_the_sync() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    fake.lock().unwrap().objects.insert(
        INVENTORY.into(),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "kiln-inventory-shop", "namespace": "shop"},
               "data": {INVENTORY_KEY: "not json"}}),
    );
    let (client, _server) = client(&fake);
    let err = sync_once(&client, &app(""), &[object("v1", "ConfigMap", "a")], false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Inventory { .. }), "{err}");
    assert!(err.to_string().contains("kiln-inventory-shop"), "{err}");
    assert_eq!(lines(&fake), [format!("GET {INVENTORY}?")]);
}

#[tokio::test]
async fn rendered_namespace_is_not_created_twice() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let (client, _server) = client(&fake);
    let app = app("  syncOptions: {createNamespace: true}\n");
    let report = sync_once(&client, &app, &[object("v1", "Namespace", "shop")], false)
        .await
        .unwrap();
    assert!(!report.created_namespace && report.is_synced());
    assert_eq!(
        lines(&fake),
        [
            format!("GET {INVENTORY}?"),
            format!("PATCH /api/v1/namespaces/shop{APPLY}"),
            format!("PATCH {INVENTORY}?&force=true&fieldManager=kiln-applier"),
        ]
    );
    assert_eq!(inventory(&fake), ["/Namespace//shop"]);
}
