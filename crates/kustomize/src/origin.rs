//! `buildMetadata: [originAnnotations, transformerAnnotations]`: where each
//! object came from and which transformers touched it, as Kustomize v5.5
//! records them.
//!
//! As in Kustomize, the record is kept in the objects' own annotations
//! during the whole build whenever the top kustomization has any
//! `buildMetadata` (so patches and selectors see what Kustomize's see), and
//! removed at the end unless asked for:
//!
//! * `config.kubernetes.io/origin`: for an object read from a file, its path
//!   relative to the top kustomization's folder (inside the repository for
//!   a remote base, with `repo` and `ref`); for a generated one, the
//!   kustomization (`configuredIn`) and the generator (`configuredBy`);
//! * `alpha.config.kubernetes.io/transformations`: one entry per
//!   transformer each kustomization ran over the object, in order, even
//!   one that changed nothing in it (an object without an origin takes the
//!   transformer's as its origin instead).

use serde_json::{Map, Value};

use crate::resource::Resource;

pub(crate) const ORIGIN: &str = "config.kubernetes.io/origin";
pub(crate) const TRANSFORMATIONS: &str = "alpha.config.kubernetes.io/transformations";

/// Where the kustomization being built sits, seen from the top one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Context {
    /// Path from the top kustomization's folder (inside the repository for
    /// a remote base).
    pub path: String,
    /// The remote repository (clone spec), if any.
    pub repo: String,
    /// Its ref.
    pub reference: String,
}

impl Context {
    /// The context of an entry (`resources`, `components`) of this one.
    pub fn append(&self, entry: &str) -> Context {
        if crate::remote::is_remote(entry)
            && let Ok(base) = crate::remote::parse(entry)
        {
            return Context {
                path: go_join("", &base.path),
                repo: base.repo,
                reference: base.reference,
            };
        }
        Context {
            path: go_join(&self.path, entry),
            ..self.clone()
        }
    }

    /// The origin of an object read from file `entry`.
    pub fn file(&self, entry: &str) -> Origin {
        let c = self.append(entry);
        Origin {
            path: c.path,
            repo: c.repo,
            reference: c.reference,
            ..Origin::default()
        }
    }

    /// The origin of a builtin generator or transformer configured in the
    /// kustomization file `file`.
    pub fn builtin(&self, file: &str, kind: &str) -> Origin {
        let name = file.rsplit('/').next().unwrap_or(file);
        Origin {
            repo: self.repo.clone(),
            reference: self.reference.clone(),
            configured_in: go_join(&self.path, name),
            configured_by: vec![
                ("apiVersion".into(), "builtin".into()),
                ("kind".into(), kind.into()),
            ],
            ..Origin::default()
        }
    }
}

/// One origin record.
#[derive(Clone, Debug, Default)]
pub(crate) struct Origin {
    pub path: String,
    pub repo: String,
    pub reference: String,
    pub configured_in: String,
    /// `apiVersion`, `kind`, `name`, `namespace`, those set.
    pub configured_by: Vec<(String, String)>,
}

impl Origin {
    /// The origin of a plugin configured by the object `config` (whose own
    /// origin, if recorded, says where it was read).
    pub fn of_plugin(config: &Map<String, Value>) -> Origin {
        let read = config
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(ORIGIN))
            .and_then(Value::as_str)
            .map(parse)
            .unwrap_or_default();
        let s = |path: &[&str]| crate::resource::str_in(config, path).to_owned();
        let by = [
            ("apiVersion", s(&["apiVersion"])),
            ("kind", s(&["kind"])),
            ("name", s(&["metadata", "name"])),
            ("namespace", s(&["metadata", "namespace"])),
        ];
        Origin {
            repo: read.repo,
            reference: read.reference,
            configured_in: read.path,
            configured_by: by
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            ..Origin::default()
        }
    }

    /// The YAML Kustomize writes (kyaml's marshalling of its `Origin`).
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for (k, v) in [
            ("path", &self.path),
            ("repo", &self.repo),
            ("ref", &self.reference),
            ("configuredIn", &self.configured_in),
        ] {
            if !v.is_empty() {
                out.push_str(&format!("{k}: {}\n", scalar(v)));
            }
        }
        if !self.configured_by.is_empty() {
            out.push_str("configuredBy:\n");
            for (k, v) in &self.configured_by {
                out.push_str(&format!("  {k}: {}\n", scalar(v)));
            }
        }
        out
    }
}

/// Reads back the fields of an origin annotation this module wrote.
fn parse(text: &str) -> Origin {
    let mut o = Origin::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(": ") else {
            continue;
        };
        let v = serde_yaml::from_str::<String>(v).unwrap_or_else(|_| v.to_owned());
        match k {
            "path" => o.path = v,
            "repo" => o.repo = v,
            "ref" => o.reference = v,
            "configuredIn" => o.configured_in = v,
            _ => {}
        }
    }
    o
}

/// A string as go-yaml v3 prints it: plain when it reads back as the same
/// string, double-quoted otherwise.
fn scalar(v: &str) -> String {
    let plain = !v.is_empty()
        && !v.starts_with(|c: char| " -?:,[]{}#&*!|>'\"%@`~".contains(c))
        && !v.ends_with(' ')
        && !v.contains(": ")
        && !v.contains(" #")
        && matches!(serde_yaml::from_str::<Value>(v), Ok(Value::String(ref s)) if s == v);
    if plain {
        v.to_owned()
    } else {
        Value::String(v.to_owned()).to_string()
    }
}

fn annotations(r: &mut Resource) -> &mut Map<String, Value> {
    let meta = r.metadata_mut();
    crate::resource::ensure_map(meta.entry("annotations").or_insert(Value::Null))
}

fn has_origin(r: &Resource) -> bool {
    r.obj
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(ORIGIN))
        .is_some()
}

/// Sets the origin of objects read from a file.
pub(crate) fn set(r: &mut Resource, origin: &Origin) {
    annotations(r).insert(ORIGIN.into(), Value::String(origin.to_yaml()));
}

/// Gives generated objects the generator's origin, unless they have one.
pub(crate) fn generated(rs: &mut [Resource], origin: &Origin) {
    for r in rs.iter_mut().filter(|r| !has_origin(r)) {
        set(r, origin);
    }
}

/// Records that a transformer ran over every object.
pub(crate) fn transformed(rs: &mut [Resource], origin: &Origin) {
    for r in rs.iter_mut() {
        if !has_origin(r) {
            set(r, origin);
            continue;
        }
        let item = origin.to_yaml();
        let mut lines = item.lines();
        let mut entry = String::new();
        if let Some(first) = lines.next() {
            entry.push_str(&format!("- {first}\n"));
        }
        for l in lines {
            entry.push_str(&format!("  {l}\n"));
        }
        let a = annotations(r);
        let mut list = a
            .get(TRANSFORMATIONS)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        list.push_str(&entry);
        a.insert(TRANSFORMATIONS.into(), Value::String(list));
    }
}

/// Removes one of the two annotations from every object.
pub(crate) fn remove(rs: &mut [Resource], key: &str) {
    for r in rs.iter_mut() {
        if let Some(Value::Object(meta)) = r.obj.get_mut("metadata")
            && let Some(Value::Object(a)) = meta.get_mut("annotations")
        {
            a.shift_remove(key);
        }
    }
}

/// Go's `filepath.Join(a, b)` on relative paths: joined, then cleaned
/// lexically, keeping leading `..`.
pub(crate) fn go_join(a: &str, b: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in a.split('/').chain(b.split('/')) {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_as_go_filepath_join() {
        assert_eq!(go_join("", "app.yaml"), "app.yaml");
        assert_eq!(go_join("../base", "app.yaml"), "../base/app.yaml");
        assert_eq!(go_join("../../base", "../x/./y.yaml"), "../../x/y.yaml");
        assert_eq!(go_join("", ".."), "..");
        assert_eq!(go_join("a", ".."), ".");
    }

    #[test]
    fn origins_print_as_kyaml_prints_them() {
        let o = Context::default()
            .append("../base")
            .builtin("base/kustomization.yaml", "ConfigMapGenerator");
        assert_eq!(
            o.to_yaml(),
            "configuredIn: ../base/kustomization.yaml\nconfiguredBy:\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n"
        );
        let remote = Context::default().append("https://github.com/org/repo//deploy/base?ref=v1");
        let f = remote.file("app.yaml");
        assert_eq!(
            f.to_yaml(),
            "path: deploy/base/app.yaml\nrepo: https://github.com/org/repo\nref: v1\n"
        );
    }
}
