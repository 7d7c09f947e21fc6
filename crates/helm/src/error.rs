//! The errors of a chart render, each naming the chart file and the cause.

/// A chart that cannot be loaded, values that cannot be read, or a template
/// that fails; the message is Helm's where Helm words it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file of the chart cannot be read (a host failure or limit).
    #[error("{path}: {message}")]
    Read {
        /// The file or folder.
        path: String,
        /// The host's message.
        message: String,
    },
    /// The chart is malformed (Chart.yaml, values.yaml, an archive...).
    #[error("{file}: {message}")]
    Chart {
        /// The file at fault.
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// A values file or a `--set`-style parameter is invalid.
    #[error("{source_name}: {message}")]
    Values {
        /// The values file or parameter (`set`, `set-string`...).
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// The values do not satisfy `values.schema.json`.
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{message}"
    )]
    Schema {
        /// Per chart, the violations with their value paths.
        message: String,
    },
    /// A template does not parse or fails to execute (Helm's wording,
    /// `required`/`fail` messages verbatim).
    #[error("{message}")]
    Template {
        /// The template file.
        file: String,
        /// Helm's message.
        message: String,
    },
    /// A rendered document is not valid YAML.
    #[error("YAML parse error on {file}: {message}")]
    Yaml {
        /// The template file that produced the document.
        file: String,
        /// The parser's message.
        message: String,
    },
}
