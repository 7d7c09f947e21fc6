use serde_json::json;

use super::*;

fn deployment_field(path: &[&str]) -> Option<Field<'static>> {
    // A Schema without runtime additions only lends out 'static built-in data.
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    let s = SCHEMA.get_or_init(Schema::builtin);
    let t = s
        .type_of("apps/v1", "Deployment")
        .expect("Deployment is built in");
    s.lookup(t, path)
}

fn pod_spec(path: &[&str]) -> Option<Field<'static>> {
    let mut full = vec!["spec", "template", "spec"];
    full.extend_from_slice(path);
    deployment_field(&full)
}

#[test]
fn containers_merge_by_name() {
    let f = pod_spec(&["containers"]).unwrap();
    assert!(f.is_associative());
    assert_eq!(f.merge_key(), Some("name"));
    assert_eq!(f.merge_keys(), vec!["name"]);
    let t = f.type_ref().unwrap();
    assert!(matches!(f.shape, Shape::List(Item::Object(x)) if x == t));
    assert_eq!(
        Schema::builtin().type_name(t),
        "io.k8s.api.core.v1.Container"
    );
    // initContainers and ephemeralContainers too.
    for name in ["initContainers", "ephemeralContainers"] {
        assert_eq!(
            pod_spec(&[name]).unwrap().merge_key(),
            Some("name"),
            "{name}"
        );
    }
}

#[test]
fn container_lists() {
    let ports = pod_spec(&["containers", "ports"]).unwrap();
    assert!(ports.is_associative());
    assert_eq!(ports.merge_key(), Some("containerPort"));
    // kyaml merges by the list-map keys when the schema has them.
    assert_eq!(ports.merge_keys(), vec!["containerPort", "protocol"]);

    let env = pod_spec(&["containers", "env"]).unwrap();
    assert_eq!(env.merge_key(), Some("name"));
    assert_eq!(env.merge_keys(), vec!["name"]);

    let mounts = pod_spec(&["containers", "volumeMounts"]).unwrap();
    assert_eq!(mounts.merge_key(), Some("mountPath"));

    // envFrom: a known list of objects without a strategy: replaced whole.
    let env_from = pod_spec(&["containers", "envFrom"]).unwrap();
    assert!(!env_from.is_associative());
    assert!(env_from.merge_keys().is_empty());

    // args, command: scalars without a strategy; atomic either way.
    assert!(pod_spec(&["containers", "args"]).is_none());
    assert!(pod_spec(&["containers", "command"]).is_none());
    assert!(pod_spec(&["containers", "image"]).is_none());

    // Nested objects are walked. resources.claims has list-map keys for
    // server-side apply but no patch strategy: replaced whole.
    let claims = pod_spec(&["containers", "resources", "claims"]).unwrap();
    assert!(matches!(claims.shape, Shape::List(Item::Object(_))));
    assert!(!claims.is_associative());
    assert!(claims.merge_keys().is_empty());
}

#[test]
fn pod_spec_lists() {
    let volumes = pod_spec(&["volumes"]).unwrap();
    assert_eq!(volumes.merge_key(), Some("name"));
    assert_eq!(
        volumes.strategy,
        Strategy {
            merge: true,
            replace: false,
            retain_keys: true
        }
    );
    assert_eq!(
        pod_spec(&["imagePullSecrets"]).unwrap().merge_key(),
        Some("name")
    );
    assert_eq!(pod_spec(&["hostAliases"]).unwrap().merge_key(), Some("ip"));
    let spread = pod_spec(&["topologySpreadConstraints"]).unwrap();
    assert_eq!(spread.merge_key(), Some("topologyKey"));
    assert_eq!(
        spread.merge_keys(),
        vec!["topologyKey", "whenUnsatisfiable"]
    );

    let tolerations = pod_spec(&["tolerations"]).unwrap();
    assert!(matches!(tolerations.shape, Shape::List(Item::Object(_))));
    assert!(!tolerations.is_associative());
    assert_eq!(tolerations.merge_key(), None);
    assert!(tolerations.merge_keys().is_empty());
}

#[test]
fn affinity_terms_are_atomic_lists() {
    let terms = pod_spec(&[
        "affinity",
        "nodeAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        "nodeSelectorTerms",
    ])
    .unwrap();
    assert!(matches!(terms.shape, Shape::List(Item::Object(_))));
    assert!(!terms.is_associative());
}

#[test]
fn object_strategies() {
    let strategy = deployment_field(&["spec", "strategy"]).unwrap();
    assert!(matches!(strategy.shape, Shape::Object(_)));
    assert!(strategy.strategy.retain_keys);
    assert!(!strategy.strategy.merge);

    let s = Schema::builtin();
    let pdb = s.type_of("policy/v1", "PodDisruptionBudget").unwrap();
    let selector = s.lookup(pdb, &["spec", "selector"]).unwrap();
    assert!(selector.strategy.replace);
}

#[test]
fn metadata() {
    let finalizers = deployment_field(&["metadata", "finalizers"]).unwrap();
    assert_eq!(finalizers.shape, Shape::List(Item::Scalar));
    assert!(finalizers.is_associative());
    assert_eq!(finalizers.merge_key(), None);
    assert!(finalizers.merge_keys().is_empty());
    let owners = deployment_field(&["metadata", "ownerReferences"]).unwrap();
    assert_eq!(owners.merge_key(), Some("uid"));
    assert!(deployment_field(&["metadata", "labels"]).is_none());
    assert!(deployment_field(&["metadata", "name"]).is_none());
}

#[test]
fn service_ports_merge_by_port() {
    let s = Schema::builtin();
    let t = s.type_of("v1", "Service").unwrap();
    let ports = s.lookup(t, &["spec", "ports"]).unwrap();
    assert_eq!(ports.merge_key(), Some("port"));
    assert_eq!(ports.merge_keys(), vec!["port", "protocol"]);
}

#[test]
fn other_workloads() {
    let s = Schema::builtin();
    for (api, kind, path) in [
        (
            "apps/v1",
            "StatefulSet",
            &["spec", "template", "spec", "containers"][..],
        ),
        (
            "apps/v1",
            "DaemonSet",
            &["spec", "template", "spec", "containers"][..],
        ),
        (
            "batch/v1",
            "Job",
            &["spec", "template", "spec", "containers"][..],
        ),
        (
            "batch/v1",
            "CronJob",
            &[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "containers",
            ][..],
        ),
        ("v1", "Pod", &["spec", "containers"][..]),
        // Removed after 1.21 but known to Kustomize v5.5.
        (
            "batch/v1beta1",
            "CronJob",
            &[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "containers",
            ][..],
        ),
        (
            "apps/v1",
            "ReplicaSet",
            &["spec", "template", "spec", "containers"][..],
        ),
        (
            "v1",
            "ReplicationController",
            &["spec", "template", "spec", "containers"][..],
        ),
        ("v1", "PodTemplate", &["template", "spec", "containers"][..]),
    ] {
        let t = s
            .type_of(api, kind)
            .unwrap_or_else(|| panic!("{api} {kind}"));
        let f = s
            .lookup(t, path)
            .unwrap_or_else(|| panic!("{api} {kind} {path:?}"));
        assert_eq!(f.merge_key(), Some("name"), "{api} {kind}");
    }
    let sts = s.type_of("apps/v1", "StatefulSet").unwrap();
    let claims = s.lookup(sts, &["spec", "volumeClaimTemplates"]).unwrap();
    assert!(matches!(claims.shape, Shape::List(Item::Object(_))));
    assert!(!claims.is_associative());
}

#[test]
fn scopes() {
    let s = Schema::builtin();
    let cases = [
        ("rbac.authorization.k8s.io/v1", "ClusterRole", Some(false)),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            Some(false),
        ),
        ("rbac.authorization.k8s.io/v1", "Role", Some(true)),
        ("rbac.authorization.k8s.io/v1", "RoleBinding", Some(true)),
        ("v1", "Namespace", Some(false)),
        ("v1", "Node", Some(false)),
        ("v1", "PersistentVolume", Some(false)),
        ("v1", "PersistentVolumeClaim", Some(true)),
        ("v1", "ConfigMap", Some(true)),
        ("apps/v1", "Deployment", Some(true)),
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            Some(false),
        ),
        ("storage.k8s.io/v1", "StorageClass", Some(false)),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicy",
            Some(false),
        ),
        ("policy/v1beta1", "PodSecurityPolicy", Some(false)),
        ("extensions/v1beta1", "Ingress", Some(true)),
        ("autoscaling/v1", "Scale", Some(true)),
        // No GET path: not known, as in Kustomize.
        ("authorization.k8s.io/v1", "SubjectAccessReview", None),
        ("example.com/v1", "Widget", None),
        // Exact apiVersion only.
        ("rbac.authorization.k8s.io/v2", "ClusterRole", None),
    ];
    for (api, kind, want) in cases {
        assert_eq!(s.is_namespaced(api, kind), want, "{api} {kind}");
    }
}

#[test]
fn kustomize_builtin_kinds() {
    let s = Schema::builtin();
    assert!(s.in_kustomize_builtin("apps/v1", "Deployment"));
    assert!(s.in_kustomize_builtin("policy/v1beta1", "PodSecurityPolicy"));
    assert!(s.in_kustomize_builtin("extensions/v1beta1", "Ingress"));
    // Newer than Kustomize's Kubernetes 1.21 schema.
    assert!(!s.in_kustomize_builtin(
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy"
    ));
    assert!(!s.in_kustomize_builtin("autoscaling/v2", "HorizontalPodAutoscaler"));
    // Alpha APIs are not in Kustomize's copy.
    assert!(!s.in_kustomize_builtin("rbac.authorization.k8s.io/v1alpha1", "Role"));
    assert!(!s.in_kustomize_builtin("example.com/v1", "Widget"));
}

#[test]
fn unknown_kinds_and_fields() {
    let s = Schema::builtin();
    assert_eq!(s.type_of("example.com/v1", "Widget"), None);
    assert_eq!(s.type_of("apps/v1", "Widget"), None);
    let t = s.type_of("apps/v1", "Deployment").unwrap();
    assert!(s.field(t, "nonsense").is_none());
    assert!(s.field(TypeRef::EMPTY, "spec").is_none());
    assert!(s.field(TypeRef(u32::MAX), "spec").is_none());
    assert!(s.lookup(t, &[]).is_none());
    // A ConfigMap has only metadata worth knowing.
    let cm = s.type_of("v1", "ConfigMap").unwrap();
    assert!(s.field(cm, "data").is_none());
    assert!(s.field(cm, "metadata").is_some());
}

#[test]
fn strategy_parse() {
    assert_eq!(Strategy::parse(""), Strategy::default());
    assert!(!Strategy::parse("").is_set());
    let s = Strategy::parse("merge,retainKeys");
    assert!(s.merge && s.retain_keys && !s.replace);
    assert!(Strategy::parse("replace").replace);
    assert!(!Strategy::parse("bogus").is_set());
}

#[test]
fn generated_tables_are_consistent() {
    let defs = generated::DEFS;
    assert_eq!(defs[0].name, "");
    assert!(defs[0].fields.is_empty());
    for w in defs.windows(2) {
        assert!(w[0].name < w[1].name, "{} !< {}", w[0].name, w[1].name);
    }
    for def in defs {
        for w in def.fields.windows(2) {
            assert!(
                w[0].name < w[1].name,
                "{}: {} !< {}",
                def.name,
                w[0].name,
                w[1].name
            );
        }
        for f in def.fields {
            assert!(usize::from(f.ty) < defs.len(), "{}.{}", def.name, f.name);
            assert!(
                usize::from(f.patch) < generated::PATCHES.len(),
                "{}.{}",
                def.name,
                f.name
            );
            assert!(f.shape <= S, "{}.{}", def.name, f.name);
        }
    }
    let kinds = generated::KINDS;
    for w in kinds.windows(2) {
        assert!(
            (w[0].group, w[0].version, w[0].kind) < (w[1].group, w[1].version, w[1].kind),
            "{} {} {}",
            w[1].group,
            w[1].version,
            w[1].kind
        );
    }
    for kind in kinds {
        assert!(usize::from(kind.def) < defs.len());
        assert!(matches!(kind.scope, U | N | C));
    }
    // Every kind that has fields resolves to a real definition.
    let s = Schema::builtin();
    let t = s.type_of("apps/v1", "Deployment").unwrap();
    assert_eq!(s.type_name(t), "io.k8s.api.apps.v1.Deployment");
}

fn widget_crd(scope: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": scope,
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {
                                "parts": {
                                    "type": "array",
                                    "x-kubernetes-patch-merge-key": "id",
                                    "x-kubernetes-patch-strategy": "merge",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "string"},
                                            "tags": {
                                                "type": "array",
                                                "x-kubernetes-patch-strategy": "merge",
                                                "items": {"type": "string"}
                                            }
                                        }
                                    }
                                },
                                "steps": {
                                    "type": "array",
                                    "items": {"type": "object", "properties": {"name": {"type": "string"}}}
                                },
                                "byName": {
                                    "type": "object",
                                    "additionalProperties": {
                                        "type": "object",
                                        "properties": {
                                            "items": {
                                                "type": "array",
                                                "x-kubernetes-patch-merge-key": "k",
                                                "x-kubernetes-patch-strategy": "merge",
                                                "items": {"type": "object"}
                                            }
                                        }
                                    }
                                },
                                "args": {"type": "array", "items": {"type": "string"}},
                                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                "count": {"type": "integer"}
                            }
                        }
                    }
                }}
            }]
        }
    })
}

#[test]
fn crd_adds_merge_keys_and_scope() {
    let mut s = Schema::builtin();
    assert_eq!(s.type_of("example.com/v1", "Widget"), None);
    s.add_crd(&widget_crd("Namespaced"));
    let t = s.type_of("example.com/v1", "Widget").unwrap();
    assert_eq!(s.type_name(t), "example.com/v1.Widget");

    let parts = s.lookup(t, &["spec", "parts"]).unwrap();
    assert!(parts.is_associative());
    assert_eq!(parts.merge_key(), Some("id"));
    assert_eq!(parts.merge_keys(), vec!["id"]);
    let tags = s.lookup(t, &["spec", "parts", "tags"]).unwrap();
    assert_eq!(tags.shape, Shape::List(Item::Scalar));
    assert!(tags.is_associative());

    let steps = s.lookup(t, &["spec", "steps"]).unwrap();
    assert!(matches!(steps.shape, Shape::List(Item::Object(_))));
    assert!(!steps.is_associative());

    let by_name = s.lookup(t, &["spec", "byName"]).unwrap();
    assert!(matches!(by_name.shape, Shape::Map(Item::Object(_))));
    let nested = s.lookup(t, &["spec", "byName", "items"]).unwrap();
    assert_eq!(nested.merge_key(), Some("k"));

    // Scalars and scalar lists without a strategy, and opaque objects, are
    // left out like in the built-in tables.
    assert!(s.lookup(t, &["spec", "args"]).is_none());
    assert!(s.lookup(t, &["spec", "count"]).is_none());
    assert!(s.lookup(t, &["spec", "raw"]).is_none());

    assert_eq!(s.is_namespaced("example.com/v1", "Widget"), Some(true));
    assert!(!s.in_kustomize_builtin("example.com/v1", "Widget"));
    // Other versions are not added.
    assert_eq!(s.type_of("example.com/v2", "Widget"), None);

    // A later CRD for the same kind wins.
    s.add_crd(&widget_crd("Cluster"));
    assert_eq!(s.is_namespaced("example.com/v1", "Widget"), Some(false));
}

#[test]
fn crd_v1beta1_shared_schema() {
    let mut s = Schema::builtin();
    s.add_crd(&json!({
        "apiVersion": "apiextensions.k8s.io/v1beta1",
        "kind": "CustomResourceDefinition",
        "spec": {
            "group": "example.com",
            "version": "v1alpha1",
            "names": {"kind": "Gadget"},
            "scope": "Cluster",
            "validation": {"openAPIV3Schema": {"properties": {"spec": {"properties": {
                "items": {
                    "type": "array",
                    "x-kubernetes-patch-merge-key": "name",
                    "x-kubernetes-patch-strategy": "merge",
                    "items": {"properties": {"name": {"type": "string"}}}
                }
            }}}}}
        }
    }));
    let t = s.type_of("example.com/v1alpha1", "Gadget").unwrap();
    let items = s.lookup(t, &["spec", "items"]).unwrap();
    assert_eq!(items.merge_key(), Some("name"));
    assert_eq!(
        s.is_namespaced("example.com/v1alpha1", "Gadget"),
        Some(false)
    );
}

#[test]
fn non_crd_objects_are_ignored() {
    let mut s = Schema::builtin();
    s.add_crd(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}));
    s.add_crd(&json!({"kind": "CustomResourceDefinition", "spec": {"names": {"kind": "X"}}}));
    s.add_crd(&json!("not an object"));
    assert!(s.kinds.is_empty());
    assert!(s.defs.is_empty());
}

fn openapi_doc() -> serde_json::Value {
    json!({
        "swagger": "2.0",
        "definitions": {
            "com.example.v1.Thing": {
                "type": "object",
                "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Thing"}],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                    "spec": {"$ref": "#/definitions/com.example.v1.ThingSpec"}
                }
            },
            "com.example.v1.ThingSpec": {
                "type": "object",
                "properties": {
                    "members": {
                        "type": "array",
                        "items": {"$ref": "#/definitions/com.example.v1.Member"},
                        "x-kubernetes-patch-merge-key": "user",
                        "x-kubernetes-list-map-keys": ["user", "role"],
                        "x-kubernetes-patch-strategy": "merge"
                    },
                    "template": {"$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"},
                    "quantity": {"$ref": "#/definitions/com.example.v1.Quantity"},
                    "groups": {"$ref": "#/definitions/com.example.v1.Groups"},
                    "missing": {"$ref": "#/definitions/com.example.v1.Missing"}
                }
            },
            "com.example.v1.Member": {
                "type": "object",
                "properties": {"user": {"type": "string"}, "role": {"type": "string"}}
            },
            "com.example.v1.Quantity": {"type": "string"},
            "com.example.v1.Groups": {
                "type": "array",
                "items": {"$ref": "#/definitions/com.example.v1.Member"}
            }
        },
        "paths": {
            "/apis/example.com/v1/namespaces/{namespace}/things/{name}": {
                "get": {"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Thing"}}
            },
            "/apis/example.com/v1/things": {
                "get": {"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Thing"}}
            },
            "/apis/example.com/v1/globals": {
                "get": {"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Global"}}
            }
        }
    })
}

#[test]
fn openapi_document_adds_definitions_and_scope() {
    let mut s = Schema::builtin();
    s.add_openapi_document(&openapi_doc());
    let t = s.type_of("example.com/v1", "Thing").unwrap();
    assert_eq!(s.type_name(t), "com.example.v1.Thing");
    let members = s.lookup(t, &["spec", "members"]).unwrap();
    assert_eq!(members.merge_key(), Some("user"));
    assert_eq!(members.merge_keys(), vec!["user", "role"]);
    // A definition that is a list resolves to a list.
    let groups = s.lookup(t, &["spec", "groups"]).unwrap();
    assert!(matches!(groups.shape, Shape::List(Item::Object(_))));
    // Scalars and unresolved references are left out.
    assert!(s.lookup(t, &["spec", "quantity"]).is_none());
    assert!(s.lookup(t, &["spec", "missing"]).is_none());
    // References to built-in definitions resolve to them.
    let containers = s
        .lookup(t, &["spec", "template", "spec", "containers"])
        .unwrap();
    assert_eq!(containers.merge_key(), Some("name"));
    let owners = s.lookup(t, &["metadata", "ownerReferences"]).unwrap();
    assert_eq!(owners.merge_key(), Some("uid"));

    assert_eq!(s.is_namespaced("example.com/v1", "Thing"), Some(true));
    assert_eq!(s.is_namespaced("example.com/v1", "Global"), Some(false));

    // A second document can refer to the first one's definitions.
    s.add_openapi_document(&json!({
        "definitions": {
            "com.example.v2.Other": {
                "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v2", "kind": "Other"},
                "properties": {"spec": {"$ref": "#/definitions/com.example.v1.ThingSpec"}}
            }
        }
    }));
    let o = s.type_of("example.com/v2", "Other").unwrap();
    assert_eq!(
        s.lookup(o, &["spec", "members"]).unwrap().merge_key(),
        Some("user")
    );
}

#[test]
fn openapi_document_overrides_builtin_kind() {
    let mut s = Schema::builtin();
    s.add_openapi_document(&json!({
        "definitions": {
            "my.Deployment": {
                "x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}],
                "properties": {"spec": {"properties": {"things": {
                    "type": "array",
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "id",
                    "items": {"type": "object"}
                }}}}
            }
        }
    }));
    let t = s.type_of("apps/v1", "Deployment").unwrap();
    assert_eq!(s.type_name(t), "my.Deployment");
    assert_eq!(
        s.lookup(t, &["spec", "things"]).unwrap().merge_key(),
        Some("id")
    );
    assert!(s.lookup(t, &["spec", "template"]).is_none());
    // The scope of the built-in kind is unchanged.
    assert_eq!(s.is_namespaced("apps/v1", "Deployment"), Some(true));
}

#[test]
fn without_builtin_definitions() {
    let mut s = Schema::builtin();
    s.use_builtin_definitions(false);
    assert_eq!(s.type_of("apps/v1", "Deployment"), None);
    // Built-in scopes stay known, as Kustomize's precomputed table does.
    assert_eq!(
        s.is_namespaced("rbac.authorization.k8s.io/v1", "ClusterRole"),
        Some(false)
    );
    // References to built-in definitions no longer resolve.
    s.add_openapi_document(&openapi_doc());
    let t = s.type_of("example.com/v1", "Thing").unwrap();
    assert!(s.lookup(t, &["spec", "template"]).is_none());
    assert_eq!(
        s.lookup(t, &["spec", "members"]).unwrap().merge_key(),
        Some("user")
    );
}

#[test]
fn self_referencing_documents_terminate() {
    let mut s = Schema::builtin();
    s.add_openapi_document(&json!({
        "definitions": {
            "a.List": {"type": "array", "items": {"$ref": "#/definitions/a.List"}},
            "a.Ref": {"$ref": "#/definitions/a.Ref"},
            "a.Node": {
                "x-kubernetes-group-version-kind": {"group": "a", "version": "v1", "kind": "Node"},
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/definitions/a.Node"}},
                    "list": {"$ref": "#/definitions/a.List"},
                    "ref": {"$ref": "#/definitions/a.Ref"}
                }
            }
        }
    }));
    let t = s.type_of("a/v1", "Node").unwrap();
    let grandchildren = s.lookup(t, &["children", "children", "children"]).unwrap();
    assert_eq!(grandchildren.type_ref(), Some(t));
}
