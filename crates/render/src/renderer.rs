use std::{collections::BTreeMap, sync::Arc};

use kiln_source::Source;

use crate::RenderError;

/// Identity of a renderer; part of every cache key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RendererInfo {
    /// Engine name as requests spell it ("directory", "kustomize", …).
    pub name: String,
    /// Renderer version.
    pub version: String,
    /// sha256 of the renderer's code (a plugin component's bytes).
    pub digest: String,
    /// File names whose presence marks an app this renderer renders.
    pub markers: Vec<String>,
    /// The plugin interface version it targets.
    pub interface_version: String,
    /// Parameters it accepts.
    pub parameters: Vec<ParameterInfo>,
    /// True when it can run as a transformer.
    pub transformer: bool,
    /// Where it came from: `builtin:NAME` or a file path.
    pub origin: String,
}

/// A parameter a renderer accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParameterInfo {
    /// Parameter name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// True when a request must give it.
    pub required: bool,
}

/// What a renderer gets for one render.
pub struct RenderInput<'a> {
    /// App directory, relative to the repository root (`""` is the root).
    pub app_path: &'a str,
    /// Engine parameters from the request.
    pub parameters: &'a BTreeMap<String, String>,
    /// Default namespace for namespaced objects ("" leaves them as written).
    pub namespace: &'a str,
    /// The revision's tree; every read is recorded.
    pub source: Arc<dyn Source + Send + Sync>,
    /// Seed for any randomness, derived from the render's inputs.
    pub seed: [u8; 32],
}

/// What a transformer gets: the objects so far and its configuration.
pub struct TransformInput<'a> {
    /// One JSON object per manifest, in order.
    pub items: Vec<String>,
    /// The transformer's configuration (KRM functionConfig) as JSON.
    pub config: Option<&'a str>,
    /// The revision's tree (for the clock; transformers rarely read files).
    pub source: Arc<dyn Source + Send + Sync>,
    /// Seed for any randomness, derived from the render's inputs.
    pub seed: [u8; 32],
}

/// Something that turns an app directory into Kubernetes objects.
///
/// Implementations must be deterministic: the same reads must give the same
/// output, because renders are cached by what they read.
pub trait Renderer: Send + Sync {
    /// Who this renderer is.
    fn info(&self) -> &RendererInfo;
    /// Renders the app into JSON objects, one string each.
    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<String>, RenderError>;

    /// Transforms objects; renderers that are not transformers refuse.
    fn transform(&self, input: TransformInput<'_>) -> Result<Vec<String>, RenderError> {
        let _ = input;
        Err(RenderError {
            kind: crate::ErrorKind::Unsupported,
            file: None,
            line: None,
            message: format!("{} is not a transformer", self.info().name),
        })
    }
}
