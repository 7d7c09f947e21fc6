//! Why a build failed, in words a Kustomize user recognises.

/// A failed build. Every variant names the kustomization file (or the
/// resource file) and the entry that caused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The kustomization file itself is malformed (bad YAML, unknown field,
    /// wrong type).
    #[error("{file}: invalid kustomization: {cause}")]
    Kustomization {
        /// The kustomization file.
        file: String,
        /// What is wrong.
        cause: String,
    },
    /// An entry of a field could not be used (missing file, bad value).
    #[error("{file}: {field}: '{entry}': {cause}")]
    Entry {
        /// The kustomization file.
        file: String,
        /// The field, e.g. `resources` or `patches`.
        field: String,
        /// The entry as written.
        entry: String,
        /// What is wrong.
        cause: String,
    },
    /// A resource file is not valid Kubernetes YAML.
    #[error("{file}: {cause}")]
    Resource {
        /// The resource file.
        file: String,
        /// What is wrong.
        cause: String,
    },
    /// Two objects with the same group, kind, namespace and name.
    #[error("{file}: may not add resource with an already registered id: {id}")]
    DuplicateId {
        /// The kustomization that added the second one.
        file: String,
        /// The object id.
        id: String,
    },
    /// Kustomizations that include each other.
    #[error("cycle between kustomizations: {chain}")]
    Cycle {
        /// The chain of directories, ending where it started.
        chain: String,
    },
    /// A feature Kiln does not implement (yet), named.
    #[error("{file}: {field}: {cause}")]
    Unsupported {
        /// The kustomization file.
        file: String,
        /// The field.
        field: String,
        /// What is not supported.
        cause: String,
    },
    /// The file view failed.
    #[error("reading {path}: {cause}")]
    Read {
        /// The path read.
        path: String,
        /// What went wrong.
        cause: String,
    },
}
