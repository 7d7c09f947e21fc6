use kiln_source::DirEntry;

/// The engines Kiln detects from marker files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
    Kustomize,
    /// `Chart.yaml`.
    Helm,
    /// Anything else: plain manifests.
    Directory,
}

impl Engine {
    /// The engine's name in requests and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Kustomize => "kustomize",
            Engine::Helm => "helm",
            Engine::Directory => "directory",
        }
    }
}

/// Detects the engine of a directory from its listing, as Argo CD does:
/// a kustomization wins over a chart, and anything else is a directory app.
pub fn detect_engine(entries: &[DirEntry]) -> Engine {
    let has = |n: &str| entries.iter().any(|e| e.name == n);
    if has("kustomization.yaml") || has("kustomization.yml") || has("Kustomization") {
        Engine::Kustomize
    } else if has("Chart.yaml") {
        Engine::Helm
    } else {
        Engine::Directory
    }
}
