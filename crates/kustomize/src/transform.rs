//! The built-in transformers of one kustomization, in Kustomize's order:
//! patchesStrategicMerge, patches, namespace, namePrefix, nameSuffix,
//! labels and commonLabels, commonAnnotations, patchesJson6902, replicas,
//! images, replacements.

use serde_json::{Map, Value};

use crate::{
    Error, builtin_config as config,
    fieldspec::{self, Leaf},
    kustomization::{Kustomization, Patch},
    target::{Accumulated, Builder},
};

pub(crate) fn run(
    b: &mut Builder<'_>,
    dir: &str,
    file: &str,
    k: &Kustomization,
    acc: &mut Accumulated,
) -> Result<(), Error> {
    for p in &k.patches_strategic_merge {
        let patch = if looks_inline(p) {
            Patch {
                patch: Some(p.clone()),
                ..Patch::default()
            }
        } else {
            Patch {
                path: Some(p.clone()),
                ..Patch::default()
            }
        };
        crate::patch::apply(b, dir, file, "patchesStrategicMerge", &patch, acc)?;
    }
    if !k.patches_strategic_merge.is_empty() {
        b.note(file, "PatchStrategicMergeTransformer", acc);
    }
    for p in &k.patches {
        crate::patch::apply(b, dir, file, "patches", p, acc)?;
        b.note(file, "PatchTransformer", acc);
    }
    if !k.namespace.is_empty() {
        let specs =
            builtin_and_custom(file, "namespace", config::NAMESPACE, &acc.config.namespace)?;
        namespace(b, file, &k.namespace, &specs, acc)?;
        b.note(file, "NamespaceTransformer", acc);
    }
    if !k.name_prefix.is_empty() || !k.name_suffix.is_empty() {
        prefix_suffix(&k.name_prefix, &k.name_suffix, acc);
    }
    if !k.name_prefix.is_empty() {
        b.note(file, "PrefixTransformer", acc);
    }
    if !k.name_suffix.is_empty() {
        b.note(file, "SuffixTransformer", acc);
    }
    for l in &k.labels {
        let mut specs: Vec<fieldspec::Spec> = l.fields.iter().map(fieldspec::Spec::from).collect();
        let builtin: Vec<fieldspec::Spec> = if l.include_selectors {
            builtin_and_custom(
                file,
                "labels",
                config::COMMON_LABELS,
                &acc.config.common_labels,
            )?
        } else {
            let mut v = vec![fieldspec::Spec::everywhere("metadata/labels", true)];
            if l.include_templates {
                v.extend(builtin_and_custom(
                    file,
                    "labels",
                    config::TEMPLATE_LABELS,
                    &acc.config.template_labels,
                )?);
            }
            v
        };
        fieldspec::merge_specs(&mut specs, builtin).map_err(|e| Error::Entry {
            file: file.to_owned(),
            field: "labels".into(),
            entry: format!("{:?}", l.pairs),
            cause: format!("failed to merge labels: {e}"),
        })?;
        add_pairs(file, &l.pairs, &specs, acc)?;
        b.note(file, "LabelTransformer", acc);
    }
    if !k.common_labels.is_empty() {
        let specs = builtin_and_custom(
            file,
            "commonLabels",
            config::COMMON_LABELS,
            &acc.config.common_labels,
        )?;
        add_pairs(file, &k.common_labels, &specs, acc)?;
    }
    if !k.labels.is_empty() || !k.common_labels.is_empty() {
        // Kustomize runs one more LabelTransformer, for commonLabels, even
        // when only `labels` is set.
        b.note(file, "LabelTransformer", acc);
    }
    if !k.common_annotations.is_empty() {
        let specs = builtin_and_custom(
            file,
            "commonAnnotations",
            config::COMMON_ANNOTATIONS,
            &acc.config.common_annotations,
        )?;
        add_pairs(file, &k.common_annotations, &specs, acc)?;
        b.note(file, "AnnotationsTransformer", acc);
    }
    for p in &k.patches_json6902 {
        crate::patch::apply(b, dir, file, "patchesJson6902", p, acc)?;
        b.note(file, "PatchJson6902Transformer", acc);
    }
    let replica_specs =
        builtin_and_custom(file, "replicas", config::REPLICAS, &acc.config.replicas)?;
    for r in &k.replicas {
        let mut found = false;
        for res in acc.resources.iter_mut() {
            if !res.all_names().any(|n| n == r.name) {
                continue;
            }
            let (api, kind) = (res.api_version().to_owned(), res.kind().to_owned());
            for spec in &replica_specs {
                if spec.matches(&api, &kind) {
                    found = true;
                    fieldspec::visit(
                        &mut res.obj,
                        &spec.path,
                        spec.creating(Leaf::Scalar),
                        &mut |v| *v = Value::from(r.count),
                    )
                    .map_err(|e| field_error(file, "replicas", &r.name, e))?;
                }
            }
        }
        if !found {
            return Err(Error::Entry {
                file: file.to_owned(),
                field: "replicas".into(),
                entry: r.name.clone(),
                cause: format!(
                    "resource with name {} does not match a config with the following GVK [~G_~V_Deployment ~G_~V_ReplicationController ~G_~V_ReplicaSet ~G_~V_StatefulSet]",
                    r.name
                ),
            });
        }
        b.note(file, "ReplicaCountTransformer", acc);
    }
    if !k.images.is_empty() {
        let custom: Vec<fieldspec::Spec> = acc
            .config
            .images
            .iter()
            .map(fieldspec::Spec::from)
            .collect();
        crate::images::apply(&k.images, &custom, acc);
        for _ in &k.images {
            b.note(file, "ImageTagTransformer", acc);
        }
    }
    if !k.replacements.is_empty() {
        crate::replacements::apply(b, dir, file, &k.replacements, acc)?;
        b.note(file, "ReplacementTransformer", acc);
    }
    Ok(())
}

/// A `patchesStrategicMerge` entry is inline YAML when it holds a newline
/// or looks like an object.
fn looks_inline(p: &str) -> bool {
    p.contains('\n') || p.trim_start().starts_with('{')
}

pub(crate) fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn field_error(file: &str, field: &str, entry: &str, e: fieldspec::PathError) -> Error {
    Error::Entry {
        file: file.to_owned(),
        field: field.to_owned(),
        entry: entry.to_owned(),
        cause: e.to_string(),
    }
}

/// The built-in field specs of a transformer plus those configured.
fn builtin_and_custom(
    file: &str,
    field: &str,
    builtin: &[fieldspec::FieldSpec],
    custom: &[crate::kustomization::FieldSpecEntry],
) -> Result<Vec<fieldspec::Spec>, Error> {
    crate::tconfig::specs(builtin, custom).map_err(|e| Error::Entry {
        file: file.to_owned(),
        field: field.to_owned(),
        entry: e.path.clone(),
        cause: format!("merging transformer configuration: {e}"),
    })
}

pub(crate) fn namespace(
    b: &Builder<'_>,
    file: &str,
    ns: &str,
    specs: &[fieldspec::Spec],
    acc: &mut Accumulated,
) -> Result<(), Error> {
    for r in acc.resources.iter_mut() {
        let (api, kind) = (r.api_version().to_owned(), r.kind().to_owned());
        let namespaced = b
            .schema
            .is_namespaced(&api, &kind)
            .unwrap_or(!config::is_cluster_scoped(&api, &kind));
        if namespaced {
            r.set_namespace(ns);
        }
        for spec in specs {
            if !spec.matches(&api, &kind) {
                continue;
            }
            if spec.path == "metadata/name" {
                // A Namespace object takes the namespace's name.
                r.remember_name();
            }
            fieldspec::visit(
                &mut r.obj,
                &spec.path,
                spec.creating(Leaf::Scalar),
                &mut |v| *v = Value::String(ns.to_owned()),
            )
            .map_err(|e| field_error(file, "namespace", ns, e))?;
        }
        config::namespace_subjects(&mut r.obj, &kind, ns);
    }
    // Objects that differed only by namespace now have the same id.
    let mut seen = std::collections::BTreeSet::new();
    for r in &acc.resources {
        let id = r.id();
        if !seen.insert(id.clone()) {
            return Err(Error::Entry {
                file: file.to_owned(),
                field: "namespace".into(),
                entry: ns.to_owned(),
                cause: format!("namespace transformation produces ID conflict: {id}"),
            });
        }
    }
    Ok(())
}

fn prefix_suffix(prefix: &str, suffix: &str, acc: &mut Accumulated) {
    for r in acc.resources.iter_mut() {
        if config::skips_name_affixes(r.api_version(), r.kind()) {
            continue;
        }
        r.remember_name();
        let name = format!("{prefix}{}{suffix}", r.name());
        r.set_name(&name);
        r.affixes.push((prefix.to_owned(), suffix.to_owned()));
    }
}

pub(crate) fn add_pairs(
    file: &str,
    pairs: &std::collections::BTreeMap<String, String>,
    specs: &[fieldspec::Spec],
    acc: &mut Accumulated,
) -> Result<(), Error> {
    let fail = |e| field_error(file, "labels", &format!("{pairs:?}"), e);
    for r in acc.resources.iter_mut() {
        let (api, kind) = (r.api_version().to_owned(), r.kind().to_owned());
        let specs: Vec<&fieldspec::Spec> =
            specs.iter().filter(|s| s.matches(&api, &kind)).collect();
        for (k, val) in pairs {
            // Kustomize inserts one YAML node per key and object wherever
            // the key is missing, so those places share it: a later
            // transformer that sets the key in one of them changes all
            // (see `Resource::aliases`).
            let mut created: Vec<String> = Vec::new();
            let mut replaced: Vec<String> = Vec::new();
            for spec in &specs {
                fieldspec::visit(&mut r.obj, &spec.path, spec.creating(Leaf::Map), &mut |v| {
                    if let Value::Object(m) = v {
                        match m.get(k) {
                            None => created.push(spec.path.clone()),
                            Some(Value::String(old)) => replaced.push(old.clone()),
                            Some(_) => {}
                        }
                        m.insert(k.clone(), Value::String(val.clone()));
                    }
                })
                .map_err(fail)?;
            }
            let mut shared: Vec<crate::resource::Alias> = Vec::new();
            r.aliases.retain(|a| {
                let hit = a.key == *k && replaced.contains(&a.value);
                if hit {
                    shared.push(a.clone());
                }
                !hit
            });
            for mut a in shared {
                for path in &a.paths {
                    fieldspec::visit(&mut r.obj, path, None, &mut |v| {
                        if let Value::Object(m) = v
                            && m.get(k).and_then(Value::as_str) == Some(a.value.as_str())
                        {
                            m.insert(k.clone(), Value::String(val.clone()));
                        }
                    })
                    .map_err(fail)?;
                }
                a.value = val.clone();
                r.aliases.push(a);
            }
            if created.len() > 1 {
                created.dedup();
                r.aliases.push(crate::resource::Alias {
                    key: k.clone(),
                    value: val.clone(),
                    paths: created,
                });
            }
        }
    }
    Ok(())
}
