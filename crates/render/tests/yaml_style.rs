//! `manifests_to_yaml` prints objects byte for byte as `kubectl kustomize`
//! (Kustomize v5.5.0) does, checked against the golden files in
//! `tests/yaml-style` (see `regen.sh` there).
//!
//! Each case folder's `resources.yaml` is read here too, and every object is
//! printed on its own and compared with the object of the same name in
//! `<case>.expected.yaml`; then the whole stream is compared, in the order
//! kustomize chose.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, fmt::Write as _, fs, path::PathBuf};

use kiln_render::manifests_to_yaml;
use serde::Deserialize;
use serde_json::Value;

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/yaml-style")
}

/// The objects of a multi-document YAML file, as JSON text.
fn read_objects(text: &str) -> Vec<String> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| serde_json::to_string(&Value::deserialize(doc).unwrap()).unwrap())
        .collect()
}

/// The documents of a YAML stream as kustomize prints it, each ending in a
/// line feed.
fn split_stream(text: &str) -> Vec<String> {
    let mut docs: Vec<String> = text.split("\n---\n").map(|d| format!("{d}\n")).collect();
    if let Some(last) = docs.last_mut() {
        last.pop();
    }
    docs
}

/// `metadata.name` of a printed object: the `name` line directly inside the
/// top-level `metadata` block (the fixtures use plain names).
fn printed_name(doc: &str) -> &str {
    doc.lines()
        .skip_while(|l| *l != "metadata:")
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .find_map(|l| l.strip_prefix("  name: "))
        .expect("metadata.name")
}

/// Where two texts first differ, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let at = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .unwrap_or(0);
    let mut s = String::new();
    for i in at.saturating_sub(2)..(at + 3).min(w.len().max(g.len())) {
        let _ = writeln!(
            s,
            "  line {:>4} want: {:?}",
            i + 1,
            w.get(i).copied().unwrap_or("<none>")
        );
        let _ = writeln!(
            s,
            "            got:  {:?}",
            g.get(i).copied().unwrap_or("<none>")
        );
    }
    s
}

#[test]
fn prints_like_kubectl_kustomize() {
    let mut cases: Vec<PathBuf> = fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("kustomization.yaml").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 4,
        "missing golden cases in {}",
        cases_dir().display()
    );

    let mut failures = Vec::new();
    let mut compared = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let objects = read_objects(&fs::read_to_string(case.join("resources.yaml")).unwrap());
        let expected_path = cases_dir().join(format!("{name}.expected.yaml"));
        let expected = fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run tests/yaml-style/regen.sh",
                expected_path.display()
            )
        });

        let mut by_name = BTreeMap::new();
        for json in &objects {
            let v: Value = serde_json::from_str(json).unwrap();
            let object_name = v["metadata"]["name"].as_str().unwrap().to_owned();
            by_name.insert(object_name, json.clone());
        }
        let docs = split_stream(&expected);
        assert_eq!(
            docs.len(),
            objects.len(),
            "{name}: object count differs from the golden file"
        );

        let mut ordered = Vec::new();
        for doc in &docs {
            let object_name = printed_name(doc);
            let json = by_name.get(object_name).unwrap_or_else(|| {
                panic!("{name}: golden object {object_name:?} not in resources.yaml")
            });
            ordered.push(json.clone());
            let got = manifests_to_yaml(std::slice::from_ref(json)).unwrap();
            compared += 1;
            if &got != doc {
                failures.push(format!(
                    "{name}/{object_name}:\n{}",
                    first_difference(doc, &got)
                ));
            }
        }
        if failures.is_empty() {
            assert_eq!(
                manifests_to_yaml(&ordered).unwrap(),
                expected,
                "{name}: whole stream"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} objects differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
