//! Charts from HTTP chart repositories as render sources: the request, the
//! read-only tree over a verified archive, and the mapping of fetch
//! failures onto pipeline errors. [`crate::Pipeline::generate_chart`]
//! (in `pipeline.rs`) ties them to the renderers and the render cache.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Read,
    sync::Arc,
};

use kiln_chartrepo::{ErrorKind as ChartErrorKind, Fetched};
use kiln_source::{Backend, BackendError, Listing, Node, NodeKind, Oid};

use crate::{ErrorKind, PipelineError, RenderError, TransformerSpec};

/// A request to render a chart of an HTTP chart repository (what Argo CD
/// calls a Helm source with a `chart`), with the helm engine.
#[derive(Clone, Debug, Default)]
pub struct ChartRequest {
    /// The chart repository URL (the folder holding `index.yaml`).
    pub repo_url: String,
    /// Chart name in the repository index.
    pub chart: String,
    /// An exact version, a semver constraint (`~1.2.0`, `^1`,
    /// `>=1.0.0 <2.0.0`, `1.2.x`), or empty for the latest stable version.
    pub version: String,
    /// Helm engine parameters (see `ListPlugins`).
    pub parameters: BTreeMap<String, String>,
    /// Default namespace; empty leaves objects as written.
    pub namespace: String,
    /// Always run the renderer (the result still refreshes the cache).
    pub no_cache: bool,
    /// Transformers to run, in order, after the chart.
    pub transformers: Vec<TransformerSpec>,
}

/// A fetch failure as a pipeline error naming repository, chart and version.
pub(crate) fn fetch_error(e: kiln_chartrepo::Error) -> PipelineError {
    let (repo, revision, path) = (e.repo.clone(), e.version.clone(), e.chart.clone());
    // The error's other fields are the Render error's own.
    let message = e.cause.clone();
    chart_failure(e, message, |source| PipelineError::Render {
        repo,
        revision,
        path,
        engine: "helm".into(),
        source: Box::new(source),
    })
}

/// A chart that a render needed (a chart's dependency) and could not be
/// fetched, as the failure of that render (`fail` adds the app's context).
pub(crate) fn dependency_error(
    e: kiln_chartrepo::Error,
    fail: impl FnOnce(RenderError) -> PipelineError,
) -> PipelineError {
    let message = e.to_string();
    chart_failure(e, message, fail)
}

/// One classification of chart repository failures: an unreachable
/// repository is unavailable, like an unreachable Git remote; the rest keep
/// their class as a render error carrying `message`.
fn chart_failure(
    e: kiln_chartrepo::Error,
    message: String,
    fail: impl FnOnce(RenderError) -> PipelineError,
) -> PipelineError {
    let kind = match e.kind {
        ChartErrorKind::Unavailable => {
            return PipelineError::Git(kiln_git::Error::Unavailable {
                repo: e.repo.clone(),
                cause: e.to_string(),
            });
        }
        ChartErrorKind::NotAllowed => ErrorKind::PermissionDenied,
        ChartErrorKind::NotFound => ErrorKind::NotFound,
        ChartErrorKind::TooLarge => ErrorKind::ResourceExhausted,
        ChartErrorKind::InvalidInput | ChartErrorKind::Corrupt => ErrorKind::InvalidInput,
        ChartErrorKind::Internal => ErrorKind::Internal,
    };
    fail(RenderError {
        kind,
        file: None,
        line: None,
        message,
    })
}

/// A chart archive's files as a source tree: every regular file under the
/// archive's top folder, which is returned as the app path.
pub(crate) struct ArchiveBackend {
    files: BTreeMap<String, Arc<Vec<u8>>>,
    dirs: BTreeSet<String>,
}

impl ArchiveBackend {
    /// Unpacks a `.tgz` in memory; `Err` says what is wrong with it.
    pub(crate) fn open(f: &Fetched) -> Result<(ArchiveBackend, String), String> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f.bytes.as_slice()));
        let mut files = BTreeMap::new();
        let mut dirs = BTreeSet::from([String::new()]);
        let mut top: Option<String> = None;
        let entries = archive.entries().map_err(|e| e.to_string())?;
        for entry in entries {
            let mut entry = entry.map_err(|e| e.to_string())?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let raw = entry
                .path()
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            let path =
                kiln_source::normalize(&raw).map_err(|e| format!("archive entry {raw}: {e}"))?;
            let Some((first, _)) = path.split_once('/') else {
                continue;
            };
            match &top {
                None => top = Some(first.to_owned()),
                Some(t) if t != first => {
                    return Err(format!(
                        "archive has more than one top folder ({t}, {first})"
                    ));
                }
                _ => {}
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(|e| e.to_string())?;
            let mut dir = path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                dirs.insert(parent.to_owned());
                dir = parent;
            }
            files.insert(path, Arc::new(data));
        }
        let top = top.ok_or("no files in chart archive")?;
        Ok((ArchiveBackend { files, dirs }, top))
    }

    fn child(dir: &str, name: &str) -> String {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    }

    fn node(&self, path: String) -> Option<Node<String>> {
        let kind = if self.files.contains_key(&path) {
            NodeKind::File
        } else if self.dirs.contains(&path) {
            NodeKind::Dir
        } else {
            return None;
        };
        Some(Node { kind, handle: path })
    }

    fn file(&self, path: &str) -> Result<&Arc<Vec<u8>>, BackendError> {
        self.files
            .get(path)
            .ok_or_else(|| format!("{path}: not a file of the chart archive").into())
    }
}

impl Backend for ArchiveBackend {
    type Handle = String;

    fn root(&self) -> Node<String> {
        Node {
            kind: NodeKind::Dir,
            handle: String::new(),
        }
    }

    fn lookup(&self, dir: &String, name: &str) -> Result<Option<Node<String>>, BackendError> {
        Ok(self.node(Self::child(dir, name)))
    }

    fn list(&self, dir: &String) -> Result<Listing<String>, BackendError> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names = BTreeSet::new();
        for p in self.files.keys().chain(self.dirs.iter()) {
            if let Some(rest) = p.strip_prefix(&prefix)
                && !rest.is_empty()
            {
                names.insert(rest.split('/').next().unwrap_or(rest).to_owned());
            }
        }
        Ok(names
            .into_iter()
            .filter_map(|n| self.node(Self::child(dir, &n)).map(|node| (n, node)))
            .collect())
    }

    fn size(&self, file: &String) -> Result<u64, BackendError> {
        Ok(self.file(file)?.len() as u64)
    }

    fn read(&self, file: &String) -> Result<Vec<u8>, BackendError> {
        Ok(self.file(file)?.as_ref().clone())
    }

    fn file_id(&self, file: &String) -> Result<Oid, BackendError> {
        Ok(Oid::for_blob(self.file(file)?))
    }
}

/// The "commit" a chart render is cached under: the archive's digest.
pub(crate) fn digest_oid(digest: &str) -> Oid {
    let mut id = [0u8; 20];
    if let Ok(bytes) = hex::decode(digest) {
        for (d, s) in id.iter_mut().zip(bytes) {
            *d = s;
        }
    }
    Oid(id)
}

impl ChartRequest {
    /// The chart request a `GenerateRequest` with a chart name stands for:
    /// `repo_url` is the chart repository, `revision` the version or
    /// constraint, `path` unused; the engine must be empty or `helm`.
    pub fn from_generate(
        req: crate::GenerateRequest,
        chart: &str,
    ) -> Result<ChartRequest, PipelineError> {
        if !(req.engine.is_empty() || req.engine == "helm") {
            return Err(PipelineError::InvalidRequest(format!(
                "chart '{chart}' from a chart repository renders with the helm engine, not '{}'",
                req.engine
            )));
        }
        Ok(ChartRequest {
            repo_url: req.repo_url,
            chart: chart.to_owned(),
            version: req.revision,
            parameters: req.parameters,
            namespace: req.namespace,
            no_cache: req.no_cache,
            transformers: req.transformers,
        })
    }
}
