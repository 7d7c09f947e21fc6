//! The library's options: capabilities, determinism, archives, notes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use kiln_helm::{Files, Options};

/// An in-memory repository.
struct Mem(BTreeMap<String, Vec<u8>>);

impl Files for Mem {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.get(path).cloned())
    }
    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String> {
        let prefix = format!("{path}/");
        let mut names: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        names.dedup();
        Ok((!names.is_empty()).then_some(names))
    }
}

fn chart(template: &str) -> Mem {
    let mut m = BTreeMap::new();
    m.insert(
        "c/Chart.yaml".into(),
        b"apiVersion: v2\nname: c\nversion: 0.1.0\n".to_vec(),
    );
    m.insert("c/templates/cm.yaml".into(), template.as_bytes().to_vec());
    m.insert(
        "c/templates/NOTES.txt".into(),
        b"Hi {{ .Release.Name }}".to_vec(),
    );
    Mem(m)
}

fn data(files: &Mem, opts: &Options) -> serde_json::Value {
    let out = kiln_helm::render(files, "c", opts).unwrap();
    out.objects()[0].1["data"].clone()
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n";

#[test]
fn capabilities_are_configurable() {
    let files = chart(&format!(
        "{CM}  kube: {{{{ .Capabilities.KubeVersion.Version }}}}\n  has: {{{{ .Capabilities.APIVersions.Has \"example.com/v1\" | quote }}}}\n"
    ));
    let d = data(&files, &Options::default());
    assert_eq!(d["kube"], "v1.36.0");
    assert_eq!(d["has"], "false");
    let opts = Options {
        kube_version: Some("1.30".into()),
        api_versions: vec!["example.com/v1".into()],
        ..Options::default()
    };
    let d = data(&files, &opts);
    assert_eq!(d["kube"], "v1.30.0");
    assert_eq!(d["has"], "true");
}

#[test]
fn random_and_time_come_from_the_options() {
    let files = chart(&format!(
        "{CM}  r: {{{{ randAlphaNum 16 | quote }}}}\n  t: {{{{ now | date \"2006-01-02\" | quote }}}}\n"
    ));
    let opts = |seed| Options {
        seed,
        now_unix: 1_700_000_000,
        ..Options::default()
    };
    let (a, b, c) = (
        data(&files, &opts(1)),
        data(&files, &opts(1)),
        data(&files, &opts(2)),
    );
    assert_eq!(a, b);
    assert_ne!(a["r"], c["r"]);
    assert_eq!(a["t"], "2023-11-14");
}

#[test]
fn release_defaults_and_notes() {
    let files = chart(&format!(
        "{CM}  n: {{{{ .Release.Name }}}}/{{{{ .Release.Namespace }}}}\n"
    ));
    let out = kiln_helm::render(&files, "c", &Options::default()).unwrap();
    assert_eq!(out.objects()[0].1["data"]["n"], "release-name/default");
    assert_eq!(out.notes.as_deref(), Some("Hi release-name"));
    assert_eq!(out.manifests[0].source, "c/templates/cm.yaml");
}

#[test]
fn a_chart_archive_renders_like_its_folder() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/helm");
    let tgz = std::fs::read(root.join("charts/umbrella/charts/cache-1.2.0.tgz")).unwrap();
    let mut m = BTreeMap::new();
    m.insert("cache-1.2.0.tgz".to_string(), tgz);
    // As in Helm, a chart rendered on its own has no `global` unless given.
    let mut values = serde_json::Map::new();
    values.insert(
        "global".into(),
        serde_json::json!({"imageRegistry": "r.io"}),
    );
    let opts = Options {
        values,
        ..Options::default()
    };
    let out = kiln_helm::render(&Mem(m), "cache-1.2.0.tgz", &opts).unwrap();
    let kinds: Vec<String> = out
        .objects()
        .iter()
        .map(|(_, o)| o["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(kinds, ["Service", "StatefulSet"]);
}

#[test]
fn errors_name_the_file() {
    let files = chart("{{ .Values.a.b.c }}");
    let err = kiln_helm::render(&files, "c", &Options::default()).unwrap_err();
    let kiln_helm::Error::Template { file, message } = &err else {
        panic!("{err}")
    };
    assert_eq!(file, "c/templates/cm.yaml");
    assert!(message.starts_with("c/templates/cm.yaml:1:10"), "{message}");
}

#[test]
fn a_declared_dependency_missing_from_charts_is_an_error() {
    let mut files = chart(&format!("{CM}  a: b\n"));
    files.0.insert(
        "c/Chart.yaml".into(),
        b"apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 1.x\n  repository: https://charts.example.invalid\n  condition: redis.enabled\n- name: common\n  version: 2.0.0\n  repository: file://../common\n".to_vec(),
    );
    let err = kiln_helm::render(&files, "c", &Options::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "c/Chart.yaml: an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: redis, common"
    );
    // Vendored, the same chart renders.
    for dep in ["redis", "common"] {
        files.0.insert(
            format!("c/charts/{dep}/Chart.yaml"),
            format!("apiVersion: v2\nname: {dep}\nversion: 2.0.0\n").into_bytes(),
        );
    }
    assert_eq!(data(&files, &Options::default())["a"], "b");
}
