//! The pure sync plan: order, namespaces, prune set, ignore-differences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use kiln_applier::app::IgnoreDifference;
use kiln_applier::plan::remove_pointer;
use kiln_applier::{Error, ObjectId, plan};
use serde_json::{Value, json};

fn manifest(api_version: &str, kind: &str, name: &str, extra: Value) -> String {
    let mut value = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
    if let (Some(target), Value::Object(extra)) = (value.as_object_mut(), extra) {
        for (k, v) in extra {
            if k == "metadata" {
                let meta = target["metadata"].as_object_mut().unwrap();
                meta.extend(v.as_object().unwrap().clone());
            } else {
                target.insert(k, v);
            }
        }
    }
    value.to_string()
}

fn id(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectId {
    ObjectId {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn wave(n: &str) -> Value {
    json!({"metadata": {"annotations": {"kiln.dev/sync-wave": n}}})
}

#[test]
fn apply_order_namespaces_crds_then_waves_then_kind_order() {
    let manifests = vec![
        manifest("apps/v1", "Deployment", "web", json!({})),
        manifest("example.com/v1", "Widget", "w", wave("-5")),
        manifest("v1", "Service", "web", json!({})),
        manifest("batch/v1", "Job", "migrate", wave("-1")),
        manifest("v1", "ConfigMap", "late", wave("1")),
        manifest(
            "v1",
            "ConfigMap",
            "argo",
            json!({"metadata": {"annotations": {"argocd.argoproj.io/sync-wave": "1"}}}),
        ),
        manifest(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "widgets.example.com",
            json!({}),
        ),
        manifest("v1", "Namespace", "web", json!({})),
        manifest("v1", "ConfigMap", "settings", json!({})),
        manifest(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "reader",
            json!({}),
        ),
    ];
    let plan = plan(&manifests, "web", &BTreeSet::new(), &[]).unwrap();
    let order: Vec<String> = plan
        .apply
        .iter()
        .map(|o| format!("{}:{}", o.id.kind, o.id.name))
        .collect();
    assert_eq!(
        order,
        [
            "Namespace:web",
            "CustomResourceDefinition:widgets.example.com",
            "Widget:w",
            "Job:migrate",
            "ConfigMap:settings",
            "ClusterRole:reader",
            "Service:web",
            "Deployment:web",
            "ConfigMap:argo",
            "ConfigMap:late",
        ]
    );
    assert_eq!(plan.apply[2].wave, -5);
    assert!(plan.prune.is_empty());
}

#[test]
fn default_namespace_only_for_namespaced_objects() {
    let crd =
        json!({"spec": {"group": "example.com", "scope": "Cluster", "names": {"kind": "Cluster"}}});
    let manifests = vec![
        manifest("v1", "ConfigMap", "a", json!({})),
        manifest(
            "v1",
            "ConfigMap",
            "b",
            json!({"metadata": {"namespace": "other"}}),
        ),
        manifest(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "r",
            json!({"metadata": {"namespace": "stray"}}),
        ),
        manifest(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "clusters.example.com",
            crd,
        ),
        manifest("example.com/v1", "Cluster", "c", json!({})),
        manifest("example.com/v1", "Widget", "w", json!({})),
    ];
    let plan = plan(&manifests, "dest", &BTreeSet::new(), &[]).unwrap();
    let find = |name: &str| plan.apply.iter().find(|o| o.id.name == name).unwrap();
    assert_eq!(find("a").id.namespace, "dest");
    assert_eq!(find("a").manifest["metadata"]["namespace"], "dest");
    assert_eq!(find("b").id.namespace, "other");
    assert_eq!(find("r").id.namespace, "");
    assert!(find("r").manifest["metadata"].get("namespace").is_none());
    assert_eq!(find("c").id.namespace, "", "CRD in the render says Cluster");
    assert_eq!(
        find("w").id.namespace,
        "dest",
        "unknown custom resources are namespaced"
    );
}

#[test]
fn prune_set_is_previous_minus_rendered_in_reverse_install_order() {
    let manifests = vec![manifest("apps/v1", "Deployment", "web", json!({}))];
    let previous: BTreeSet<ObjectId> = [
        id("apps/v1", "Deployment", "web", "web"),
        id("v1", "Namespace", "", "web"),
        id("v1", "ConfigMap", "web", "old"),
        id("example.com/v1", "Widget", "web", "w"),
        // Same object at another version of its group: still rendered.
    ]
    .into_iter()
    .collect();
    let plan = plan(&manifests, "web", &previous, &[]).unwrap();
    let prune: Vec<String> = plan.prune.iter().map(ToString::to_string).collect();
    assert_eq!(
        prune,
        [
            "example.com/Widget/web/w",
            "/ConfigMap/web/old",
            "/Namespace//web"
        ]
    );

    let previous: BTreeSet<ObjectId> = [id("apps/v1beta1", "Deployment", "web", "web")]
        .into_iter()
        .collect();
    assert!(plan_prune_empty(&manifests, &previous));
}

fn plan_prune_empty(manifests: &[String], previous: &BTreeSet<ObjectId>) -> bool {
    plan(manifests, "web", previous, &[])
        .unwrap()
        .prune
        .is_empty()
}

#[test]
fn empty_render_never_prunes_everything() {
    let previous: BTreeSet<ObjectId> = [id("v1", "ConfigMap", "web", "a")].into_iter().collect();
    let err = plan(&[], "web", &previous, &[]).unwrap_err();
    assert!(
        matches!(err, Error::EmptyRender { inventoried: 1 }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("an empty render never prunes everything")
    );
    // Nothing owned yet: an empty render is just empty.
    assert!(
        plan(&[], "web", &BTreeSet::new(), &[])
            .unwrap()
            .apply
            .is_empty()
    );
}

#[test]
fn invalid_and_duplicate_manifests_are_errors() {
    let err = plan(&["{".into()], "web", &BTreeSet::new(), &[]).unwrap_err();
    assert!(
        matches!(err, Error::InvalidManifest { index: 0, .. }),
        "{err}"
    );
    let err = plan(
        &[r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#.into()],
        "web",
        &BTreeSet::new(),
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("/metadata/name"), "{err}");
    let err = plan(
        &[manifest("v1", "ConfigMap", "a", wave("soon"))],
        "web",
        &BTreeSet::new(),
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("kiln.dev/sync-wave"), "{err}");
    let twice = vec![
        manifest("v1", "ConfigMap", "a", json!({})),
        manifest(
            "v1",
            "ConfigMap",
            "a",
            json!({"metadata": {"namespace": "web"}}),
        ),
    ];
    let err = plan(&twice, "web", &BTreeSet::new(), &[]).unwrap_err();
    assert!(matches!(err, Error::DuplicateObject(_)), "{err}");
}

#[test]
fn ignore_differences_strip_matching_fields() {
    let deployment = json!({"spec": {"replicas": 3, "template": {"metadata": {"annotations": {"a/b": "x", "keep": "y"}}}}});
    let manifests = vec![
        manifest("apps/v1", "Deployment", "web", deployment.clone()),
        manifest("apps/v1", "Deployment", "api", deployment),
    ];
    let rules = vec![
        IgnoreDifference {
            group: "apps".into(),
            kind: "Deployment".into(),
            name: Some("web".into()),
            json_pointers: vec![
                "/spec/replicas".into(),
                "/spec/template/metadata/annotations/a~1b".into(),
            ],
        },
        IgnoreDifference {
            group: "".into(),
            kind: "Deployment".into(),
            name: None,
            json_pointers: vec!["/spec".into()],
        },
    ];
    let plan = plan(&manifests, "web", &BTreeSet::new(), &rules).unwrap();
    let find = |name: &str| {
        &plan
            .apply
            .iter()
            .find(|o| o.id.name == name)
            .unwrap()
            .manifest
    };
    assert!(find("web")["spec"].get("replicas").is_none());
    assert_eq!(
        find("web")["spec"]["template"]["metadata"]["annotations"],
        json!({"keep": "y"})
    );
    assert_eq!(
        find("api")["spec"]["replicas"],
        3,
        "name and group must match"
    );
}

#[test]
fn json_pointer_removal() {
    let mut value = json!({"a": [1, 2, 3], "m~n": {"x": 1}});
    assert_eq!(remove_pointer(&mut value, "/a/1"), Some(json!(2)));
    assert_eq!(remove_pointer(&mut value, "/m~0n/x"), Some(json!(1)));
    assert_eq!(remove_pointer(&mut value, "/a/9"), None);
    assert_eq!(remove_pointer(&mut value, "/missing/x"), None);
    assert_eq!(remove_pointer(&mut value, ""), None);
    assert_eq!(value, json!({"a": [1, 3], "m~n": {}}));
}

#[test]
fn plurals_follow_kube_rules() {
    use kiln_applier::sync::api_resource;
    let cases = [
        ("v1", "Endpoints", "endpoints"),
        ("networking.k8s.io/v1", "Ingress", "ingresses"),
        ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        ),
        ("v1", "ConfigMap", "configmaps"),
    ];
    for (api_version, kind, plural) in cases {
        assert_eq!(api_resource(&id(api_version, kind, "", "x")).plural, plural);
    }
}
