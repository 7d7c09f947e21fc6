use crate::SourceError;

/// Kind of a directory entry as a renderer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symlink (not followed by `list_dir`; `stat` follows it).
    Symlink,
}

impl EntryKind {
    /// Lower-case name, as used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symlink",
        }
    }
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// File name, without directory.
    pub name: String,
    /// Its kind.
    pub kind: EntryKind,
}

/// The read-only view of a revision that renderers get. Paths are relative to
/// the repository root and use `/`.
pub trait Source {
    /// Reads a whole file, following symlinks inside the tree.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError>;
    /// Lists a directory, sorted by name.
    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError>;
    /// The kind of what is at `path` after following symlinks, or `None`.
    fn stat(&self, path: &str) -> Result<Option<EntryKind>, SourceError>;
    /// The commit time (seconds since the Unix epoch), the only clock a
    /// renderer gets. Reading it makes the render depend on it.
    fn commit_time(&self) -> i64;
}

/// A [`Source`] behind a mutex, so it can be shared with a renderer that
/// needs `Send + Sync + 'static` (a plugin's store).
pub struct Locked<S>(std::sync::Mutex<S>);

impl<S> Locked<S> {
    /// Wraps a source.
    pub fn new(source: S) -> Self {
        Locked(std::sync::Mutex::new(source))
    }

    /// Runs `f` on the wrapped source.
    pub fn with<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        f(&self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<S: Source> Source for Locked<S> {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.with(|s| s.read_file(path))
    }
    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError> {
        self.with(|s| s.list_dir(path))
    }
    fn stat(&self, path: &str) -> Result<Option<EntryKind>, SourceError> {
        self.with(|s| s.stat(path))
    }
    fn commit_time(&self) -> i64 {
        self.with(|s| s.commit_time())
    }
}
