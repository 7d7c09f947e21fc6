//! The document tree sops works on: ordered mappings, sequences, scalars and comments.

use std::fmt;

use zeroize::Zeroize;

/// A node of a document tree, as sops models it (ordered, comments kept).
///
/// Its `Debug` never prints a scalar or a comment: a tree may hold plaintext.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// `null` (YAML `~`/`null`, JSON `null`); never encrypted.
    Null,
    /// A boolean (sops type `bool`).
    Bool(bool),
    /// An integer (sops type `int`).
    Int(i64),
    /// A floating point number (sops type `float`).
    Float(f64),
    /// A string (sops type `str`).
    Str(String),
    /// Bytes that are not UTF-8 (the binary format, or a `str` that decrypts to such bytes).
    Bytes(Vec<u8>),
    /// A YAML timestamp, kept as its RFC 3339 text (sops type `time`).
    Time(String),
    /// A comment line, without its leading `#` (sops type `comment`).
    Comment(String),
    /// An ordered mapping; comment entries use [`Key::Comment`].
    Map(Vec<(Key, Value)>),
    /// A sequence; comments inside it are [`Value::Comment`] items.
    Seq(Vec<Value>),
}

/// A key of a mapping entry: a string, or a comment line standing between entries.
#[derive(Clone, PartialEq)]
pub enum Key {
    /// A string key.
    Str(String),
    /// A comment line (without the leading `#`); its value is [`Value::Null`].
    Comment(String),
}

impl Key {
    /// The key as a string, or `None` for a comment.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Key::Str(s) => Some(s),
            Key::Comment(_) => None,
        }
    }
}

impl Value {
    /// The entry of a mapping with this key, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string inside a `Str`, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Time(_) => "time",
            Value::Comment(_) => "comment",
            Value::Map(_) => "map",
            Value::Seq(_) => "seq",
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Map(entries) => {
                let mut m = f.debug_map();
                for (k, v) in entries {
                    m.entry(k, v);
                }
                m.finish()
            }
            Value::Seq(items) => f.debug_list().entries(items).finish(),
            Value::Null => f.write_str("null"),
            other => write!(f, "<{} redacted>", other.kind()),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Str(s) => fmt::Debug::fmt(s, f),
            Key::Comment(_) => f.write_str("<comment redacted>"),
        }
    }
}

impl Zeroize for Key {
    fn zeroize(&mut self) {
        match self {
            Key::Str(s) | Key::Comment(s) => s.zeroize(),
        }
    }
}

impl Zeroize for Value {
    fn zeroize(&mut self) {
        match self {
            Value::Null => {}
            Value::Bool(b) => *b = false,
            Value::Int(i) => *i = 0,
            Value::Float(x) => *x = 0.0,
            Value::Str(s) | Value::Time(s) | Value::Comment(s) => s.zeroize(),
            Value::Bytes(b) => b.zeroize(),
            Value::Map(entries) => {
                for (k, v) in entries.iter_mut() {
                    k.zeroize();
                    v.zeroize();
                }
            }
            Value::Seq(items) => {
                for v in items.iter_mut() {
                    v.zeroize();
                }
            }
        }
    }
}

/// A document: one mapping per YAML document (one for the other formats).
///
/// Zeroized when dropped; `Debug` redacts every scalar.
#[derive(Clone, PartialEq, Default)]
pub struct Document {
    /// The top-level mappings (entries of each document, comments included).
    pub branches: Vec<Vec<(Key, Value)>>,
}

impl Document {
    /// A document of one branch.
    pub fn single(entries: Vec<(Key, Value)>) -> Self {
        Document {
            branches: vec![entries],
        }
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for b in &self.branches {
            l.entry(&Entries(b));
        }
        l.finish()
    }
}

struct Entries<'a>(&'a [(Key, Value)]);

impl fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.0 {
            m.entry(k, v);
        }
        m.finish()
    }
}

impl Drop for Document {
    fn drop(&mut self) {
        for b in self.branches.iter_mut() {
            for (k, v) in b.iter_mut() {
                k.zeroize();
                v.zeroize();
            }
        }
    }
}
