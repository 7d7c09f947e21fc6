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
}
