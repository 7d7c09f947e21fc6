//! GenerateManifest and UpdateRevisionForPaths: an Argo CD source rendered
//! through Kiln's pipeline, and the render cache's answer to "did anything
//! this app read change between two commits?".

use std::collections::HashMap;

use kiln_git::Resolved;
use kiln_render::{GenerateRequest, Generated};
use tracing::{debug, info};

use crate::{
    ArgoRepoServer, Error, manifests,
    proto::{repository as pb, v1alpha1::ApplicationSource},
    repo::{RequestRepo, app_listing},
    source::{self, AppSpec, SourceType},
    tracking::{Tracking, TrackingMethod},
};

/// A rendered app and its Argo CD source type.
pub(crate) struct AppRender {
    pub generated: Generated,
    pub source_type: SourceType,
}

/// True for sources Kiln cannot serve: Helm repositories and OCI artifacts.
fn refuse_non_git(source: &ApplicationSource) -> Result<(), Error> {
    if !source.chart().is_empty() || source.repo_url().starts_with("oci://") {
        return Err(Error::Unsupported(format!(
            "source {}: OCI sources and charts from non-HTTP repositories are not supported by Kiln yet",
            crate::repo::display_url(source.repo_url())
        )));
    }
    Ok(())
}

impl ArgoRepoServer {
    /// Renders the app of `spec` at a resolved commit.
    pub(crate) async fn render_app(
        &self,
        repo: &RequestRepo,
        resolved: &Resolved,
        spec: &AppSpec<'_>,
        no_cache: bool,
    ) -> Result<AppRender, Error> {
        let listing = app_listing(resolved, spec.source.path()).await?;
        let plan = source::plan(spec, &listing)?;
        debug!(engine = %plan.engine, parameters = ?plan.parameters.keys().collect::<Vec<_>>(), "mapped source");
        let generated = self
            .pipeline
            .generate(GenerateRequest {
                repo_url: repo.url.clone(),
                revision: resolved.commit.to_hex(),
                path: spec.source.path().to_owned(),
                engine: plan.engine,
                parameters: plan.parameters,
                namespace: spec.namespace.to_owned(),
                no_cache,
                transformers: Vec::new(),
            })
            .await?;
        let source_type = plan
            .source_type
            .unwrap_or_else(|| SourceType::of_engine(&generated.engine));
        Ok(AppRender {
            generated,
            source_type,
        })
    }

    /// GenerateManifest.
    pub(crate) async fn generate(
        &self,
        q: pb::ManifestRequest,
    ) -> Result<pb::ManifestResponse, Error> {
        // A chart of an HTTP chart repository (repository type `helm`):
        // fetched by the host, no Git involved.
        if let Some(source) = &q.application_source
            && crate::chart::is_chart_source(source)
        {
            return self.generate_chart(&q, source).await;
        }
        let repo = RequestRepo::new(q.repo.as_ref())?;
        let source = q.application_source.clone().unwrap_or_default();
        let fresh = q.no_cache || q.no_revision_cache;
        let revision = match q.revision.as_str() {
            "" => source.target_revision(),
            r => r,
        };
        let git = self.pipeline.git();
        // A multi-source app's ref-only source renders nothing.
        if q.has_multiple_sources && source.path().is_empty() && source.chart().is_empty() {
            let resolved = repo.resolve(git, revision, fresh).await?;
            return Ok(pb::ManifestResponse {
                revision: resolved.commit.to_hex(),
                ..Default::default()
            });
        }
        refuse_non_git(&source)?;
        let resolved = repo.resolve(git, revision, fresh).await?;
        let spec = AppSpec {
            source: &source,
            app_name: &q.app_name,
            namespace: &q.namespace,
            kube_version: &q.kube_version,
            api_versions: &q.api_versions,
            enabled: &q.enabled_source_types,
        };
        let app = self.render_app(&repo, &resolved, &spec, q.no_cache).await?;
        // The caller (set by the auth hook in `service.rs`) may be refused
        // a render that decrypted secrets.
        kiln_server::auth::check_secrets(&repo.url, app.generated.secret)
            .map_err(|s| Error::Denied(s.message().to_owned()))?;
        let tracking = Tracking {
            label_key: &q.app_label_key,
            app_name: &q.app_name,
            namespace: &q.namespace,
            method: TrackingMethod::parse(&q.tracking_method),
            installation_id: &q.installation_id,
        };
        let manifests = manifests::to_argo(&app.generated.manifests, &tracking)?;
        info!(
            commit = %app.generated.commit,
            engine = %app.generated.engine,
            cached = app.generated.cached,
            manifests = manifests.len(),
            "generated"
        );
        Ok(pb::ManifestResponse {
            manifests,
            revision: app.generated.commit,
            source_type: app.source_type.as_str().to_owned(),
            ..Default::default()
        })
    }

    /// UpdateRevisionForPaths: `changes = false` only when the app's render
    /// at the synced commit read nothing that differs at the new one.
    pub(crate) async fn update_revision(
        &self,
        q: pb::UpdateRevisionForPathsRequest,
    ) -> Result<pb::UpdateRevisionForPathsResponse, Error> {
        let Some(repo_msg) = q.repo.as_ref() else {
            return Err(Error::InvalidArgument("must pass a valid repo".into()));
        };
        let source = q.application_source.clone().unwrap_or_default();
        let changed = |revision: String| pb::UpdateRevisionForPathsResponse {
            changes: true,
            revision,
        };
        // As Argo CD: no paths means always refresh.
        if q.paths.is_empty() {
            return Ok(changed(String::new()));
        }
        // Helm repository and OCI sources: Argo CD cannot tell either.
        let non_git = matches!(repo_msg.r#type(), "helm" | "oci")
            || repo_msg.enable_oci()
            || refuse_non_git(&source).is_err();
        if non_git {
            return Ok(pb::UpdateRevisionForPathsResponse::default());
        }
        let repo = RequestRepo::new(Some(repo_msg))?;
        if q.synced_revision == q.revision {
            return Ok(pb::UpdateRevisionForPathsResponse {
                changes: false,
                revision: q.revision,
            });
        }
        let git = self.pipeline.git();
        let new = repo.resolve(git, &q.revision, q.no_revision_cache).await?;
        let sha = new.commit.to_hex();
        if !q.ref_sources.is_empty() && q.has_multiple_sources {
            // Other sources' inputs are not in this app's read set.
            return Ok(changed(sha));
        }
        let synced = match repo
            .resolve(git, &q.synced_revision, q.no_revision_cache)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                debug!(error = %e, "synced revision unknown; reporting changes");
                return Ok(changed(sha));
            }
        };
        if synced.commit == new.commit {
            return Ok(pb::UpdateRevisionForPathsResponse {
                changes: false,
                revision: sha,
            });
        }
        let no_enabled = HashMap::new();
        let spec = AppSpec {
            source: &source,
            app_name: &q.app_name,
            namespace: &q.namespace,
            kube_version: &q.kube_version,
            api_versions: &q.api_versions,
            enabled: &no_enabled,
        };
        // The synced render is normally in the cache (Argo CD generated it);
        // the new commit reuses it when every recorded read still holds, and
        // equal input digests mean equal output.
        let before = self.render_app(&repo, &synced, &spec, false).await;
        let after = self.render_app(&repo, &new, &spec, false).await;
        let unchanged = match (&before, &after) {
            (Ok(b), Ok(a)) => b.generated.input_digest == a.generated.input_digest,
            _ => false,
        };
        info!(
            synced = %synced.commit,
            commit = %sha,
            changes = !unchanged,
            "compared the app's inputs"
        );
        Ok(pb::UpdateRevisionForPathsResponse {
            changes: !unchanged,
            revision: sha,
        })
    }
}
