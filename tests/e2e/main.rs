//! End-to-end tests: real `git daemon` / `git http-backend`, a real
//! `kiln serve` process, and a real tonic client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod support;

mod api;
mod applier;
mod argocd;
mod auth;
mod cache;
mod cli;
mod deploy;
mod errors;
mod helm;
mod hostile;
mod kustomize;
mod metrics;
mod plugins;
mod recovery;
mod scaleout;
mod secrets;
mod signatures;
mod tls;
mod transports;
