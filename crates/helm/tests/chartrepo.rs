//! `add_repository_dependencies` through `render`: the umbrella corpus chart
//! with its `cache` subchart taken out of `charts/` and served under the
//! host's `.kiln-chartrepo` view renders what real Helm renders with it
//! vendored (`tests/helm/expected/umbrella-default.yaml`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{cell::RefCell, path::PathBuf};

use kiln_helm::{Files, Options};

const TGZ: &str = "charts/umbrella/charts/cache-1.2.0.tgz";
const REPO: &str = "http://charts.test/stable";

/// The corpus, with the vendored archive hidden, Chart.yaml pointing at
/// [`REPO`] with a constraint, an optional Chart.lock, and the archive
/// served at the reserved path; every reserved path asked is recorded.
struct Overlay {
    root: PathBuf,
    lock: Option<String>,
    asked: RefCell<Vec<String>>,
    fail: bool,
}

impl Files for Overlay {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        if path.starts_with(kiln_helm::CHART_REPO_DIR) {
            self.asked.borrow_mut().push(path.to_owned());
            if self.fail {
                return Err("not on this server's allowlist".into());
            }
            return Ok(Some(std::fs::read(self.root.join(TGZ)).unwrap()));
        }
        match path {
            TGZ => return Ok(None),
            "charts/umbrella/Chart.lock" => return Ok(self.lock.clone().map(String::into_bytes)),
            "charts/umbrella/Chart.yaml" => {
                let text = std::fs::read_to_string(self.root.join(path)).unwrap();
                let text = text
                    .replace("https://charts.example.invalid", REPO)
                    .replace("version: 1.2.0", "version: ~1.2.0");
                return Ok(Some(text.into_bytes()));
            }
            _ => {}
        }
        let p = self.root.join(path);
        Ok(p.is_file().then(|| std::fs::read(&p).unwrap()))
    }

    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String> {
        let p = self.root.join(path);
        if !p.is_dir() {
            return Ok(None);
        }
        let mut names: Vec<String> = std::fs::read_dir(&p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| format!("{path}/{n}") != TGZ)
            .collect();
        if path == "charts/umbrella" && self.lock.is_some() {
            names.push("Chart.lock".into());
        }
        Ok(Some(names))
    }
}

fn overlay(lock: Option<&str>, fail: bool) -> Overlay {
    Overlay {
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/helm"),
        lock: lock.map(String::from),
        asked: RefCell::new(Vec::new()),
        fail,
    }
}

fn options() -> Options {
    Options {
        release_name: "plat".into(),
        namespace: "platform".into(),
        ..Options::default()
    }
}

#[test]
fn a_repository_dependency_renders_as_if_vendored() {
    let files = overlay(None, false);
    let want = std::fs::read_to_string(files.root.join("expected/umbrella-default.yaml")).unwrap();
    let got = kiln_helm::render(&files, "charts/umbrella", &options()).unwrap();
    assert_eq!(got.helm_template_text(), want);
    // Chart.yaml's constraint, percent-encoded; file:// dependencies and
    // vendored ones are not asked for.
    assert_eq!(
        *files.asked.borrow(),
        [".kiln-chartrepo/http%3A%2F%2Fcharts%2Etest%2Fstable/cache/%7E1%2E2%2E0"]
    );
}

#[test]
fn chart_lock_pins_the_version_and_failures_name_the_dependency() {
    let lock = format!(
        "dependencies:\n- name: common\n  repository: file://charts/common\n  version: 2.0.0\n- name: cache\n  repository: {REPO}\n  version: 1.2.0\n"
    );
    let files = overlay(Some(&lock), false);
    kiln_helm::render(&files, "charts/umbrella", &options()).unwrap();
    assert_eq!(
        *files.asked.borrow(),
        [".kiln-chartrepo/http%3A%2F%2Fcharts%2Etest%2Fstable/cache/1%2E2%2E0"]
    );

    let files = overlay(None, true);
    let e = kiln_helm::render(&files, "charts/umbrella", &options()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("dependency cache ~1.2.0 from http://charts.test/stable"),
        "{msg}"
    );
    assert!(msg.contains("not on this server's allowlist"), "{msg}");
}
