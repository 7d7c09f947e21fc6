//! Helm chart repositories for the host: `GET <repo>/index.yaml`, pick a
//! version as Helm does (an exact version, or a Masterminds semver
//! constraint such as `~1.2.0`, `^1`, `>=1.0.0 <2.0.0`, `1.2.x`; the latest
//! stable one when empty), download the `.tgz`, check its sha256 against the
//! index, and keep it in a cache addressed by that digest.
//!
//! Repositories and every download URL must pass the same [`Allowlist`] as
//! Git remotes; downloads are bounded in size and time; nothing is written
//! to the cache until its digest is verified, and entries appear by rename,
//! so a cache entry is whole or absent. An exact version already fetched is
//! answered from the cache with no network at all; the index is kept in
//! memory for [`RepoOptions::index_ttl`] and on disk as a fallback when the
//! repository cannot be reached.
//!
//! It does not speak OCI registries, read Helm's `repositories.yaml` or
//! check provenance files. Basic-auth credentials are the Git cache's
//! (matched by the same URL patterns).
//!
//! ```no_run
//! use kiln_chartrepo::{ChartRepos, RepoOptions};
//! let repos = ChartRepos::open(RepoOptions::new("/tmp/kiln/charts").allow(["https://charts.example.com/**"]))?;
//! let chart = repos.fetch("https://charts.example.com/stable", "redis", "^17")?;
//! println!("{} {} sha256:{}", chart.chart, chart.version, chart.digest);
//! # Ok::<(), kiln_chartrepo::Error>(())
//! ```
//!
//! [`Allowlist`]: kiln_git::Allowlist

#![forbid(unsafe_code)]

mod error;
mod index;
mod repos;
#[cfg(feature = "testing")]
pub mod testing;

pub use self::{
    error::{Error, ErrorKind},
    index::{Index, IndexEntry, SelectError, select},
    repos::{ChartRepos, Fetched, RepoOptions, is_chart_repo_url, is_exact_version},
};
