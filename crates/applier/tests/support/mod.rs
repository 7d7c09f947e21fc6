//! A small in-memory Kubernetes API behind kube's tower-test mock, with
//! realistic answers: server-side apply merges onto the live object, adds
//! defaults and server metadata (`managedFields`, `resourceVersion`,
//! `generation`, `uid`), honours `dryRun=All`, refuses fields owned by
//! another manager with 409 unless forced; scripted failures per path.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kiln_applier::{Application, ObjectId, parse_applications};
use kube::client::Body;
use serde_json::{Value, json};

/// The inventory ConfigMap of the `shop` application.
pub const INVENTORY: &str = "/api/v1/namespaces/shop/configmaps/kiln-inventory-shop";

#[derive(Default)]
pub struct Fake {
    /// Live objects by URL path.
    pub objects: BTreeMap<String, Value>,
    /// `METHOD path?query` of every request.
    pub seen: Vec<String>,
    /// Scripted answers: path → (HTTP code, reason, message), consumed
    /// first to last; a code of 0 means "answer normally".
    pub script: BTreeMap<String, Vec<(u16, &'static str, &'static str)>>,
    /// Fields owned by another manager: (path, JSON pointer, manager).
    pub foreign: Vec<(String, String, &'static str)>,
    /// CRDs answer Established only after this many reads.
    pub establish_after_reads: Option<usize>,
    /// Reads of each CRD so far.
    pub crd_reads: BTreeMap<String, usize>,
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

pub fn status(code: u16, reason: &str, message: &str) -> (StatusCode, Value) {
    (
        StatusCode::from_u16(code).unwrap(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// Deep merge: objects merge key by key, everything else is replaced.
pub fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// What the API server defaults on the kinds the tests use.
fn defaults(object: &mut Value) {
    if object["kind"] == "Deployment" {
        let spec = &mut object["spec"];
        for (k, v) in [
            ("replicas", json!(1)),
            ("progressDeadlineSeconds", json!(600)),
            ("revisionHistoryLimit", json!(10)),
            ("strategy", json!({"type": "RollingUpdate"})),
        ] {
            if spec.get(k).is_none() {
                spec[k] = v;
            }
        }
    }
    if object["kind"] == "ConfigMap" && object.pointer("/metadata/labels").is_none() {
        // Nothing defaulted; keeps the shape the API server returns.
    }
}

fn apply(fake: &mut Fake, path: &str, query: &str, body: &Value) -> (StatusCode, Value) {
    let dry_run = query.contains("dryRun=All");
    let force = query.contains("force=true");
    let live = fake.objects.get(path).cloned();
    if !force {
        for (p, pointer, manager) in &fake.foreign {
            if p == path
                && let (Some(mine), Some(theirs)) = (
                    body.pointer(pointer),
                    live.as_ref().and_then(|l| l.pointer(pointer)),
                )
                && mine != theirs
            {
                let field = pointer.replace('/', ".");
                return status(
                    409,
                    "Conflict",
                    &format!("Apply failed with 1 conflict: conflict with \"{manager}\": {field}"),
                );
            }
        }
    }
    let generation = live
        .as_ref()
        .and_then(|l| l.pointer("/metadata/generation"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut object = live.clone().unwrap_or_else(|| json!({}));
    merge(&mut object, body);
    defaults(&mut object);
    if object["kind"] == "CustomResourceDefinition" && fake.establish_after_reads.is_none() {
        object["status"] = json!({"conditions": [
            {"type": "NamesAccepted", "status": "True"},
            {"type": "Established", "status": "True"}]});
    }
    let spec_changed = live.as_ref().map(|l| l.get("spec")) != Some(object.get("spec"));
    let meta = object["metadata"].as_object_mut().unwrap();
    meta.insert("uid".into(), json!(format!("uid-{}", path.len())));
    meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
    meta.insert(
        "resourceVersion".into(),
        json!((fake.seen.len() + 1).to_string()),
    );
    meta.insert(
        "generation".into(),
        json!(if spec_changed {
            generation + 1
        } else {
            generation.max(1)
        }),
    );
    meta.insert(
        "managedFields".into(),
        json!([{"manager": "kiln-applier", "operation": "Apply", "apiVersion": body["apiVersion"],
                "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]),
    );
    if !dry_run {
        fake.objects.insert(path.to_owned(), object.clone());
    }
    (StatusCode::OK, object)
}

async fn serve(mut handle: Handle, fake: Arc<Mutex<Fake>>) {
    while let Some((request, send)) = handle.next_request().await {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or("").to_owned();
        let mut fake = fake.lock().unwrap();
        fake.seen.push(format!("{} {path}?{query}", parts.method));
        let scripted = fake
            .script
            .get_mut(&path)
            .and_then(|answers| (!answers.is_empty()).then(|| answers.remove(0)));
        let (code, answer) = match scripted {
            Some((code, reason, message)) if code != 0 => status(code, reason, message),
            _ => match parts.method.as_str() {
                "GET" => {
                    let reads = fake.crd_reads.entry(path.clone()).or_default();
                    *reads += 1;
                    let reads = *reads;
                    let after = fake.establish_after_reads;
                    match fake.objects.get_mut(&path) {
                        Some(object) => {
                            if object["kind"] == "CustomResourceDefinition"
                                && after.is_some_and(|n| reads > n)
                            {
                                object["status"] = json!({"conditions": [
                                    {"type": "Established", "status": "True"}]});
                            }
                            (StatusCode::OK, object.clone())
                        }
                        None => status(404, "NotFound", "not found"),
                    }
                }
                "PATCH" => apply(&mut fake, &path, &query, &body),
                "DELETE" => {
                    let dry_run = body.get("dryRun").is_some();
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
            },
        };
        let response = Response::builder()
            .status(code)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&answer).unwrap()))
            .unwrap();
        send.send_response(response);
    }
}

pub fn client(fake: &Arc<Mutex<Fake>>) -> (kube::Client, tokio::task::JoinHandle<()>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(serve(handle, Arc::clone(fake)));
    (kube::Client::new(service, "default"), server)
}

/// The `shop` application with extra spec lines; retries are fast.
pub fn app(extra: &str) -> Application {
    let text = format!(
        "apiVersion: kiln.dev/v1alpha1\nkind: Application\nmetadata: {{name: shop}}\n\
         spec:\n  source: {{repoURL: https://git.example/shop.git}}\n  destination: {{namespace: shop}}\n{extra}"
    );
    let mut app = parse_applications(&text, Path::new("shop.yaml"))
        .unwrap()
        .remove(0);
    if !extra.contains("retry") {
        app.spec.sync_policy.retry.backoff = std::time::Duration::from_millis(5);
    }
    app
}

pub fn id(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectId {
    ObjectId {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

pub fn deployment(name: &str, image: &str) -> String {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "main", "image": image}]}}}})
    .to_string()
}

pub fn config_map(name: &str, value: &str) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": value}})
        .to_string()
}

pub fn lines(fake: &Arc<Mutex<Fake>>) -> Vec<String> {
    fake.lock().unwrap().seen.clone()
}

pub fn recorded_status(fake: &Arc<Mutex<Fake>>) -> Value {
    let fake = fake.lock().unwrap();
    let text = fake.objects[INVENTORY]["data"]["status"].as_str().unwrap();
    serde_json::from_str(text).unwrap()
}
