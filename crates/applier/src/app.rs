//! The Application file format and its loading.
//!
//! ```yaml
//! apiVersion: kiln.dev/v1alpha1
//! kind: Application
//! metadata:
//!   name: guestbook              # DNS-1123 label; names the inventory ConfigMap
//! spec:
//!   source:
//!     repoURL: https://git.example/apps.git
//!     revision: main             # branch, tag or commit; default HEAD
//!     path: guestbook            # default: repository root
//!     engine: helm               # default: detected by the repo-server
//!     parameters: {releaseName: gb}
//!   destination:
//!     context: prod              # kubeconfig context; default: current
//!     namespace: guestbook       # required; default namespace of objects
//!   syncPolicy:
//!     automated: true            # default false (sync on request only)
//!     prune: true                # default false (report, do not delete)
//!     selfHeal: false
//!     interval: 3m               # drift re-check period; default 3m
//!     retry: {limit: 5, backoff: 5s}
//!   ignoreDifferences:
//!     - group: apps
//!       kind: Deployment
//!       name: web                # optional: all objects of the kind
//!       jsonPointers: [/spec/replicas]
//!   syncOptions:
//!     forceConflicts: false      # server-side apply force
//!     createNamespace: false     # create destination.namespace if absent
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::Error;

/// The only accepted `apiVersion` of an Application.
pub const API_VERSION: &str = "kiln.dev/v1alpha1";
/// The only accepted `kind` of an Application.
pub const KIND: &str = "Application";

/// One declared application.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Application {
    /// Must be [`API_VERSION`].
    pub api_version: String,
    /// Must be [`KIND`].
    pub kind: String,
    /// The name.
    pub metadata: Metadata,
    /// What to render and where to apply it.
    pub spec: ApplicationSpec,
}

/// An Application's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// The application name (a DNS-1123 label).
    pub name: String,
}

/// An Application's spec.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// Where the repo-server renders from.
    pub source: Source,
    /// The cluster and default namespace.
    pub destination: Destination,
    /// When and how to sync.
    #[serde(default)]
    pub sync_policy: SyncPolicy,
    /// Fields to leave alone when applying and comparing.
    #[serde(default)]
    pub ignore_differences: Vec<IgnoreDifference>,
    /// Options of the apply itself.
    #[serde(default)]
    pub sync_options: SyncOptions,
}

/// The render source, as sent to `GenerateManifests`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    /// Repository URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Branch, tag or commit.
    #[serde(default = "default_revision")]
    pub revision: String,
    /// Application directory relative to the repository root.
    #[serde(default)]
    pub path: String,
    /// Engine name; empty lets the repo-server detect it.
    #[serde(default)]
    pub engine: String,
    /// Engine parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// The destination cluster and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Destination {
    /// kubeconfig context; `None` uses the current one.
    #[serde(default)]
    pub context: Option<String>,
    /// Default namespace of namespaced objects, and home of the inventory.
    pub namespace: String,
}

/// When and how to sync.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Sync on every new revision without being asked.
    #[serde(default)]
    pub automated: bool,
    /// Delete objects no longer rendered (otherwise only report them).
    #[serde(default)]
    pub prune: bool,
    /// Correct drift when it is found (otherwise only report it).
    #[serde(default)]
    pub self_heal: bool,
    /// How often drift is re-checked.
    #[serde(default = "default_interval", deserialize_with = "duration")]
    pub interval: Duration,
    /// Retries of a failed sync.
    #[serde(default)]
    pub retry: Retry,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self {
            automated: false,
            prune: false,
            self_heal: false,
            interval: default_interval(),
            retry: Retry::default(),
        }
    }
}

/// Retries of a failed sync, with exponential backoff.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retry {
    /// Attempts after the first; 0 disables retries.
    #[serde(default = "default_retry_limit")]
    pub limit: u32,
    /// Delay before the first retry; doubled on each further one.
    #[serde(default = "default_backoff", deserialize_with = "duration")]
    pub backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            limit: default_retry_limit(),
            backoff: default_backoff(),
        }
    }
}

/// Fields of matching objects that the applier neither applies nor compares.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IgnoreDifference {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Object name; `None` matches every object of the kind.
    #[serde(default)]
    pub name: Option<String>,
    /// RFC 6901 JSON pointers of the fields.
    pub json_pointers: Vec<String>,
}

/// Options of the apply itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncOptions {
    /// Take over fields owned by other field managers.
    #[serde(default)]
    pub force_conflicts: bool,
    /// Create the destination namespace when the render does not.
    #[serde(default)]
    pub create_namespace: bool,
}

fn default_revision() -> String {
    "HEAD".to_owned()
}

fn default_interval() -> Duration {
    Duration::from_secs(180)
}

fn default_retry_limit() -> u32 {
    5
}

fn default_backoff() -> Duration {
    Duration::from_secs(5)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

/// Parses a duration such as `90s`, `3m`, `1h30m` or `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?} (expected e.g. 30s, 3m, 1h30m, 500ms)");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let step = match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(step);
        rest = &rest[unit..];
    }
    Ok(total)
}

impl Application {
    /// Checks what serde cannot: apiVersion, kind, names and pointers.
    fn validate(&self) -> Result<(), String> {
        if self.api_version != API_VERSION {
            return Err(format!(
                "apiVersion: expected {API_VERSION:?}, found {:?}",
                self.api_version
            ));
        }
        if self.kind != KIND {
            return Err(format!("kind: expected {KIND:?}, found {:?}", self.kind));
        }
        // The inventory ConfigMap is `kiln-inventory-<name>` (at most 253
        // characters); a label keeps the name usable as a label value too.
        if !is_dns_label(&self.metadata.name) {
            return Err(format!(
                "metadata.name: {:?} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)",
                self.metadata.name
            ));
        }
        if self.spec.source.repo_url.is_empty() {
            return Err("spec.source.repoURL: must not be empty".to_owned());
        }
        if !is_dns_label(&self.spec.destination.namespace) {
            return Err(format!(
                "spec.destination.namespace: {:?} is not a DNS-1123 label",
                self.spec.destination.namespace
            ));
        }
        for (i, rule) in self.spec.ignore_differences.iter().enumerate() {
            if rule.kind.is_empty() {
                return Err(format!(
                    "spec.ignoreDifferences[{i}].kind: must not be empty"
                ));
            }
            for (j, pointer) in rule.json_pointers.iter().enumerate() {
                if !pointer.starts_with('/') {
                    return Err(format!(
                        "spec.ignoreDifferences[{i}].jsonPointers[{j}]: {pointer:?} is not a JSON pointer (must start with '/')"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The name of the ConfigMap that records what this application owns.
    pub fn inventory_name(&self) -> String {
        format!("kiln-inventory-{}", self.metadata.name)
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Parses every Application document of one YAML text; `path` names errors.
pub fn parse_applications(text: &str, path: &Path) -> Result<Vec<Application>, Error> {
    let invalid = |message: String| Error::InvalidApplication {
        path: path.to_owned(),
        message,
    };
    let mut apps = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        // Deserialising the document directly (not through a Value) keeps
        // serde_yaml's field path and line in the message.
        let app = Option::<Application>::deserialize(document)
            .map_err(|e| invalid(format!("document {}: {e}", index + 1)))?;
        let Some(app) = app else { continue };
        app.validate()
            .map_err(|e| invalid(format!("document {}: {e}", index + 1)))?;
        apps.push(app);
    }
    Ok(apps)
}

/// Loads the Applications of a file, or of every `*.yaml`/`*.yml` file of a
/// folder (not recursive, in name order); names must be unique.
pub fn load_applications(path: &Path) -> Result<Vec<Application>, Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io(path))? {
            let file = entry.map_err(io(path))?.path();
            let yaml = file.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if yaml && file.is_file() {
                files.push(file);
            }
        }
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut apps = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        for app in parse_applications(&text, &file)? {
            if let Some(first) = seen.get(&app.metadata.name) {
                return Err(Error::DuplicateApplication {
                    name: app.metadata.name.clone(),
                    first: first.clone(),
                    second: file.clone(),
                });
            }
            seen.insert(app.metadata.name.clone(), file.clone());
            apps.push(app);
        }
    }
    tracing::debug!(path = %path.display(), count = apps.len(), "loaded applications");
    Ok(apps)
}
