//! Argo CD's repo-server protocol (`repository.RepoServerService`) as a
//! second front end on Kiln's render pipeline, so an unmodified Argo CD can
//! use Kiln as its repo-server.
//!
//! Requests are mapped onto [`kiln_render::Pipeline`] and
//! [`kiln_git::GitCache`]: an Argo CD source becomes a Kiln engine with
//! parameters (`directory`, `kustomize`, `helm`, or any plugin), the
//! credentials a request carries authenticate that request's fetches only,
//! the rendered objects get Argo CD's tracking annotation or label and are
//! printed as Argo CD prints them. UpdateRevisionForPaths is answered from
//! the read-set cache. RPCs Kiln does not serve answer UNIMPLEMENTED.
//!
//! It holds no render logic of its own and keeps no state between requests.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kiln_git::{CacheOptions, GitCache};
//! use kiln_render::{Pipeline, PipelineOptions};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let git = Arc::new(GitCache::open(CacheOptions::new("/var/cache/kiln").allow(["https://github.com/acme/*"]))?);
//! # let renderers = Vec::new();
//! let pipeline = Pipeline::with_renderers(git, PipelineOptions::default(), renderers);
//! let router = kiln_server::router(pipeline.clone())?
//!     .add_service(kiln_argocd::service(pipeline, kiln_argocd::ArgoCdOptions::default()));
//! # let _ = router; Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod chart;
mod credentials;
mod details;
mod error;
mod generate;
mod gojson;
mod helm;
mod manifests;
pub mod proto;
mod repo;
mod revisions;
mod service;
mod source;
mod tracking;

pub use self::{
    error::{Error, to_status},
    helm::instance_name,
    service::{ArgoCdOptions, ArgoRepoServer, MAX_MESSAGE_SIZE, service},
    source::{AppSpec, Plan, SourceType, explicit_type, plan},
    tracking::{INSTALLATION_ID, TRACKING_ID, Tracking, TrackingMethod, tracking_id},
};

#[cfg(test)]
mod tests;
