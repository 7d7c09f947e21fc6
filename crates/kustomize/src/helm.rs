//! `helmCharts` (and the legacy `helmChartInflationGenerator`): each chart
//! is read from `<chartHome>/<name>` through the build's file view and
//! rendered with `kiln-helm`, as Kustomize v5.5's
//! HelmChartInflationGenerator runs `helm template`:
//!
//! * values: the chart's `values.yaml` (or `valuesFile`), combined with
//!   `valuesInline` by `valuesMerge` (`override`, the default: inline wins;
//!   `merge`: the file wins; `replace`: inline only), with kyaml's merge
//!   (a `null` deletes, lists are replaced unless their items are keyed by
//!   `name` and the like); then each of `additionalValuesFiles`, merged as
//!   Helm merges `-f` files; the chart's defaults under all of them;
//! * flags: `releaseName`, `namespace` (`.Release.Namespace` only; objects
//!   are not moved), `includeCRDs` (CRD files first), `skipHooks` (hooks,
//!   printed last, left out), `skipTests`, `apiVersions`, `kubeVersion`;
//! * output: what `helm template` prints, read as a resource file is read.
//!
//! Differences, all deliberate: nothing is fetched (a chart with `repo:` must
//! already be under its chart home, where `helm pull` would put it); without
//! `releaseName` Helm would invent `<chart>-<unix time>`, Kiln uses
//! `release-name` so the output is deterministic (as are Sprig's random
//! functions, seeded from the chart and release, and `now`, the epoch);
//! `nameTemplate` with a template is refused.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    Error, Files, generators, paths,
    resource::{Resource, parse_objects},
};

/// Kustomize's `helmGlobals`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct HelmGlobals {
    #[serde(default)]
    pub chart_home: String,
    /// Where helm keeps its configuration; Kiln runs no helm binary.
    #[serde(default)]
    #[allow(dead_code, reason = "accepted as Kustomize accepts it; no helm runs")]
    pub config_home: String,
}

/// An entry of `helmCharts`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct HelmChart {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub repo: String,
    #[serde(default)]
    pub release_name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub additional_values_files: Vec<String>,
    #[serde(default)]
    pub values_file: String,
    #[serde(default)]
    pub values_inline: Map<String, Value>,
    #[serde(default)]
    pub values_merge: String,
    #[serde(default, rename = "includeCRDs")]
    pub include_crds: bool,
    #[serde(default)]
    pub skip_hooks: bool,
    #[serde(default)]
    pub api_versions: Vec<String>,
    #[serde(default)]
    pub kube_version: String,
    #[serde(default)]
    pub name_template: String,
    #[serde(default)]
    pub skip_tests: bool,
    /// `--debug`: only changes helm's error output.
    #[serde(default)]
    #[allow(dead_code, reason = "accepted as Kustomize accepts it; no helm runs")]
    pub debug: bool,
}

/// An entry of the deprecated `helmChartInflationGenerator`.
#[allow(
    dead_code,
    reason = "accepted as Kustomize accepts them; Kustomize ignores them too"
)]
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct HelmChartArgs {
    #[serde(default)]
    pub chart_name: String,
    #[serde(default)]
    pub chart_version: String,
    #[serde(default, rename = "chartRepoUrl")]
    pub chart_repo_url: String,
    #[serde(default)]
    pub chart_home: String,
    #[serde(default)]
    pub chart_repo_name: String,
    #[serde(default)]
    pub helm_bin: String,
    #[serde(default)]
    pub helm_home: String,
    #[serde(default)]
    pub values: String,
    #[serde(default)]
    pub values_local: Map<String, Value>,
    #[serde(default)]
    pub values_merge: String,
    #[serde(default)]
    pub release_name: String,
    #[serde(default)]
    pub release_namespace: String,
    #[serde(default)]
    pub extra_args: Vec<String>,
}

/// The charts of a kustomization with their globals, the legacy field
/// converted as Kustomize converts it (the last non-empty chart home wins).
pub(crate) fn charts(
    globals: Option<&HelmGlobals>,
    charts: &[HelmChart],
    legacy: &[HelmChartArgs],
) -> (HelmGlobals, Vec<HelmChart>) {
    let mut g = globals.cloned().unwrap_or_default();
    let mut out = charts.to_vec();
    for old in legacy {
        if !old.chart_home.is_empty() {
            g.chart_home = old.chart_home.clone();
        }
        out.push(HelmChart {
            name: old.chart_name.clone(),
            version: old.chart_version.clone(),
            repo: old.chart_repo_url.clone(),
            values_file: old.values.clone(),
            values_inline: old.values_local.clone(),
            values_merge: old.values_merge.clone(),
            release_name: old.release_name.clone(),
            ..HelmChart::default()
        });
    }
    (g, out)
}

/// The build's file view as `kiln-helm` reads it.
struct HelmFiles<'a>(&'a dyn Files);

impl kiln_helm::Files for HelmFiles<'_> {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        self.0.read(path)
    }
    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String> {
        self.0.list(path)
    }
}

/// Inflates one chart of the kustomization `file` in directory `dir`.
pub(crate) fn inflate(
    files: &dyn Files,
    dir: &str,
    file: &str,
    field: &str,
    globals: &HelmGlobals,
    chart: &HelmChart,
) -> Result<Vec<Resource>, Error> {
    let err = |cause: String| Error::Entry {
        file: file.to_owned(),
        field: field.to_owned(),
        entry: chart.name.clone(),
        cause,
    };
    if chart.name.is_empty() {
        return Err(err("chart name cannot be empty".into()));
    }
    let combine = match chart.values_merge.as_str() {
        "" | "override" => Combine::Override,
        "merge" => Combine::Merge,
        "replace" => Combine::Replace,
        _ => {
            return Err(err(
                "valuesMerge must be one of [merge override replace]".into()
            ));
        }
    };
    if chart.name_template.contains("{{") {
        return Err(Error::Unsupported {
            file: file.to_owned(),
            field: format!("{field}.nameTemplate"),
            cause: format!(
                "chart '{}': a release name template is not supported; set releaseName",
                chart.name
            ),
        });
    }
    let home_rel = if globals.chart_home.is_empty() {
        "charts"
    } else {
        globals.chart_home.as_str()
    };
    let mut home = paths::join(dir, home_rel)
        .ok_or_else(|| err(format!("chartHome '{home_rel}' leaves the repository")))?;
    if !chart.version.is_empty() && !chart.repo.is_empty() {
        home = format!("{home}/{}-{}", chart.name, chart.version);
    }
    let chart_dir = paths::join(&home, &chart.name)
        .ok_or_else(|| err("the chart path leaves the repository".into()))?;
    let present = files
        .list(&chart_dir)
        .map_err(|cause| Error::Read {
            path: chart_dir.clone(),
            cause,
        })?
        .is_some();
    if !present {
        if chart.repo.is_empty() {
            return Err(err(format!(
                "no repo specified for pull, no chart found at '{chart_dir}'"
            )));
        }
        return Err(Error::Unsupported {
            file: file.to_owned(),
            field: field.to_owned(),
            cause: format!(
                "chart '{}' is not in '{chart_dir}', and the kustomize engine does not fetch charts from remote chart repositories ({}); vendor the chart there (e.g. helm pull --untar)",
                chart.name, chart.repo
            ),
        });
    }
    // The values file helm gets first: the chart's own, or valuesFile.
    let values_text = if chart.values_file.is_empty() {
        let path = format!("{chart_dir}/values.yaml");
        match files.read(&path) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(err(format!("no values file at '{path}'"))),
            Err(cause) => return Err(Error::Read { path, cause }),
        }
    } else {
        generators::read_inside(files, dir, file, field, &chart.values_file)?
    };
    let values_text = if chart.values_inline.is_empty() {
        String::from_utf8_lossy(&values_text).into_owned()
    } else {
        let inline = Value::Object(chart.values_inline.clone());
        let merged = match combine {
            Combine::Replace => inline,
            Combine::Override | Combine::Merge => {
                let from_file: Value = if values_text.iter().all(u8::is_ascii_whitespace) {
                    Value::Object(Map::new())
                } else {
                    serde_yaml::from_slice(&values_text)
                        .map_err(|e| err(format!("could not parse values file: {e}")))?
                };
                let from_file = match from_file {
                    Value::Null => Value::Object(Map::new()),
                    v => v,
                };
                if combine == Combine::Override {
                    kyaml_merge(inline, from_file)
                } else {
                    kyaml_merge(from_file, inline)
                }
            }
        };
        merged.to_string()
    };
    let mut texts = vec![("values".to_owned(), values_text)];
    for f in &chart.additional_values_files {
        let bytes = generators::read_inside(files, dir, file, field, f)?;
        texts.push((f.clone(), String::from_utf8_lossy(&bytes).into_owned()));
    }
    let hf = HelmFiles(files);
    let helm_err = |e: kiln_helm::Error| err(format!("helm template: {e}"));
    let mut values = Map::new();
    for (_, text) in &texts {
        let src = kiln_helm::ValueSources {
            inline_yaml: Some(text.clone()),
            ..Default::default()
        };
        let v = kiln_helm::user_values(&hf, &chart_dir, &src).map_err(helm_err)?;
        merge_maps(&mut values, v);
    }
    let release_name = if !chart.release_name.is_empty() {
        chart.release_name.clone()
    } else if !chart.name_template.is_empty() {
        chart.name_template.clone()
    } else {
        String::new()
    };
    let seed = {
        use sha2::Digest as _;
        let d = sha2::Sha256::digest(format!("{chart_dir}\n{release_name}"));
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        u64::from_le_bytes(b)
    };
    let opts = kiln_helm::Options {
        release_name,
        namespace: chart.namespace.clone(),
        values,
        kube_version: Some(chart.kube_version.clone()).filter(|v| !v.is_empty()),
        api_versions: chart.api_versions.clone(),
        skip_crds: !chart.include_crds,
        skip_tests: chart.skip_tests,
        skip_schema_validation: false,
        seed,
        now_unix: 0,
    };
    let rendered = kiln_helm::render(&hf, &chart_dir, &opts).map_err(helm_err)?;
    let mut text = String::new();
    let hooks: &[kiln_helm::Manifest] = if chart.skip_hooks {
        &[]
    } else {
        &rendered.hooks
    };
    for m in rendered.crds.iter().chain(&rendered.manifests).chain(hooks) {
        text.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
    }
    let source = format!("{chart_dir} (helm template)");
    let mut out = Vec::new();
    for obj in parse_objects(&source, text.as_bytes())? {
        let r = Resource::new(obj);
        if r.name().is_empty() {
            return Err(Error::Resource {
                file: source,
                cause: format!("missing metadata.name in object of kind {}", r.kind()),
            });
        }
        out.push(r);
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Combine {
    Override,
    Merge,
    Replace,
}

/// Helm's merge of `-f` files: maps merge key by key, anything else in
/// `b` replaces what `a` has.
fn merge_maps(a: &mut Map<String, Value>, b: Map<String, Value>) {
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => merge_maps(old, new),
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
}

/// Keys kyaml treats as the key of a list of maps when no schema says.
const ASSOCIATIVE_KEYS: [&str; 7] = [
    "mountPath",
    "devicePath",
    "ip",
    "type",
    "topologyKey",
    "name",
    "containerPort",
];

/// kyaml's `merge2.Merge(src, dest)` without a schema: `src` wins; a
/// `null` in `src` deletes; lists of maps with a common associative key
/// merge item by item, other lists are replaced.
fn kyaml_merge(src: Value, dest: Value) -> Value {
    match (src, dest) {
        (Value::Object(s), Value::Object(mut d)) => {
            for (k, v) in s {
                if v.is_null() {
                    d.shift_remove(&k);
                    continue;
                }
                let merged = match d.shift_remove_entry(&k) {
                    Some((_, old)) => kyaml_merge(v, old),
                    None => v,
                };
                d.insert(k, merged);
            }
            Value::Object(d)
        }
        (Value::Array(s), Value::Array(mut d)) => {
            let Some(key) = ASSOCIATIVE_KEYS.into_iter().find(|key| {
                s.iter()
                    .chain(d.iter())
                    .all(|i| i.get(key).is_some_and(|v| !v.is_null()))
            }) else {
                return Value::Array(s);
            };
            for item in s {
                let id = item.get(key).cloned();
                match d.iter_mut().find(|x| x.get(key).cloned() == id) {
                    Some(old) => {
                        let o = std::mem::take(old);
                        *old = kyaml_merge(item, o);
                    }
                    None => d.push(item),
                }
            }
            Value::Array(d)
        }
        (s, _) => s,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::MemFiles;

    #[test]
    fn kyaml_merge_deletes_on_null_replaces_plain_lists_and_merges_keyed_ones() {
        let src = json!({"a": {"x": null, "y": 2}, "l": [3], "c": [{"name": "a", "v": 2}]});
        let dest = json!({"a": {"x": 1, "z": 1}, "l": [1, 2], "c": [{"name": "a", "v": 1, "w": 1}, {"name": "b"}]});
        assert_eq!(
            kyaml_merge(src, dest),
            json!({"a": {"z": 1, "y": 2}, "l": [3], "c": [{"name": "a", "v": 2, "w": 1}, {"name": "b"}]})
        );
    }

    #[test]
    fn the_legacy_field_becomes_a_chart_and_sets_the_chart_home() {
        let legacy = HelmChartArgs {
            chart_name: "web".into(),
            chart_home: "vendor".into(),
            values: "v.yaml".into(),
            release_name: "r".into(),
            ..Default::default()
        };
        let (g, charts) = charts(None, &[], &[legacy]);
        assert_eq!(g.chart_home, "vendor");
        assert_eq!(charts[0].name, "web");
        assert_eq!(charts[0].values_file, "v.yaml");
        assert_eq!(charts[0].release_name, "r");
    }

    fn chart_files() -> MemFiles {
        MemFiles::default()
            .with("k/charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
            .with("k/charts/web/values.yaml", "n: 1\n")
            .with(
                "k/charts/web/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  n: \"{{ .Values.n }}\"\n",
            )
    }

    #[test]
    fn a_local_chart_renders_with_inline_values_over_its_own() {
        let chart = HelmChart {
            name: "web".into(),
            release_name: "rel".into(),
            values_inline: json!({"n": 5}).as_object().cloned().unwrap(),
            ..Default::default()
        };
        let out = inflate(
            &chart_files(),
            "k",
            "k/kustomization.yaml",
            "helmCharts",
            &HelmGlobals::default(),
            &chart,
        )
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name(), "rel");
        assert_eq!(out[0].obj["data"]["n"], "5");
    }

    #[test]
    fn a_remote_chart_that_is_not_vendored_is_refused_by_name() {
        let chart = HelmChart {
            name: "redis".into(),
            repo: "https://charts.example.com".into(),
            version: "1.0.0".into(),
            ..Default::default()
        };
        let e = inflate(
            &chart_files(),
            "k",
            "k/kustomization.yaml",
            "helmCharts",
            &HelmGlobals::default(),
            &chart,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("k/kustomization.yaml: helmCharts: "), "{e}");
        assert!(e.contains("k/charts/redis-1.0.0/redis"), "{e}");
        assert!(e.contains("remote chart repositories"), "{e}");
    }

    #[test]
    fn a_bad_values_merge_is_an_error() {
        let chart = HelmChart {
            name: "web".into(),
            values_merge: "deep".into(),
            ..Default::default()
        };
        let e = inflate(
            &chart_files(),
            "k",
            "k/kustomization.yaml",
            "helmCharts",
            &HelmGlobals::default(),
            &chart,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("valuesMerge must be one of"), "{e}");
    }
}
