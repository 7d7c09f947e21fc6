//! ListApps and GetAppDetails: what a revision holds and what one source
//! offers, as Argo CD's UI asks for them.

use kiln_render::Engine;

use crate::{
    ArgoRepoServer, Error, manifests,
    proto::{repository as pb, v1alpha1},
    repo::{RequestRepo, app_listing, read_file, walk_files},
    source::{self, AppSpec, SourceType},
};

/// Most entries GetAppDetails lists under a chart when it looks for values files.
const MAX_CHART_ENTRIES: usize = 10_000;

impl ArgoRepoServer {
    /// ListApps: every kustomization and chart folder (relative to the root,
    /// `.` for the root itself), as Argo CD's discovery finds them.
    pub(crate) async fn apps(&self, q: pb::ListAppsRequest) -> Result<pb::AppList, Error> {
        let repo = RequestRepo::new(q.repo.as_ref())?;
        let resolved = repo
            .resolve(self.pipeline.git(), &q.revision, false)
            .await?;
        let (_, apps) = self
            .pipeline
            .list_apps(&repo.url, &resolved.commit.to_hex(), "")
            .await?;
        let enabled = |t: SourceType| {
            q.enabled_source_types
                .get(t.as_str())
                .copied()
                .unwrap_or(true)
        };
        let apps = apps
            .into_iter()
            .filter_map(|a| {
                let t = match a.engine {
                    Engine::Kustomize => SourceType::Kustomize,
                    Engine::Helm => SourceType::Helm,
                    Engine::Directory => return None,
                };
                enabled(t).then(|| {
                    let path = if a.path.is_empty() {
                        ".".to_owned()
                    } else {
                        a.path
                    };
                    (path, t.as_str().to_owned())
                })
            })
            .collect();
        Ok(pb::AppList { apps })
    }

    /// GetAppDetails: the source type; a kustomization's images (from its
    /// render); a chart's values files, default values and file parameters.
    pub(crate) async fn app_details(
        &self,
        q: pb::RepoServerAppDetailsQuery,
    ) -> Result<pb::RepoAppDetailsResponse, Error> {
        let repo = RequestRepo::new(q.repo.as_ref())?;
        let source = q.source.clone().unwrap_or_default();
        if !source.chart().is_empty() || source.repo_url().starts_with("oci://") {
            return Err(Error::Unsupported(
                "details of Helm repository and OCI sources are not supported by Kiln yet".into(),
            ));
        }
        let fresh = q.no_cache || q.no_revision_cache;
        let resolved = repo
            .resolve(self.pipeline.git(), source.target_revision(), fresh)
            .await?;
        let listing = app_listing(&resolved, source.path()).await?;
        let spec = AppSpec {
            source: &source,
            app_name: &q.app_name,
            namespace: "",
            kube_version: "",
            api_versions: &[],
            enabled: &q.enabled_source_types,
        };
        let plan = source::plan(&spec, &listing)?;
        let source_type = match plan.source_type {
            Some(t) => t,
            None => self.detected_type(&listing, &plan.engine),
        };
        let mut res = pb::RepoAppDetailsResponse {
            r#type: source_type.as_str().to_owned(),
            ..Default::default()
        };
        match source_type {
            SourceType::Kustomize => {
                let app = self.render_app(&repo, &resolved, &spec, q.no_cache).await?;
                res.kustomize = Some(pb::KustomizeAppSpec {
                    images: manifests::images(&app.generated.manifests),
                });
            }
            SourceType::Helm => {
                res.helm = Some(self.helm_details(&resolved, &source).await?);
            }
            SourceType::Plugin => res.plugin = Some(pb::PluginAppSpec {}),
            SourceType::Directory => {}
        }
        Ok(res)
    }

    /// The source type Kiln's own detection gives a folder Argo CD's does
    /// not recognise: a plugin whose marker file is there, else Directory.
    fn detected_type(&self, listing: &[kiln_source::DirEntry], engine: &str) -> SourceType {
        if !engine.is_empty() {
            return SourceType::of_engine(engine);
        }
        let marked = self.pipeline.renderers().into_iter().any(|r| {
            !matches!(r.name.as_str(), "directory" | "kustomize" | "helm")
                && r.markers
                    .iter()
                    .any(|m| listing.iter().any(|e| &e.name == m))
        });
        if marked {
            SourceType::Plugin
        } else {
            SourceType::Directory
        }
    }

    async fn helm_details(
        &self,
        resolved: &kiln_git::Resolved,
        source: &v1alpha1::ApplicationSource,
    ) -> Result<pb::HelmAppSpec, Error> {
        let files = walk_files(resolved, source.path(), MAX_CHART_ENTRIES).await?;
        let value_files = files
            .into_iter()
            .filter(|f| {
                let name = f.rsplit('/').next().unwrap_or(f);
                let lower = name.to_ascii_lowercase();
                name.contains("values") && (lower.ends_with(".yaml") || lower.ends_with(".yml"))
            })
            .collect();
        let values_path = kiln_source::join(source.path(), "values.yaml")?;
        let values = read_file(resolved, values_path)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let file_parameters = source
            .helm
            .as_ref()
            .map(|h| h.file_parameters.clone())
            .unwrap_or_default();
        Ok(pb::HelmAppSpec {
            name: String::new(),
            value_files,
            parameters: Vec::new(),
            values,
            file_parameters,
        })
    }
}
