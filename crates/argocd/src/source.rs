//! From an Argo CD `ApplicationSource` to a Kiln engine and its parameters:
//! the source type (explicit, or detected from the app folder as Argo CD
//! does), then the engine's parameters.

use std::collections::{BTreeMap, HashMap};

use kiln_source::DirEntry;

use crate::{
    Error,
    helm::helm_parameters,
    proto::v1alpha1::{ApplicationSource, ApplicationSourceKustomize},
};

/// Argo CD's application source types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceType {
    /// A Helm chart.
    Helm,
    /// A kustomization.
    Kustomize,
    /// Plain YAML/JSON files.
    Directory,
    /// A config management plugin (in Kiln: any other engine).
    Plugin,
}

impl SourceType {
    /// The name Argo CD uses (`sourceType`, `RepoAppDetailsResponse.type`).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Helm => "Helm",
            SourceType::Kustomize => "Kustomize",
            SourceType::Directory => "Directory",
            SourceType::Plugin => "Plugin",
        }
    }

    /// The source type of a render by a Kiln engine.
    pub fn of_engine(engine: &str) -> Self {
        match engine {
            "helm" => SourceType::Helm,
            "kustomize" => SourceType::Kustomize,
            "directory" => SourceType::Directory,
            _ => SourceType::Plugin,
        }
    }
}

/// What of a request decides how an app is rendered; the same for
/// GenerateManifest, GetAppDetails and UpdateRevisionForPaths, so they share
/// Kiln's render cache.
#[derive(Clone, Copy, Debug)]
pub struct AppSpec<'a> {
    /// The source.
    pub source: &'a ApplicationSource,
    /// The application's instance name (`appName`).
    pub app_name: &'a str,
    /// The destination namespace (`namespace`).
    pub namespace: &'a str,
    /// The destination cluster's version (`kubeVersion`).
    pub kube_version: &'a str,
    /// The destination cluster's API versions (`apiVersions`).
    pub api_versions: &'a [String],
    /// Source types the installation allows (`enabledSourceTypes`).
    pub enabled: &'a HashMap<String, bool>,
}

/// The engine request an app maps to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Kiln engine; empty lets Kiln detect it (plugin markers, pipeline file).
    pub engine: String,
    /// Engine parameters.
    pub parameters: BTreeMap<String, String>,
    /// The source type when it is known before rendering.
    pub source_type: Option<SourceType>,
}

/// The source type a source names explicitly (`helm`, `kustomize`,
/// `directory` or `plugin` present, even empty); more than one is an error,
/// as in Argo CD.
pub fn explicit_type(source: &ApplicationSource) -> Result<Option<SourceType>, Error> {
    let mut types = Vec::new();
    if source.kustomize.is_some() {
        types.push(SourceType::Kustomize);
    }
    if source.helm.is_some() {
        types.push(SourceType::Helm);
    }
    if source.directory.is_some() {
        types.push(SourceType::Directory);
    }
    if source.plugin.is_some() {
        types.push(SourceType::Plugin);
    }
    match types.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(Error::InvalidArgument(format!(
            "multiple application sources defined: {}",
            many.iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ))),
    }
}

/// True unless `enabledSourceTypes` turns the type off.
fn enabled(spec: &AppSpec<'_>, t: SourceType) -> bool {
    spec.enabled.get(t.as_str()).copied().unwrap_or(true)
}

/// Decides engine and parameters from the request and the app folder's
/// listing.
pub fn plan(spec: &AppSpec<'_>, listing: &[DirEntry]) -> Result<Plan, Error> {
    let has = |n: &str| listing.iter().any(|e| e.name == n);
    for name in [
        ".argocd-source.yaml".to_owned(),
        format!(".argocd-source-{}.yaml", spec.app_name),
    ] {
        if has(&name) {
            return Err(Error::Unsupported(format!(
                "the app folder holds {name}: Kiln does not merge Argo CD parameter override files yet"
            )));
        }
    }
    let explicit = explicit_type(spec.source)?;
    let kustomization =
        has("kustomization.yaml") || has("kustomization.yml") || has("Kustomization");
    let detected = match explicit {
        Some(t) if enabled(spec, t) => t,
        Some(_) => SourceType::Directory,
        None if kustomization && enabled(spec, SourceType::Kustomize) => SourceType::Kustomize,
        None if has("Chart.yaml") && enabled(spec, SourceType::Helm) => SourceType::Helm,
        None => SourceType::Directory,
    };
    let mut plan = Plan {
        source_type: Some(detected),
        ..Plan::default()
    };
    match detected {
        SourceType::Directory => {
            let markers = kustomization || has("Chart.yaml");
            if explicit.is_none() && !markers {
                // Nothing Argo CD knows: let Kiln's own detection (plugin
                // markers, kiln-pipeline.yaml) decide, as a CMP would.
                plan.source_type = None;
            } else {
                plan.engine = "directory".into();
            }
            if let Some(d) = &spec.source.directory {
                directory_parameters(d, &mut plan.parameters)?;
            }
        }
        SourceType::Kustomize => {
            if let Some(k) = &spec.source.kustomize {
                refuse_kustomize_overrides(k)?;
            }
            plan.engine = "kustomize".into();
        }
        SourceType::Helm => {
            plan.engine = "helm".into();
            plan.parameters = helm_parameters(spec)?;
        }
        SourceType::Plugin => {
            let p = spec.source.plugin.clone().unwrap_or_default();
            plan.engine = p.name().to_owned();
            if plan.engine.is_empty() {
                plan.source_type = None;
            }
            for param in &p.parameters {
                if param.map.is_some() || param.array.is_some() {
                    return Err(Error::Unsupported(format!(
                        "plugin parameter '{}': Kiln engines take string parameters only",
                        param.name()
                    )));
                }
                plan.parameters
                    .insert(param.name().to_owned(), param.string().to_owned());
            }
        }
    }
    Ok(plan)
}

fn directory_parameters(
    d: &crate::proto::v1alpha1::ApplicationSourceDirectory,
    out: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    if d.disable_extension_filter() {
        return Err(Error::Unsupported(
            "directory.disableExtensionFilter is not supported: Kiln's directory engine reads .yaml, .yml and .json files".into(),
        ));
    }
    if let Some(j) = &d.jsonnet
        && (!j.ext_vars.is_empty() || !j.tlas.is_empty() || !j.libs.is_empty())
    {
        return Err(Error::Unsupported(
            "directory.jsonnet is not supported: Kiln has no Jsonnet engine yet".into(),
        ));
    }
    if d.recurse() {
        out.insert("recurse".into(), "true".into());
    }
    if !d.include().is_empty() {
        out.insert("include".into(), d.include().to_owned());
    }
    if !d.exclude().is_empty() {
        out.insert("exclude".into(), d.exclude().to_owned());
    }
    Ok(())
}

/// Argo CD edits the kustomization before building (`kustomize edit set …`);
/// Kiln's kustomize engine takes no such overrides yet, so a request that
/// sets any is refused rather than rendered differently.
fn refuse_kustomize_overrides(k: &ApplicationSourceKustomize) -> Result<(), Error> {
    let mut set = Vec::new();
    let mut check = |on: bool, name: &str| {
        if on {
            set.push(name.to_owned());
        }
    };
    check(!k.name_prefix().is_empty(), "namePrefix");
    check(!k.name_suffix().is_empty(), "nameSuffix");
    check(!k.namespace().is_empty(), "namespace");
    check(!k.images.is_empty(), "images");
    check(!k.replicas.is_empty(), "replicas");
    check(!k.common_labels.is_empty(), "commonLabels");
    check(!k.common_annotations.is_empty(), "commonAnnotations");
    check(!k.patches.is_empty(), "patches");
    check(!k.components.is_empty(), "components");
    if set.is_empty() {
        Ok(())
    } else {
        Err(Error::Unsupported(format!(
            "kustomize overrides are not supported by Kiln yet: {}",
            set.join(", ")
        )))
    }
}
