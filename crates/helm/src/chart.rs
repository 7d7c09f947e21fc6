//! Loading a chart (a folder or a `.tgz`) into memory, as Helm's loader does.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::files::{Files, join};
use crate::ignore::Rules;
use crate::yaml;

/// A loaded chart: metadata, default values, templates, files, subcharts.
#[derive(Clone, Debug)]
pub struct Chart {
    /// `Chart.yaml` as JSON (the name replaced by an alias when aliased).
    pub metadata: Map<String, Value>,
    /// Default values (`values.yaml`).
    pub values: Map<String, Value>,
    /// `values.schema.json`, if any.
    pub schema: Option<Value>,
    /// Templates by path inside the chart (`templates/x.yaml`).
    pub templates: Vec<(String, String)>,
    /// Every other file by path inside the chart (what `.Files` sees).
    pub files: Vec<(String, Vec<u8>)>,
    /// Subcharts under `charts/`, in load order.
    pub dependencies: Vec<Chart>,
    /// Where the chart was loaded from (for messages).
    pub origin: String,
}

impl Chart {
    /// The chart's name.
    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Whether `type: library`.
    pub fn is_library(&self) -> bool {
        self.metadata.get("type").and_then(Value::as_str) == Some("library")
    }

    /// The declared dependencies (Chart.yaml v2, or requirements.yaml v1).
    pub fn declared_dependencies(&self) -> Vec<Map<String, Value>> {
        match self.metadata.get("dependencies") {
            Some(Value::Array(a)) => a.iter().filter_map(|d| d.as_object().cloned()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Loads the chart folder at `dir` (relative to the repository root).
pub fn load_dir(files: &dyn Files, dir: &str) -> Result<Chart, Error> {
    let mut all = BTreeMap::new();
    let rules = match files.read(&format!("{dir}/.helmignore")) {
        Ok(Some(b)) => Rules::parse(&String::from_utf8_lossy(&b)),
        Ok(None) => Rules::parse(""),
        Err(message) => {
            return Err(Error::Read {
                path: format!("{dir}/.helmignore"),
                message,
            });
        }
    };
    walk(files, dir, "", &rules, &mut all)?;
    from_files(all, dir)
}

fn walk(
    files: &dyn Files,
    root: &str,
    rel: &str,
    rules: &Rules,
    out: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), Error> {
    let dir = if rel.is_empty() {
        root.to_string()
    } else {
        format!("{root}/{rel}")
    };
    let read_err = |message| Error::Read {
        path: dir.clone(),
        message,
    };
    let Some(mut names) = files.list(&dir).map_err(read_err)? else {
        return Err(Error::Chart {
            file: dir.clone(),
            message: "not a folder".into(),
        });
    };
    names.sort();
    for name in names {
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let full = format!("{root}/{path}");
        match files.read(&full) {
            Ok(Some(bytes)) => {
                if !rules.ignored(&path, false) {
                    out.insert(path, bytes);
                }
            }
            Ok(None) => {
                if !rules.ignored(&path, true) {
                    walk(files, root, &path, rules, out)?;
                }
            }
            Err(message) => {
                return Err(Error::Read {
                    path: full,
                    message,
                });
            }
        }
    }
    Ok(())
}

/// Loads a chart archive (`.tgz`): every entry under its top folder.
pub fn load_archive(bytes: &[u8], origin: &str) -> Result<Chart, Error> {
    let bad = |m: String| Error::Chart {
        file: origin.to_string(),
        message: m,
    };
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz);
    let mut all = BTreeMap::new();
    let entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .replace('\\', "/");
        let Some((_, rest)) = path.split_once('/') else {
            continue;
        };
        let Some(rest) = join("", rest) else {
            return Err(bad(format!("entry {path} leaves the chart")));
        };
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| bad(e.to_string()))?;
        all.insert(rest, data);
    }
    if all.is_empty() {
        return Err(bad("no files in chart archive".into()));
    }
    from_files(all, origin)
}

/// Builds a chart from its files (Helm's `loader.LoadFiles`).
fn from_files(all: BTreeMap<String, Vec<u8>>, origin: &str) -> Result<Chart, Error> {
    let file = |n: &str| format!("{origin}/{n}");
    let Some(meta) = all.get("Chart.yaml") else {
        return Err(Error::Chart {
            file: file("Chart.yaml"),
            message: "Chart.yaml file is missing".into(),
        });
    };
    let metadata = match yaml::parse(&String::from_utf8_lossy(meta)) {
        Ok(Value::Object(m)) => m,
        Ok(_) => Map::new(),
        Err(message) => {
            return Err(Error::Chart {
                file: file("Chart.yaml"),
                message,
            });
        }
    };
    let mut metadata = metadata;
    if metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        return Err(Error::Chart {
            file: file("Chart.yaml"),
            message: "validation: chart.metadata.name is required".into(),
        });
    }
    if metadata
        .get("version")
        .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
    {
        return Err(Error::Chart {
            file: file("Chart.yaml"),
            message: "validation: chart.metadata.version is required".into(),
        });
    }
    if metadata
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        metadata.insert("apiVersion".into(), Value::from("v1"));
    }
    let mut chart = Chart {
        metadata,
        values: Map::new(),
        schema: None,
        templates: Vec::new(),
        files: Vec::new(),
        dependencies: Vec::new(),
        origin: origin.to_string(),
    };
    let mut sub_dirs: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (name, data) in &all {
        let text = || String::from_utf8_lossy(data).into_owned();
        match name.as_str() {
            // Helm keeps the lock file apart from `.Files`.
            "Chart.yaml" | "Chart.lock" => {}
            "values.yaml" => {
                chart.values = match yaml::parse_doc(&text()).map(crate::funcs::go_numbers) {
                    Ok(Value::Object(m)) => m,
                    Ok(Value::Null) => Map::new(),
                    Ok(_) => {
                        return Err(Error::Chart {
                            file: file(name),
                            message: "values are not a map".into(),
                        });
                    }
                    Err(message) => {
                        return Err(Error::Chart {
                            file: file(name),
                            message: format!(
                                "cannot load values.yaml: cannot unmarshal yaml document: {message}"
                            ),
                        });
                    }
                }
            }
            "values.schema.json" => {
                chart.schema = Some(serde_json::from_slice(data).map_err(|e| Error::Chart {
                    file: file(name),
                    message: e.to_string(),
                })?);
            }
            "requirements.yaml"
                if chart.metadata.get("apiVersion").and_then(Value::as_str) == Some("v1") =>
            {
                if let Ok(Value::Object(m)) = yaml::parse(&text())
                    && let Some(d) = m.get("dependencies")
                {
                    chart.metadata.insert("dependencies".into(), d.clone());
                }
                chart.files.push((name.clone(), data.clone()));
            }
            n if n.starts_with("templates/") => chart.templates.push((name.clone(), text())),
            n if n.starts_with("charts/") => {
                let rest = &n["charts/".len()..];
                match rest.split_once('/') {
                    Some((sub, inner)) => {
                        sub_dirs
                            .entry(sub.to_string())
                            .or_default()
                            .insert(inner.to_string(), data.clone());
                    }
                    None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => {
                        chart.dependencies.push(load_archive(data, &file(name))?);
                    }
                    None => chart.files.push((name.clone(), data.clone())),
                }
            }
            _ => chart.files.push((name.clone(), data.clone())),
        }
    }
    for (sub, files) in sub_dirs {
        chart
            .dependencies
            .push(from_files(files, &file(&format!("charts/{sub}")))?);
    }
    Ok(chart)
}

/// The reserved folder through which the host serves chart archives from
/// HTTP chart repositories: `.kiln-chartrepo/<repo>/<chart>/<version>`, each
/// segment percent-encoded (every byte but ASCII letters, digits, `-` and
/// `_` as `%XX`; an empty version is `*`). Reading that path yields the
/// `.tgz` the repository's index gives for the chart and version (an exact
/// version or a constraint), verified and cached by the host.
pub const CHART_REPO_DIR: &str = ".kiln-chartrepo";

/// `helm dependency build` for a chart folder: every dependency of
/// `Chart.yaml` whose `repository` is an `http(s)` URL and that `charts/`
/// does not hold is read from [`CHART_REPO_DIR`] at the version `Chart.lock`
/// pins (else the `Chart.yaml` constraint) and added as if it were
/// `charts/<name>-<version>.tgz`. `file://` and other repositories are left
/// alone; when the view has no such file (no host serves it), the dependency
/// stays missing, as before.
pub fn add_repository_dependencies(
    files: &dyn Files,
    dir: &str,
    chart: &mut Chart,
) -> Result<(), Error> {
    let lock_path = format!("{dir}/Chart.lock");
    let locked: Vec<Map<String, Value>> = match files.read(&lock_path) {
        Ok(Some(b)) => match yaml::parse(&String::from_utf8_lossy(&b)) {
            Ok(Value::Object(m)) => match m.get("dependencies") {
                Some(Value::Array(a)) => a.iter().filter_map(|d| d.as_object().cloned()).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        Ok(None) => Vec::new(),
        Err(message) => {
            return Err(Error::Read {
                path: lock_path,
                message,
            });
        }
    };
    let s = |m: &Map<String, Value>, k: &str| -> String {
        match m.get(k) {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    for dep in chart.declared_dependencies() {
        let (name, repo) = (s(&dep, "name"), s(&dep, "repository"));
        let lower = repo.to_ascii_lowercase();
        if name.is_empty() || !(lower.starts_with("http://") || lower.starts_with("https://")) {
            continue;
        }
        if chart.dependencies.iter().any(|c| c.name() == name) {
            continue;
        }
        let version = locked
            .iter()
            .find(|l| s(l, "name") == name && s(l, "repository") == repo)
            .map(|l| s(l, "version"))
            .unwrap_or_else(|| s(&dep, "version"));
        let path = format!(
            "{CHART_REPO_DIR}/{}/{}/{}",
            encode(&repo),
            encode(&name),
            encode(if version.is_empty() { "*" } else { &version })
        );
        let bytes = match files.read(&path) {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(message) => {
                return Err(Error::Read {
                    path: format!("{dir}/Chart.yaml (dependency {name} {version} from {repo})"),
                    message,
                });
            }
        };
        let origin = format!("{dir}/charts/{name}-{version}.tgz");
        chart.dependencies.push(load_archive(&bytes, &origin)?);
    }
    Ok(())
}

/// Percent-encodes a path segment (all but ASCII letters, digits, `-`, `_`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
