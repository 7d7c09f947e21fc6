/// Why the secrets configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key file or key directory could not be read or holds no usable key.
    #[error("{field}: {path}: {cause}")]
    Key {
        /// The configuration field (`secrets.keys[0].file`, `secrets.keyDirs[1]`).
        field: String,
        /// The file or directory.
        path: String,
        /// What is wrong.
        cause: String,
    },
    /// Two keys share a name.
    #[error("{field}: key name '{name}' is given twice")]
    DuplicateKey {
        /// Where the second one is.
        field: String,
        /// The name.
        name: String,
    },
    /// A rule is malformed or names a key that does not exist.
    #[error("{field}: {cause}")]
    Rule {
        /// The configuration field (`secrets.rules[2].paths[0]`).
        field: String,
        /// What is wrong.
        cause: String,
    },
}
