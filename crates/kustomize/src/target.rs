//! One kustomization directory built into objects: resources, components,
//! generators, then transformers, in Kustomize's order.

use serde_json::Value;

use crate::{
    Error, Files,
    generators::{self, Kind},
    kustomization::{FILE_NAMES, Kustomization},
    openapi::Schema,
    paths,
    resource::{Resource, parse_objects},
};

/// What a build has gathered so far.
#[derive(Default)]
pub(crate) struct Accumulated {
    pub resources: Vec<Resource>,
    /// The `vars` declared so far (names are unique in a build).
    pub vars: Vec<crate::vars::Var>,
    /// Field specs added by `configurations` and `crds` so far.
    pub config: crate::tconfig::TransformerConfig,
}

impl Accumulated {
    pub(crate) fn add(&mut self, r: Resource, file: &str) -> Result<(), Error> {
        let id = r.id();
        if self.resources.iter().any(|x| same_id(&x.id(), &id)) {
            return Err(Error::DuplicateId {
                file: file.to_owned(),
                id: id.to_string(),
            });
        }
        self.resources.push(r);
        Ok(())
    }
}

/// Kustomize compares ids without the version.
fn same_id(a: &crate::resource::ResId, b: &crate::resource::ResId) -> bool {
    a.group == b.group && a.kind == b.kind && a.name == b.name && a.namespace == b.namespace
}

/// A build in progress: the file view, the chain of directories being
/// built (to find cycles) and the schema (built-in plus `crds`/`openapi`).
pub(crate) struct Builder<'a> {
    pub files: &'a dyn Files,
    pub stack: Vec<String>,
    pub schema: Schema,
    /// Whether an `openapi` field has chosen the schema already.
    pub schema_set: bool,
    /// Where the kustomization being built sits, when the top one asks
    /// for build metadata (origins are then recorded, as Kustomize does).
    pub origin: Option<crate::origin::Context>,
}

/// The kustomization file of a directory, if it has one.
pub(crate) fn find_kustomization(
    files: &dyn Files,
    dir: &str,
) -> Result<Option<(String, Vec<u8>)>, Error> {
    let mut found = None;
    for name in FILE_NAMES {
        let path = paths::join(dir, name).unwrap_or_default();
        match files.read(&path) {
            Ok(Some(b)) => {
                if let Some((first, _)) = &found {
                    return Err(Error::Kustomization {
                        file: path,
                        cause: format!(
                            "found multiple kustomization files under: {} ({first} too)",
                            show_dir(dir)
                        ),
                    });
                }
                found = Some((path, b));
            }
            Ok(None) => {}
            Err(cause) => return Err(Error::Read { path, cause }),
        }
    }
    Ok(found)
}

pub(crate) fn show_dir(dir: &str) -> &str {
    if dir.is_empty() { "." } else { dir }
}

impl Builder<'_> {
    /// Builds a kustomization directory into `acc` (a fresh one for a
    /// resource directory, the parent's for a component).
    pub fn accumulate(
        &mut self,
        dir: &str,
        acc: &mut Accumulated,
        as_component: bool,
    ) -> Result<(), Error> {
        if let Some(at) = self.stack.iter().position(|d| d == dir) {
            let mut chain: Vec<&str> = self.stack[at..].iter().map(|d| show_dir(d)).collect();
            chain.push(show_dir(dir));
            return Err(Error::Cycle {
                chain: chain.join(" -> "),
            });
        }
        let Some((file, bytes)) = find_kustomization(self.files, dir)? else {
            return Err(Error::Kustomization {
                file: show_dir(dir).to_owned(),
                cause: format!(
                    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                    show_dir(dir)
                ),
            });
        };
        let k = Kustomization::parse(&file, &bytes)?;
        if as_component && !k.is_component() {
            return Err(Error::Kustomization {
                file,
                cause: "expected kind 'Component' for a path in 'components'".into(),
            });
        }
        if !as_component && k.is_component() {
            return Err(Error::Kustomization {
                file,
                cause: "kind 'Component' may only be listed in 'components', not built or listed in 'resources'".into(),
            });
        }
        self.set_openapi(dir, &file, &k)?;
        self.stack.push(dir.to_owned());
        let result = self.accumulate_kustomization(dir, &file, &k, acc);
        self.stack.pop();
        result
    }

    /// `openapi`: the schema strategic merges use, for the whole build.
    /// The first kustomization that names one (the top one first, then
    /// the others as the build reaches them) sets it; a `path` document
    /// replaces the built-in Kubernetes schema, a `version` keeps it (only
    /// Kustomize's own v1.21.2 exists).
    fn set_openapi(&mut self, dir: &str, file: &str, k: &Kustomization) -> Result<(), Error> {
        let Some(api) = &k.open_api else {
            return Ok(());
        };
        if self.schema_set {
            return Ok(());
        }
        let err = |entry: &str, cause: String| Error::Entry {
            file: file.to_owned(),
            field: "openapi".into(),
            entry: entry.to_owned(),
            cause,
        };
        let version = api.get("version").and_then(Value::as_str);
        let path = api.get("path").and_then(Value::as_str);
        match (path, version) {
            (Some(path), Some(_)) => Err(err(
                path,
                "builtin version and custom schema provided, cannot use both".into(),
            )),
            (Some(path), None) => {
                let bytes = generators::read_inside(self.files, dir, file, "openapi", path)?;
                let doc: Value =
                    serde_yaml::from_slice(&bytes).map_err(|e| err(path, e.to_string()))?;
                self.schema.use_builtin_definitions(false);
                self.schema.add_openapi_document(&doc);
                self.schema_set = true;
                Ok(())
            }
            (None, Some("")) | (None, None) => Ok(()),
            (None, Some("v1.21.2")) => {
                self.schema_set = true;
                Ok(())
            }
            (None, Some(v)) => Err(err(
                v,
                "the specified OpenAPI version is not built in".into(),
            )),
        }
    }

    fn accumulate_kustomization(
        &mut self,
        dir: &str,
        file: &str,
        k: &Kustomization,
        acc: &mut Accumulated,
    ) -> Result<(), Error> {
        for entry in &k.resources {
            self.accumulate_entry(dir, file, "resources", entry, acc)?;
        }
        for c in &k.configurations {
            let bytes = generators::read_inside(self.files, dir, file, "configurations", c)?;
            let config =
                crate::tconfig::TransformerConfig::parse(&bytes).map_err(|cause| Error::Entry {
                    file: file.to_owned(),
                    field: "configurations".into(),
                    entry: c.clone(),
                    cause,
                })?;
            acc.config.merge(config);
        }
        for crd in &k.crds {
            let bytes = generators::read_inside(self.files, dir, file, "crds", crd)?;
            let doc: Value = serde_yaml::from_slice(&bytes).map_err(|e| Error::Entry {
                file: file.to_owned(),
                field: "crds".into(),
                entry: crd.clone(),
                cause: format!("unable to parse open API definition: {e}"),
            })?;
            if doc.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition") {
                self.schema.add_crd(&doc);
            } else {
                acc.config
                    .merge(crate::tconfig::TransformerConfig::from_api_definitions(
                        &doc,
                    ));
            }
        }
        for (kind, list) in [
            (Kind::ConfigMap, &k.config_map_generator),
            (Kind::Secret, &k.secret_generator),
        ] {
            for g in list {
                let mut r = generators::generate(
                    self.files,
                    dir,
                    file,
                    kind,
                    g,
                    k.generator_options.as_ref(),
                )?;
                if let Some(o) = &self.origin {
                    let by = match kind {
                        Kind::ConfigMap => "ConfigMapGenerator",
                        Kind::Secret => "SecretGenerator",
                    };
                    crate::origin::generated(std::slice::from_mut(&mut r), &o.builtin(file, by));
                }
                self.add_generated(r, file, kind, &g.name, acc)?;
            }
        }
        let (globals, charts) = crate::helm::charts(
            k.helm_globals.as_ref(),
            &k.helm_charts,
            &k.helm_chart_inflation_generator,
        );
        for chart in &charts {
            let mut made =
                crate::helm::inflate(self.files, dir, file, "helmCharts", &globals, chart)?;
            if let Some(o) = &self.origin {
                crate::origin::generated(
                    &mut made,
                    &o.builtin(file, "HelmChartInflationGenerator"),
                );
            }
            for r in made {
                acc.add(r, file)?;
            }
        }
        crate::plugins::generate(self, dir, file, k, acc)?;
        for c in &k.components {
            let Some(sub) = paths::join(dir, c) else {
                return Err(Error::Entry {
                    file: file.to_owned(),
                    field: "components".into(),
                    entry: c.clone(),
                    cause: "leaves the repository".into(),
                });
            };
            let saved = self.origin.clone();
            if let Some(o) = &mut self.origin {
                *o = o.append(c);
            }
            let built = self.accumulate(&sub, acc, true);
            self.origin = saved;
            built?;
        }
        crate::transform::run(self, dir, file, k, acc)?;
        crate::plugins::transform(self, dir, file, k, acc)?;
        let vars = crate::vars::parse(file, &k.vars)?;
        crate::vars::merge(file, &vars, acc)
    }

    pub(crate) fn add_generated(
        &mut self,
        r: Resource,
        file: &str,
        kind: Kind,
        name: &str,
        acc: &mut Accumulated,
    ) -> Result<(), Error> {
        let behavior = r
            .generated
            .as_ref()
            .map(|g| g.behavior.clone())
            .unwrap_or_default();
        let want_kind = r.kind().to_owned();
        let ns = r.namespace().to_owned();
        let existing = acc.resources.iter_mut().find(|x| {
            x.kind() == want_kind
                && x.original_name() == name
                && (x.namespace() == ns || (ns.is_empty() && x.namespace() == "default"))
        });
        let field = match kind {
            Kind::ConfigMap => "configMapGenerator",
            Kind::Secret => "secretGenerator",
        };
        match (behavior.as_str(), existing) {
            ("create", None) => acc.add(r, file),
            ("create", Some(_)) => Err(Error::Entry {
                file: file.to_owned(),
                field: field.into(),
                entry: name.to_owned(),
                cause: format!(
                    "a {want_kind} named '{name}' already exists; use behavior merge or replace"
                ),
            }),
            (b, Some(existing)) => {
                generators::merge_into(existing, &r, b == "replace");
                Ok(())
            }
            (b, None) => Err(Error::Entry {
                file: file.to_owned(),
                field: field.into(),
                entry: name.to_owned(),
                cause: format!("id {want_kind}/{name} does not exist; cannot {b} it"),
            }),
        }
    }

    /// Adds what one entry of `resources` (or of `generators` and the
    /// like, which Kustomize reads the same way) names: a file, a
    /// directory built whole, or a remote base.
    pub(crate) fn accumulate_entry(
        &mut self,
        dir: &str,
        file: &str,
        field: &str,
        entry: &str,
        acc: &mut Accumulated,
    ) -> Result<(), Error> {
        let err = |cause: String| Error::Entry {
            file: file.to_owned(),
            field: field.to_owned(),
            entry: entry.to_owned(),
            cause,
        };
        let remote = crate::remote::is_remote(entry);
        let path = if remote {
            let base = crate::remote::parse(entry).map_err(err)?;
            paths::join(&base.root(), &base.path)
                .ok_or_else(|| err("the path leaves the repository".into()))?
        } else {
            paths::join(dir, entry).ok_or_else(|| err("the path leaves the repository".into()))?
        };
        let listing = if remote {
            // The host resolves the repository; its refusal (allowlist,
            // unknown ref) is this entry's error.
            let listing = self.files.list(&path).map_err(err)?;
            if listing.is_none() {
                return Err(err(
                    "the remote repository has no directory at this path".into()
                ));
            }
            listing
        } else {
            self.files.list(&path).map_err(|cause| Error::Read {
                path: path.clone(),
                cause,
            })?
        };
        if listing.is_some() {
            let mut sub = Accumulated::default();
            let saved = self.origin.clone();
            if let Some(o) = &mut self.origin {
                *o = o.append(entry);
            }
            let built = self.accumulate(&path, &mut sub, false);
            self.origin = saved;
            built?;
            for r in sub.resources {
                acc.add(r, file)?;
            }
            acc.config.merge(sub.config);
            for v in sub.vars {
                crate::vars::add(&mut acc.vars, v).map_err(|cause| Error::Entry {
                    file: file.to_owned(),
                    field: field.to_owned(),
                    entry: entry.to_owned(),
                    cause,
                })?;
            }
            return Ok(());
        }
        if !paths::within(dir, &path) {
            return Err(err(format!(
                "security; file '{path}' is not in or below '{}'",
                show_dir(dir)
            )));
        }
        let bytes = match self.files.read(&path) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(err(format!("no such file or directory: {path}"))),
            Err(cause) => return Err(Error::Read { path, cause }),
        };
        let origin = self.origin.as_ref().map(|o| o.file(entry));
        for obj in parse_objects(&path, &bytes)? {
            let mut r = Resource::new(obj);
            if let Some(o) = &origin {
                crate::origin::set(&mut r, o);
            }
            if r.name().is_empty() {
                return Err(Error::Resource {
                    file: path,
                    cause: format!("missing metadata.name in object of kind {}", r.kind()),
                });
            }
            acc.add(r, file)?;
        }
        Ok(())
    }
}

impl Builder<'_> {
    /// Records, when origins are tracked, that the builtin transformer
    /// `kind` of kustomization `file` ran over everything accumulated.
    pub fn note(&self, file: &str, kind: &str, acc: &mut Accumulated) {
        if let Some(o) = &self.origin {
            crate::origin::transformed(&mut acc.resources, &o.builtin(file, kind));
        }
    }
}
