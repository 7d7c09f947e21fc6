//! Encrypted files and their decryption, encryption, key updates and rotation.

use zeroize::Zeroizing;

use crate::cipher::{self, DataKey};
use crate::error::Error;
use crate::gofmt;
use crate::keys::{Keyring, Recipient};
use crate::metadata::{DEFAULT_UNENCRYPTED_SUFFIX, Metadata, SOPS_VERSION};
use crate::store::{self, Format, StoreOptions};
use crate::value::Document;
use crate::walk::{self, IvStash};

/// Which values of a file are encrypted (sops allows one rule per file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CryptRule {
    /// sops's default: everything except keys ending in `_unencrypted`.
    #[default]
    Default,
    /// Leave values whose key (or an ancestor's) ends with this suffix unencrypted.
    UnencryptedSuffix(String),
    /// Encrypt only values whose key (or an ancestor's) ends with this suffix.
    EncryptedSuffix(String),
    /// Leave values whose key (or an ancestor's) matches this regex unencrypted.
    UnencryptedRegex(String),
    /// Encrypt only values whose key (or an ancestor's) matches this regex (Flux: `^(data|stringData)$`).
    EncryptedRegex(String),
    /// Leave values after a comment matching this regex unencrypted.
    UnencryptedCommentRegex(String),
    /// Encrypt only values after a comment matching this regex.
    EncryptedCommentRegex(String),
}

/// What [`encrypt`] needs besides the plaintext.
#[derive(Debug, Clone, Default)]
pub struct EncryptOptions {
    /// The age recipients (`age1…`, `ssh-ed25519 …`) the data key is wrapped for.
    pub recipients: Vec<String>,
    /// Which values are encrypted.
    pub rule: CryptRule,
    /// Whether the MAC covers only the encrypted values.
    pub mac_only_encrypted: bool,
    /// Output indentation.
    pub store: StoreOptions,
}

fn apply_rule(m: &mut Metadata, rule: &CryptRule) {
    match rule {
        CryptRule::Default => m.unencrypted_suffix = DEFAULT_UNENCRYPTED_SUFFIX.into(),
        CryptRule::UnencryptedSuffix(s) => m.unencrypted_suffix = s.clone(),
        CryptRule::EncryptedSuffix(s) => m.encrypted_suffix = s.clone(),
        CryptRule::UnencryptedRegex(s) => m.unencrypted_regex = s.clone(),
        CryptRule::EncryptedRegex(s) => m.encrypted_regex = s.clone(),
        CryptRule::UnencryptedCommentRegex(s) => m.unencrypted_comment_regex = s.clone(),
        CryptRule::EncryptedCommentRegex(s) => m.encrypted_comment_regex = s.clone(),
    }
}

fn parse_recipients(file: &str, list: &[String]) -> Result<Vec<Recipient>, Error> {
    let mut out: Vec<Recipient> = Vec::new();
    for r in list {
        let r = Recipient::parse(r)?;
        if !out.iter().any(|o| o.as_str() == r.as_str()) {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(Error::NoRecipients {
            file: file.to_string(),
        });
    }
    Ok(out)
}

/// Encrypts `doc` in place with `key`, sets `lastmodified` and the MAC.
fn seal(
    file: &str,
    doc: &mut Document,
    meta: &mut Metadata,
    key: &DataKey,
    stash: &IvStash,
) -> Result<(), Error> {
    let rules = meta.rules().map_err(|message| Error::Options {
        file: file.to_string(),
        message,
    })?;
    let mac = walk::encrypt_doc(doc, key, &rules, stash);
    meta.last_modified = gofmt::now_rfc3339();
    meta.mac = cipher::encrypt_raw(mac.as_bytes(), "str", key, &meta.last_modified, None);
    Ok(())
}

/// Encrypts a plaintext file for the given recipients, as `sops encrypt` does.
pub fn encrypt(
    file: &str,
    plaintext: &[u8],
    format: Format,
    opts: &EncryptOptions,
) -> Result<Vec<u8>, Error> {
    let recipients = parse_recipients(file, &opts.recipients)?;
    let mut doc = store::load_plain(file, format, plaintext)?;
    if store::has_metadata(format, &doc) {
        return Err(Error::AlreadyEncrypted {
            file: file.to_string(),
        });
    }
    let key = DataKey::generate();
    let mut meta = Metadata {
        mac_only_encrypted: opts.mac_only_encrypted,
        version: SOPS_VERSION.into(),
        key_groups: 1,
        ..Default::default()
    };
    apply_rule(&mut meta, &opts.rule);
    for r in &recipients {
        meta.age.push(r.wrap(&key)?);
    }
    seal(file, &mut doc, &mut meta, &key, &IvStash::default())?;
    store::emit_encrypted(file, format, &doc, &meta, &opts.store)
}

/// Decrypts an encrypted file to its plaintext, as `sops decrypt` prints it (MAC verified first).
pub fn decrypt(
    file: &str,
    input: &[u8],
    format: Format,
    keyring: &Keyring,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    EncryptedFile::parse(file, input, format)?
        .decrypt(keyring)?
        .to_plaintext()
}

/// An encrypted sops file: its tree (values still encrypted) and metadata.
#[derive(Debug, Clone)]
pub struct EncryptedFile {
    name: String,
    format: Format,
    doc: Document,
    metadata: Metadata,
    store: StoreOptions,
}

impl EncryptedFile {
    /// Parses an encrypted file; `name` is used in errors.
    pub fn parse(name: &str, input: &[u8], format: Format) -> Result<Self, Error> {
        let (doc, metadata) = store::load_encrypted(name, format, input)?;
        Ok(EncryptedFile {
            name: name.to_string(),
            format,
            doc,
            metadata,
            store: StoreOptions::default(),
        })
    }

    /// Sets the indentation used when writing (from `.sops.yaml` `stores:`).
    pub fn with_store_options(mut self, store: StoreOptions) -> Self {
        self.store = store;
        self
    }

    /// The file's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The sops metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The age recipients the data key is wrapped for.
    pub fn recipients(&self) -> Vec<&str> {
        self.metadata
            .age
            .iter()
            .map(|a| a.recipient.as_str())
            .collect()
    }

    /// The tree with its values still encrypted.
    pub fn encrypted_document(&self) -> &Document {
        &self.doc
    }

    fn check_groups(&self) -> Result<(), Error> {
        if self.metadata.key_groups > 1 || self.metadata.shamir_threshold > 1 {
            return Err(Error::UnsupportedKeyGroups {
                file: self.name.clone(),
                groups: self.metadata.key_groups,
                threshold: self.metadata.shamir_threshold,
            });
        }
        Ok(())
    }

    /// Unwraps the data key with the keyring.
    fn data_key(&self, keyring: &Keyring) -> Result<DataKey, Error> {
        self.check_groups()?;
        keyring.unwrap_data_key(&self.name, &self.metadata.age)
    }

    /// Decrypts every value and verifies the MAC before returning anything.
    pub fn decrypt(&self, keyring: &Keyring) -> Result<Decrypted, Error> {
        let key = self.data_key(keyring)?;
        self.decrypt_with(key)
    }

    fn decrypt_with(&self, key: DataKey) -> Result<Decrypted, Error> {
        let file = || self.name.clone();
        let rules = self.metadata.rules().map_err(|message| Error::Metadata {
            file: file(),
            message,
        })?;
        let mut doc = self.doc.clone();
        let mut stash = IvStash::default();
        let computed =
            walk::decrypt_doc(&mut doc, &key, &rules, &mut stash).map_err(|e| Error::Value {
                file: file(),
                path: e.path,
                cause: e.cause.to_string(),
            })?;
        if self.metadata.mac.is_empty() {
            return Err(Error::MacMissing { file: file() });
        }
        let ad = gofmt::normalize_rfc3339(&self.metadata.last_modified).ok_or_else(|| {
            Error::Metadata {
                file: file(),
                message: format!(
                    "lastmodified `{}` is not RFC 3339",
                    self.metadata.last_modified
                ),
            }
        })?;
        let (stored, _) = cipher::decrypt_raw(&self.metadata.mac, &key, &ad).map_err(|e| {
            Error::MacUndecryptable {
                file: file(),
                cause: e.to_string(),
            }
        })?;
        if stored.as_slice() != computed.as_bytes() {
            return Err(Error::MacMismatch { file: file() });
        }
        Ok(Decrypted {
            name: self.name.clone(),
            format: self.format,
            doc,
            metadata: self.metadata.clone(),
            key,
            stash,
            store: self.store,
        })
    }

    /// Writes the file as sops would.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        store::emit_encrypted(
            &self.name,
            self.format,
            &self.doc,
            &self.metadata,
            &self.store,
        )
    }

    /// Re-wraps the data key for exactly `recipients` (sops `updatekeys`); values are untouched.
    ///
    /// Stanzas of recipients that stay are kept as they are. Returns the added and removed recipients.
    pub fn update_keys(
        &mut self,
        keyring: &Keyring,
        recipients: &[String],
    ) -> Result<KeyChanges, Error> {
        let wanted = parse_recipients(&self.name, recipients)?;
        let have: Vec<String> = self.recipients().iter().map(|s| s.to_string()).collect();
        let changes = KeyChanges {
            added: wanted
                .iter()
                .filter(|w| !have.iter().any(|h| h == w.as_str()))
                .map(|w| w.as_str().to_string())
                .collect(),
            removed: have
                .iter()
                .filter(|h| !wanted.iter().any(|w| w.as_str() == h.as_str()))
                .cloned()
                .collect(),
        };
        if changes.added.is_empty() && changes.removed.is_empty() {
            return Ok(changes);
        }
        let key = self.data_key(keyring)?;
        // Verify the file before re-wrapping its key.
        self.decrypt_with(key.clone())?;
        let mut age = Vec::new();
        for w in &wanted {
            match self.metadata.age.iter().find(|a| a.recipient == w.as_str()) {
                Some(a) => age.push(a.clone()),
                None => age.push(w.wrap(&key)?),
            }
        }
        self.metadata.age = age;
        Ok(changes)
    }

    /// Generates a new data key, re-encrypts every value and re-wraps it (sops `rotate`).
    ///
    /// `recipients`, when given, replaces the recipient set at the same time.
    pub fn rotate(
        &mut self,
        keyring: &Keyring,
        recipients: Option<&[String]>,
    ) -> Result<(), Error> {
        if !self.metadata.other_keys.is_empty() {
            return Err(Error::Unsupported {
                file: self.name.clone(),
                message: "the file also has non-age keys (pgp, kms, …); Kiln cannot re-wrap a new data key for them".into(),
            });
        }
        let dec = self.decrypt(keyring)?;
        let list: Vec<String> = match recipients {
            Some(r) => r.to_vec(),
            None => self.recipients().iter().map(|s| s.to_string()).collect(),
        };
        let wanted = parse_recipients(&self.name, &list)?;
        let key = DataKey::generate();
        let mut meta = self.metadata.clone();
        meta.age = wanted
            .iter()
            .map(|w| w.wrap(&key))
            .collect::<Result<_, _>>()?;
        meta.version = SOPS_VERSION.into();
        let mut doc = dec.doc.clone();
        seal(&self.name, &mut doc, &mut meta, &key, &dec.stash)?;
        self.doc = doc;
        self.metadata = meta;
        Ok(())
    }
}

/// The recipients [`EncryptedFile::update_keys`] added and removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyChanges {
    /// Newly added recipients.
    pub added: Vec<String>,
    /// Removed recipients.
    pub removed: Vec<String>,
}

/// A decrypted, MAC-verified file. Holds plaintext and the data key: zeroized on drop, redacted in `Debug`.
pub struct Decrypted {
    name: String,
    format: Format,
    doc: Document,
    metadata: Metadata,
    key: DataKey,
    stash: IvStash,
    store: StoreOptions,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Decrypted {
    /// The plaintext tree.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The metadata of the file it came from.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The plaintext file, as `sops decrypt` prints it.
    pub fn to_plaintext(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        store::emit_plain(&self.name, self.format, &self.doc, &self.store).map(Zeroizing::new)
    }

    /// Encrypts new plaintext for the same file (sops `edit`): same data key, recipients and rules,
    /// and the same IV for every value that did not change, so unchanged values keep their ciphertext.
    pub fn reencrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut doc = store::load_plain(&self.name, self.format, plaintext)?;
        if store::has_metadata(self.format, &doc) {
            return Err(Error::AlreadyEncrypted {
                file: self.name.clone(),
            });
        }
        let mut meta = self.metadata.clone();
        seal(&self.name, &mut doc, &mut meta, &self.key, &self.stash)?;
        store::emit_encrypted(&self.name, self.format, &doc, &meta, &self.store)
    }
}
