/// Why a plugin could not be loaded. Every message names the plugin.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The wasmtime engine could not be configured.
    #[error("plugin engine: {0}")]
    Engine(String),
    /// The bytes are not a valid component, or it does not fit the world.
    #[error("plugin {origin}: {cause}")]
    Invalid {
        /// File or built-in name.
        origin: String,
        /// What is wrong.
        cause: String,
    },
    /// The component targets an interface version this host does not implement.
    #[error(
        "plugin {origin} targets interface kiln:plugin@{found}, this host implements {expected}"
    )]
    Version {
        /// File or built-in name.
        origin: String,
        /// What the plugin declared.
        found: String,
        /// What the host implements.
        expected: &'static str,
    },
    /// A plugin directory or file could not be read.
    #[error("plugin {origin}: {cause}")]
    Io {
        /// Path.
        origin: String,
        /// The IO error.
        cause: String,
    },
}
