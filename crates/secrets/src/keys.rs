//! The keyring: named sets of age identities, loaded once at start.

use std::{collections::BTreeMap, path::Path};

use kiln_sops::Keyring;

use crate::{Error, SecretsConfig};

/// Age identities by name. `Debug` shows names and public recipients only.
#[derive(Debug, Default)]
pub struct NamedKeys {
    by_name: BTreeMap<String, Keyring>,
}

impl NamedKeys {
    /// Loads every key file and key directory of the configuration.
    pub fn load(config: &SecretsConfig) -> Result<Self, Error> {
        let mut keys = NamedKeys::default();
        for (i, k) in config.keys.iter().enumerate() {
            let field = format!("secrets.keys[{i}].file");
            keys.add(&field, &k.name, &k.file)?;
        }
        for (i, dir) in config.key_dirs.iter().enumerate() {
            let field = format!("secrets.keyDirs[{i}]");
            let entries = std::fs::read_dir(dir).map_err(|e| Error::Key {
                field: field.clone(),
                path: dir.display().to_string(),
                cause: e.to_string(),
            })?;
            let mut names = Vec::new();
            for e in entries {
                let e = e.map_err(|e| Error::Key {
                    field: field.clone(),
                    path: dir.display().to_string(),
                    cause: e.to_string(),
                })?;
                let name = e.file_name().to_string_lossy().into_owned();
                // Kubernetes mounts keep their real files under `..data`.
                if name.starts_with('.') || !e.path().is_file() {
                    continue;
                }
                names.push(name);
            }
            names.sort();
            for name in names {
                keys.add(&field, &name, &dir.join(&name))?;
            }
        }
        Ok(keys)
    }

    /// Adds one named keyring directly (for the CLI and tests).
    pub fn insert(&mut self, name: &str, keyring: Keyring) {
        self.by_name.insert(name.to_owned(), keyring);
    }

    fn add(&mut self, field: &str, name: &str, path: &Path) -> Result<(), Error> {
        if self.by_name.contains_key(name) {
            return Err(Error::DuplicateKey {
                field: field.to_owned(),
                name: name.to_owned(),
            });
        }
        let err = |cause: String| Error::Key {
            field: field.to_owned(),
            path: path.display().to_string(),
            cause,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let source = path.display().to_string();
        let mut ring = Keyring::new();
        if text.contains("PRIVATE KEY-----") {
            ring.add_ssh_private_key(&text, &source)
                .map_err(|e| err(e.to_string()))?;
        } else {
            ring.add_identities(&text, &source)
                .map_err(|e| err(e.to_string()))?;
        }
        if ring.is_empty() {
            return Err(err("holds no age identity or SSH private key".into()));
        }
        self.by_name.insert(name.to_owned(), ring);
        Ok(())
    }

    /// The keyring of a name.
    pub fn get(&self, name: &str) -> Option<&Keyring> {
        self.by_name.get(name)
    }

    /// Every key name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}
