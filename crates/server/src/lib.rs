//! The `kiln.v1` gRPC front end of the render pipeline.
//!
//! [`RepoServerService`] maps `kiln.v1.RepoServer` calls onto
//! [`kiln_render::Pipeline`] and [`kiln_git::GitCache`]; [`router`] adds the
//! standard gRPC health service and server reflection (v1 and v1alpha) so
//! grpcurl and any gRPC client work out of the box. The mapping from pipeline
//! errors to gRPC statuses lives in one place, `status.rs`.
//!
//! [`TlsOptions`] turns the listener's TLS flags (PEM files, a self-signed
//! certificate made at start, a client CA for mutual TLS) into tonic's rustls
//! configuration for [`router_with`].
//!
//! [`GuardLayer`] sits in front of every service of the listener (the Argo
//! CD front end included): bearer tokens ([`auth`]), per-caller rate and
//! concurrency limits and the bounded render queue ([`Limits`]), and the
//! request metrics ([`metrics`], served by [`serve_metrics`]).
//!
//! It holds no render logic of its own.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kiln_git::{CacheOptions, GitCache};
//! use kiln_render::{Pipeline, PipelineOptions};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let git = Arc::new(GitCache::open(CacheOptions::new("/var/cache/kiln").allow(["https://github.com/acme/*"]))?);
//! # let renderers = Vec::new();
//! let pipeline = Pipeline::with_renderers(git, PipelineOptions::default(), renderers);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! kiln_server::serve(listener, pipeline, std::future::pending()).await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod auth;
pub mod deadline;
mod error;
mod guard;
mod limits;
pub mod metrics;
mod scrape;
mod service;
mod status;
mod tls;
mod watch;

pub use self::{
    error::ServeError,
    guard::{GuardLayer, GuardOptions},
    limits::{LimitKind, Limits},
    scrape::serve_metrics,
    service::{
        KilnRouter, RepoServerService, ServerOptions, router, router_with, router_with_options,
        serve, serve_router,
    },
    status::to_status,
    tls::{TlsError, TlsOptions, self_signed},
};
