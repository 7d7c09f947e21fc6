//! Kiln's render pipeline: the renderer interface, the built-in directory
//! renderer, engine detection, and the read-set render cache.
//!
//! [`Pipeline::generate`] resolves a revision through the Git cache, finds a
//! cached render whose recorded reads all still hold in the new tree (so a
//! commit that touches none of an app's inputs runs no renderer), and
//! otherwise runs the renderer against a [`kiln_source::Tree`] that records
//! every read. The pipeline knows nothing of gRPC; front ends map their wire
//! types onto [`GenerateRequest`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use kiln_git::{CacheOptions, GitCache};
//! use kiln_render::{GenerateRequest, Pipeline, PipelineOptions};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let git = Arc::new(GitCache::open(CacheOptions::new("/tmp/kiln").allow(["**"]))?);
//! # let renderers = Vec::new();
//! let pipeline = Pipeline::with_renderers(git, PipelineOptions::default(), renderers);
//! let out = pipeline
//!     .generate(GenerateRequest::new("https://github.com/acme/apps", "main", "apps/web"))
//!     .await?;
//! println!("{} objects from {}", out.manifests.len(), out.commit);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod apps;
mod cache;
mod chart_source;
mod detect;
mod error;
mod output;
mod pipeline;
mod pipeline_file;
mod registry;
mod remote;
mod renderer;
mod secrets;

pub use self::{
    apps::{App, list_apps},
    cache::{CacheCounters, CacheUsage, RenderCache},
    chart_source::ChartRequest,
    detect::{Engine, detect_engine},
    error::{ErrorKind, PipelineError, RenderError},
    output::manifests_to_yaml,
    pipeline::{GenerateRequest, Generated, Pipeline, PipelineOptions, Timings, TransformerSpec},
    pipeline_file::{PIPELINE_FILE, PipelineFile},
    renderer::{ParameterInfo, RenderInput, Renderer, RendererInfo, TransformInput},
    secrets::{SecretError, SecretOpener, SecretSettings},
};
