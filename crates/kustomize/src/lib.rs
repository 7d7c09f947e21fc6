//! A Kustomize v5.5-compatible build of a kustomization directory.
//!
//! [`build`] reads a kustomization and everything it refers to through a
//! read-only [`Files`] view (in Kiln, the revision's tree as the plugin host
//! exposes it) and returns the objects `kustomize build` would print, in the
//! same order, as JSON values. It does no IO of its own and fetches nothing:
//! a remote Git base is read through the same view under a reserved
//! directory the host serves (see [`remote`]), and `helmCharts` are read
//! from the chart home and rendered in process by `kiln-helm` (no `helm`
//! binary runs).
//!
//! ```no_run
//! let files = kiln_kustomize::MemFiles::default()
//!     .with("app/kustomization.yaml", "namePrefix: dev-\nresources: [cm.yaml]\n")
//!     .with("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n");
//! let objects = kiln_kustomize::build(&files, "app")?;
//! assert_eq!(objects[0]["metadata"]["name"], "dev-cfg");
//! # Ok::<(), kiln_kustomize::Error>(())
//! ```

#![forbid(unsafe_code)]

mod builtin_config;
mod error;
mod fieldpath;
mod fieldspec;
mod files;
mod generators;
mod hash;
mod helm;
mod images;
mod json6902;
mod kustomization;
mod nameref;
mod openapi;
mod order;
mod origin;
mod patch;
mod paths;
mod plugins;
pub mod remote;
mod replacements;
mod resource;
mod scalar;
mod selector;
mod smp;
mod target;
mod tconfig;
mod transform;
mod vars;

use serde_json::Value;

pub use self::{
    error::Error,
    files::{Files, MemFiles},
    kustomization::FILE_NAMES,
};

/// Builds the kustomization in directory `dir` (relative to the root of
/// `files`, `""` for the root) into the objects `kustomize build` prints.
pub fn build(files: &dyn Files, dir: &str) -> Result<Vec<Value>, Error> {
    let dir = paths::join("", dir).ok_or_else(|| Error::Kustomization {
        file: dir.to_owned(),
        cause: "the directory leaves the repository".into(),
    })?;
    // A missing top kustomization is reported by `accumulate`, in its words.
    let top = match target::find_kustomization(files, &dir)? {
        Some((file, bytes)) => Some((kustomization::Kustomization::parse(&file, &bytes)?, file)),
        None => None,
    };
    let has_metadata = top
        .as_ref()
        .is_some_and(|(k, _)| !k.build_metadata.is_empty());
    let mut builder = target::Builder {
        files,
        stack: Vec::new(),
        schema: openapi::Schema::builtin(),
        schema_set: false,
        // Kustomize records origins whenever the top kustomization has
        // any build metadata, and drops them at the end unless asked.
        origin: has_metadata.then(origin::Context::default),
    };
    let mut acc = target::Accumulated::default();
    builder.accumulate(&dir, &mut acc, false)?;
    let Some((top, file)) = top else {
        return Err(Error::Kustomization {
            file: dir,
            cause: "no kustomization file".into(),
        });
    };
    // Done once, at the top: hashes, then names that changed are
    // followed by everything that refers to them.
    for r in acc.resources.iter_mut() {
        if r.generated.as_ref().is_some_and(|g| g.hash) {
            let suffix = hash::suffix(&r.obj);
            r.remember_name();
            let name = format!("{}-{suffix}", r.name());
            r.set_name(&name);
        }
    }
    nameref::fix(&builder.schema, &acc.config, &mut acc.resources)?;
    vars::resolve(&file, &acc.vars, &acc.config, &mut acc.resources)?;
    order::Order::from_options(&file, top.sort_options.as_ref())?.sort(&mut acc.resources);
    build_metadata(&top.build_metadata, &mut acc.resources);
    for r in acc.resources.iter_mut() {
        clear_empty_annotations(r);
    }
    Ok(acc
        .resources
        .into_iter()
        .map(|r| Value::Object(r.obj))
        .collect())
}

/// Kustomize's output drops a `metadata.annotations` that is `null` or
/// empty (kyaml's `ClearEmptyAnnotations`); empty labels stay.
fn clear_empty_annotations(r: &mut resource::Resource) {
    let Some(Value::Object(meta)) = r.obj.get_mut("metadata") else {
        return;
    };
    let empty = match meta.get("annotations") {
        Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    if empty {
        meta.shift_remove("annotations");
    }
}

/// `buildMetadata`: the managed-by label (with the version string Kustomize
/// v5.5.0 as shipped in kubectl writes); the origin and transformer
/// annotations recorded during the build are kept only when asked for.
fn build_metadata(options: &[String], resources: &mut [resource::Resource]) {
    for (option, key) in [
        ("originAnnotations", origin::ORIGIN),
        ("transformerAnnotations", origin::TRANSFORMATIONS),
    ] {
        if !options.iter().any(|o| o == option) {
            origin::remove(resources, key);
        }
    }
    // Kustomize ignores options it does not know.
    if options.iter().any(|o| o == "managedByLabel") {
        for r in resources.iter_mut() {
            let meta = r.metadata_mut();
            let labels = resource::ensure_map(meta.entry("labels").or_insert(Value::Null));
            labels.insert(
                "app.kubernetes.io/managed-by".into(),
                Value::String("kustomize-(devel)".into()),
            );
        }
    }
}
