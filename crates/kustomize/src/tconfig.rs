//! Transformer configuration beyond the built-in field specs: what
//! `configurations:` files and `crds:` definitions add, as Kustomize merges
//! it into a build (a base's additions apply to the overlays above it).

use serde::Deserialize;
use serde_json::Value;

use crate::{
    fieldspec::{self, FieldSpec, Spec},
    kustomization::FieldSpecEntry,
};

/// Field specs added to the built-in ones, per transformer.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TransformerConfig {
    /// Where `namePrefix` applies (kept for completeness; names only).
    pub name_prefix: Vec<FieldSpecEntry>,
    /// Where `nameSuffix` applies (kept for completeness; names only).
    pub name_suffix: Vec<FieldSpecEntry>,
    /// Where `namespace` is set.
    pub namespace: Vec<FieldSpecEntry>,
    /// Where `commonLabels` (and `labels` with selectors) go.
    pub common_labels: Vec<FieldSpecEntry>,
    /// Where `labels` with `includeTemplates` go.
    pub template_labels: Vec<FieldSpecEntry>,
    /// Where `commonAnnotations` go.
    pub common_annotations: Vec<FieldSpecEntry>,
    /// Kinds referred to by name, and where.
    pub name_reference: Vec<NameReference>,
    /// Where `$(VAR)` is replaced.
    pub var_reference: Vec<FieldSpecEntry>,
    /// Where `images` look for image references.
    pub images: Vec<FieldSpecEntry>,
    /// Where `replicas` set counts.
    pub replicas: Vec<FieldSpecEntry>,
}

/// A kind referred to by name, and the fields that refer to it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NameReference {
    /// Group of the referred-to kind (`""` for any).
    pub group: String,
    /// Version of the referred-to kind (`""` for any).
    pub version: String,
    /// The referred-to kind.
    pub kind: String,
    /// The referring fields.
    pub field_specs: Vec<FieldSpecEntry>,
}

impl TransformerConfig {
    /// Parses a `configurations:` file.
    pub(crate) fn parse(bytes: &[u8]) -> Result<TransformerConfig, String> {
        let v: Value = serde_yaml::from_slice(bytes).map_err(|e| e.to_string())?;
        if v.is_null() {
            return Ok(TransformerConfig::default());
        }
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    /// Adds another configuration's specs to this one.
    pub(crate) fn merge(&mut self, other: TransformerConfig) {
        self.name_prefix.extend(other.name_prefix);
        self.name_suffix.extend(other.name_suffix);
        self.namespace.extend(other.namespace);
        self.common_labels.extend(other.common_labels);
        self.template_labels.extend(other.template_labels);
        self.common_annotations.extend(other.common_annotations);
        self.var_reference.extend(other.var_reference);
        self.images.extend(other.images);
        self.replicas.extend(other.replicas);
        for n in other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|x| x.group == n.group && x.version == n.version && x.kind == n.kind)
            {
                Some(x) => x.field_specs.extend(n.field_specs),
                None => self.name_reference.push(n),
            }
        }
    }

    /// The configuration a `crds:` file of OpenAPI definitions (type name
    /// to `{Schema: …}`) implies: `x-kubernetes-label-selector` fields take
    /// common labels, `x-kubernetes-annotation` fields common annotations,
    /// and `x-kubernetes-object-ref-kind`/`-api-version` fields (with
    /// `-name-key`, default `name`) refer to objects by name. The kind is
    /// the last dotted part of the type name.
    pub(crate) fn from_api_definitions(doc: &Value) -> TransformerConfig {
        let mut out = TransformerConfig::default();
        let Some(defs) = doc.as_object() else {
            return out;
        };
        for (name, def) in defs {
            let props = def.get("Schema").and_then(|s| s.get("properties"));
            let looks_k8s = props.is_some_and(|p| {
                ["kind", "apiVersion", "metadata"]
                    .iter()
                    .all(|k| p.get(*k).is_some())
            });
            if !looks_k8s {
                continue;
            }
            let kind = name.rsplit('.').next().unwrap_or(name).to_owned();
            let mut seen = Vec::new();
            load_definition(&mut out, &kind, defs, name, &[], &mut seen);
        }
        out
    }
}

fn load_definition(
    out: &mut TransformerConfig,
    kind: &str,
    defs: &serde_json::Map<String, Value>,
    type_name: &str,
    path: &[String],
    seen: &mut Vec<String>,
) {
    let Some(props) = defs
        .get(type_name)
        .and_then(|d| d.get("Schema"))
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    if seen.iter().any(|s| s == type_name) {
        return;
    }
    seen.push(type_name.to_owned());
    let spec = |p: &[String]| FieldSpecEntry {
        kind: kind.to_owned(),
        path: p.join("/"),
        ..FieldSpecEntry::default()
    };
    for (prop, schema) in props {
        let mut p = path.to_vec();
        p.push(prop.clone());
        if schema.get("x-kubernetes-annotation").is_some() {
            out.common_annotations.push(spec(&p));
        }
        if schema.get("x-kubernetes-label-selector").is_some() {
            out.common_labels.push(spec(&p));
        }
        if schema.get("x-kubernetes-identity").is_some() {
            out.name_prefix.push(spec(&p));
        }
        if let (Some(version), Some(ref_kind)) = (
            schema
                .get("x-kubernetes-object-ref-api-version")
                .and_then(Value::as_str),
            schema
                .get("x-kubernetes-object-ref-kind")
                .and_then(Value::as_str),
        ) {
            let key = schema
                .get("x-kubernetes-object-ref-name-key")
                .and_then(Value::as_str)
                .unwrap_or("name");
            let mut rp = p.clone();
            rp.push(key.to_owned());
            out.merge(TransformerConfig {
                name_reference: vec![NameReference {
                    group: String::new(),
                    version: version.to_owned(),
                    kind: ref_kind.to_owned(),
                    field_specs: vec![spec(&rp)],
                }],
                ..TransformerConfig::default()
            });
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            load_definition(out, kind, defs, r, &p, seen);
        }
    }
    seen.pop();
}

/// The built-in specs plus the custom ones, merged as Kustomize merges
/// field spec lists (a spec already there is skipped; one that differs
/// only in `create` is an error).
pub(crate) fn specs(
    builtin: &[FieldSpec],
    custom: &[FieldSpecEntry],
) -> Result<Vec<Spec>, fieldspec::ConflictingSpecs> {
    let mut out: Vec<Spec> = builtin.iter().map(Spec::from).collect();
    fieldspec::merge_specs(&mut out, custom.iter().map(Spec::from))?;
    Ok(out)
}
