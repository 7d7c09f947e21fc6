//! Opening SOPS files for renders with the keys the repository may use.

use kiln_render::{SecretError, SecretOpener};
use kiln_sops::Format;
use tracing::debug;

use crate::{NamedKeys, Policy};

/// The keyring and the policy; opens SOPS files for
/// [`kiln_render::Pipeline::set_secrets`].
#[derive(Debug)]
pub struct SopsOpener {
    keys: NamedKeys,
    policy: Policy,
}

impl SopsOpener {
    /// An opener over these keys and rules.
    pub fn new(keys: NamedKeys, policy: Policy) -> Self {
        SopsOpener { keys, policy }
    }
}

impl SecretOpener for SopsOpener {
    fn open(&self, repo: &str, path: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, SecretError> {
        let format = Format::from_path(path);
        if !looks_encrypted(bytes) {
            return Ok(None);
        }
        // Parsed once here to tell SOPS files from files that merely
        // mention the marker; what does not parse is passed on as stored.
        let file = match kiln_sops::EncryptedFile::parse(path, bytes, format) {
            Ok(f) => f,
            Err(kiln_sops::Error::MetadataNotFound { .. } | kiln_sops::Error::Parse { .. }) => {
                return Ok(None);
            }
            Err(e) => {
                return Err(SecretError {
                    denied: false,
                    message: e.to_string(),
                });
            }
        };
        let allowed = self.policy.keys_for(repo, path);
        if allowed.is_empty() {
            return Err(SecretError {
                denied: true,
                message: format!(
                    "the file is SOPS-encrypted and no key rule lets {repo} decrypt '{path}'"
                ),
            });
        }
        debug!(%repo, %path, keys = ?allowed, "decrypting");
        let mut last = None;
        for ring in allowed.iter().filter_map(|n| self.keys.get(n)) {
            match file.decrypt(ring).and_then(|d| d.to_plaintext()) {
                Ok(plain) => return Ok(Some(plain.to_vec())),
                Err(e @ kiln_sops::Error::NoMatchingKey { .. }) => last = Some(e),
                Err(e) => {
                    return Err(SecretError {
                        denied: false,
                        message: e.to_string(),
                    });
                }
            }
        }
        Err(SecretError {
            denied: true,
            message: format!(
                "none of the keys {repo} may use ({}) opens it{}",
                allowed.join(", "),
                last.map(|e| format!(": {e}")).unwrap_or_default()
            ),
        })
    }
}

/// Every SOPS file carries at least its encrypted MAC.
fn looks_encrypted(bytes: &[u8]) -> bool {
    const MARK: &[u8] = b"ENC[AES256_GCM,data:";
    bytes.windows(MARK.len()).any(|w| w == MARK)
}
