//! The kustomization file: its fields, as Kustomize v5.5 reads them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::Error;

/// File names that mark a kustomization directory, in Kustomize's order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A parsed kustomization (or component).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Kustomization {
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted as Kustomize accepts it; nothing reads it"
    )]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted as Kustomize accepts it; nothing reads it"
    )]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub open_api: Option<Value>,
    #[serde(default)]
    pub name_prefix: String,
    #[serde(default)]
    pub name_suffix: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default)]
    pub patches_json6902: Vec<Patch>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub replacements: Vec<Value>,
    #[serde(default)]
    pub replicas: Vec<Replica>,
    #[serde(default)]
    pub vars: Vec<Value>,
    #[serde(default)]
    pub sort_options: Option<Value>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub crds: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub config_map_generator: Vec<Generator>,
    #[serde(default)]
    pub secret_generator: Vec<Generator>,
    #[serde(default)]
    pub helm_globals: Option<crate::helm::HelmGlobals>,
    #[serde(default)]
    pub helm_charts: Vec<crate::helm::HelmChart>,
    #[serde(default)]
    pub helm_chart_inflation_generator: Vec<crate::helm::HelmChartArgs>,
    #[serde(default)]
    pub generator_options: Option<GeneratorOptions>,
    #[serde(default)]
    pub configurations: Vec<String>,
    #[serde(default)]
    pub generators: Vec<String>,
    #[serde(default)]
    pub transformers: Vec<String>,
    #[serde(default)]
    pub validators: Vec<String>,
    #[serde(default)]
    pub build_metadata: Vec<String>,
}

/// An entry of `labels`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Label {
    #[serde(default)]
    pub pairs: BTreeMap<String, String>,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpecEntry>,
}

/// A user-given field spec (`labels[].fields`, configurations).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FieldSpecEntry {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub create: bool,
}

/// An entry of `patches` or `patchesJson6902`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Patch {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub patch: Option<String>,
    #[serde(default)]
    pub target: Option<Target>,
    #[serde(default)]
    pub options: BTreeMap<String, bool>,
}

/// Which objects a patch applies to.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Target {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub label_selector: Option<String>,
    #[serde(default)]
    pub annotation_selector: Option<String>,
}

/// An entry of `images`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Image {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub new_name: String,
    #[serde(default)]
    pub new_tag: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub tag_suffix: String,
}

/// An entry of `replicas`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Replica {
    pub name: String,
    #[serde(default)]
    pub count: i64,
}

/// An entry of `configMapGenerator` or `secretGenerator`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Generator {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub behavior: String,
    #[serde(default)]
    pub literals: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    #[serde(default)]
    pub env: String,
    #[serde(default, rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub options: Option<GeneratorOptions>,
}

/// `generatorOptions`, or a generator's `options`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GeneratorOptions {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub disable_name_suffix_hash: Option<bool>,
    #[serde(default)]
    pub immutable: Option<bool>,
}

impl Kustomization {
    /// Parses a kustomization file's bytes.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Kustomization, Error> {
        let bad = |cause: String| Error::Kustomization {
            file: file.to_owned(),
            cause,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| bad(e.to_string()))?;
        // go-yaml v2 reads an unquoted `-001` or `0400` as an octal
        // number, which a string field refuses; serde_yaml keeps a string.
        for key in ["namePrefix", "nameSuffix", "namespace"] {
            if let Some(v) = text
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .map(|v| v.split(" #").next().unwrap_or(v).trim())
                && is_go_octal(v)
            {
                return Err(bad(format!(
                    "json: cannot unmarshal number into Go struct field Kustomization.{key} of type string"
                )));
            }
        }
        let value: Value = if text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_yaml::from_str(text).map_err(|e| bad(e.to_string()))?
        };
        // Kustomize refuses a kustomization that says nothing beyond its
        // apiVersion and kind.
        let says_nothing = value
            .as_object()
            .is_none_or(|m| m.keys().all(|k| k == "apiVersion" || k == "kind"));
        if says_nothing {
            return Err(bad("kustomization.yaml is empty".into()));
        }
        let mut k: Kustomization =
            serde_json::from_value(fix_legacy(value)).map_err(|e| bad(e.to_string()))?;
        // `bases` is the legacy spelling of directory resources.
        let bases = std::mem::take(&mut k.bases);
        k.resources.extend(bases);
        match k.kind.as_str() {
            "" | "Kustomization" | "Component" => Ok(k),
            other => Err(bad(format!(
                "kind '{other}' is not Kustomization or Component"
            ))),
        }
    }

    /// True for `kind: Component`.
    pub fn is_component(&self) -> bool {
        self.kind == "Component"
    }
}

/// A plain scalar go-yaml v2 reads as an octal integer: an optional sign,
/// `0`, then octal digits (underscores allowed).
pub(crate) fn is_go_octal(v: &str) -> bool {
    let body = v.strip_prefix(['-', '+']).unwrap_or(v);
    body.len() > 1
        && body.starts_with('0')
        && body.ends_with(|c: char| ('0'..='7').contains(&c))
        && body.chars().all(|c| ('0'..='7').contains(&c) || c == '_')
}

/// Accepts the spellings Kustomize still accepts: `openapi` for the OpenAPI
/// field and `imageTags` for `images`.
fn fix_legacy(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        if let Some(v) = map.remove("openapi") {
            map.insert("openApi".into(), v);
        }
        if let Some(v) = map.remove("imageTags") {
            map.entry("images").or_insert(v);
        }
    }
    value
}
