//! Argo CD's Helm options as parameters of Kiln's `helm` engine.
//!
//! The contract (list-valued parameters are JSON arrays of strings, in the
//! order Helm applies them):
//!
//! | parameter | Helm | from |
//! |---|---|---|
//! | `release-name` | release name | `helm.releaseName`, else the app name (without its `namespace_` prefix) |
//! | `release-namespace` | `--namespace` (`.Release.Namespace`) | `helm.namespace`, when set (else the request namespace) |
//! | `values` | `--values`, paths relative to the chart folder | `helm.valueFiles` |
//! | `values-yaml` | an extra values file, applied after `values` | `helm.valuesObject` (JSON), else `helm.values` |
//! | `set` | `--set K=V` | `helm.parameters` without `forceString` |
//! | `set-string` | `--set-string K=V` | `helm.parameters` with `forceString` |
//! | `set-file` | `--set-file K=PATH` | `helm.fileParameters` |
//! | `kube-version` | `--kube-version` | `helm.kubeVersion`, else the request's `kubeVersion` |
//! | `api-versions` | `--api-versions` | `helm.apiVersions`, else the request's `apiVersions` |
//! | `skip-crds`, `skip-tests`, `skip-schema-validation`, `ignore-missing-values` | the flags of the same names | the `helm` booleans, `"true"` when set |
//!
//! Values files of another source (`$ref/…`) and remote values files (URLs)
//! are refused: multi-source references are not supported yet.

use std::collections::BTreeMap;

use crate::{Error, source::AppSpec};

/// The engine parameters for a Helm source.
pub fn helm_parameters(spec: &AppSpec<'_>) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    let helm = spec.source.helm.clone().unwrap_or_default();
    let release = match helm.release_name() {
        "" => instance_name(spec.app_name),
        name => name,
    };
    if !release.is_empty() {
        out.insert("release-name".into(), release.to_owned());
    }
    if !helm.namespace().is_empty() {
        out.insert("release-namespace".into(), helm.namespace().to_owned());
    }
    for f in helm
        .value_files
        .iter()
        .map(String::as_str)
        .chain(helm.file_parameters.iter().map(|p| p.path()))
    {
        if f.starts_with('$') || f.contains("://") {
            return Err(Error::Unsupported(format!(
                "helm values file '{f}': values from another source or a URL are not supported by Kiln yet"
            )));
        }
    }
    list(
        &mut out,
        "values",
        helm.value_files.iter().map(String::as_str),
    );
    let inline = match helm.values_object.as_ref().map(|o| o.raw()) {
        Some(raw) if !raw.is_empty() => String::from_utf8_lossy(raw).into_owned(),
        _ => helm.values().to_owned(),
    };
    if !inline.trim().is_empty() {
        out.insert("values-yaml".into(), inline);
    }
    let pairs = |force: bool| {
        helm.parameters
            .iter()
            .filter(move |p| p.force_string() == force)
            .map(|p| format!("{}={}", p.name(), p.value()))
            .collect::<Vec<_>>()
    };
    list(&mut out, "set", pairs(false).iter().map(String::as_str));
    list(
        &mut out,
        "set-string",
        pairs(true).iter().map(String::as_str),
    );
    let files: Vec<String> = helm
        .file_parameters
        .iter()
        .map(|p| format!("{}={}", p.name(), p.path()))
        .collect();
    list(&mut out, "set-file", files.iter().map(String::as_str));
    let kube_version = match helm.kube_version() {
        "" => spec.kube_version,
        v => v,
    };
    if !kube_version.is_empty() {
        out.insert("kube-version".into(), kube_version.to_owned());
    }
    let api_versions = if helm.api_versions.is_empty() {
        spec.api_versions
    } else {
        &helm.api_versions
    };
    list(
        &mut out,
        "api-versions",
        api_versions.iter().map(String::as_str),
    );
    for (on, name) in [
        (helm.skip_crds(), "skip-crds"),
        (helm.skip_tests(), "skip-tests"),
        (helm.skip_schema_validation(), "skip-schema-validation"),
        (helm.ignore_missing_value_files(), "ignore-missing-values"),
    ] {
        if on {
            out.insert(name.into(), "true".into());
        }
    }
    Ok(out)
}

/// Inserts a JSON array of strings, unless it is empty.
fn list<'a>(out: &mut BTreeMap<String, String>, key: &str, items: impl Iterator<Item = &'a str>) {
    let items: Vec<&str> = items.collect();
    if !items.is_empty() {
        out.insert(key.into(), serde_json::Value::from(items).to_string());
    }
}

/// The application name without the `namespace_` prefix Argo CD adds for
/// applications outside its own namespace.
pub fn instance_name(app: &str) -> &str {
    app.split_once('_').map_or(app, |(_, name)| name)
}
