//! End-to-end tests: real `git daemon` / `git http-backend`, a real
//! `kiln serve` process, and a real tonic client.

mod support;

mod api;
mod cache;
mod errors;
mod recovery;
mod transports;
