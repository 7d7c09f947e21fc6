//! The `sops` metadata block: recipients, MAC, rules; its tree and flattened (dotenv/ini) forms.

use regex_lite::Regex;

use crate::value::{Key, Value};
use crate::walk::Rules;

/// The version Kiln writes into files it encrypts (the sops release it is compatible with).
pub const SOPS_VERSION: &str = "3.11.0";

/// One age recipient of a file and the data key wrapped for it.
#[derive(Clone, PartialEq, Eq)]
pub struct AgeStanza {
    /// The recipient: `age1…` or an `ssh-ed25519 …`/`ssh-rsa …` public key.
    pub recipient: String,
    /// The data key encrypted to the recipient, as an armored age file.
    pub enc: String,
}

impl std::fmt::Debug for AgeStanza {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeStanza")
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

/// The sops metadata of an encrypted file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// The age recipients (of the single key group).
    pub age: Vec<AgeStanza>,
    /// Key entries of types Kiln does not use (pgp, kms, …), kept verbatim in their order.
    pub other_keys: Vec<(String, Value)>,
    /// `lastmodified`, as written in the file.
    pub last_modified: String,
    /// `mac`: the encrypted MAC (empty when missing).
    pub mac: String,
    /// `unencrypted_suffix` (sops's default `_unencrypted` when no rule is given).
    pub unencrypted_suffix: String,
    /// `encrypted_suffix`.
    pub encrypted_suffix: String,
    /// `unencrypted_regex`.
    pub unencrypted_regex: String,
    /// `encrypted_regex`.
    pub encrypted_regex: String,
    /// `unencrypted_comment_regex`.
    pub unencrypted_comment_regex: String,
    /// `encrypted_comment_regex`.
    pub encrypted_comment_regex: String,
    /// `mac_only_encrypted`: the MAC covers only encrypted values.
    pub mac_only_encrypted: bool,
    /// `version`: the sops version that wrote the file.
    pub version: String,
    /// `shamir_threshold` (0 when absent).
    pub shamir_threshold: i64,
    /// Number of key groups (1 for the flat form).
    pub key_groups: usize,
}

/// The sops default for `unencrypted_suffix`.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

const OTHER_KEY_TYPES: [&str; 5] = ["kms", "gcp_kms", "azure_kv", "hc_vault", "pgp"];

fn scalar_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Float(f) => crate::gofmt::format_float_g(*f),
        Value::Null => String::new(),
        _ => return None,
    })
}

fn entries(v: &Value) -> &[(Key, Value)] {
    match v {
        Value::Map(e) => e,
        _ => &[],
    }
}

fn age_list(v: &Value) -> Result<Vec<AgeStanza>, String> {
    let items = match v {
        Value::Seq(items) => items,
        Value::Null => return Ok(Vec::new()),
        _ => return Err("`age` is not a list".into()),
    };
    let mut out = Vec::new();
    for item in items {
        if matches!(item, Value::Comment(_)) {
            continue;
        }
        let get = |k: &str| item.get(k).and_then(scalar_text).unwrap_or_default();
        out.push(AgeStanza {
            recipient: get("recipient"),
            enc: get("enc"),
        });
    }
    Ok(out)
}

impl Metadata {
    /// Reads metadata from its tree form (the value of the `sops` key).
    pub(crate) fn from_value(v: &Value) -> Result<Self, String> {
        if !matches!(v, Value::Map(_)) {
            return Err("`sops` is not a mapping".into());
        }
        let mut m = Metadata::default();
        let mut groups: Option<&Value> = None;
        let mut flat_keys = false;
        for (k, val) in entries(v) {
            let Some(k) = k.as_str() else { continue };
            let text = || scalar_text(val).ok_or_else(|| format!("`{k}` is not a scalar"));
            match k {
                "age" => {
                    m.age = age_list(val)?;
                    flat_keys |= !m.age.is_empty();
                }
                "key_groups" => groups = Some(val),
                "lastmodified" => m.last_modified = text()?,
                "mac" => m.mac = text()?,
                "unencrypted_suffix" => m.unencrypted_suffix = text()?,
                "encrypted_suffix" => m.encrypted_suffix = text()?,
                "unencrypted_regex" => m.unencrypted_regex = text()?,
                "encrypted_regex" => m.encrypted_regex = text()?,
                "unencrypted_comment_regex" => m.unencrypted_comment_regex = text()?,
                "encrypted_comment_regex" => m.encrypted_comment_regex = text()?,
                "version" => m.version = text()?,
                "mac_only_encrypted" => {
                    m.mac_only_encrypted = match val {
                        Value::Bool(b) => *b,
                        Value::Str(s) => s == "true",
                        Value::Null => false,
                        _ => return Err("`mac_only_encrypted` is not a boolean".into()),
                    }
                }
                "shamir_threshold" => {
                    m.shamir_threshold = match val {
                        Value::Int(i) => *i,
                        Value::Float(f) if f.fract() == 0.0 => *f as i64,
                        Value::Str(s) => s
                            .parse::<i64>()
                            .ok()
                            .or_else(|| {
                                s.parse::<f64>()
                                    .ok()
                                    .filter(|f| f.fract() == 0.0)
                                    .map(|f| f as i64)
                            })
                            .ok_or("`shamir_threshold` is not an integer")?,
                        Value::Null => 0,
                        _ => return Err("`shamir_threshold` is not an integer".into()),
                    }
                }
                other
                    if OTHER_KEY_TYPES.contains(&other)
                        && !matches!(val, Value::Null)
                        && !matches!(val, Value::Seq(s) if s.is_empty()) =>
                {
                    flat_keys = true;
                    m.other_keys.push((other.to_string(), val.clone()));
                }
                _ => {}
            }
        }
        if flat_keys {
            m.key_groups = 1;
        } else if let Some(g) = groups {
            let list = match g {
                Value::Seq(items) => items
                    .iter()
                    .filter(|i| !matches!(i, Value::Comment(_)))
                    .collect::<Vec<_>>(),
                _ => return Err("`key_groups` is not a list".into()),
            };
            m.key_groups = list.len();
            if let [group] = list.as_slice() {
                for (k, val) in entries(group) {
                    match k.as_str() {
                        Some("age") => m.age = age_list(val)?,
                        Some(other)
                            if OTHER_KEY_TYPES.contains(&other)
                                && !matches!(val, Value::Null)
                                && !matches!(val, Value::Seq(s) if s.is_empty()) =>
                        {
                            m.other_keys.push((other.to_string(), val.clone()));
                        }
                        _ => {}
                    }
                }
            }
        }
        if m.key_groups == 0 {
            return Err("no keys found in file".into());
        }
        let rules = [
            &m.unencrypted_suffix,
            &m.encrypted_suffix,
            &m.unencrypted_regex,
            &m.encrypted_regex,
            &m.unencrypted_comment_regex,
            &m.encrypted_comment_regex,
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .count();
        if rules > 1 {
            return Err("more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex".into());
        }
        if rules == 0 {
            m.unencrypted_suffix = DEFAULT_UNENCRYPTED_SUFFIX.to_string();
        }
        Ok(m)
    }

    /// The tree form, in the field order sops writes.
    pub(crate) fn to_value(&self) -> Value {
        let mut e: Vec<(Key, Value)> = Vec::new();
        let s = |x: &str| Value::Str(x.to_string());
        let mut push = |k: &str, v: Value| e.push((Key::Str(k.to_string()), v));
        if self.shamir_threshold != 0 {
            push("shamir_threshold", Value::Int(self.shamir_threshold));
        }
        for t in ["kms", "gcp_kms", "azure_kv", "hc_vault"] {
            for (k, v) in &self.other_keys {
                if k == t {
                    push(k, v.clone());
                }
            }
        }
        if !self.age.is_empty() {
            push(
                "age",
                Value::Seq(
                    self.age
                        .iter()
                        .map(|a| {
                            Value::Map(vec![
                                (Key::Str("recipient".into()), s(&a.recipient)),
                                (Key::Str("enc".into()), s(&a.enc)),
                            ])
                        })
                        .collect(),
                ),
            );
        }
        push("lastmodified", s(&self.last_modified));
        push("mac", s(&self.mac));
        for (k, v) in &self.other_keys {
            if k == "pgp" {
                push(k, v.clone());
            }
        }
        for (k, v) in [
            ("unencrypted_suffix", &self.unencrypted_suffix),
            ("encrypted_suffix", &self.encrypted_suffix),
            ("unencrypted_regex", &self.unencrypted_regex),
            ("encrypted_regex", &self.encrypted_regex),
            ("unencrypted_comment_regex", &self.unencrypted_comment_regex),
            ("encrypted_comment_regex", &self.encrypted_comment_regex),
        ] {
            if !v.is_empty() {
                push(k, s(v));
            }
        }
        if self.mac_only_encrypted {
            push("mac_only_encrypted", Value::Bool(true));
        }
        push("version", s(&self.version));
        Value::Map(e)
    }

    /// The flattened form used by dotenv and ini (`age__list_0__map_enc` …), sorted, newlines as `\n`.
    pub(crate) fn to_flat(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        flatten(&self.to_value(), String::new(), &mut out);
        for (_, v) in out.iter_mut() {
            *v = v.replace('\n', "\\n");
        }
        out.sort();
        out
    }

    /// Reads the flattened form (keys without the `sops_` prefix).
    pub(crate) fn from_flat(items: &[(String, String)]) -> Result<Self, String> {
        let mut root = Value::Map(Vec::new());
        for (k, v) in items {
            let toks = tokenize(k);
            insert(&mut root, &toks, Value::Str(v.replace("\\n", "\n")));
        }
        Self::from_value(&root)
    }

    /// The compiled rules for walking the tree.
    pub(crate) fn rules(&self) -> Result<Rules, String> {
        let re = |s: &str| -> Result<Option<Regex>, String> {
            if s.is_empty() {
                Ok(None)
            } else {
                Regex::new(s)
                    .map(Some)
                    .map_err(|e| format!("bad regex `{s}`: {e}"))
            }
        };
        Ok(Rules {
            unencrypted_suffix: self.unencrypted_suffix.clone(),
            encrypted_suffix: self.encrypted_suffix.clone(),
            unencrypted_regex: re(&self.unencrypted_regex)?,
            encrypted_regex: re(&self.encrypted_regex)?,
            unencrypted_comment_regex: re(&self.unencrypted_comment_regex)?,
            encrypted_comment_regex: re(&self.encrypted_comment_regex)?,
            mac_only_encrypted: self.mac_only_encrypted,
        })
    }
}

fn flatten(v: &Value, prefix: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Map(entries) => {
            for (k, val) in entries {
                if let Some(k) = k.as_str() {
                    let p = if prefix.is_empty() {
                        k.to_string()
                    } else {
                        format!("{prefix}__map_{k}")
                    };
                    flatten(val, p, out);
                }
            }
        }
        Value::Seq(items) => {
            for (i, val) in items.iter().enumerate() {
                flatten(val, format!("{prefix}__list_{i}"), out);
            }
        }
        Value::Null => {}
        other => {
            if let Some(t) = scalar_text(other) {
                out.push((prefix, t));
            }
        }
    }
}

enum Tok {
    Map(String),
    List(usize),
}

fn tokenize(path: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut rest = path;
    let mut cur = Tok::Map(String::new());
    loop {
        let m = rest.find("__map_");
        let l = rest.find("__list_");
        let next = match (m, l) {
            (Some(a), Some(b)) => Some(if a < b { (a, true) } else { (b, false) }),
            (Some(a), None) => Some((a, true)),
            (None, Some(b)) => Some((b, false)),
            (None, None) => None,
        };
        let (end, is_map) = match next {
            Some(n) => n,
            None => (rest.len(), true),
        };
        let text = &rest[..end];
        toks.push(match cur {
            Tok::Map(_) => Tok::Map(text.to_string()),
            Tok::List(_) => Tok::List(text.parse().unwrap_or(0)),
        });
        if next.is_none() {
            break;
        }
        if is_map {
            rest = &rest[end + 6..];
            cur = Tok::Map(String::new());
        } else {
            rest = &rest[end + 7..];
            cur = Tok::List(0);
        }
    }
    toks
}

fn insert(node: &mut Value, toks: &[Tok], leaf: Value) {
    let Some((first, rest)) = toks.split_first() else {
        *node = leaf;
        return;
    };
    let fresh = || match rest.first() {
        Some(Tok::List(_)) => Value::Seq(Vec::new()),
        Some(Tok::Map(_)) => Value::Map(Vec::new()),
        None => Value::Null,
    };
    match first {
        Tok::Map(k) => {
            if !matches!(node, Value::Map(_)) {
                *node = Value::Map(Vec::new());
            }
            if let Value::Map(entries) = node {
                let idx = match entries.iter().position(|(ek, _)| ek.as_str() == Some(k)) {
                    Some(i) => i,
                    None => {
                        entries.push((Key::Str(k.clone()), fresh()));
                        entries.len() - 1
                    }
                };
                insert(&mut entries[idx].1, rest, leaf);
            }
        }
        Tok::List(i) => {
            if !matches!(node, Value::Seq(_)) {
                *node = Value::Seq(Vec::new());
            }
            if let Value::Seq(items) = node {
                while items.len() <= *i {
                    items.push(fresh());
                }
                insert(&mut items[*i], rest, leaf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_round_trip() {
        let m = Metadata {
            age: vec![AgeStanza {
                recipient: "age1x".into(),
                enc: "-----BEGIN\nabc\n".into(),
            }],
            last_modified: "2024-01-01T00:00:00Z".into(),
            mac: "ENC[x]".into(),
            unencrypted_suffix: "_unencrypted".into(),
            version: "3.11.0".into(),
            key_groups: 1,
            ..Default::default()
        };
        let flat = m.to_flat();
        assert_eq!(flat[0].0, "age__list_0__map_enc");
        assert_eq!(flat[0].1, "-----BEGIN\\nabc\\n");
        assert_eq!(Metadata::from_flat(&flat).unwrap(), m);
    }
}
