//! The host objects templates see: `.Files` and `.Capabilities`.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use kiln_gotmpl::{Function, Object, Ty, Value};

use crate::yaml;

/// `.Files`: the chart's non-template files (Helm's `engine.files`).
#[derive(Debug, Default)]
pub(crate) struct Files {
    pub(crate) files: BTreeMap<String, Vec<u8>>,
}

impl Files {
    fn as_yaml(&self, f: impl Fn(&[u8]) -> String) -> String {
        let mut m = serde_json::Map::new();
        for (k, v) in &self.files {
            let base = k.rsplit('/').next().unwrap_or(k);
            m.insert(base.to_string(), serde_json::Value::String(f(v)));
        }
        if m.is_empty() {
            return String::new();
        }
        let y = yaml::to_yaml(&serde_json::Value::Object(m));
        y.strip_suffix('\n').unwrap_or(&y).to_string()
    }
}

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }
    fn kind(&self) -> &'static str {
        "map"
    }
    fn method(&self, name: &str) -> Option<Function> {
        let files = Arc::new(self.files.clone());
        let get = move |a: &[Value]| files.get(a[0].as_str().unwrap_or_default()).cloned();
        Some(match name {
            "Get" => Function::pure(&[Ty::String], None, move |a| {
                Ok(Value::from(
                    get(&a)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default(),
                ))
            }),
            "GetBytes" => Function::pure(&[Ty::String], None, move |a| {
                Ok(Value::list(
                    get(&a)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|b| Value::Int(i64::from(b)))
                        .collect(),
                ))
            }),
            "Lines" => Function::pure(&[Ty::String], None, move |a| {
                let Some(b) = get(&a) else {
                    return Ok(Value::string_list(Vec::new()));
                };
                let s = String::from_utf8_lossy(&b).into_owned();
                let s = s.strip_suffix('\n').unwrap_or(&s);
                Ok(Value::string_list(
                    s.split('\n').map(str::to_string).collect(),
                ))
            }),
            "Glob" => {
                let files = self.files.clone();
                Function::pure(&[Ty::String], None, move |a| {
                    let pat = a[0].as_str().unwrap_or_default();
                    let re = glob_regex(pat).or_else(|| glob_regex("**"));
                    let out = match re {
                        Some(re) => files
                            .iter()
                            .filter(|(k, _)| re.is_match(k.as_str()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        None => BTreeMap::new(),
                    };
                    Ok(Value::Object(Arc::new(Files { files: out })))
                })
            }
            "AsConfig" => {
                let s = self.as_yaml(|b| String::from_utf8_lossy(b).into_owned());
                Function::pure(&[], None, move |_| Ok(Value::from(s.clone())))
            }
            "AsSecrets" => {
                let s = self.as_yaml(|b| base64::engine::general_purpose::STANDARD.encode(b));
                Function::pure(&[], None, move |_| Ok(Value::from(s.clone())))
            }
            _ => return None,
        })
    }
    fn display(&self) -> String {
        let parts: Vec<String> = self
            .files
            .iter()
            .map(|(k, v)| format!("{k}:{v:?}"))
            .collect();
        format!("map[{}]", parts.join(" "))
    }
    fn as_value(&self) -> Option<Value> {
        Some(Value::map(
            self.files
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Value::from(String::from_utf8_lossy(v).into_owned()),
                    )
                })
                .collect(),
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Capabilities.KubeVersion`.
#[derive(Debug)]
pub(crate) struct KubeVersion {
    pub(crate) version: String,
    pub(crate) major: String,
    pub(crate) minor: String,
}

impl Object for KubeVersion {
    fn type_name(&self) -> String {
        "common.KubeVersion".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::from(self.version.as_str())),
            "Major" => Some(Value::from(self.major.as_str())),
            "Minor" => Some(Value::from(self.minor.as_str())),
            _ => None,
        }
    }
    fn display(&self) -> String {
        self.version.clone()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Capabilities.APIVersions`.
#[derive(Debug)]
pub(crate) struct ApiVersions(pub(crate) Vec<String>);

impl Object for ApiVersions {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }
    fn kind(&self) -> &'static str {
        "slice"
    }
    fn method(&self, name: &str) -> Option<Function> {
        (name == "Has").then(|| {
            let set = self.0.clone();
            Function::pure(&[Ty::String], None, move |a| {
                let want = a[0].as_str().unwrap_or_default();
                Ok(Value::Bool(set.iter().any(|v| v == want)))
            })
        })
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn as_value(&self) -> Option<Value> {
        Some(Value::string_list(self.0.clone()))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Capabilities`.
#[derive(Debug)]
pub(crate) struct Capabilities {
    pub(crate) kube: Arc<KubeVersion>,
    pub(crate) apis: Arc<ApiVersions>,
}

impl Object for Capabilities {
    fn type_name(&self) -> String {
        "*common.Capabilities".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(self.kube.clone())),
            "APIVersions" => Some(Value::Object(self.apis.clone())),
            "HelmVersion" => {
                let mut m = BTreeMap::new();
                m.insert("Version".into(), Value::from(crate::HELM_VERSION));
                m.insert("GitCommit".into(), Value::from(""));
                m.insert("GitTreeState".into(), Value::from(""));
                m.insert("GoVersion".into(), Value::from("go1.26.6"));
                m.insert("KubeClientVersion".into(), Value::from("v1.36"));
                Some(Value::map(m))
            }
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!(
            "{{{{{} {} {} {}}} {} {{{}   go1.26.6 v1.36}}}}",
            self.kube.version,
            self.kube.version,
            self.kube.major,
            self.kube.minor,
            self.apis.display(),
            crate::HELM_VERSION
        )
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A `gobwas/glob` pattern with `/` as separator, as a regular expression:
/// `*` within a segment, `**` across segments, `?`, `[...]`, `{a,b}`.
fn glob_regex(pat: &str) -> Option<regex_lite::Regex> {
    let mut re = String::from("^");
    let chars: Vec<char> = pat.chars().collect();
    let mut i = 0;
    let mut depth = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                re.push_str(".*");
                i += 1;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let end = chars[i..].iter().position(|&c| c == ']')? + i;
                let mut class: String = chars[i + 1..end].iter().collect();
                if let Some(rest) = class.strip_prefix('!') {
                    class = format!("^{rest}");
                }
                re.push_str(&format!("[{class}]"));
                i = end;
            }
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            '\\' => {
                i += 1;
                re.push_str(&regex_lite::escape(&chars.get(i)?.to_string()));
            }
            c => re.push_str(&regex_lite::escape(&c.to_string())),
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    re.push('$');
    regex_lite::Regex::new(&re).ok()
}
