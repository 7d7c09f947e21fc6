//! The golden corpus: every case under tests/kustomize/cases built by this
//! crate and printed by Kiln's YAML printer must equal, byte for byte, what
//! `kubectl kustomize` (Kustomize v5.5.0) printed for it
//! (tests/kustomize/expected/<case>.yaml), or fail where it failed
//! (<case>.error). Cases listed in tests/kustomize/known-differences.txt
//! must still differ, so the list stays true.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// A case folder as a file view.
struct Dir(PathBuf);

impl kiln_kustomize::Files for Dir {
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
        let mut names: Vec<String> = std::fs::read_dir(&p)
            .map_err(|e| e.to_string())?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        names.sort();
        Ok(Some(names))
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/kustomize")
}

/// Builds one case; Ok(yaml) or Err(message).
pub fn build_case(case: &Path) -> Result<String, String> {
    let build_path = std::fs::read_to_string(case.join("build-path"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let objects =
        kiln_kustomize::build(&Dir(case.to_path_buf()), &build_path).map_err(|e| e.to_string())?;
    let json: Vec<String> = objects.iter().map(|o| o.to_string()).collect();
    kiln_render::manifests_to_yaml(&json).map_err(|e| e.to_string())
}

#[test]
fn the_golden_corpus_matches_kubectl_kustomize() {
    let root = corpus();
    let known: BTreeMap<String, String> =
        std::fs::read_to_string(root.join("known-differences.txt"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| match l.split_once(' ') {
                Some((c, why)) => (c.to_owned(), why.trim().to_owned()),
                None => (l.to_owned(), String::new()),
            })
            .collect();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let (mut pass, mut unexpected, mut stale) = (0, Vec::new(), Vec::new());
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expected = root.join("expected");
        let want_yaml = std::fs::read_to_string(expected.join(format!("{name}.yaml"))).ok();
        let want_error = expected.join(format!("{name}.error")).is_file();
        assert!(
            want_yaml.is_some() != want_error,
            "{name}: needs exactly one of expected/{name}.yaml and .error"
        );
        let got = build_case(case);
        let ok = match (&got, &want_yaml) {
            (Ok(y), Some(w)) => y == w,
            (Err(_), None) => true,
            _ => false,
        };
        match (ok, known.contains_key(&name)) {
            (true, false) => pass += 1,
            (true, true) => stale.push(name),
            (false, true) => {
                // GOLDEN_SHOW=case,case (or `all`) prints how listed cases differ.
                let show = std::env::var("GOLDEN_SHOW").unwrap_or_default();
                if show == "all" || show.split(',').any(|c| c == name) {
                    match &got {
                        Ok(y) => match &want_yaml {
                            Some(w) => println!("{name}: output differs:\n{}", diff(w, y)),
                            None => println!("{name}: kustomize fails, Kiln built it"),
                        },
                        Err(e) => println!("{name}: {e}"),
                    }
                }
            }
            (false, false) => unexpected.push(match got {
                Ok(y) if want_yaml.is_some() => format!(
                    "{name}: output differs:\n{}",
                    diff(want_yaml.as_deref().unwrap_or(""), &y)
                ),
                Ok(_) => format!("{name}: kustomize fails, Kiln built it"),
                Err(e) => format!("{name}: {e}"),
            }),
        }
    }
    println!(
        "kustomize corpus: {pass} of {} cases identical; {} known differences",
        cases.len(),
        known.len()
    );
    assert!(
        stale.is_empty(),
        "these cases now pass; remove them from known-differences.txt: {stale:?}"
    );
    assert!(
        unexpected.is_empty(),
        "{} cases differ from kubectl kustomize:\n\n{}",
        unexpected.len(),
        unexpected.join("\n\n")
    );
}

/// The first differing lines, for the failure message.
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let first = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let from = first.saturating_sub(3);
    let show = |lines: &[&str]| {
        lines
            .iter()
            .skip(from)
            .take(8)
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "  line {}:\n  kubectl:\n{}\n  kiln:\n{}",
        first + 1,
        show(&w),
        show(&g)
    )
}
