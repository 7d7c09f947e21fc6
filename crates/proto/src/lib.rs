//! Wire types and service stubs of Kiln's gRPC API, generated from `proto/`.
//!
//! This crate only holds generated code and the encoded file descriptor set
//! used by server reflection; it does no IO of its own.
//!
//! ```no_run
//! use kiln_proto::kiln::v1::{repo_server_client::RepoServerClient, ResolveRevisionRequest};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut client = RepoServerClient::connect("http://127.0.0.1:8081").await?;
//! let sha = client
//!     .resolve_revision(ResolveRevisionRequest { repo_url: "https://example.com/r.git".into(), revision: "main".into() })
//!     .await?
//!     .into_inner()
//!     .commit_sha;
//! # let _ = sha; Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod codec;

/// Generated packages, one module per proto package.
pub mod kiln {
    /// The `kiln.v1` package.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("kiln.v1");
    }
}

/// Encoded `FileDescriptorSet` of every Kiln proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("kiln_descriptor");
