use crate::Oid;

/// An error from a storage backend (object database or file system).
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of entry a tree node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    /// A regular file (executable or not).
    File,
    /// A directory.
    Dir,
    /// A symbolic link; its content is the target path.
    Symlink,
    /// A Git submodule (a commit of another repository).
    Submodule,
}

/// One entry of a tree, as a backend hands it out.
#[derive(Clone, Debug)]
pub struct Node<H> {
    /// The entry's kind.
    pub kind: NodeKind,
    /// The backend's handle to find the entry again.
    pub handle: H,
}

/// A directory's entries with their nodes, sorted by name.
pub type Listing<H> = Vec<(String, Node<H>)>;

/// Storage a [`crate::Tree`] reads from. Implementations only look entries up;
/// path rules, symlink policy, limits and recording live in `Tree`.
pub trait Backend {
    /// Handle to an entry (a Git object id, a file-system path).
    type Handle: Clone;

    /// The root directory.
    fn root(&self) -> Node<Self::Handle>;
    /// The entry `name` of directory `dir`, if any.
    fn lookup(
        &self,
        dir: &Self::Handle,
        name: &str,
    ) -> Result<Option<Node<Self::Handle>>, BackendError>;
    /// Every entry of directory `dir`, sorted by name.
    fn list(&self, dir: &Self::Handle) -> Result<Listing<Self::Handle>, BackendError>;
    /// Size in bytes of a file or symlink.
    fn size(&self, file: &Self::Handle) -> Result<u64, BackendError>;
    /// Content of a file, or the target of a symlink.
    fn read(&self, file: &Self::Handle) -> Result<Vec<u8>, BackendError>;
    /// Git blob id of a file's content; cheap for Git, a hash for folders.
    fn file_id(&self, file: &Self::Handle) -> Result<Oid, BackendError>;
}
