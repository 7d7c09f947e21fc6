//! Helm v4's `helm template`, with no IO: a chart (folder or `.tgz`, with
//! subcharts) read through a [`Files`] view, values merged in Helm's
//! order, templates run by `kiln-gotmpl`, output split, parsed and sorted
//! in Helm's install order, each document tagged with its source template.
//!
//! It does no IO of its own: dependencies from HTTP chart repositories
//! that `charts/` lacks are read from the host's [`CHART_REPO_DIR`] view
//! ([`add_repository_dependencies`]). It does not contact a cluster
//! (`lookup` is empty) or run hooks (they are emitted after the other
//! objects, as `helm template` prints them).
//! Randomness and `now` come from [`Options::seed`] and [`Options::now_unix`].
//!
//! ```no_run
//! # struct Repo;
//! # impl kiln_helm::Files for Repo {
//! #     fn read(&self, _: &str) -> Result<Option<Vec<u8>>, String> { Ok(None) }
//! #     fn list(&self, _: &str) -> Result<Option<Vec<String>>, String> { Ok(None) }
//! # }
//! let opts = kiln_helm::Options { release_name: "web".into(), ..Default::default() };
//! let out = kiln_helm::render(&Repo, "charts/web", &opts)?;
//! for m in &out.manifests { let _ = (&m.source, &m.object); }
//! # Ok::<(), kiln_helm::Error>(())
//! ```

#![forbid(unsafe_code)]

mod chart;
mod engine;
mod error;
mod files;
mod funcs;
mod ignore;
mod objects;
mod schema;
mod sort;
mod strvals;
mod toml;
mod values;
mod yaml;

use serde_json::{Map, Value};

pub use self::{
    chart::{CHART_REPO_DIR, Chart, add_repository_dependencies, load_archive, load_dir},
    engine::DEFAULT_API_VERSIONS,
    error::Error,
    files::{Files, join},
    sort::{INSTALL_ORDER, Manifest},
    strvals::SetKind,
};

/// The Kubernetes version `.Capabilities.KubeVersion` reports by default.
pub const DEFAULT_KUBE_VERSION: &str = "v1.36.0";
/// The Helm version `.Capabilities.HelmVersion.Version` reports.
pub const HELM_VERSION: &str = "v4.2";
/// The file that marks a chart folder.
pub const MARKER: &str = "Chart.yaml";

/// What to render: release identity, user values, capabilities, switches.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `.Release.Name` (default `release-name`, as `helm template`).
    pub release_name: String,
    /// `.Release.Namespace` (default `default`).
    pub namespace: String,
    /// User-supplied values (files and `--set`s merged; see [`user_values`]).
    pub values: Map<String, Value>,
    /// `--kube-version` (default [`DEFAULT_KUBE_VERSION`]).
    pub kube_version: Option<String>,
    /// `--api-versions`, added to [`DEFAULT_API_VERSIONS`].
    pub api_versions: Vec<String>,
    /// `--skip-crds`: leave out `crds/` files.
    pub skip_crds: bool,
    /// `--skip-tests`: leave out test hooks.
    pub skip_tests: bool,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
    /// Seed of Sprig's random functions.
    pub seed: u64,
    /// What `now` returns (Unix seconds).
    pub now_unix: i64,
}

/// The output of a render, in `helm template --include-crds` order.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    /// Files under `crds/` (each whole, as Helm prints them).
    pub crds: Vec<Manifest>,
    /// The objects of the templates, in install order.
    pub manifests: Vec<Manifest>,
    /// Hook objects, after the others (as `helm template` prints them).
    pub hooks: Vec<Manifest>,
    /// The root chart's rendered `NOTES.txt`, never an object.
    pub notes: Option<String>,
}

impl Rendered {
    /// The text `helm template --include-crds` prints.
    pub fn helm_template_text(&self) -> String {
        let mut out = String::new();
        for m in self.crds.iter().chain(&self.manifests).chain(&self.hooks) {
            out.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
        }
        out
    }

    /// Every object in order with its source; documents that are only
    /// comments are skipped and `kind: List` is not expanded.
    pub fn objects(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for m in &self.crds {
            for o in yaml::parse_all(&m.content).unwrap_or_default() {
                if o.is_object() {
                    out.push((m.source.clone(), o));
                }
            }
        }
        for m in self.manifests.iter().chain(&self.hooks) {
            if m.object.is_object() {
                out.push((m.source.clone(), m.object.clone()));
            }
        }
        out
    }
}

/// Loads the chart at `chart_dir` (or a `.tgz` file) and renders it.
pub fn render(files: &dyn Files, chart_dir: &str, opts: &Options) -> Result<Rendered, Error> {
    let mut chart = if chart_dir.ends_with(".tgz") {
        let bytes = files
            .read(chart_dir)
            .map_err(|message| Error::Read {
                path: chart_dir.to_string(),
                message,
            })?
            .ok_or_else(|| Error::Chart {
                file: chart_dir.to_string(),
                message: "no such file".into(),
            })?;
        load_archive(&bytes, chart_dir)?
    } else {
        let mut chart = load_dir(files, chart_dir)?;
        add_repository_dependencies(files, chart_dir, &mut chart)?;
        chart
    };
    render_chart(&mut chart, opts)
}

/// `helm template`'s dependency check: every dependency the top chart
/// declares must be present under charts/ (by chart name, whatever its
/// condition), or nothing renders.
fn check_dependencies(chart: &Chart) -> Result<(), Error> {
    let missing: Vec<String> = chart
        .declared_dependencies()
        .iter()
        .filter_map(|d| d.get("name").and_then(serde_json::Value::as_str))
        .filter(|name| !chart.dependencies.iter().any(|c| c.name() == *name))
        .map(String::from)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Chart {
        file: format!("{}/Chart.yaml", chart.origin),
        message: format!(
            "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
            missing.join(", ")
        ),
    })
}

/// Renders a loaded chart.
pub fn render_chart(chart: &mut Chart, opts: &Options) -> Result<Rendered, Error> {
    let mut opts = opts.clone();
    if opts.release_name.is_empty() {
        opts.release_name = "release-name".into();
    }
    if opts.namespace.is_empty() {
        opts.namespace = "default".into();
    }
    if !valid_release_name(&opts.release_name) {
        return Err(Error::Values {
            source_name: "release-name".into(),
            message: format!(
                "release name check failed: release name \"{}\": invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53",
                opts.release_name
            ),
        });
    }
    if chart.is_library() {
        return Err(Error::Chart {
            file: format!("{}/Chart.yaml", chart.origin),
            message: "library charts are not installable".into(),
        });
    }
    check_dependencies(chart)?;
    let rendered = engine::render(chart, &opts)?;
    let notes_name = format!("{}/templates/NOTES.txt", chart.name());
    let mut notes = None;
    let mut kept = Vec::new();
    for (name, text) in rendered {
        if name.ends_with("NOTES.txt") {
            if name == notes_name {
                notes = Some(text);
            }
            continue;
        }
        kept.push((name, text));
    }
    let (manifests, hooks) = sort::sort(&kept, opts.skip_tests)?;
    let mut crds = Vec::new();
    if !opts.skip_crds {
        crd_objects(chart, chart.name(), &mut crds);
    }
    Ok(Rendered {
        crds,
        manifests,
        hooks,
        notes,
    })
}

/// Helm's release name rule: a DNS subdomain of at most 53 characters.
fn valid_release_name(name: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    name.len() <= 53 && name.split('.').all(label)
}

fn crd_objects(c: &Chart, full: &str, out: &mut Vec<Manifest>) {
    for (name, data) in &c.files {
        if name.starts_with("crds/")
            && (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
        {
            let content = String::from_utf8_lossy(data).into_owned();
            out.push(Manifest {
                source: format!("{full}/{name}"),
                object: Value::Null,
                content,
            });
        }
    }
    for d in &c.dependencies {
        crd_objects(d, &format!("{full}/charts/{}", d.name()), out);
    }
}

/// Where user values come from, in Helm's order of precedence (lowest first).
#[derive(Clone, Debug, Default)]
pub struct ValueSources {
    /// `--values` files, relative to the chart folder (may leave it, not the repository).
    pub files: Vec<String>,
    /// An extra values document applied after the files (Argo CD's `values`).
    pub inline_yaml: Option<String>,
    /// `--set`-style expressions, in order.
    pub sets: Vec<(SetKind, String)>,
    /// Skip values files that do not exist.
    pub ignore_missing: bool,
}

/// Merges user values as the Helm CLI does (`values.Options.MergeValues`).
pub fn user_values(
    files: &dyn Files,
    chart_dir: &str,
    src: &ValueSources,
) -> Result<Map<String, Value>, Error> {
    let mut base = Map::new();
    let read = |p: &str| -> Result<Option<Vec<u8>>, Error> {
        let path = join(chart_dir, p).ok_or_else(|| Error::Values {
            source_name: p.to_string(),
            message: "path leaves the repository".into(),
        })?;
        files
            .read(&path)
            .map_err(|message| Error::Read { path, message })
    };
    for f in &src.files {
        let Some(bytes) = read(f)? else {
            if src.ignore_missing {
                continue;
            }
            return Err(Error::Values {
                source_name: f.clone(),
                message: format!("open {f}: no such file or directory"),
            });
        };
        base = values::merge_maps(base, parse_values(f, &String::from_utf8_lossy(&bytes))?);
    }
    if let Some(y) = &src.inline_yaml {
        base = values::merge_maps(base, parse_values("values-yaml", y)?);
    }
    for (kind, expr) in &src.sets {
        let mut read_file = |p: &str| -> Result<String, String> {
            match read(p) {
                Ok(Some(b)) => Ok(String::from_utf8_lossy(&b).into_owned()),
                Ok(None) => Err(format!("open {p}: no such file or directory")),
                Err(e) => Err(e.to_string()),
            }
        };
        let name = match kind {
            SetKind::Typed => "set",
            SetKind::String => "set-string",
            SetKind::Json => "set-json",
            SetKind::File => "set-file",
        };
        strvals::parse_into(expr, &mut base, *kind, &mut read_file).map_err(|m| Error::Values {
            source_name: format!("{name} {expr}"),
            message: format!("failed parsing --{name} data: {m}"),
        })?;
    }
    Ok(base)
}

fn parse_values(name: &str, text: &str) -> Result<Map<String, Value>, Error> {
    match yaml::parse(text) {
        Ok(Value::Object(m)) => match funcs::go_numbers(Value::Object(m)) {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        },
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Error::Values {
            source_name: name.to_string(),
            message: "values are not a map".into(),
        }),
        Err(e) => Err(Error::Values {
            source_name: name.to_string(),
            message: format!("failed to parse {name}: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_helms_rule() {
        assert!(valid_release_name("web"));
        assert!(valid_release_name("a.b-c1"));
        assert!(!valid_release_name("Bad_Name"));
        assert!(!valid_release_name("-x"));
        assert!(!valid_release_name(&"a".repeat(54)));
    }
}
