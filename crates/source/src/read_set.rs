use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::Oid;

/// The three questions a renderer can ask of a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Query {
    /// `read_file`.
    Read,
    /// `list_dir`.
    List,
    /// `stat`.
    Stat,
    /// The clock: a renderer asked for the commit time.
    Clock,
}

/// What the tree answered to a query; everything that could change a
/// renderer's behaviour, and nothing more.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Nothing at the path.
    Absent,
    /// A file with this blob id (after following symlinks).
    File(Oid),
    /// A directory listing with this digest of its names and kinds.
    Dir(Oid),
    /// A `stat` answer: only the kind matters.
    Kind(crate::EntryKind),
    /// The path was refused (escape, loop, submodule); the text says why.
    Refused(String),
    /// The commit time a renderer read (seconds since the Unix epoch).
    Time(i64),
}

/// Every query a render made and what it got, keyed by normalised path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadSet {
    entries: BTreeMap<(Query, String), Outcome>,
}

impl ReadSet {
    /// Records an answer; the first answer for a query wins (trees are immutable).
    pub fn record(&mut self, query: Query, path: &str, outcome: Outcome) {
        self.entries
            .entry((query, path.to_owned()))
            .or_insert(outcome);
    }

    /// The recorded answer to a query, if it was asked.
    pub fn get(&self, query: Query, path: &str) -> Option<&Outcome> {
        self.entries.get(&(query, path.to_owned()))
    }

    /// Every recorded query in path order.
    pub fn iter(&self) -> impl Iterator<Item = (Query, &str, &Outcome)> {
        self.entries.iter().map(|((q, p), o)| (*q, p.as_str(), o))
    }

    /// Number of recorded queries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was read.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Feeds a canonical encoding of the set into `hasher`.
    pub fn hash_into(&self, hasher: &mut Sha256) {
        for ((q, p), o) in &self.entries {
            hasher.update([*q as u8]);
            hasher.update((p.len() as u64).to_le_bytes());
            hasher.update(p.as_bytes());
            match o {
                Outcome::Absent => hasher.update([0]),
                Outcome::File(id) => {
                    hasher.update([1]);
                    hasher.update(id.0);
                }
                Outcome::Dir(id) => {
                    hasher.update([2]);
                    hasher.update(id.0);
                }
                Outcome::Kind(k) => hasher.update([3, *k as u8]),
                Outcome::Time(t) => {
                    hasher.update([5]);
                    hasher.update(t.to_le_bytes());
                }
                Outcome::Refused(why) => {
                    hasher.update([4]);
                    hasher.update((why.len() as u64).to_le_bytes());
                    hasher.update(why.as_bytes());
                }
            }
        }
    }
}
