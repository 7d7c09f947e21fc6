//! `generators`, `transformers` and `validators`: Kustomize's builtin
//! plugins configured by a resource (`apiVersion: builtin`, `kind:
//! ConfigMapGenerator`, `PrefixSuffixTransformer`, …) given inline or by a
//! path (a file, or a directory whose build yields the configurations).
//!
//! Only builtin kinds run. Exec, Go and KRM-function plugins (any other
//! `apiVersion`, or a `config.kubernetes.io/function` annotation) are
//! refused by name: Kiln runs no code from the repository besides its own
//! engines; a Kiln pipeline (`kiln-pipeline.yaml`) chains plugins instead.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    Error, builtin_config as config,
    fieldspec::{self, Leaf, Spec},
    generators::{self, Kind},
    kustomization::{FieldSpecEntry, Generator, GeneratorOptions, Image, Kustomization, Patch},
    origin::Origin,
    resource::Resource,
    target::{Accumulated, Builder},
};

/// The configurations one of the three fields lists, in order.
pub(crate) fn load(
    b: &mut Builder<'_>,
    dir: &str,
    file: &str,
    field: &str,
    entries: &[String],
) -> Result<Vec<Map<String, Value>>, Error> {
    let mut out = Vec::new();
    for entry in entries {
        if entry.contains('\n') {
            let objs = crate::resource::parse_objects(file, entry.as_bytes()).map_err(|e| {
                Error::Entry {
                    file: file.to_owned(),
                    field: field.to_owned(),
                    entry: entry.clone(),
                    cause: e.to_string(),
                }
            })?;
            // An inline configuration comes from the kustomization file.
            let origin = b
                .origin
                .as_ref()
                .map(|o| o.file(file.rsplit('/').next().unwrap_or(file)));
            for obj in objs {
                let mut r = Resource::new(obj);
                if let Some(o) = &origin {
                    crate::origin::set(&mut r, o);
                }
                out.push(r.obj);
            }
            continue;
        }
        let mut sub = Accumulated::default();
        b.accumulate_entry(dir, file, field, entry, &mut sub)?;
        out.extend(sub.resources.into_iter().map(|r| r.obj));
    }
    Ok(out)
}

fn kind_of(obj: &Map<String, Value>) -> (&str, &str, &str) {
    let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    (s("apiVersion"), s("kind"), name)
}

fn refuse(file: &str, field: &str, obj: &Map<String, Value>, why: &str) -> Error {
    let (api, kind, name) = kind_of(obj);
    Error::Unsupported {
        file: file.to_owned(),
        field: field.to_owned(),
        cause: format!("plugin {api}/{kind} '{name}': {why}"),
    }
}

/// Checks a configuration names a builtin plugin.
fn builtin<'a>(file: &str, field: &str, obj: &'a Map<String, Value>) -> Result<&'a str, Error> {
    let is_function = obj
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get("config.kubernetes.io/function"))
        .is_some();
    let (api, kind, _) = kind_of(obj);
    if is_function || api != "builtin" {
        return Err(refuse(
            file,
            field,
            obj,
            "only Kustomize's builtin plugins (apiVersion: builtin) run; exec, Go and KRM function plugins are not supported (use a Kiln pipeline, kiln-pipeline.yaml)",
        ));
    }
    Ok(kind)
}

fn parse<T: for<'de> Deserialize<'de>>(
    file: &str,
    field: &str,
    obj: &Map<String, Value>,
) -> Result<T, Error> {
    let mut v = obj.clone();
    for k in ["apiVersion", "kind"] {
        v.shift_remove(k);
    }
    serde_json::from_value(Value::Object(v)).map_err(|e| {
        let (api, kind, name) = kind_of(obj);
        Error::Entry {
            file: file.to_owned(),
            field: field.to_owned(),
            entry: format!("{api}/{kind} '{name}'"),
            cause: format!("invalid plugin configuration: {e}"),
        }
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GeneratorConfig {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    behavior: String,
    #[serde(default)]
    literals: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    envs: Vec<String>,
    #[serde(default)]
    env: String,
    #[serde(default, rename = "type")]
    type_: String,
    #[serde(default)]
    options: Option<GeneratorOptions>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HelmConfig {
    #[serde(default)]
    #[allow(dead_code, reason = "the plugin's own name; not used")]
    metadata: Option<Value>,
    #[serde(flatten)]
    globals: crate::helm::HelmGlobals,
    #[serde(flatten)]
    chart: crate::helm::HelmChart,
}

/// Runs the builtin generators `generators` configures.
pub(crate) fn generate(
    b: &mut Builder<'_>,
    dir: &str,
    file: &str,
    k: &Kustomization,
    acc: &mut Accumulated,
) -> Result<(), Error> {
    const FIELD: &str = "generators";
    for obj in load(b, dir, file, FIELD, &k.generators)? {
        let origin = b.origin.as_ref().map(|_| Origin::of_plugin(&obj));
        match builtin(file, FIELD, &obj)? {
            kind @ ("ConfigMapGenerator" | "SecretGenerator") => {
                let c: GeneratorConfig = parse(file, FIELD, &obj)?;
                let gkind = if kind == "SecretGenerator" {
                    Kind::Secret
                } else {
                    Kind::ConfigMap
                };
                let g = Generator {
                    name: if c.name.is_empty() {
                        c.metadata.name
                    } else {
                        c.name
                    },
                    namespace: if c.namespace.is_empty() {
                        c.metadata.namespace
                    } else {
                        c.namespace
                    },
                    behavior: c.behavior,
                    literals: c.literals,
                    files: c.files,
                    envs: c.envs,
                    env: c.env,
                    type_: c.type_,
                    options: c.options,
                };
                let mut r = generators::generate(b.files, dir, file, gkind, &g, None)?;
                if let Some(o) = &origin {
                    crate::origin::generated(std::slice::from_mut(&mut r), o);
                }
                b.add_generated(r, file, gkind, &g.name, acc)?;
            }
            "HelmChartInflationGenerator" => {
                let c: HelmConfig = parse(file, FIELD, &obj)?;
                let mut made =
                    crate::helm::inflate(b.files, dir, file, FIELD, &c.globals, &c.chart)?;
                if let Some(o) = &origin {
                    crate::origin::generated(&mut made, o);
                }
                for r in made {
                    acc.add(r, file)?;
                }
            }
            _ => {
                return Err(refuse(
                    file,
                    FIELD,
                    &obj,
                    "this builtin generator is not supported by Kiln (ConfigMapGenerator, SecretGenerator and HelmChartInflationGenerator are)",
                ));
            }
        }
    }
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TransformerConfig {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    field_specs: Vec<FieldSpecEntry>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    unset_only: bool,
    #[serde(default)]
    set_role_binding_subjects: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    patch: Option<String>,
    #[serde(default)]
    target: Option<crate::kustomization::Target>,
    #[serde(default)]
    options: BTreeMap<String, bool>,
    #[serde(default)]
    json_op: Option<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    patches: Option<String>,
    #[serde(default)]
    image_tag: Option<Image>,
    #[serde(default)]
    replica: Option<crate::kustomization::Replica>,
    #[serde(default)]
    replacements: Vec<Value>,
}

/// Runs the builtin transformers `transformers` configures, after the
/// kustomization's own (as Kustomize does), then refuses `validators`.
pub(crate) fn transform(
    b: &mut Builder<'_>,
    dir: &str,
    file: &str,
    k: &Kustomization,
    acc: &mut Accumulated,
) -> Result<(), Error> {
    const FIELD: &str = "transformers";
    for obj in load(b, dir, file, FIELD, &k.transformers)? {
        let kind = builtin(file, FIELD, &obj)?.to_owned();
        // One lenient shape for every builtin transformer kind: each reads
        // the fields it knows.
        let c: TransformerConfig = parse(file, FIELD, &obj)?;
        let specs: Vec<Spec> = c.field_specs.iter().map(Spec::from).collect();
        match kind.as_str() {
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                affixes(file, &c.prefix, &c.suffix, &specs, acc)?;
            }
            "LabelTransformer" => crate::transform::add_pairs(file, &c.labels, &specs, acc)?,
            "AnnotationsTransformer" => {
                crate::transform::add_pairs(file, &c.annotations, &specs, acc)?
            }
            "NamespaceTransformer" => {
                if c.unset_only
                    || !matches!(c.set_role_binding_subjects.as_str(), "" | "defaultOnly")
                {
                    return Err(refuse(
                        file,
                        FIELD,
                        &obj,
                        "unsetOnly and setRoleBindingSubjects other than defaultOnly are not supported",
                    ));
                }
                if !c.metadata.namespace.is_empty() {
                    crate::transform::namespace(b, file, &c.metadata.namespace, &specs, acc)?;
                }
            }
            "PatchTransformer" => {
                let p = Patch {
                    path: c.path,
                    patch: c.patch,
                    target: c.target,
                    options: c.options,
                };
                crate::patch::apply(b, dir, file, FIELD, &p, acc)?;
            }
            "PatchJson6902Transformer" => {
                let p = Patch {
                    path: c.path,
                    patch: c.json_op,
                    target: c.target,
                    options: BTreeMap::new(),
                };
                crate::patch::apply(b, dir, file, "patchesJson6902", &p, acc)?;
            }
            "PatchStrategicMergeTransformer" => {
                let mut list: Vec<Patch> = c
                    .paths
                    .into_iter()
                    .map(|p| Patch {
                        path: Some(p),
                        ..Patch::default()
                    })
                    .collect();
                if let Some(inline) = c.patches {
                    list.push(Patch {
                        patch: Some(inline),
                        ..Patch::default()
                    });
                }
                for p in &list {
                    crate::patch::apply(b, dir, file, "patchesStrategicMerge", p, acc)?;
                }
            }
            "ImageTagTransformer" => {
                if let Some(image) = c.image_tag {
                    crate::images::apply(&[image], &specs, acc);
                }
            }
            "ReplicaCountTransformer" => {
                if let Some(r) = c.replica {
                    let specs = if specs.is_empty() {
                        config::REPLICAS.iter().map(Spec::from).collect()
                    } else {
                        specs
                    };
                    replicas(file, &r, &specs, acc)?;
                }
            }
            "ReplacementTransformer" => {
                crate::replacements::apply(b, dir, file, &c.replacements, acc)?;
            }
            _ => {
                return Err(refuse(
                    file,
                    FIELD,
                    &obj,
                    "this builtin transformer is not supported by Kiln",
                ));
            }
        }
        if b.origin.is_some() {
            crate::origin::transformed(&mut acc.resources, &Origin::of_plugin(&obj));
        }
    }
    if let Some(obj) = load(b, dir, file, "validators", &k.validators)?.first() {
        builtin(file, "validators", obj)?;
        return Err(refuse(
            file,
            "validators",
            obj,
            "Kustomize has no builtin validators; validator plugins are not supported",
        ));
    }
    Ok(())
}

/// PrefixSuffixTransformer and friends: the prefix and suffix at the
/// configured field specs only (`metadata/name` renames, and is followed
/// by name references).
fn affixes(
    file: &str,
    prefix: &str,
    suffix: &str,
    specs: &[Spec],
    acc: &mut Accumulated,
) -> Result<(), Error> {
    for r in acc.resources.iter_mut() {
        if config::skips_name_affixes(r.api_version(), r.kind()) {
            continue;
        }
        let (api, kind) = (r.api_version().to_owned(), r.kind().to_owned());
        for spec in specs.iter().filter(|s| s.matches(&api, &kind)) {
            if spec.path == "metadata/name" {
                rename(r, prefix, suffix);
                continue;
            }
            fieldspec::visit(
                &mut r.obj,
                &spec.path,
                spec.creating(Leaf::Scalar),
                &mut |v| {
                    if let Value::String(s) = v {
                        *s = format!("{prefix}{s}{suffix}");
                    }
                },
            )
            .map_err(|e| Error::Entry {
                file: file.to_owned(),
                field: "transformers".into(),
                entry: spec.path.clone(),
                cause: e.to_string(),
            })?;
        }
    }
    Ok(())
}

fn rename(r: &mut Resource, prefix: &str, suffix: &str) {
    r.remember_name();
    let name = format!("{prefix}{}{suffix}", r.name());
    r.set_name(&name);
    r.affixes.push((prefix.to_owned(), suffix.to_owned()));
}

fn replicas(
    file: &str,
    rep: &crate::kustomization::Replica,
    specs: &[Spec],
    acc: &mut Accumulated,
) -> Result<(), Error> {
    for res in acc.resources.iter_mut() {
        if !res.all_names().any(|n| n == rep.name) {
            continue;
        }
        let (api, kind) = (res.api_version().to_owned(), res.kind().to_owned());
        for spec in specs.iter().filter(|s| s.matches(&api, &kind)) {
            fieldspec::visit(
                &mut res.obj,
                &spec.path,
                spec.creating(Leaf::Scalar),
                &mut |v| *v = Value::from(rep.count),
            )
            .map_err(|e| Error::Entry {
                file: file.to_owned(),
                field: "transformers".into(),
                entry: rep.name.clone(),
                cause: e.to_string(),
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::{MemFiles, build};

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n";

    #[test]
    fn a_non_builtin_plugin_is_refused_with_its_kind_and_file() {
        let files = MemFiles::default()
            .with(
                "kustomization.yaml",
                "resources: [cm.yaml]\ntransformers: [sed.yaml]\n",
            )
            .with("cm.yaml", CM)
            .with(
                "sed.yaml",
                "apiVersion: example.com/v1\nkind: Sed\nmetadata:\n  name: s\n",
            );
        let e = build(&files, "").unwrap_err().to_string();
        assert!(
            e.starts_with("kustomization.yaml: transformers: plugin example.com/v1/Sed 's'"),
            "{e}"
        );
        assert!(e.contains("KRM function"), "{e}");
    }

    #[test]
    fn an_inline_builtin_transformer_runs_after_the_kustomization_s_own() {
        let files = MemFiles::default()
            .with(
                "kustomization.yaml",
                "namePrefix: a-\nresources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PrefixSuffixTransformer\n  metadata: {name: p}\n  prefix: b-\n  fieldSpecs: [{path: metadata/name}]\n",
            )
            .with("cm.yaml", CM);
        let out = build(&files, "").unwrap();
        assert_eq!(out[0]["metadata"]["name"], "b-a-cfg");
    }
}
