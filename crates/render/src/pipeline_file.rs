//! `kiln-pipeline.yaml`: an app folder's own choice of generator and
//! transformers.
//!
//! ```yaml
//! generator:                 # optional; default: detected from marker files
//!   engine: directory
//!   parameters: {recurse: "true"}
//! transformers:              # run in order on the generator's output
//!   - engine: set-labels
//!     config: {labels: {team: payments}}
//! ```
//!
//! A request's explicit engine wins over `generator.engine`, its parameters
//! override the file's key by key, and its transformers run after the file's.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{ErrorKind, RenderError, TransformerSpec};

/// Name of the pipeline file in an app folder.
pub const PIPELINE_FILE: &str = "kiln-pipeline.yaml";

/// A parsed pipeline file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineFile {
    /// Generator engine, if the file names one.
    pub engine: Option<String>,
    /// Generator parameters.
    pub parameters: BTreeMap<String, String>,
    /// Transformers, in order.
    pub transformers: Vec<TransformerSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    generator: Option<RawGenerator>,
    #[serde(default)]
    transformers: Vec<RawTransformer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenerator {
    engine: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransformer {
    engine: String,
    #[serde(default)]
    config: Option<serde_json::Value>,
}

impl PipelineFile {
    /// Parses the file at `path`; errors name the file, line and field.
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Self, RenderError> {
        let raw: Raw = serde_yaml::from_slice(bytes).map_err(|e| RenderError {
            kind: ErrorKind::InvalidInput,
            file: Some(path.to_owned()),
            line: e.location().and_then(|l| u32::try_from(l.line()).ok()),
            message: format!("invalid pipeline file: {e}"),
        })?;
        let generator = raw.generator.unwrap_or(RawGenerator {
            engine: None,
            parameters: BTreeMap::new(),
        });
        Ok(PipelineFile {
            engine: generator.engine.filter(|e| !e.is_empty()),
            parameters: generator.parameters,
            transformers: raw
                .transformers
                .into_iter()
                .map(|t| TransformerSpec {
                    engine: t.engine,
                    config: t.config.map(|c| c.to_string()),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_fields() {
        let f = PipelineFile::parse(
            "app/kiln-pipeline.yaml",
            b"generator: {engine: directory, parameters: {recurse: 'true'}}\ntransformers:\n- engine: set-labels\n  config: {labels: {team: a}}\n",
        )
        .unwrap();
        assert_eq!(f.engine.as_deref(), Some("directory"));
        assert_eq!(f.parameters["recurse"], "true");
        assert_eq!(
            f.transformers[0].config.as_deref(),
            Some(r#"{"labels":{"team":"a"}}"#)
        );
        let e =
            PipelineFile::parse("app/kiln-pipeline.yaml", b"generator: {engin: x}\n").unwrap_err();
        assert!(
            e.message.contains("engin") && e.file.as_deref() == Some("app/kiln-pipeline.yaml"),
            "{e}"
        );
    }
}
