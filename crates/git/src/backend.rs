use kiln_source::{Backend, BackendError, Node, NodeKind, Oid};

/// One commit's tree, read from a mirror's object database. Create it with
/// [`crate::Mirror::tree`]; wrap it in a [`kiln_source::Tree`] to read.
pub struct GitBackend {
    repo: gix::Repository,
    root: gix::ObjectId,
    commit_time: i64,
}

impl GitBackend {
    pub(crate) fn new(repo: gix::Repository, root: gix::ObjectId, commit_time: i64) -> Self {
        GitBackend {
            repo,
            root,
            commit_time,
        }
    }

    /// The commit's committer time, seconds since the Unix epoch.
    pub fn commit_time(&self) -> i64 {
        self.commit_time
    }

    /// The root tree id.
    pub fn root_tree(&self) -> Oid {
        to_oid(self.root)
    }
}

pub(crate) fn to_oid(id: gix::ObjectId) -> Oid {
    let mut out = [0u8; 20];
    let bytes = id.as_bytes();
    let n = bytes.len().min(20);
    out[..n].copy_from_slice(&bytes[..n]);
    Oid(out)
}

pub(crate) fn from_oid(id: Oid) -> gix::ObjectId {
    gix::ObjectId::from(id.0)
}

fn kind(mode: gix::object::tree::EntryMode) -> NodeKind {
    if mode.is_tree() {
        NodeKind::Dir
    } else if mode.is_link() {
        NodeKind::Symlink
    } else if mode.is_commit() {
        NodeKind::Submodule
    } else {
        NodeKind::File
    }
}

impl Backend for GitBackend {
    type Handle = gix::ObjectId;

    fn root(&self) -> Node<gix::ObjectId> {
        Node {
            kind: NodeKind::Dir,
            handle: self.root,
        }
    }

    fn lookup(
        &self,
        dir: &gix::ObjectId,
        name: &str,
    ) -> Result<Option<Node<gix::ObjectId>>, BackendError> {
        let tree = self.repo.find_tree(*dir)?;
        Ok(tree.find_entry(name).map(|e| Node {
            kind: kind(e.mode()),
            handle: e.object_id(),
        }))
    }

    fn list(
        &self,
        dir: &gix::ObjectId,
    ) -> Result<Vec<(String, Node<gix::ObjectId>)>, BackendError> {
        let tree = self.repo.find_tree(*dir)?;
        let mut out = Vec::new();
        for entry in tree.iter() {
            let entry = entry?;
            out.push((
                entry.filename().to_string(),
                Node {
                    kind: kind(entry.mode()),
                    handle: entry.object_id(),
                },
            ));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn size(&self, file: &gix::ObjectId) -> Result<u64, BackendError> {
        Ok(self.repo.find_header(*file)?.size())
    }

    fn read(&self, file: &gix::ObjectId) -> Result<Vec<u8>, BackendError> {
        Ok(self.repo.find_blob(*file)?.take_data())
    }

    fn file_id(&self, file: &gix::ObjectId) -> Result<Oid, BackendError> {
        Ok(to_oid(*file))
    }
}
