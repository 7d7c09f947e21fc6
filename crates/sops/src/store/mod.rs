//! The five file formats sops knows, read and written as sops 3.11 does.

mod flat;
mod json;
mod yaml_emit;
pub(crate) mod yaml_parse;

use crate::error::Error;
use crate::metadata::Metadata;
use crate::value::{Document, Key, Value};

/// A file format, as sops determines it from the file name or `--input-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`), possibly several documents.
    Yaml,
    /// JSON (`.json`).
    Json,
    /// dotenv (`.env`).
    Dotenv,
    /// INI (`.ini`).
    Ini,
    /// Anything else: the whole file is one value, stored in a JSON envelope.
    Binary,
}

impl Format {
    /// The format sops uses for a path: by extension, binary otherwise.
    pub fn from_path(path: &str) -> Format {
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            Format::Yaml
        } else if path.ends_with(".json") {
            Format::Json
        } else if path.ends_with(".env") {
            Format::Dotenv
        } else if path.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// The format of an explicit type name (`yaml`, `json`, `dotenv`, `ini`, `binary`).
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    /// The explicit name if given and known, else the format of the path (sops's rule).
    pub fn from_path_or_name(path: &str, name: Option<&str>) -> Format {
        name.and_then(Format::from_name)
            .unwrap_or_else(|| Format::from_path(path))
    }

    /// The sops name of the format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }
}

/// How the stores indent their output (`stores:` in `.sops.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// YAML indentation (sops default 4).
    pub yaml_indent: usize,
    /// JSON indentation in spaces; `None` is a tab (sops default).
    pub json_indent: Option<usize>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            yaml_indent: 4,
            json_indent: None,
        }
    }
}

impl StoreOptions {
    fn json_indent_str(&self) -> String {
        match self.json_indent {
            None => "\t".into(),
            Some(n) => " ".repeat(n),
        }
    }
}

const SOPS_KEY: &str = "sops";

fn parse_err(file: &str, format: Format, message: String) -> Error {
    Error::Parse {
        file: file.to_string(),
        format: format.name(),
        message,
    }
}

fn utf8<'a>(file: &str, format: Format, input: &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(input).map_err(|e| parse_err(file, format, format!("not UTF-8: {e}")))
}

/// Reads a plaintext file into a document.
pub(crate) fn load_plain(file: &str, format: Format, input: &[u8]) -> Result<Document, Error> {
    let branches = match format {
        Format::Yaml => {
            yaml_parse::parse(utf8(file, format, input)?).map_err(|m| parse_err(file, format, m))?
        }
        Format::Json => vec![json::parse(input).map_err(|m| parse_err(file, format, m))?],
        Format::Dotenv => vec![
            flat::parse_dotenv(utf8(file, format, input)?)
                .map_err(|m| parse_err(file, format, m))?,
        ],
        Format::Ini => {
            vec![
                flat::parse_ini(utf8(file, format, input)?)
                    .map_err(|m| parse_err(file, format, m))?,
            ]
        }
        Format::Binary => {
            let v = match std::str::from_utf8(input) {
                Ok(s) => Value::Str(s.to_string()),
                Err(_) => Value::Bytes(input.to_vec()),
            };
            vec![vec![(Key::Str("data".into()), v)]]
        }
    };
    Ok(Document { branches })
}

/// Whether a plaintext document already carries sops metadata.
pub(crate) fn has_metadata(format: Format, doc: &Document) -> bool {
    doc.branches.iter().any(|b| {
        b.iter().any(|(k, _)| match (format, k) {
            (Format::Dotenv, Key::Str(s)) => s.starts_with("sops_"),
            (_, Key::Str(s)) => s == SOPS_KEY,
            _ => false,
        })
    })
}

fn take_sops(branch: &mut Vec<(Key, Value)>) -> Option<Value> {
    let mut found = None;
    branch.retain_mut(|(k, v)| {
        if k.as_str() == Some(SOPS_KEY) {
            if found.is_none() {
                found = Some(std::mem::replace(v, Value::Null));
            }
            false
        } else {
            true
        }
    });
    found
}

/// Reads an encrypted file: the document (values still encrypted) and its metadata.
pub(crate) fn load_encrypted(
    file: &str,
    format: Format,
    input: &[u8],
) -> Result<(Document, Metadata), Error> {
    let meta_err = |m: String| Error::Metadata {
        file: file.to_string(),
        message: m,
    };
    let not_found = || Error::MetadataNotFound {
        file: file.to_string(),
    };
    match format {
        Format::Yaml | Format::Json | Format::Binary => {
            let mut doc = if format == Format::Yaml {
                load_plain(file, format, input)?
            } else {
                Document {
                    branches: vec![json::parse(input).map_err(|m| parse_err(file, format, m))?],
                }
            };
            let mut meta = None;
            for (i, b) in doc.branches.iter_mut().enumerate() {
                let m = take_sops(b);
                if i == 0 {
                    meta = m;
                }
            }
            let meta = meta.ok_or_else(not_found)?;
            let m = Metadata::from_value(&meta).map_err(meta_err)?;
            Ok((doc, m))
        }
        Format::Dotenv => {
            let entries = flat::parse_dotenv(utf8(file, format, input)?)
                .map_err(|m| parse_err(file, format, m))?;
            let mut flat_meta = Vec::new();
            let mut rest = Vec::new();
            for (k, v) in entries {
                match &k {
                    Key::Str(s) if s.starts_with("sops_") => {
                        let text = match &v {
                            Value::Str(t) => t.replace('\n', "\\n"),
                            other => flat::val_to_string(other),
                        };
                        flat_meta.push((s["sops_".len()..].to_string(), text));
                    }
                    _ => rest.push((k, v)),
                }
            }
            if flat_meta.is_empty() {
                return Err(not_found());
            }
            let m = Metadata::from_flat(&flat_meta).map_err(meta_err)?;
            Ok((Document::single(rest), m))
        }
        Format::Ini => {
            let mut sections = flat::parse_ini(utf8(file, format, input)?)
                .map_err(|m| parse_err(file, format, m))?;
            let sops = take_sops(&mut sections).ok_or_else(not_found)?;
            let mut flat_meta = Vec::new();
            if let Value::Map(items) = &sops {
                for (k, v) in items {
                    if let Key::Str(s) = k {
                        flat_meta.push((s.clone(), flat::val_to_string(v)));
                    }
                }
            }
            let m = Metadata::from_flat(&flat_meta).map_err(meta_err)?;
            Ok((Document::single(sections), m))
        }
    }
}

/// Writes a plaintext document.
pub(crate) fn emit_plain(
    file: &str,
    format: Format,
    doc: &Document,
    opts: &StoreOptions,
) -> Result<Vec<u8>, Error> {
    let emit_err = |m: String| Error::Emit {
        file: file.to_string(),
        format: format.name(),
        message: m,
    };
    let first = || doc.branches.first().map(Vec::as_slice).unwrap_or(&[]);
    Ok(match format {
        Format::Yaml => yaml_emit::emit(&doc.branches, opts.yaml_indent).into_bytes(),
        Format::Json => json::emit(first(), &opts.json_indent_str())
            .map_err(emit_err)?
            .into_bytes(),
        Format::Dotenv => flat::emit_dotenv(first()).map_err(emit_err)?.into_bytes(),
        Format::Ini => flat::emit_ini(&doc.branches)
            .map_err(emit_err)?
            .into_bytes(),
        Format::Binary => {
            if doc.branches.len() != 1 {
                return Err(emit_err("there must be exactly one tree branch".into()));
            }
            match first().iter().find(|(k, _)| k.as_str() == Some("data")) {
                Some((_, Value::Str(s))) => s.as_bytes().to_vec(),
                Some((_, Value::Bytes(b))) => b.clone(),
                Some(_) => {
                    return Err(emit_err(
                        "'data' key in tree does not have a string value".into(),
                    ));
                }
                None => return Err(emit_err("no binary data found in tree".into())),
            }
        }
    })
}

/// Writes an encrypted document with its metadata.
pub(crate) fn emit_encrypted(
    file: &str,
    format: Format,
    doc: &Document,
    meta: &Metadata,
    opts: &StoreOptions,
) -> Result<Vec<u8>, Error> {
    let emit_err = |m: String| Error::Emit {
        file: file.to_string(),
        format: format.name(),
        message: m,
    };
    let sops_entry = || (Key::Str(SOPS_KEY.into()), meta.to_value());
    Ok(match format {
        Format::Yaml => {
            let branches: Vec<Vec<(Key, Value)>> = doc
                .branches
                .iter()
                .map(|b| {
                    let mut b = b.clone();
                    b.push(sops_entry());
                    b
                })
                .collect();
            yaml_emit::emit(&branches, opts.yaml_indent).into_bytes()
        }
        Format::Json | Format::Binary => {
            let mut b = doc.branches.first().cloned().unwrap_or_default();
            b.push(sops_entry());
            json::emit(&b, &opts.json_indent_str())
                .map_err(emit_err)?
                .into_bytes()
        }
        Format::Dotenv => {
            let mut b = doc.branches.first().cloned().unwrap_or_default();
            for (k, v) in meta.to_flat() {
                b.push((Key::Str(format!("sops_{k}")), Value::Str(v)));
            }
            flat::emit_dotenv(&b).map_err(emit_err)?.into_bytes()
        }
        Format::Ini => {
            let mut branches = doc.branches.clone();
            let items: Vec<(Key, Value)> = meta
                .to_flat()
                .into_iter()
                .map(|(k, v)| (Key::Str(k), Value::Str(v)))
                .collect();
            branches.push(vec![(Key::Str(SOPS_KEY.into()), Value::Map(items))]);
            flat::emit_ini(&branches).map_err(emit_err)?.into_bytes()
        }
    })
}
