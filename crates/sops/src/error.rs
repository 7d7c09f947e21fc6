//! The errors of this crate; every message names the file it concerns.

/// What went wrong reading, decrypting or writing a sops file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input does not parse in its format.
    #[error("{file}: cannot parse as {format}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The format it was read as.
        format: &'static str,
        /// What the parser said.
        message: String,
    },
    /// The file has no `sops` metadata: it is not encrypted.
    #[error("{file}: sops metadata not found (the file is not encrypted)")]
    MetadataNotFound {
        /// The file.
        file: String,
    },
    /// Encrypting a file that already carries sops metadata.
    #[error("{file}: the file is already encrypted")]
    AlreadyEncrypted {
        /// The file.
        file: String,
    },
    /// The `sops` metadata is malformed.
    #[error("{file}: invalid sops metadata: {message}")]
    Metadata {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Several key groups (Shamir secret sharing), which Kiln does not support.
    #[error(
        "{file}: {groups} key groups with shamir_threshold {threshold}: Shamir secret sharing is not supported"
    )]
    UnsupportedKeyGroups {
        /// The file.
        file: String,
        /// Number of key groups.
        groups: usize,
        /// The threshold.
        threshold: i64,
    },
    /// None of the keyring's identities unwraps any of the file's age stanzas.
    #[error(
        "{file}: no identity in the keyring ({identities} identities) matches a recipient of the file ({recipients})"
    )]
    NoMatchingKey {
        /// The file.
        file: String,
        /// The file's age recipients, comma-separated.
        recipients: String,
        /// How many identities were tried.
        identities: usize,
    },
    /// age failed to unwrap the data key for another reason.
    #[error("{file}: cannot unwrap the data key for recipient {recipient}: {cause}")]
    DataKey {
        /// The file.
        file: String,
        /// The recipient whose stanza failed.
        recipient: String,
        /// The cause.
        cause: String,
    },
    /// A value did not decrypt (wrong key, tampered or moved value, bad format).
    #[error("{file}: cannot decrypt the value at {path}: {cause}")]
    Value {
        /// The file.
        file: String,
        /// The path of the value (`/a/b`).
        path: String,
        /// The cause.
        cause: String,
    },
    /// The file has no MAC.
    #[error("{file}: the file has no MAC; refusing to trust its contents")]
    MacMissing {
        /// The file.
        file: String,
    },
    /// The stored MAC does not decrypt with the data key and `lastmodified`.
    #[error("{file}: cannot decrypt the MAC (was `mac` or `lastmodified` changed?): {cause}")]
    MacUndecryptable {
        /// The file.
        file: String,
        /// The cause.
        cause: String,
    },
    /// The MAC over the decrypted values differs from the stored one: the file was tampered with.
    #[error("{file}: MAC mismatch: values, keys or their order were changed after encryption")]
    MacMismatch {
        /// The file.
        file: String,
    },
    /// A recipient string is not an age or ssh recipient Kiln supports.
    #[error("invalid age recipient `{recipient}`: {cause}")]
    Recipient {
        /// The recipient as given.
        recipient: String,
        /// Why it is refused.
        cause: String,
    },
    /// Encrypting needs at least one recipient.
    #[error("{file}: no recipients to encrypt the data key to")]
    NoRecipients {
        /// The file.
        file: String,
    },
    /// The file cannot be written in its format (e.g. nested values in dotenv).
    #[error("{file}: cannot write as {format}: {message}")]
    Emit {
        /// The file.
        file: String,
        /// The format.
        format: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Options that sops would refuse (e.g. two encryption rules).
    #[error("{file}: invalid options: {message}")]
    Options {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// An operation Kiln cannot do on this file (e.g. rotating a file that also has pgp keys).
    #[error("{file}: {message}")]
    Unsupported {
        /// The file.
        file: String,
        /// What is not supported.
        message: String,
    },
}

/// Errors of reading identities and keyrings.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A line of an identity file is not an age identity.
    #[error("{source_name}: line {line}: not an age identity (expected AGE-SECRET-KEY-1…)")]
    BadIdentity {
        /// Where the identities came from (a path or an environment variable).
        source_name: String,
        /// The 1-based line.
        line: usize,
    },
    /// An SSH private key that age cannot use (encrypted with a passphrase, or an unsupported type).
    #[error("{source_name}: unusable SSH private key: {cause}")]
    BadSshKey {
        /// Where the key came from.
        source_name: String,
        /// Why.
        cause: String,
    },
    /// A key file could not be read.
    #[error("{path}: cannot read key file: {source}")]
    Read {
        /// The path.
        path: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// Errors of `.sops.yaml` handling.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file does not parse, or a field has the wrong type.
    #[error("{file}: invalid sops config: {message}")]
    Invalid {
        /// The config file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A `path_regex` does not compile.
    #[error("{file}: creation rule {index}: path_regex `{regex}` does not compile: {cause}")]
    BadRegex {
        /// The config file.
        file: String,
        /// The 0-based index of the rule.
        index: usize,
        /// The regex.
        regex: String,
        /// The compiler's message.
        cause: String,
    },
    /// No creation rule matches the file (sops: "no matching creation rules found").
    #[error("{file}: no creation rule matches {path}")]
    NoMatchingRule {
        /// The config file.
        file: String,
        /// The path that was matched.
        path: String,
    },
    /// The matching rule uses something Kiln does not support (several key groups, non-age keys only).
    #[error("{file}: creation rule {index}: {message}")]
    Unsupported {
        /// The config file.
        file: String,
        /// The 0-based index of the rule.
        index: usize,
        /// What is not supported.
        message: String,
    },
}
