//! go-yaml v2's `Marshal` of a JSON value, byte for byte.
//!
//! Kustomize and Helm's `toYaml` both turn objects into JSON and hand them to
//! `sigs.k8s.io/yaml`, which reads the JSON with go-yaml v2 and writes it
//! back with go-yaml v2's `Marshal`. The modules reproduce that writer:
//! scalars and key order ([`encode`]), when a string must be quoted
//! ([`resolve`]), and the emitter's layout, quoting, escaping and folding
//! ([`emitter`]). [`json`] reads JSON text with numbers rounded as Go rounds
//! them. Used natively by the pipeline and inside the WebAssembly plugins.

#![forbid(unsafe_code)]

mod emitter;
mod encode;
mod json;
mod resolve;
mod unicode;

use serde_json::Value;

/// Deepest nesting [`parse_json`] accepts.
pub const MAX_DEPTH: usize = json::MAX_DEPTH;

/// Reads JSON text with numbers as Go reads them; `None` when malformed or
/// nested deeper than [`MAX_DEPTH`].
pub fn parse_json(text: &str) -> Option<Value> {
    json::parse(text)
}

/// One YAML document (no `---`), as `sigs.k8s.io/yaml` prints `value`.
pub fn to_yaml(value: &Value) -> String {
    emitter::Emitter::new().document(value)
}
