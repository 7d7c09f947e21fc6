#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use kiln_source::{DirEntry, EntryKind};
use prost::Message;
use serde_json::json;

use crate::{
    gojson,
    proto::{repository as pb, v1alpha1},
    source::{AppSpec, SourceType, explicit_type, plan},
    tracking::{Tracking, TrackingMethod},
};

/// A length-delimited field `tag` holding `bytes`, as on the wire.
fn field(tag: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_key(tag, prost::encoding::WireType::LengthDelimited, &mut out);
    prost::encoding::encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

#[test]
fn decodes_fields_kiln_does_not_declare_and_keeps_empty_proto2_messages() {
    // Repository with a connectionState (5, undeclared) and an unknown field 99.
    let mut repo = v1alpha1::Repository {
        repo: Some("https://git.example.com/apps.git".into()),
        username: Some(String::new()),
        ..Default::default()
    }
    .encode_to_vec();
    repo.extend(field(5, &field(1, b"Successful")));
    repo.extend(field(99, b"future"));
    // A source with an explicitly empty `kustomize {}` and `ref` set empty.
    let source = v1alpha1::ApplicationSource {
        path: Some("overlays/prod".into()),
        kustomize: Some(v1alpha1::ApplicationSourceKustomize::default()),
        r#ref: Some(String::new()),
        ..Default::default()
    }
    .encode_to_vec();
    let mut bytes = field(1, &repo);
    bytes.extend(field(10, &source));
    bytes.extend(field(1000, b"from a newer Argo CD"));
    bytes.extend(
        pb::ManifestRequest {
            app_name: "guestbook".into(),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    let q = pb::ManifestRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(q.app_name, "guestbook");
    let repo = q.repo.unwrap();
    assert_eq!(repo.repo(), "https://git.example.com/apps.git");
    assert_eq!(repo.username, Some(String::new()));
    let source = q.application_source.unwrap();
    assert_eq!(source.path(), "overlays/prod");
    assert_eq!(explicit_type(&source).unwrap(), Some(SourceType::Kustomize));
}

fn obj() -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}}},
    })
}

fn tracking(method: TrackingMethod) -> Tracking<'static> {
    Tracking {
        label_key: "app.kubernetes.io/instance",
        app_name: "guestbook",
        namespace: "prod",
        method,
        installation_id: "",
    }
}

#[test]
fn tracks_by_annotation_label_or_both() {
    let mut o = obj();
    tracking(TrackingMethod::Annotation).apply(&mut o).unwrap();
    assert_eq!(
        o["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        "guestbook:apps/Deployment:prod/web"
    );
    assert!(
        o["metadata"]["labels"]
            .get("app.kubernetes.io/instance")
            .is_none()
    );

    let mut o = obj();
    tracking(TrackingMethod::Label).apply(&mut o).unwrap();
    assert_eq!(
        o["metadata"]["labels"]["app.kubernetes.io/instance"],
        "guestbook"
    );
    assert!(o["metadata"].get("annotations").is_none());
    // Only the legacy key reaches the pod template.
    assert!(
        o["spec"]["template"]["metadata"]["labels"]
            .get("app.kubernetes.io/instance")
            .is_none()
    );

    let long = "a".repeat(70) + "-x";
    let mut t = tracking(TrackingMethod::AnnotationAndLabel);
    t.app_name = &long;
    t.installation_id = "inst-1";
    let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}});
    t.apply(&mut o).unwrap();
    assert_eq!(
        o["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        format!("{long}:/ConfigMap:other/c")
    );
    assert_eq!(
        o["metadata"]["annotations"]["argocd.argoproj.io/installation-id"],
        "inst-1"
    );
    assert_eq!(
        o["metadata"]["labels"]["app.kubernetes.io/instance"],
        "a".repeat(63)
    );
}

#[test]
fn leaves_crds_and_untracked_requests_alone() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "x.example.com"}});
    let mut o = crd.clone();
    tracking(TrackingMethod::Annotation).apply(&mut o).unwrap();
    assert_eq!(o, crd);
    let mut o = obj();
    let mut t = tracking(TrackingMethod::Annotation);
    t.label_key = "";
    t.apply(&mut o).unwrap();
    assert_eq!(o, obj());
    let mut bad = json!({"kind": "ConfigMap", "metadata": {"name": "c", "labels": {"n": 1}}});
    assert!(tracking(TrackingMethod::Label).apply(&mut bad).is_err());
}

#[test]
fn legacy_label_key_also_labels_the_pod_template() {
    let mut o = obj();
    let mut t = tracking(TrackingMethod::Label);
    t.label_key = "applications.argoproj.io/app-name";
    t.apply(&mut o).unwrap();
    assert_eq!(
        o["spec"]["template"]["metadata"]["labels"]["applications.argoproj.io/app-name"],
        "guestbook"
    );
}

#[test]
fn prints_json_as_go_does() {
    let v = json!({"z": 1, "a": {"y": "<b>&</b>", "b": [1.5, 1e21, 0.0000001, 100, -2]}, "m": "\u{2028}\n\u{1}"});
    assert_eq!(
        gojson::to_string(&v),
        r#"{"a":{"b":[1.5,1e+21,1e-7,100,-2],"y":"\u003cb\u003e\u0026\u003c/b\u003e"},"m":"\u2028\n\u0001","z":1}"#
    );
}

fn entries(names: &[&str]) -> Vec<DirEntry> {
    names
        .iter()
        .map(|n| DirEntry {
            name: (*n).to_owned(),
            kind: EntryKind::File,
        })
        .collect()
}

fn spec<'a>(
    source: &'a v1alpha1::ApplicationSource,
    enabled: &'a HashMap<String, bool>,
) -> AppSpec<'a> {
    AppSpec {
        source,
        app_name: "team_web",
        namespace: "prod",
        kube_version: "1.31.0",
        api_versions: &[],
        enabled,
    }
}

#[test]
fn maps_directory_options_to_directory_parameters() {
    let source = v1alpha1::ApplicationSource {
        directory: Some(v1alpha1::ApplicationSourceDirectory {
            recurse: Some(true),
            include: Some("*.yaml".into()),
            exclude: Some(String::new()),
            jsonnet: Some(Default::default()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let none = HashMap::new();
    let p = plan(&spec(&source, &none), &entries(&["a.yaml"])).unwrap();
    assert_eq!(p.engine, "directory");
    assert_eq!(p.source_type, Some(SourceType::Directory));
    assert_eq!(
        p.parameters.into_iter().collect::<Vec<_>>(),
        vec![
            ("include".into(), "*.yaml".into()),
            ("recurse".into(), "true".into())
        ]
    );
    // Nothing explicit and no marker: Kiln's own detection decides.
    let p = plan(&spec(&Default::default(), &none), &entries(&["a.yaml"])).unwrap();
    assert_eq!((p.engine.as_str(), p.source_type), ("", None));
}

#[test]
fn detects_kustomize_and_helm_as_argo_cd_and_honours_disabled_types() {
    let none = HashMap::new();
    let src = v1alpha1::ApplicationSource::default();
    let p = plan(
        &spec(&src, &none),
        &entries(&["Chart.yaml", "kustomization.yaml"]),
    )
    .unwrap();
    assert_eq!(p.engine, "kustomize");
    let off: HashMap<String, bool> = [("Kustomize".to_owned(), false)].into();
    let p = plan(&spec(&src, &off), &entries(&["kustomization.yaml"])).unwrap();
    assert_eq!(
        (p.engine.as_str(), p.source_type),
        ("directory", Some(SourceType::Directory))
    );
    let p = plan(&spec(&src, &none), &entries(&["Chart.yaml"])).unwrap();
    assert_eq!(p.engine, "helm");
    assert_eq!(p.parameters["release-name"], "web");
    assert_eq!(p.parameters["kube-version"], "1.31.0");
}

#[test]
fn maps_helm_options() {
    let source = v1alpha1::ApplicationSource {
        helm: Some(v1alpha1::ApplicationSourceHelm {
            release_name: Some("rel".into()),
            value_files: vec!["values-prod.yaml".into()],
            parameters: vec![
                v1alpha1::HelmParameter {
                    name: Some("image.tag".into()),
                    value: Some("1.2".into()),
                    force_string: Some(true),
                },
                v1alpha1::HelmParameter {
                    name: Some("replicas".into()),
                    value: Some("3".into()),
                    force_string: None,
                },
            ],
            namespace: Some("web-ns".into()),
            api_versions: vec!["monitoring.coreos.com/v1".into()],
            skip_crds: Some(true),
            values: Some("a: 1\n".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let none = HashMap::new();
    let p = plan(&spec(&source, &none), &entries(&["Chart.yaml"])).unwrap();
    let got: Vec<(String, String)> = p.parameters.into_iter().collect();
    let want: Vec<(String, String)> = [
        ("api-versions", r#"["monitoring.coreos.com/v1"]"#),
        ("kube-version", "1.31.0"),
        ("release-name", "rel"),
        ("release-namespace", "web-ns"),
        ("set", r#"["replicas=3"]"#),
        ("set-string", r#"["image.tag=1.2"]"#),
        ("skip-crds", "true"),
        ("values", r#"["values-prod.yaml"]"#),
        ("values-yaml", "a: 1\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn refuses_what_it_cannot_render_the_same() {
    let none = HashMap::new();
    let kustomize = v1alpha1::ApplicationSource {
        kustomize: Some(v1alpha1::ApplicationSourceKustomize {
            name_prefix: Some("dev-".into()),
            images: vec!["nginx:1.27".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = plan(&spec(&kustomize, &none), &entries(&["kustomization.yaml"])).unwrap_err();
    assert!(e.to_string().contains("namePrefix, images"), "{e}");
    let both = v1alpha1::ApplicationSource {
        kustomize: Some(Default::default()),
        directory: Some(Default::default()),
        ..Default::default()
    };
    let e = plan(&spec(&both, &none), &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("multiple application sources defined: Kustomize,Directory")
    );
    let e = plan(
        &spec(&Default::default(), &none),
        &entries(&[".argocd-source-team_web.yaml"]),
    )
    .unwrap_err();
    assert!(e.to_string().contains(".argocd-source-team_web.yaml"));
}
