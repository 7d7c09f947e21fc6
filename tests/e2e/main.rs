//! End-to-end tests: real `git daemon` / `git http-backend`, a real
//! `kiln serve` process, and a real tonic client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod support;

mod api;
mod argocd;
mod cache;
mod cli;
mod deploy;
mod errors;
mod helm;
mod kustomize;
mod plugins;
mod recovery;
mod secrets;
mod tls;
mod transports;
