//! Renders every case of `tests/helm/cases.json` and compares the text
//! `helm template --include-crds` prints (object order, `# Source:` lines
//! and every byte of every document) with what real Helm v4 produced
//! (`tests/helm/regen.py`), or the error message with Helm's.
//! Cases listed in `tests/helm/known-differences.txt` may differ.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kiln_helm::{Files, Options, SetKind, ValueSources};

struct Dir(PathBuf);

impl Files for Dir {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let p = self.0.join(path);
        if p.is_file() {
            std::fs::read(&p).map(Some).map_err(|e| e.to_string())
        } else {
            Ok(None)
        }
    }
    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String> {
        let p = self.0.join(path);
        if !p.is_dir() {
            return Ok(None);
        }
        let mut names = Vec::new();
        for e in std::fs::read_dir(&p).map_err(|e| e.to_string())? {
            let e = e.map_err(|e| e.to_string())?;
            names.push(e.file_name().to_string_lossy().into_owned());
        }
        Ok(Some(names))
    }
}

fn strings(case: &serde_json::Value, key: &str) -> Vec<String> {
    case.get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn render(root: &Path, case: &serde_json::Value) -> Result<String, String> {
    let files = Dir(root.to_path_buf());
    let chart = format!("charts/{}", case["chart"].as_str().unwrap_or_default());
    let mut sets = Vec::new();
    for (key, kind) in [
        ("set", SetKind::Typed),
        ("set_string", SetKind::String),
        ("set_json", SetKind::Json),
        ("set_file", SetKind::File),
    ] {
        sets.extend(strings(case, key).into_iter().map(|s| (kind, s)));
    }
    let src = ValueSources {
        files: strings(case, "values"),
        inline_yaml: case
            .get("values_yaml")
            .and_then(|v| v.as_str())
            .map(String::from),
        sets,
        ignore_missing: false,
    };
    let flag = |k: &str| case.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    let values = kiln_helm::user_values(&files, &chart, &src).map_err(|e| e.to_string())?;
    let opts = Options {
        release_name: case["release"].as_str().unwrap_or_default().into(),
        namespace: case["namespace"].as_str().unwrap_or_default().into(),
        values,
        skip_crds: flag("skip_crds"),
        skip_tests: flag("skip_tests"),
        skip_schema_validation: flag("skip_schema_validation"),
        ..Options::default()
    };
    kiln_helm::render(&files, &chart, &opts)
        .map(|r| r.helm_template_text())
        .map_err(|e| e.to_string())
}

/// Helm lists schema violations in Go map order (it varies from run to
/// run), so those messages are compared as sets of lines.
fn same_schema_errors(got: &Result<String, String>, want: &Result<String, String>) -> bool {
    let (Err(g), Err(w)) = (got, want) else {
        return false;
    };
    let lines = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    w.starts_with("values don't meet the specifications") && lines(g) == lines(w)
}

#[test]
fn golden_cases_match_helm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/helm");
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("cases.json")).unwrap()).unwrap();
    let known: Vec<String> = std::fs::read_to_string(root.join("known-differences.txt"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let (mut passed, mut failures, mut fixed) = (0, Vec::new(), Vec::new());
    for case in &cases {
        let name = case["name"].as_str().unwrap_or_default().to_string();
        let exp = root.join("expected");
        let want = match std::fs::read_to_string(exp.join(format!("{name}.yaml"))) {
            Ok(t) => Ok(t),
            Err(_) => Err(
                std::fs::read_to_string(exp.join(format!("{name}.error.txt")))
                    .unwrap_or_else(|_| {
                        panic!("{name}: no expected output (run tests/helm/regen.py)")
                    })
                    .trim_end_matches('\n')
                    .to_string(),
            ),
        };
        let got = render(&root, case);
        let dump = std::env::temp_dir().join("kiln-helm-golden");
        let _ = std::fs::create_dir_all(&dump);
        let _ = std::fs::write(
            dump.join(&name),
            match &got {
                Ok(t) | Err(t) => t,
            },
        );
        // Kiln may name the file or parameter before Helm's message.
        let ok = got == want
            || same_schema_errors(&got, &want)
            || matches!((&got, &want), (Err(g), Err(w)) if g.ends_with(&format!(": {w}")));
        if ok {
            passed += 1;
            if known.contains(&name) {
                fixed.push(name);
            }
        } else if !known.contains(&name) {
            failures.push(format!("{name}:\n--- want\n{want:?}\n--- got\n{got:?}"));
        }
    }
    println!("{passed}/{} cases identical to Helm", cases.len());
    if !fixed.is_empty() {
        println!("now matching, remove from known-differences.txt: {fixed:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Helm:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
