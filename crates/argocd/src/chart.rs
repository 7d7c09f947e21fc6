//! Helm chart repository sources (`repoURL` an HTTP chart repository,
//! `chart`, `targetRevision` a version or constraint): fetched, verified and
//! cached by the host's chart repositories and rendered with the helm
//! engine, as Argo CD's repo-server does with `helm pull` and `helm template`.

use kiln_render::ChartRequest;
use tracing::info;

use crate::{
    ArgoRepoServer, Error, manifests,
    proto::{repository as pb, v1alpha1::ApplicationSource},
    source::{AppSpec, SourceType},
    tracking::{Tracking, TrackingMethod},
};

/// Whether `source` is a chart of an HTTP chart repository.
pub(crate) fn is_chart_source(source: &ApplicationSource) -> bool {
    let url = source.repo_url().trim().to_ascii_lowercase();
    !source.chart().is_empty() && (url.starts_with("http://") || url.starts_with("https://"))
}

impl ArgoRepoServer {
    /// GenerateManifest for a chart repository source; the revision of the
    /// answer is the chart version chosen.
    pub(crate) async fn generate_chart(
        &self,
        q: &pb::ManifestRequest,
        source: &ApplicationSource,
    ) -> Result<pb::ManifestResponse, Error> {
        let version = match q.revision.as_str() {
            "" => source.target_revision(),
            r => r,
        };
        if let Some(r) = &q.repo
            && (!r.username().is_empty() || !r.password().is_empty())
        {
            return Err(Error::Unsupported(format!(
                "chart repository {}: Kiln does not send credentials to chart repositories yet",
                source.repo_url()
            )));
        }
        let spec = AppSpec {
            source,
            app_name: &q.app_name,
            namespace: &q.namespace,
            kube_version: &q.kube_version,
            api_versions: &q.api_versions,
            enabled: &q.enabled_source_types,
        };
        let parameters = crate::helm::helm_parameters(&spec)?;
        // Resolve first (cheap: the index is kept, the archive cached) so the
        // answer names the version, as Argo CD's does; then render exactly it.
        let chosen = match self.pipeline.chart_repos() {
            Some(repos) => {
                let (repo, chart, v) = (
                    source.repo_url().to_owned(),
                    source.chart().to_owned(),
                    version.to_owned(),
                );
                tokio::task::spawn_blocking(move || repos.fetch(&repo, &chart, &v))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map_or_else(|| version.to_owned(), |f| f.version)
            }
            None => version.to_owned(),
        };
        let generated = self
            .pipeline
            .generate_chart(ChartRequest {
                repo_url: source.repo_url().to_owned(),
                chart: source.chart().to_owned(),
                version: chosen.clone(),
                parameters,
                namespace: q.namespace.clone(),
                no_cache: q.no_cache,
                transformers: Vec::new(),
            })
            .await?;
        let tracking = Tracking {
            label_key: &q.app_label_key,
            app_name: &q.app_name,
            namespace: &q.namespace,
            method: TrackingMethod::parse(&q.tracking_method),
            installation_id: &q.installation_id,
        };
        // The caller may be refused a render that decrypted secrets.
        kiln_server::auth::check_secrets(source.repo_url(), generated.secret)
            .map_err(|s| Error::Denied(s.message().to_owned()))?;
        let manifests = manifests::to_argo(&generated.manifests, &tracking)?;
        info!(
            chart = %source.chart(),
            version = %chosen,
            digest = %generated.commit,
            cached = generated.cached,
            manifests = manifests.len(),
            "generated"
        );
        Ok(pb::ManifestResponse {
            manifests,
            revision: chosen,
            source_type: SourceType::Helm.as_str().to_owned(),
            ..Default::default()
        })
    }
}
