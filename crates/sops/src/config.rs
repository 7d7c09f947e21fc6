//! `.sops.yaml`: discovery (walking up directories) and `creation_rules` matching, without IO of its own.

use std::path::{Path, PathBuf};

use regex_lite::Regex;

use crate::error::ConfigError;
use crate::file::{CryptRule, EncryptOptions};
use crate::store::StoreOptions;
use crate::value::{Key, Value};

/// The config file name sops looks for.
pub const CONFIG_FILE_NAME: &str = ".sops.yaml";

/// How many directories sops climbs looking for the config file.
const MAX_DEPTH: usize = 100;

/// Finds `.sops.yaml` in `start_dir` or the nearest ancestor, asking `exists` about each candidate.
///
/// sops starts from its working directory; Kiln callers usually pass the directory of the file.
/// `.sops.yml` is ignored, as sops ignores it.
pub fn find_config(start_dir: &Path, exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let mut dir = Some(start_dir);
    for _ in 0..MAX_DEPTH {
        let d = dir?;
        let candidate = d.join(CONFIG_FILE_NAME);
        if exists(&candidate) {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// [`find_config`] on the real filesystem.
pub fn find_config_fs(start_dir: &Path) -> Option<PathBuf> {
    find_config(start_dir, Path::is_file)
}

/// One entry of `creation_rules`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreationRule {
    /// `path_regex` (None matches every file).
    pub path_regex: Option<String>,
    /// The age recipients (from `age`, or from the single entry of `key_groups`).
    pub age: Vec<String>,
    /// Number of key groups the rule declares (0 when it uses `age` directly).
    pub key_groups: usize,
    /// Whether the rule (or its key group) names keys other than age (pgp, kms, …).
    pub has_other_keys: bool,
    /// `shamir_threshold`.
    pub shamir_threshold: i64,
    /// The encryption rule (suffix/regex).
    pub rule: CryptRule,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
}

/// A parsed `.sops.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SopsConfig {
    /// The creation rules, in order (the first match wins).
    pub creation_rules: Vec<CreationRule>,
    /// `stores:` indentation settings.
    pub stores: StoreOptions,
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) | Value::Time(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Float(f) => Some(crate::gofmt::format_float_g(*f)),
        _ => None,
    }
}

fn entries(v: &Value) -> impl Iterator<Item = (&str, &Value)> {
    let list: &[(Key, Value)] = match v {
        Value::Map(e) => e,
        _ => &[],
    };
    list.iter().filter_map(|(k, v)| k.as_str().map(|k| (k, v)))
}

const OTHER_KEYS: [&str; 6] = [
    "pgp",
    "kms",
    "gcp_kms",
    "azure_keyvault",
    "hc_vault_transit_uri",
    "hckms",
];

/// Recipients from an `age` field: a comma-separated string or a list (items may hold commas too).
fn age_field(v: &Value) -> Result<Vec<String>, String> {
    let parts: Vec<String> = match v {
        Value::Null => Vec::new(),
        Value::Seq(items) => items
            .iter()
            .filter(|i| !matches!(i, Value::Comment(_)))
            .map(|i| {
                scalar(i)
                    .ok_or("invalid age key configuration: expected string in list".to_string())
            })
            .collect::<Result<_, _>>()?,
        other => vec![scalar(other).ok_or("invalid age key configuration")?],
    };
    Ok(parts
        .iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

fn group_keys(g: &Value, out: &mut Vec<String>, other: &mut bool) -> Result<(), String> {
    for (k, v) in entries(g) {
        match k {
            "age" => out.extend(age_field(v)?),
            "merge" => {
                if let Value::Seq(items) = v {
                    for i in items {
                        group_keys(i, out, other)?;
                    }
                }
            }
            k if (OTHER_KEYS.contains(&k) || k == "vault" || k == "azure_kv")
                && !matches!(v, Value::Null)
                && !matches!(v, Value::Seq(s) if s.is_empty()) =>
            {
                *other = true;
            }
            _ => {}
        }
    }
    Ok(())
}

fn dedup(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in list {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

impl SopsConfig {
    /// Parses the text of a `.sops.yaml`; `file` is used in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            file: file.to_string(),
            message,
        };
        let docs = crate::store::yaml_parse::parse(text).map_err(invalid)?;
        let root = Value::Map(docs.into_iter().next().unwrap_or_default());
        let mut cfg = SopsConfig::default();
        for (k, v) in entries(&root) {
            match k {
                "creation_rules" => {
                    let Value::Seq(items) = v else {
                        if matches!(v, Value::Null) {
                            continue;
                        }
                        return Err(invalid("creation_rules is not a list".into()));
                    };
                    for (index, item) in items
                        .iter()
                        .filter(|i| !matches!(i, Value::Comment(_)))
                        .enumerate()
                    {
                        cfg.creation_rules
                            .push(Self::rule(item, file, index).map_err(invalid)?);
                    }
                }
                "stores" => {
                    for (sk, sv) in entries(v) {
                        let indent = sv.get("indent").and_then(|i| match i {
                            Value::Int(n) => Some(*n),
                            _ => None,
                        });
                        match (sk, indent) {
                            ("yaml", Some(n)) if n > 0 => cfg.stores.yaml_indent = n as usize,
                            ("yaml", Some(n)) if n < 0 => {
                                return Err(invalid(
                                    "YAML Negative indentation not accepted".into(),
                                ));
                            }
                            ("json", Some(n)) if n >= 0 => {
                                cfg.stores.json_indent = Some(n as usize)
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(cfg)
    }

    fn rule(item: &Value, _file: &str, _index: usize) -> Result<CreationRule, String> {
        let mut r = CreationRule::default();
        let mut rules = Vec::new();
        let mut age = Vec::new();
        let mut groups_age = Vec::new();
        for (k, v) in entries(item) {
            let text = || scalar(v).unwrap_or_default();
            match k {
                "path_regex" => {
                    let t = text();
                    r.path_regex = (!t.is_empty()).then_some(t);
                }
                "age" => age = age_field(v)?,
                "key_groups" => {
                    if let Value::Seq(gs) = v {
                        let gs: Vec<&Value> = gs
                            .iter()
                            .filter(|g| !matches!(g, Value::Comment(_)))
                            .collect();
                        r.key_groups = gs.len();
                        for g in gs {
                            group_keys(g, &mut groups_age, &mut r.has_other_keys)?;
                        }
                    }
                }
                "shamir_threshold" => {
                    r.shamir_threshold = match v {
                        Value::Int(i) => *i,
                        _ => 0,
                    }
                }
                "mac_only_encrypted" => r.mac_only_encrypted = matches!(v, Value::Bool(true)),
                "unencrypted_suffix" => rules.push(CryptRule::UnencryptedSuffix(text())),
                "encrypted_suffix" => rules.push(CryptRule::EncryptedSuffix(text())),
                "unencrypted_regex" => rules.push(CryptRule::UnencryptedRegex(text())),
                "encrypted_regex" => rules.push(CryptRule::EncryptedRegex(text())),
                "unencrypted_comment_regex" => {
                    rules.push(CryptRule::UnencryptedCommentRegex(text()))
                }
                "encrypted_comment_regex" => rules.push(CryptRule::EncryptedCommentRegex(text())),
                k if OTHER_KEYS.contains(&k)
                    && !matches!(v, Value::Null)
                    && scalar(v).is_none_or(|s| !s.is_empty()) =>
                {
                    r.has_other_keys = true;
                }
                _ => {}
            }
        }
        rules.retain(|x| !matches!(x, CryptRule::UnencryptedSuffix(s) | CryptRule::EncryptedSuffix(s) | CryptRule::UnencryptedRegex(s) | CryptRule::EncryptedRegex(s) | CryptRule::UnencryptedCommentRegex(s) | CryptRule::EncryptedCommentRegex(s) if s.is_empty()));
        if rules.len() > 1 {
            return Err("cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule".into());
        }
        r.rule = rules.pop().unwrap_or_default();
        r.age = dedup(if r.key_groups > 0 { groups_age } else { age });
        Ok(r)
    }

    /// The first creation rule matching `file_path`, as sops matches it: the path relative to the
    /// config file's directory (`config_dir`) when it lies under it, else the path as given.
    pub fn rule_for(
        &self,
        config_file: &str,
        config_dir: &Path,
        file_path: &Path,
    ) -> Result<&CreationRule, ConfigError> {
        let full = file_path.to_string_lossy();
        let prefix = format!("{}/", config_dir.to_string_lossy().trim_end_matches('/'));
        let rel = full.strip_prefix(&prefix).unwrap_or(&full).to_string();
        for (index, r) in self.creation_rules.iter().enumerate() {
            let Some(re) = &r.path_regex else {
                return Ok(r);
            };
            let compiled = Regex::new(re).map_err(|e| ConfigError::BadRegex {
                file: config_file.to_string(),
                index,
                regex: re.clone(),
                cause: e.to_string(),
            })?;
            if compiled.is_match(&rel) {
                return Ok(r);
            }
        }
        Err(ConfigError::NoMatchingRule {
            file: config_file.to_string(),
            path: rel,
        })
    }
}

impl CreationRule {
    /// The options to encrypt a file under this rule.
    pub fn encrypt_options(
        &self,
        config_file: &str,
        index: usize,
        store: StoreOptions,
    ) -> Result<EncryptOptions, ConfigError> {
        let unsupported = |message: &str| ConfigError::Unsupported {
            file: config_file.to_string(),
            index,
            message: message.to_string(),
        };
        if self.key_groups > 1 {
            return Err(unsupported(
                "several key_groups (Shamir secret sharing) are not supported",
            ));
        }
        if self.age.is_empty() {
            return Err(unsupported(if self.has_other_keys {
                "the rule names only non-age keys (pgp, kms, …), which Kiln does not support"
            } else {
                "the rule names no age recipients"
            }));
        }
        Ok(EncryptOptions {
            recipients: self.age.clone(),
            rule: self.rule.clone(),
            mac_only_encrypted: self.mac_only_encrypted,
            store,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_and_rules() {
        let found = find_config(Path::new("/repo/apps/prod"), |p| {
            p == Path::new("/repo/.sops.yaml")
        });
        assert_eq!(found.as_deref(), Some(Path::new("/repo/.sops.yaml")));
        let cfg = SopsConfig::parse(
            "creation_rules:\n  - path_regex: prod/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: age1a, age1b\n  - age:\n      - age1c\n",
            ".sops.yaml",
        )
        .unwrap();
        let r = cfg
            .rule_for(
                ".sops.yaml",
                Path::new("/repo"),
                Path::new("/repo/apps/prod/s.yaml"),
            )
            .unwrap();
        assert_eq!(r.age, vec!["age1a", "age1b"]);
        assert_eq!(
            r.rule,
            CryptRule::EncryptedRegex("^(data|stringData)$".into())
        );
        let r = cfg
            .rule_for(
                ".sops.yaml",
                Path::new("/repo"),
                Path::new("/repo/dev/s.env"),
            )
            .unwrap();
        assert_eq!(r.age, vec!["age1c"]);
    }
}
