//! Walking a tree as sops does: which values are encrypted, their additional data, and the MAC.

use std::collections::HashMap;

use regex_lite::Regex;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::cipher::{self, DataKey, ValueError};
use crate::value::{Document, Key, Value};

/// sops's fixed prefix of the hash when `mac_only_encrypted` is set (the SHA-256 of `sops`).
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Which values are encrypted: at most one of the suffix/regex rules, plus `mac_only_encrypted`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    pub unencrypted_suffix: String,
    pub encrypted_suffix: String,
    pub unencrypted_regex: Option<Regex>,
    pub encrypted_regex: Option<Regex>,
    pub unencrypted_comment_regex: Option<Regex>,
    pub encrypted_comment_regex: Option<Regex>,
    pub mac_only_encrypted: bool,
}

impl Rules {
    /// sops's `shouldBeEncrypted`.
    fn should_encrypt(&self, path: &[String], stack: &[Vec<String>], is_comment: bool) -> bool {
        let mut enc = true;
        if !self.unencrypted_suffix.is_empty()
            && path.iter().any(|p| p.ends_with(&self.unencrypted_suffix))
        {
            enc = false;
        }
        if !self.encrypted_suffix.is_empty() {
            enc = path.iter().any(|p| p.ends_with(&self.encrypted_suffix));
        }
        if let Some(r) = &self.unencrypted_regex
            && path.iter().any(|p| r.is_match(p))
        {
            enc = false;
        }
        if let Some(r) = &self.encrypted_regex {
            enc = path.iter().any(|p| r.is_match(p));
        }
        if let Some(r) = &self.unencrypted_comment_regex
            && stack.iter().flatten().any(|c| r.is_match(c))
        {
            enc = false;
        }
        if let Some(r) = &self.encrypted_comment_regex {
            enc = false;
            let last = stack.len().saturating_sub(1);
            let last_len = stack.last().map_or(0, Vec::len);
            'outer: for (i, cs) in stack.iter().enumerate() {
                for (j, c) in cs.iter().enumerate() {
                    if is_comment && i == last && j + 1 == last_len {
                        continue;
                    }
                    if r.is_match(c) {
                        enc = true;
                        break 'outer;
                    }
                }
            }
        }
        enc
    }
}

/// A leaf handed to the visitor.
struct Leaf<'a> {
    value: Value,
    path: &'a [String],
    stack: &'a [Vec<String>],
}

type Visit<'f, E> = dyn FnMut(Leaf<'_>) -> Result<Value, E> + 'f;

fn walk_value<E>(
    v: &mut Value,
    path: &mut Vec<String>,
    stack: &mut Vec<Vec<String>>,
    f: &mut Visit<'_, E>,
) -> Result<(), E> {
    match v {
        Value::Null => Ok(()),
        Value::Map(entries) => walk_branch(entries, path, stack, f),
        Value::Seq(items) => {
            stack.push(Vec::new());
            for item in items.iter_mut() {
                let is_comment = if let Value::Comment(c) = item {
                    if let Some(top) = stack.last_mut() {
                        top.push(c.clone());
                    }
                    true
                } else {
                    false
                };
                walk_value(item, path, stack, f)?;
                if !is_comment && let Some(top) = stack.last_mut() {
                    top.clear();
                }
            }
            stack.pop();
            Ok(())
        }
        scalar => {
            let taken = std::mem::replace(scalar, Value::Null);
            *scalar = f(Leaf {
                value: taken,
                path,
                stack,
            })?;
            Ok(())
        }
    }
}

fn walk_branch<E>(
    entries: &mut [(Key, Value)],
    path: &mut Vec<String>,
    stack: &mut Vec<Vec<String>>,
    f: &mut Visit<'_, E>,
) -> Result<(), E> {
    stack.push(Vec::new());
    for (k, v) in entries.iter_mut() {
        match k {
            Key::Comment(c) => {
                if let Some(top) = stack.last_mut() {
                    top.push(c.clone());
                }
                let out = f(Leaf {
                    value: Value::Comment(std::mem::take(c)),
                    path,
                    stack,
                })?;
                *k = Key::Comment(match out {
                    Value::Comment(s) | Value::Str(s) => s,
                    _ => String::new(),
                });
            }
            Key::Str(name) => {
                path.push(name.clone());
                let r = walk_value(v, path, stack, f);
                path.pop();
                r?;
                if let Some(top) = stack.last_mut() {
                    top.clear();
                }
            }
        }
    }
    stack.pop();
    Ok(())
}

fn walk_doc<E>(doc: &mut Document, f: &mut Visit<'_, E>) -> Result<(), E> {
    for b in doc.branches.iter_mut() {
        walk_branch(b, &mut Vec::new(), &mut Vec::new(), f)?;
    }
    Ok(())
}

/// The sops form of a path as additional data: keys joined by `:`, with a trailing `:`.
fn aad(path: &[String]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

/// A readable form of a path for messages: `/a/b`.
pub(crate) fn display_path(path: &[String]) -> String {
    if path.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", path.join("/"))
    }
}

fn hash_value(h: &mut Sha512, v: &Value) {
    if matches!(v, Value::Comment(_)) {
        return;
    }
    if let Some((bytes, _)) = cipher::plain_bytes(v) {
        h.update(&bytes[..]);
    }
}

fn new_hash(rules: &Rules) -> Sha512 {
    let mut h = Sha512::new();
    if rules.mac_only_encrypted {
        h.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    h
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Remembered IVs, so that re-encrypting an unchanged value gives the same ciphertext (as sops's stash).
#[derive(Default, Clone)]
pub(crate) struct IvStash(HashMap<[u8; 64], Vec<u8>>);

impl IvStash {
    fn key(aad: &str, ty: &str, plain: &[u8]) -> [u8; 64] {
        let mut h = Sha512::new();
        h.update((aad.len() as u64).to_le_bytes());
        h.update(aad.as_bytes());
        h.update(ty.as_bytes());
        h.update([0]);
        h.update(plain);
        h.finalize().into()
    }

    fn remember(&mut self, aad: &str, v: &Value, iv: Vec<u8>) {
        if let Some((bytes, ty)) = cipher::plain_bytes(v) {
            self.0.insert(Self::key(aad, ty, &bytes), iv);
        }
    }

    fn lookup(&self, aad: &str, v: &Value) -> Option<&[u8]> {
        let (bytes, ty) = cipher::plain_bytes(v)?;
        self.0.get(&Self::key(aad, ty, &bytes)).map(Vec::as_slice)
    }
}

/// A value that failed to decrypt, with its path.
#[derive(Debug)]
pub(crate) struct WalkError {
    pub path: String,
    pub cause: ValueError,
}

/// Decrypts every value that the rules say is encrypted; returns the computed MAC (hex).
pub(crate) fn decrypt_doc(
    doc: &mut Document,
    key: &DataKey,
    rules: &Rules,
    stash: &mut IvStash,
) -> Result<Zeroizing<String>, WalkError> {
    let mut h = new_hash(rules);
    walk_doc(doc, &mut |leaf: Leaf<'_>| {
        let is_comment = matches!(leaf.value, Value::Comment(_));
        let enc = rules.should_encrypt(leaf.path, leaf.stack, is_comment);
        let v = if enc {
            let ad = aad(leaf.path);
            match &leaf.value {
                Value::Comment(c) => match cipher::decrypt_value(c, key, &ad) {
                    Ok(v @ Value::Comment(_)) => {
                        if let Some(iv) = cipher::iv_of(c) {
                            stash.remember(&ad, &v, iv);
                        }
                        v
                    }
                    // sops keeps a comment it cannot decrypt: it was written in clear.
                    _ => leaf.value,
                },
                Value::Str(s) => {
                    let v = cipher::decrypt_value(s, key, &ad).map_err(|cause| WalkError {
                        path: display_path(leaf.path),
                        cause,
                    })?;
                    if let Some(iv) = cipher::iv_of(s) {
                        stash.remember(&ad, &v, iv);
                    }
                    v
                }
                _ => {
                    return Err(WalkError {
                        path: display_path(leaf.path),
                        cause: ValueError::NotEncrypted,
                    });
                }
            }
        } else {
            leaf.value
        };
        if !rules.mac_only_encrypted || enc {
            hash_value(&mut h, &v);
        }
        Ok(v)
    })?;
    Ok(Zeroizing::new(hex_upper(&h.finalize())))
}

/// Encrypts every value the rules select; returns the MAC (hex) over the plaintext.
pub(crate) fn encrypt_doc(
    doc: &mut Document,
    key: &DataKey,
    rules: &Rules,
    stash: &IvStash,
) -> Zeroizing<String> {
    let mut h = new_hash(rules);
    let r: Result<(), std::convert::Infallible> = walk_doc(doc, &mut |leaf: Leaf<'_>| {
        let is_comment = matches!(leaf.value, Value::Comment(_));
        let enc = rules.should_encrypt(leaf.path, leaf.stack, is_comment);
        if (!rules.mac_only_encrypted || enc) && !is_comment {
            hash_value(&mut h, &leaf.value);
        }
        if !enc {
            return Ok(leaf.value);
        }
        let ad = aad(leaf.path);
        let iv = stash.lookup(&ad, &leaf.value);
        Ok(match cipher::encrypt_value(&leaf.value, key, &ad, iv) {
            Some(s) => Value::Str(s),
            None => leaf.value,
        })
    });
    let _ = r;
    Zeroizing::new(hex_upper(&h.finalize()))
}
