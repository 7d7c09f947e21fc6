//! Kiln's built-in `helm` engine as a plugin: renders the app folder's chart
//! with `kiln-helm` (Helm v4's `helm template --include-crds`), reading every
//! file through the host so each read lands in the render's read set.
//!
//! Randomness (`randAlphaNum`, `uuidv4`...) is seeded from the host's WASI
//! random source, which Kiln seeds from the render's inputs; `now` is the
//! commit time, read only when a template mentions a time function, so
//! other charts stay reusable across commits.

use std::cell::RefCell;
use std::hash::BuildHasher;

use kiln_helm::{Options, SetKind, ValueSources};
use kiln_plugin_sdk::{
    Description, EntryKind, Error, ErrorKind, GenerateRequest, Plugin, Value, export_plugin,
    manifests, source,
};

/// Every parameter the engine takes, with its meaning.
const PARAMETERS: &[(&str, &str)] = &[
    (
        "release-name",
        "release name (.Release.Name; default release-name)",
    ),
    (
        "release-namespace",
        "release namespace (.Release.Namespace; default: the request namespace, else default)",
    ),
    (
        "values",
        "JSON array of values files, relative to the chart folder (--values)",
    ),
    (
        "values-yaml",
        "a values document applied after the values files",
    ),
    ("set", "JSON array of K=V (--set)"),
    ("set-string", "JSON array of K=V (--set-string)"),
    ("set-json", "JSON array of K=JSON (--set-json)"),
    (
        "set-file",
        "JSON array of K=PATH, PATH relative to the chart folder (--set-file)",
    ),
    (
        "kube-version",
        "Kubernetes version for .Capabilities (--kube-version)",
    ),
    (
        "api-versions",
        "JSON array of extra API versions for .Capabilities (--api-versions)",
    ),
    ("skip-crds", "true: leave out crds/ (--skip-crds)"),
    ("skip-tests", "true: leave out test hooks (--skip-tests)"),
    (
        "skip-schema-validation",
        "true: do not check values.schema.json",
    ),
    (
        "ignore-missing-values",
        "true: skip values files that do not exist",
    ),
];

/// Sprig functions that read the clock.
const TIME_FUNCS: &[&str] = &[
    "now",
    "ago",
    "genCA",
    "genSelfSignedCert",
    "genSignedCert",
    "dateModify",
];

struct Helm;

impl Plugin for Helm {
    fn describe() -> Description {
        let mut d =
            Description::new("helm", env!("CARGO_PKG_VERSION")).with_markers([kiln_helm::MARKER]);
        for (name, doc) in PARAMETERS {
            d = d.with_parameter(name, doc);
        }
        d
    }

    fn generate(req: GenerateRequest) -> Result<Vec<Value>, Error> {
        let bad = |m: String| Error::new(ErrorKind::InvalidInput, None, m);
        for p in &req.parameters {
            if !PARAMETERS.iter().any(|(n, _)| *n == p.key) {
                let known: Vec<&str> = PARAMETERS.iter().map(|(n, _)| *n).collect();
                return Err(bad(format!(
                    "unknown parameter '{}' for engine helm (known: {})",
                    p.key,
                    known.join(", ")
                )));
            }
        }
        let list = |name: &str| -> Result<Vec<String>, Error> {
            match req.param(name) {
                None | Some("") => Ok(Vec::new()),
                Some(text) => serde_json::from_str::<Vec<String>>(text).map_err(|e| {
                    bad(format!(
                        "parameter {name}: expected a JSON array of strings: {e}"
                    ))
                }),
            }
        };
        let flag = |name: &str| -> Result<bool, Error> {
            match req.param(name) {
                None | Some("") | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(o) => Err(bad(format!(
                    "parameter {name}: expected true or false, got '{o}'"
                ))),
            }
        };
        let mut sets = Vec::new();
        for (name, kind) in [
            ("set", SetKind::Typed),
            ("set-string", SetKind::String),
            ("set-json", SetKind::Json),
            ("set-file", SetKind::File),
        ] {
            sets.extend(list(name)?.into_iter().map(|s| (kind, s)));
        }
        let src = ValueSources {
            files: list("values")?,
            inline_yaml: req
                .param("values-yaml")
                .filter(|v| !v.is_empty())
                .map(String::from),
            sets,
            ignore_missing: flag("ignore-missing-values")?,
        };
        let files = HostFiles::default();
        let result = (|| {
            let values = kiln_helm::user_values(&files, &req.app_path, &src)?;
            let mut chart = kiln_helm::load_dir(&files, &req.app_path)?;
            // `helm dependency build`: dependencies from HTTP chart
            // repositories that charts/ lacks, fetched by the host.
            kiln_helm::add_repository_dependencies(&files, &req.app_path, &mut chart)?;
            let namespace = match req.param("release-namespace") {
                Some(ns) if !ns.is_empty() => ns.to_string(),
                _ => req.namespace.clone(),
            };
            let opts = Options {
                release_name: req.param("release-name").unwrap_or_default().to_string(),
                namespace,
                values,
                kube_version: req
                    .param("kube-version")
                    .filter(|v| !v.is_empty())
                    .map(String::from),
                api_versions: list("api-versions").unwrap_or_default(),
                skip_crds: flag("skip-crds").unwrap_or(false),
                skip_tests: flag("skip-tests").unwrap_or(false),
                skip_schema_validation: flag("skip-schema-validation").unwrap_or(false),
                seed: std::collections::hash_map::RandomState::new().hash_one(0u8),
                now_unix: if uses_clock(&chart) { now() } else { 0 },
            };
            kiln_helm::render_chart(&mut chart, &opts)
        })();
        if let Some(e) = files.failure.into_inner() {
            return Err(e);
        }
        let rendered = result.map_err(to_plugin_error)?;
        let mut out = Vec::new();
        for (_, mut obj) in rendered.objects() {
            manifests::set_default_namespace(&mut obj, &req.namespace);
            out.push(obj);
        }
        Ok(out)
    }
}

export_plugin!(Helm);

fn uses_clock(chart: &kiln_helm::Chart) -> bool {
    chart
        .templates
        .iter()
        .any(|(_, t)| TIME_FUNCS.iter().any(|f| t.contains(f)))
        || chart.dependencies.iter().any(uses_clock)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

/// The revision's tree through the host; the first host failure (a limit,
/// say) is kept so it reaches the caller with its own kind.
#[derive(Default)]
struct HostFiles {
    failure: RefCell<Option<Error>>,
}

impl HostFiles {
    fn fail(&self, e: Error) -> String {
        let msg = e.message.clone();
        self.failure.borrow_mut().get_or_insert(e);
        msg
    }
}

impl kiln_helm::Files for HostFiles {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        match source::stat(path) {
            Ok(Some(EntryKind::File)) => {
                source::read_file(path).map(Some).map_err(|e| self.fail(e))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn list(&self, path: &str) -> Result<Option<Vec<String>>, String> {
        match source::stat(path) {
            Ok(Some(EntryKind::Dir)) => source::list_dir(path)
                .map(|entries| Some(entries.into_iter().map(|e| e.name).collect()))
                .map_err(|e| self.fail(e)),
            Ok(_) => Ok(None),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }
}

fn to_plugin_error(e: kiln_helm::Error) -> Error {
    use kiln_helm::Error as H;
    let (kind, file) = match &e {
        H::Read { path, .. } => (ErrorKind::NotFound, Some(path.clone())),
        H::Chart { file, .. } | H::Template { file, .. } | H::Yaml { file, .. } => {
            (ErrorKind::InvalidInput, Some(file.clone()))
        }
        H::Values { .. } | H::Schema { .. } => (ErrorKind::InvalidInput, None),
    };
    Error::new(kind, file.as_deref(), e.to_string())
}
