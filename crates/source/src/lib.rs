//! The read-only source tree that renderers read through.
//!
//! A [`Tree`] wraps a storage [`Backend`] (a Git tree in the mirror cache, or
//! a local folder) and enforces the same rules for both: paths are resolved
//! lexically inside the repository root, `..` cannot leave it, symlinks are
//! followed only while they stay inside it, every read is bounded by
//! [`ReadLimits`], and every query is recorded in a [`ReadSet`] so a render can
//! later be proven still valid for another revision with [`Tree::still_matches`].
//!
//! It deliberately does no rendering, caching or Git IO of its own.
//!
//! ```no_run
//! use kiln_source::{FsBackend, ReadLimits, Source, Tree};
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tree = Tree::new(FsBackend::open("/srv/repo")?, ReadLimits::default());
//! let bytes = tree.read_file("apps/web/deployment.yaml")?;
//! let reads = tree.take_read_set();
//! # let _ = (bytes, reads); Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod backend;
mod error;
mod fs;
mod limits;
mod oid;
mod path;
mod read_set;
mod source;
mod tree;

pub use self::{
    backend::{Backend, BackendError, Listing, Node, NodeKind},
    error::SourceError,
    fs::FsBackend,
    limits::ReadLimits,
    oid::Oid,
    path::{join, normalize},
    read_set::{Outcome, Query, ReadSet},
    source::{DirEntry, EntryKind, Locked, Source},
    tree::Tree,
};

#[cfg(test)]
mod tests;
