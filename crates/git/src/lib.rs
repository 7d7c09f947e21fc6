//! Kiln's Git cache: one bare mirror per normalised repository URL, read
//! straight from the object database.
//!
//! [`GitCache`] resolves revisions (branch, tag, full or abbreviated sha,
//! HEAD), fetches incrementally and single-flight per repository, keeps
//! serving what it has when the remote is down, and hands out
//! [`GitBackend`]s: read-only views of one commit's tree for
//! [`kiln_source::Tree`]. There is never a work tree, so any number of
//! revisions of one repository are read at once without a lock.
//!
//! It does not render and does not cache renders; see `kiln-render`.
//!
//! ```no_run
//! use kiln_git::{CacheOptions, GitCache};
//! # async fn run() -> Result<(), kiln_git::Error> {
//! let cache = GitCache::open(CacheOptions::new("/var/cache/kiln").allow(["https://github.com/acme/*"]))?;
//! let rev = cache.resolve("https://github.com/acme/apps.git", "main").await?;
//! let tree = rev.mirror.tree(rev.commit)?;
//! # let _ = tree; Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod allow;
mod backend;
mod cache;
mod credentials;
mod error;
mod fetch;
mod metadata;
mod mirror;
mod openpgp;
mod refs;
mod repair;
mod resolve;
mod signature;
mod url;

pub use self::{
    allow::Allowlist,
    backend::GitBackend,
    cache::{CacheOptions, CacheStats, GitCache},
    credentials::{Credential, Credentials, Secret},
    error::Error,
    metadata::{CommitMetadata, Person},
    mirror::Mirror,
    refs::RefNames,
    resolve::{FetchOptions, Resolved, RevisionKind},
    signature::{
        AllowedKey, KeyError, SignatureKind, SignaturePolicies, SignaturePolicy, Verification,
        verify_commit, verify_tag,
    },
    url::RepoUrl,
};
