//! The current set of renderers and what a render used of it.

use std::{collections::BTreeMap, sync::Arc};

use kiln_source::DirEntry;
use sha2::{Digest, Sha256};

use crate::{Renderer, RendererInfo};

/// One generation of the renderer set; replaced whole, never edited.
pub(crate) struct Registry {
    pub by_name: BTreeMap<String, Arc<dyn Renderer>>,
}

impl Registry {
    pub fn new(renderers: Vec<Arc<dyn Renderer>>) -> Self {
        Registry {
            by_name: renderers
                .into_iter()
                .map(|r| (r.info().name.clone(), r))
                .collect(),
        }
    }

    /// The engine for an app folder: the first renderer whose marker file is
    /// present, in Kiln's precedence (kustomize, helm, then others by name),
    /// else `directory`.
    pub fn detect(&self, entries: &[DirEntry]) -> String {
        let has = |m: &String| entries.iter().any(|e| &e.name == m);
        let mut names: Vec<&String> = self.by_name.keys().collect();
        names.sort_by_key(|n| {
            (
                !matches!(n.as_str(), "kustomize" | "helm"),
                n.as_str() != "kustomize",
                n.as_str(),
            )
        });
        for name in names {
            if self.by_name[name].info().markers.iter().any(has) {
                return name.clone();
            }
        }
        crate::detect_engine(entries).as_str().to_owned()
    }
}

/// The renderers one render depended on, by identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Used {
    /// Name, version and digest of the generator and each transformer.
    pub renderers: Vec<(String, String, String)>,
    /// The app folder's listing and the engine detected from it, when the
    /// engine was detected rather than named.
    pub detection: Option<(Vec<DirEntry>, String)>,
}

impl Used {
    pub fn record(&mut self, info: &RendererInfo) {
        let id = (info.name.clone(), info.version.clone(), info.digest.clone());
        if !self.renderers.contains(&id) {
            self.renderers.push(id);
        }
    }

    /// True when the render would use the same renderers with `registry`.
    pub fn still_current(&self, registry: &Registry) -> bool {
        self.detection
            .as_ref()
            .is_none_or(|(entries, engine)| &registry.detect(entries) == engine)
            && self.renderers.iter().all(|(name, version, digest)| {
                registry.by_name.get(name).is_some_and(|r| {
                    let i = r.info();
                    &i.version == version && &i.digest == digest
                })
            })
    }

    pub fn hash_into(&self, h: &mut Sha256) {
        for (name, version, digest) in &self.renderers {
            field(h, name);
            field(h, version);
            field(h, digest);
        }
        if let Some((_, engine)) = &self.detection {
            field(h, engine);
        }
    }
}

fn field(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}
