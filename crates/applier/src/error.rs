//! The applier's error type.

use std::path::PathBuf;

use crate::object::ObjectId;

/// Everything that stops an application load or a sync as a whole.
///
/// Per-object apply and prune failures do not stop a sync: they are collected
/// in [`crate::SyncReport`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An Application file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An Application file is not valid; the message names the field.
    #[error("{path}: {message}")]
    InvalidApplication {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the field path.
        message: String,
    },
    /// Two Application documents declare the same name.
    #[error("application {name:?} is declared twice: {first} and {second}")]
    DuplicateApplication {
        /// The application name.
        name: String,
        /// Where it was declared first.
        first: PathBuf,
        /// Where it was declared again.
        second: PathBuf,
    },
    /// A rendered manifest is not a Kubernetes object.
    #[error("rendered manifest {index}: {message}")]
    InvalidManifest {
        /// Position of the manifest in the render.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// Two rendered manifests have the same object id.
    #[error("object {0} is rendered twice")]
    DuplicateObject(ObjectId),
    /// The render is empty while the previous inventory is not: pruning would
    /// delete everything the application owns, so the sync is refused.
    #[error(
        "refusing to sync: the render is empty but the inventory lists {inventoried} objects \
         (an empty render never prunes everything)"
    )]
    EmptyRender {
        /// How many objects the previous inventory lists.
        inventoried: usize,
    },
    /// The inventory ConfigMap is unreadable or malformed.
    #[error("inventory {name} in namespace {namespace}: {message}")]
    Inventory {
        /// The ConfigMap name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// What is wrong.
        message: String,
    },
    /// A Kubernetes API call outside per-object apply/prune failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}
