//! age identities (the keyring), recipients, and wrapping the data key for them.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format as ArmorFormat};
use zeroize::Zeroizing;

use crate::cipher::DataKey;
use crate::error::{Error, KeyError};
use crate::metadata::AgeStanza;

/// One private key able to unwrap data keys.
enum Identity {
    X25519(age::x25519::Identity),
    Ssh(age::ssh::Identity),
}

impl Identity {
    fn as_age(&self) -> &dyn age::Identity {
        match self {
            Identity::X25519(i) => i,
            Identity::Ssh(i) => i,
        }
    }

    fn public(&self) -> Option<String> {
        match self {
            Identity::X25519(i) => Some(i.to_public().to_string()),
            Identity::Ssh(i) => age::ssh::Recipient::try_from(i.clone())
                .ok()
                .map(|r| r.to_string()),
        }
    }
}

/// The age identities Kiln may decrypt with: X25519 keys and unencrypted SSH ed25519/RSA keys.
///
/// `Debug` lists only the public recipients.
#[derive(Default)]
pub struct Keyring {
    identities: Vec<Identity>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("recipients", &self.recipients())
            .finish()
    }
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// A keyring from the text of an age identity file (`AGE-SECRET-KEY-1…` lines, `#` comments).
    pub fn from_identities(text: &str, source_name: &str) -> Result<Self, KeyError> {
        let mut k = Self::new();
        k.add_identities(text, source_name)?;
        Ok(k)
    }

    /// Adds the identities of an age identity file; `source_name` is used in errors.
    pub fn add_identities(&mut self, text: &str, source_name: &str) -> Result<usize, KeyError> {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = age::x25519::Identity::from_str(line.trim()).map_err(|_| {
                KeyError::BadIdentity {
                    source_name: source_name.to_string(),
                    line: i + 1,
                }
            })?;
            self.identities.push(Identity::X25519(id));
            n += 1;
        }
        Ok(n)
    }

    /// Adds an unencrypted OpenSSH/PEM private key (ed25519 or RSA), as age's ssh support reads it.
    pub fn add_ssh_private_key(&mut self, pem: &str, source_name: &str) -> Result<(), KeyError> {
        let bad = |cause: String| KeyError::BadSshKey {
            source_name: source_name.to_string(),
            cause,
        };
        let id = age::ssh::Identity::from_buffer(pem.as_bytes(), Some(source_name.to_string()))
            .map_err(|e| bad(e.to_string()))?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {
                self.identities.push(Identity::Ssh(id));
                Ok(())
            }
            age::ssh::Identity::Encrypted(_) => {
                Err(bad("the key is protected by a passphrase".into()))
            }
            age::ssh::Identity::Unsupported(_) => Err(bad("unsupported key type".into())),
        }
    }

    /// Adds the identities of another keyring.
    pub fn extend(&mut self, other: Keyring) {
        self.identities.extend(other.identities);
    }

    /// Number of identities.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// Whether the keyring has no identity.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// The public recipients of the identities (`age1…`, `ssh-ed25519 …`).
    pub fn recipients(&self) -> Vec<String> {
        self.identities
            .iter()
            .filter_map(Identity::public)
            .collect()
    }

    /// Unwraps the data key from the first stanza any identity opens (matching recipients first).
    pub(crate) fn unwrap_data_key(
        &self,
        file: &str,
        stanzas: &[AgeStanza],
    ) -> Result<DataKey, Error> {
        let publics: Vec<Option<String>> = self.identities.iter().map(Identity::public).collect();
        let matches = |s: &AgeStanza| {
            let want = normalize_recipient(&s.recipient);
            publics
                .iter()
                .any(|p| p.as_deref().map(normalize_recipient) == Some(want.clone()))
        };
        let mut order: Vec<&AgeStanza> = stanzas.iter().filter(|s| matches(s)).collect();
        order.extend(stanzas.iter().filter(|s| !matches(s)));
        let mut last_err: Option<(String, String)> = None;
        for s in order {
            match unwrap_one(&s.enc, &self.identities) {
                Ok(k) => return Ok(k),
                Err(UnwrapError::NoMatch) => {}
                Err(UnwrapError::Other(e)) => {
                    last_err.get_or_insert((s.recipient.clone(), e));
                }
            }
        }
        match last_err {
            Some((recipient, cause)) => Err(Error::DataKey {
                file: file.to_string(),
                recipient,
                cause,
            }),
            None => Err(Error::NoMatchingKey {
                file: file.to_string(),
                recipients: stanzas
                    .iter()
                    .map(|s| s.recipient.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                identities: self.identities.len(),
            }),
        }
    }
}

/// Compares ssh recipients without their comment.
fn normalize_recipient(r: &str) -> String {
    let r = r.trim();
    if r.starts_with("ssh-") {
        r.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    } else {
        r.to_string()
    }
}

enum UnwrapError {
    NoMatch,
    Other(String),
}

fn unwrap_one(enc: &str, ids: &[Identity]) -> Result<DataKey, UnwrapError> {
    let reader = ArmoredReader::new(enc.as_bytes());
    let dec = age::Decryptor::new(reader).map_err(|e| UnwrapError::Other(e.to_string()))?;
    let mut r = match dec.decrypt(ids.iter().map(Identity::as_age)) {
        Ok(r) => r,
        Err(age::DecryptError::NoMatchingKeys) => return Err(UnwrapError::NoMatch),
        Err(e) => return Err(UnwrapError::Other(e.to_string())),
    };
    let mut buf = Zeroizing::new(Vec::new());
    r.read_to_end(&mut buf)
        .map_err(|e| UnwrapError::Other(e.to_string()))?;
    DataKey::from_slice(&buf)
        .ok_or_else(|| UnwrapError::Other(format!("the data key has {} bytes, not 32", buf.len())))
}

/// A recipient the data key can be wrapped for.
#[derive(Clone)]
pub struct Recipient {
    text: String,
    kind: RecipientKind,
}

#[derive(Clone)]
enum RecipientKind {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Recipient").field(&self.text).finish()
    }
}

impl Recipient {
    /// Parses `age1…` or an `ssh-ed25519`/`ssh-rsa` public key (surrounding blanks trimmed, as sops does).
    pub fn parse(s: &str) -> Result<Self, Error> {
        let text = s.trim().to_string();
        let bad = |cause: &str| Error::Recipient {
            recipient: text.clone(),
            cause: cause.to_string(),
        };
        let kind = if text.starts_with("age1") && text.matches('1').count() > 1 {
            return Err(bad("age plugin recipients are not supported"));
        } else if text.starts_with("age1") {
            RecipientKind::X25519(age::x25519::Recipient::from_str(&text).map_err(&bad)?)
        } else if text.starts_with("ssh-") {
            RecipientKind::Ssh(
                age::ssh::Recipient::from_str(&text)
                    .map_err(|_| bad("not a valid ssh public key"))?,
            )
        } else {
            return Err(bad("unknown recipient type (expected age1… or ssh-…)"));
        };
        Ok(Recipient { text, kind })
    }

    /// The recipient as written in the file.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Wraps a data key for this recipient: an armored age file, as sops stores it.
    pub(crate) fn wrap(&self, key: &DataKey) -> Result<AgeStanza, Error> {
        let r: &dyn age::Recipient = match &self.kind {
            RecipientKind::X25519(r) => r,
            RecipientKind::Ssh(r) => r,
        };
        let fail = |e: String| Error::Recipient {
            recipient: self.text.clone(),
            cause: e,
        };
        let enc =
            age::Encryptor::with_recipients(std::iter::once(r)).map_err(|e| fail(e.to_string()))?;
        let mut out = Vec::new();
        let armored = ArmoredWriter::wrap_output(&mut out, ArmorFormat::AsciiArmor)
            .map_err(|e| fail(e.to_string()))?;
        let mut w = enc.wrap_output(armored).map_err(|e| fail(e.to_string()))?;
        w.write_all(key.0.as_ref())
            .map_err(|e| fail(e.to_string()))?;
        let armored = w.finish().map_err(|e| fail(e.to_string()))?;
        armored.finish().map_err(|e| fail(e.to_string()))?;
        let mut text = String::from_utf8(out).map_err(|e| fail(e.to_string()))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(AgeStanza {
            recipient: self.text.clone(),
            enc: text,
        })
    }
}

/// Builds the keyring sops would use from the values of `SOPS_AGE_KEY` and `SOPS_AGE_KEY_FILE`
/// (and `SOPS_AGE_SSH_PRIVATE_KEY_FILE`), plus sops's default key file when it exists, as sops merges them.
///
/// The caller passes the values (e.g. from `std::env::var`), so tests need not touch the environment.
pub fn keyring_from_env_values(
    sops_age_key: Option<&str>,
    sops_age_key_file: Option<&Path>,
    ssh_private_key_file: Option<&Path>,
    default_key_file: Option<&Path>,
) -> Result<Keyring, KeyError> {
    let mut k = Keyring::new();
    if let Some(p) = ssh_private_key_file {
        let text = read(p)?;
        k.add_ssh_private_key(&text, &p.display().to_string())?;
    }
    if let Some(v) = sops_age_key {
        k.add_identities(v, "SOPS_AGE_KEY")?;
    }
    if let Some(p) = sops_age_key_file {
        let text = read(p)?;
        k.add_identities(&text, &p.display().to_string())?;
    }
    if let Some(p) = default_key_file
        && p.exists()
    {
        let text = read(p)?;
        k.add_identities(&text, &p.display().to_string())?;
    }
    Ok(k)
}

/// The keyring from the process environment, as sops reads it (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
/// `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, then `$XDG_CONFIG_HOME/sops/age/keys.txt`).
pub fn keyring_from_env() -> Result<Keyring, KeyError> {
    let key = std::env::var("SOPS_AGE_KEY").ok();
    let file = std::env::var_os("SOPS_AGE_KEY_FILE").map(PathBuf::from);
    let ssh = std::env::var_os("SOPS_AGE_SSH_PRIVATE_KEY_FILE").map(PathBuf::from);
    let default = default_key_file(
        std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .as_deref(),
        std::env::var_os("HOME").map(PathBuf::from).as_deref(),
    );
    keyring_from_env_values(
        key.as_deref(),
        file.as_deref(),
        ssh.as_deref(),
        default.as_deref(),
    )
}

/// sops's default key file: `$XDG_CONFIG_HOME/sops/age/keys.txt`, else `$HOME/.config/sops/age/keys.txt`.
pub fn default_key_file(xdg_config_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    let base = match xdg_config_home {
        Some(x) if !x.as_os_str().is_empty() => x.to_path_buf(),
        _ => home?.join(".config"),
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

fn read(p: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(p).map_err(|source| KeyError::Read {
        path: p.display().to_string(),
        source,
    })
}
