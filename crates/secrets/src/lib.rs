//! The repo-server's secrets: a keyring of named age identities, a policy
//! saying which repositories (and paths) may use which keys, and the
//! [`kiln_render::SecretOpener`] that opens SOPS files for renders with
//! exactly the keys a repository may use.
//!
//! ```yaml
//! secrets:
//!   cache: false                       # keep renders with secrets out of the render cache
//!   keys:
//!     - name: payments
//!       file: /etc/kiln/keys/payments.agekey   # age identities or an SSH private key
//!   keyDirs:
//!     - /etc/kiln/age                  # a mounted Secret: each file a key named after it
//!   rules:
//!     - repos: ["https://github.com/acme/payments*"]
//!       paths: ["deploy/**"]           # optional; default every path
//!       keys: [payments]
//! ```

#![forbid(unsafe_code)]

mod config;
mod error;
mod keys;
mod opener;
mod policy;

pub use self::{
    config::{KeyFile, Rule, SecretsConfig},
    error::Error,
    keys::NamedKeys,
    opener::SopsOpener,
    policy::Policy,
};
