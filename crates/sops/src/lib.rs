//! The SOPS file format with age keys, compatible with sops 3.11 in both directions.
//!
//! Reads and writes sops-encrypted YAML, JSON, dotenv, INI and binary files: unwraps the data
//! key with an age identity (X25519, or an SSH ed25519/RSA key), decrypts every
//! `ENC[AES256_GCM,…]` value, verifies the MAC before anything is returned, and writes the
//! plaintext as `sops decrypt` prints it. It also encrypts, re-wraps keys (`updatekeys`) and
//! rotates data keys, and matches `.sops.yaml` creation rules.
//!
//! It deliberately does not do IO in the core (callers pass bytes and name the file for
//! messages; [`keyring_from_env`] and [`find_config_fs`] are the only helpers that touch the
//! filesystem), does not support PGP or cloud KMS keys, age plugins, or Shamir key groups,
//! and never shells out.
//!
//! ```no_run
//! let keyring = kiln_sops::Keyring::from_identities("AGE-SECRET-KEY-1…", "keys.txt")?;
//! let input = std::fs::read("secret.enc.yaml")?;
//! let format = kiln_sops::Format::from_path("secret.enc.yaml");
//! let plain = kiln_sops::decrypt("secret.enc.yaml", &input, format, &keyring)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod cipher;
mod config;
mod error;
mod file;
mod gofmt;
mod keys;
mod metadata;
mod store;
mod value;
mod walk;

pub use self::{
    cipher::DataKey,
    config::{CONFIG_FILE_NAME, CreationRule, SopsConfig, find_config, find_config_fs},
    error::{ConfigError, Error, KeyError},
    file::{CryptRule, Decrypted, EncryptOptions, EncryptedFile, KeyChanges, decrypt, encrypt},
    keys::{Keyring, Recipient, default_key_file, keyring_from_env, keyring_from_env_values},
    metadata::{AgeStanza, Metadata, SOPS_VERSION},
    store::{Format, StoreOptions},
    value::{Document, Key, Value},
};
