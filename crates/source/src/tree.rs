use std::sync::Mutex;

use crate::{
    Backend, DirEntry, EntryKind, Node, NodeKind, Oid, Outcome, Query, ReadLimits, ReadSet, Source,
    SourceError, normalize,
};

/// How many symlinks one path resolution may follow (Linux's `MAXSYMLINKS`).
const MAX_SYMLINK_HOPS: usize = 40;

/// A source tree with Kiln's path rules, read limits and read recording.
pub struct Tree<B: Backend> {
    backend: B,
    limits: ReadLimits,
    commit_time: i64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    reads: ReadSet,
    files_read: u64,
    bytes_read: u64,
}

/// Where a path resolution ended.
enum Resolved<H> {
    Found(Node<H>),
    Absent,
}

impl<B: Backend> Tree<B> {
    /// Wraps `backend` with the given limits and an empty read set.
    pub fn new(backend: B, limits: ReadLimits) -> Self {
        Tree {
            backend,
            limits,
            commit_time: 0,
            state: Mutex::new(State::default()),
        }
    }

    /// Sets the commit time [`Source::commit_time`] answers (default 0).
    pub fn with_commit_time(mut self, seconds: i64) -> Self {
        self.commit_time = seconds;
        self
    }

    /// The backend this tree reads from.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Returns the queries recorded so far and starts a new, empty set.
    pub fn take_read_set(&self) -> ReadSet {
        std::mem::take(&mut self.lock().reads)
    }

    /// A copy of the queries recorded so far.
    pub fn read_set(&self) -> ReadSet {
        self.lock().reads.clone()
    }

    /// True when every query in `reads` gets the same answer from this tree,
    /// so a render that made exactly those queries would produce the same
    /// output here. Nothing is recorded and no limit is charged.
    pub fn still_matches(&self, reads: &ReadSet) -> bool {
        reads.iter().all(|(query, path, expected)| {
            let got = match query {
                Query::Read => self.read_outcome(path),
                Query::List => self.list_outcome(path).map(|(o, _)| o),
                Query::Stat => self.stat_outcome(path),
                Query::Clock => Ok(Outcome::Time(self.commit_time)),
            };
            matches!(got, Ok(ref o) if o == expected)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another reader panicked mid-record; the
        // read set is still a valid (possibly shorter) record.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, query: Query, path: &str, outcome: Outcome) {
        self.lock().reads.record(query, path, outcome);
    }

    fn backend_err(path: &str) -> impl FnOnce(crate::BackendError) -> SourceError + '_ {
        move |source| SourceError::Backend {
            path: path.to_owned(),
            source,
        }
    }

    /// Resolves a normalised path, following symlinks (the last one only when
    /// `follow_last`), never leaving the root.
    fn resolve(&self, path: &str) -> Result<Resolved<B::Handle>, SourceError> {
        let mut pending: Vec<String> = split(path).rev().map(str::to_owned).collect();
        let mut walked: Vec<String> = Vec::new();
        let mut cur = self.backend.root();
        let mut hops = 0;
        while let Some(name) = pending.pop() {
            let Some(node) = self
                .backend
                .lookup(&cur.handle, &name)
                .map_err(Self::backend_err(path))?
            else {
                return Ok(Resolved::Absent);
            };
            match node.kind {
                NodeKind::Dir => {
                    walked.push(name);
                    cur = node;
                }
                NodeKind::File => {
                    return Ok(if pending.is_empty() {
                        Resolved::Found(node)
                    } else {
                        Resolved::Absent
                    });
                }
                NodeKind::Submodule => {
                    walked.push(name);
                    return Err(SourceError::Submodule {
                        path: path.to_owned(),
                        submodule: walked.join("/"),
                    });
                }
                NodeKind::Symlink => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(SourceError::SymlinkLoop {
                            path: path.to_owned(),
                        });
                    }
                    let raw = self
                        .backend
                        .read(&node.handle)
                        .map_err(Self::backend_err(path))?;
                    let target = String::from_utf8_lossy(&raw).into_owned();
                    let link = if walked.is_empty() {
                        name.clone()
                    } else {
                        format!("{}/{}", walked.join("/"), name)
                    };
                    let escape = || SourceError::SymlinkEscape {
                        path: path.to_owned(),
                        link: link.clone(),
                        target: target.clone(),
                    };
                    if target.starts_with('/') {
                        return Err(escape());
                    }
                    let mut rest: Vec<&str> = pending.iter().rev().map(String::as_str).collect();
                    let mut joined = walked.join("/");
                    for part in std::iter::once(target.as_str()).chain(rest.drain(..)) {
                        if !joined.is_empty() {
                            joined.push('/');
                        }
                        joined.push_str(part);
                    }
                    let next = normalize(&joined).map_err(|_| escape())?;
                    pending = split(&next).rev().map(str::to_owned).collect();
                    walked.clear();
                    cur = self.backend.root();
                }
            }
        }
        Ok(Resolved::Found(cur))
    }

    fn refused(e: &SourceError) -> Option<Outcome> {
        match e {
            SourceError::SymlinkEscape { .. }
            | SourceError::SymlinkLoop { .. }
            | SourceError::Submodule { .. } => Some(Outcome::Refused(e.to_string())),
            _ => None,
        }
    }

    fn read_outcome(&self, path: &str) -> Result<Outcome, SourceError> {
        Ok(match self.resolve(path)? {
            Resolved::Absent => Outcome::Absent,
            Resolved::Found(n) if n.kind == NodeKind::File => Outcome::File(
                self.backend
                    .file_id(&n.handle)
                    .map_err(Self::backend_err(path))?,
            ),
            Resolved::Found(_) => Outcome::Kind(EntryKind::Dir),
        })
    }

    fn stat_outcome(&self, path: &str) -> Result<Outcome, SourceError> {
        Ok(match self.resolve(path)? {
            Resolved::Absent => Outcome::Absent,
            Resolved::Found(n) if n.kind == NodeKind::File => Outcome::Kind(EntryKind::File),
            Resolved::Found(_) => Outcome::Kind(EntryKind::Dir),
        })
    }

    fn list_outcome(&self, path: &str) -> Result<(Outcome, Vec<DirEntry>), SourceError> {
        let node = match self.resolve(path)? {
            Resolved::Absent => return Ok((Outcome::Absent, Vec::new())),
            Resolved::Found(n) if n.kind != NodeKind::Dir => {
                return Ok((Outcome::Kind(EntryKind::File), Vec::new()));
            }
            Resolved::Found(n) => n,
        };
        let entries: Vec<DirEntry> = self
            .backend
            .list(&node.handle)
            .map_err(Self::backend_err(path))?
            .into_iter()
            .map(|(name, n)| DirEntry {
                name,
                kind: match n.kind {
                    NodeKind::File => EntryKind::File,
                    NodeKind::Dir | NodeKind::Submodule => EntryKind::Dir,
                    NodeKind::Symlink => EntryKind::Symlink,
                },
            })
            .collect();
        let mut h = sha1_smol::Sha1::new();
        for e in &entries {
            h.update(e.name.as_bytes());
            h.update(&[0, e.kind as u8]);
        }
        Ok((Outcome::Dir(Oid(h.digest().bytes())), entries))
    }

    /// Runs `f` on the normalised path, recording refusals before returning them.
    fn answer<T>(
        &self,
        query: Query,
        raw: &str,
        f: impl FnOnce(&str) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        let path = normalize(raw)?;
        f(&path).inspect_err(|e| {
            if let Some(o) = Self::refused(e) {
                self.record(query, &path, o);
            }
        })
    }
}

fn split(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

impl<B: Backend> Source for Tree<B> {
    fn read_file(&self, raw: &str) -> Result<Vec<u8>, SourceError> {
        self.answer(Query::Read, raw, |path| {
            let node = match self.resolve(path)? {
                Resolved::Absent => {
                    self.record(Query::Read, path, Outcome::Absent);
                    return Err(SourceError::NotFound {
                        path: path.to_owned(),
                    });
                }
                Resolved::Found(n) if n.kind != NodeKind::File => {
                    self.record(Query::Read, path, Outcome::Kind(EntryKind::Dir));
                    return Err(SourceError::WrongKind {
                        path: path.to_owned(),
                        expected: "file",
                        found: "directory",
                    });
                }
                Resolved::Found(n) => n,
            };
            let size = self
                .backend
                .size(&node.handle)
                .map_err(Self::backend_err(path))?;
            let limit = |limit, value, max| SourceError::LimitExceeded {
                limit,
                path: path.to_owned(),
                value,
                max,
            };
            if size > self.limits.max_file_size {
                return Err(limit("max-file-size", size, self.limits.max_file_size));
            }
            {
                // A path read before costs nothing more.
                let st = self.lock();
                if st.reads.get(Query::Read, path).is_none() {
                    if st.files_read + 1 > self.limits.max_files {
                        return Err(limit(
                            "max-files-read",
                            st.files_read + 1,
                            self.limits.max_files,
                        ));
                    }
                    if st.bytes_read + size > self.limits.max_total_bytes {
                        return Err(limit(
                            "max-total-bytes",
                            st.bytes_read + size,
                            self.limits.max_total_bytes,
                        ));
                    }
                }
            }
            let bytes = self
                .backend
                .read(&node.handle)
                .map_err(Self::backend_err(path))?;
            let id = self
                .backend
                .file_id(&node.handle)
                .map_err(Self::backend_err(path))?;
            let mut st = self.lock();
            if st.reads.get(Query::Read, path).is_none() {
                st.files_read += 1;
                st.bytes_read += bytes.len() as u64;
                st.reads.record(Query::Read, path, Outcome::File(id));
            }
            Ok(bytes)
        })
    }

    fn list_dir(&self, raw: &str) -> Result<Vec<DirEntry>, SourceError> {
        self.answer(Query::List, raw, |path| {
            let (outcome, entries) = self.list_outcome(path)?;
            let err = match &outcome {
                Outcome::Absent => Some(SourceError::NotFound {
                    path: path.to_owned(),
                }),
                Outcome::Kind(_) => Some(SourceError::WrongKind {
                    path: path.to_owned(),
                    expected: "directory",
                    found: "file",
                }),
                _ => None,
            };
            self.record(Query::List, path, outcome);
            match err {
                Some(e) => Err(e),
                None => Ok(entries),
            }
        })
    }

    fn stat(&self, raw: &str) -> Result<Option<EntryKind>, SourceError> {
        self.answer(Query::Stat, raw, |path| {
            let outcome = self.stat_outcome(path)?;
            let kind = match &outcome {
                Outcome::Kind(k) => Some(*k),
                _ => None,
            };
            self.record(Query::Stat, path, outcome);
            Ok(kind)
        })
    }

    fn commit_time(&self) -> i64 {
        self.record(Query::Clock, "", Outcome::Time(self.commit_time));
        self.commit_time
    }
}
