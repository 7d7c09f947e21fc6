//! Decrypt-as-read: encrypted files are opened as a renderer reads them,
//! with the keys the repository may use, so plugins see plaintext and never
//! key material.

use std::sync::{Arc, Mutex};

use kiln_source::{DirEntry, EntryKind, Source, SourceError};

/// Why an encrypted file could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretError {
    /// True when no key the repository may use opens the file.
    pub denied: bool,
    /// What went wrong, naming the field where one is at fault.
    pub message: String,
}

/// Opens encrypted files for renders; implemented by the binary with the
/// keyring and the per-repository key policy.
pub trait SecretOpener: Send + Sync {
    /// The plaintext of `bytes`, read at `path` of repository `repo`, or
    /// `None` when the file is not encrypted.
    fn open(&self, repo: &str, path: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, SecretError>;
}

/// How the pipeline treats encrypted files.
#[derive(Clone)]
pub struct SecretSettings {
    /// The opener.
    pub opener: Arc<dyn SecretOpener>,
    /// Keep renders that decrypted something in the in-memory render cache.
    pub cache: bool,
}

impl std::fmt::Debug for SecretSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretSettings")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// What the decrypting source saw during one render.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Some file was decrypted.
    pub decrypted: bool,
    /// The first file that could not be opened, as the renderer was told.
    pub failure: Option<SourceError>,
}

/// A source that opens encrypted files on read and records what happened.
pub(crate) struct Decrypting<S> {
    inner: Arc<S>,
    opener: Arc<dyn SecretOpener>,
    repo: String,
    outcome: Mutex<Outcome>,
}

impl<S: Source> Decrypting<S> {
    pub(crate) fn new(inner: Arc<S>, opener: Arc<dyn SecretOpener>, repo: &str) -> Self {
        Decrypting {
            inner,
            opener,
            repo: repo.to_owned(),
            outcome: Mutex::new(Outcome::default()),
        }
    }

    /// What happened so far.
    pub(crate) fn take_outcome(&self) -> Outcome {
        std::mem::take(&mut *self.outcome.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<S: Source> Source for Decrypting<S> {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let bytes = self.inner.read_file(path)?;
        match self.opener.open(&self.repo, path, &bytes) {
            Ok(None) => Ok(bytes),
            Ok(Some(plain)) => {
                self.outcome
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .decrypted = true;
                Ok(plain)
            }
            Err(e) => {
                let err = || SourceError::Secret {
                    path: path.to_owned(),
                    message: e.message.clone(),
                    denied: e.denied,
                };
                let mut o = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
                o.failure.get_or_insert_with(err);
                Err(err())
            }
        }
    }

    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError> {
        self.inner.list_dir(path)
    }

    fn stat(&self, path: &str) -> Result<Option<EntryKind>, SourceError> {
        self.inner.stat(path)
    }

    fn commit_time(&self) -> i64 {
        self.inner.commit_time()
    }
}
