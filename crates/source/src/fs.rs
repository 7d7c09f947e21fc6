use std::path::{Path, PathBuf};

use crate::{Backend, BackendError, Node, NodeKind, Oid};

/// A local folder as a source tree; `.git` entries are hidden, as they are
/// never part of a Git tree.
#[derive(Clone, Debug)]
pub struct FsBackend {
    root: PathBuf,
}

impl FsBackend {
    /// Opens the folder at `root`, which must exist.
    pub fn open(root: impl AsRef<Path>) -> std::io::Result<Self> {
        let root = root.as_ref().canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(FsBackend { root })
    }

    /// The folder's canonical path.
    pub fn root_path(&self) -> &Path {
        &self.root
    }

    fn node(path: PathBuf) -> Result<Option<Node<PathBuf>>, BackendError> {
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Box::new(e)),
        };
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            NodeKind::Symlink
        } else if ft.is_dir() {
            NodeKind::Dir
        } else if ft.is_file() {
            NodeKind::File
        } else {
            return Ok(None);
        };
        Ok(Some(Node { kind, handle: path }))
    }
}

impl Backend for FsBackend {
    type Handle = PathBuf;

    fn root(&self) -> Node<PathBuf> {
        Node {
            kind: NodeKind::Dir,
            handle: self.root.clone(),
        }
    }

    fn lookup(&self, dir: &PathBuf, name: &str) -> Result<Option<Node<PathBuf>>, BackendError> {
        if name == ".git" {
            return Ok(None);
        }
        Self::node(dir.join(name))
    }

    fn list(&self, dir: &PathBuf) -> Result<Vec<(String, Node<PathBuf>)>, BackendError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name == ".git" {
                continue;
            }
            if let Some(n) = Self::node(entry.path())? {
                out.push((name, n));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn size(&self, file: &PathBuf) -> Result<u64, BackendError> {
        Ok(std::fs::symlink_metadata(file)?.len())
    }

    fn read(&self, file: &PathBuf) -> Result<Vec<u8>, BackendError> {
        let meta = std::fs::symlink_metadata(file)?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(file)?;
            return Ok(target.to_string_lossy().into_owned().into_bytes());
        }
        Ok(std::fs::read(file)?)
    }

    fn file_id(&self, file: &PathBuf) -> Result<Oid, BackendError> {
        Ok(Oid::for_blob(&std::fs::read(file)?))
    }
}
