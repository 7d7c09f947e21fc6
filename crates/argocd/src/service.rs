//! The tonic service: one span per call, each RPC handed to its module,
//! errors mapped in one place, everything Kiln does not do UNIMPLEMENTED.

use std::future::Future;

use kiln_render::Pipeline;
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, Span, info_span, warn};

use crate::{
    Error,
    proto::{
        repository::{
            self as pb,
            repo_server_service_server::{RepoServerService, RepoServerServiceServer},
        },
        v1alpha1,
    },
    repo::display_url,
};

/// Largest message the service accepts or sends, as Argo CD's repo-server
/// (100 MiB): a large app's manifests travel in one response.
pub const MAX_MESSAGE_SIZE: usize = 100 << 20;

/// Settings of the Argo CD front end. [`ArgoCdOptions::default`] lists every
/// default.
#[derive(Clone, Copy, Debug)]
pub struct ArgoCdOptions {
    /// Largest request and response, in bytes (default 100 MiB).
    pub max_message_size: usize,
}

impl Default for ArgoCdOptions {
    fn default() -> Self {
        ArgoCdOptions {
            max_message_size: MAX_MESSAGE_SIZE,
        }
    }
}

/// `repository.RepoServerService` on a Kiln pipeline.
#[derive(Clone)]
pub struct ArgoRepoServer {
    pub(crate) pipeline: Pipeline,
}

impl ArgoRepoServer {
    /// A service answering from `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        ArgoRepoServer { pipeline }
    }
}

/// The tonic service to add to a router beside `kiln.v1`.
pub fn service(
    pipeline: Pipeline,
    options: ArgoCdOptions,
) -> RepoServerServiceServer<ArgoRepoServer> {
    RepoServerServiceServer::new(ArgoRepoServer::new(pipeline))
        .max_decoding_message_size(options.max_message_size)
        .max_encoding_message_size(options.max_message_size)
}

/// Runs a unary handler inside its span; a failure is logged once there.
async fn unary<Resp, Fut>(span: Span, fut: Fut) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = Result<Resp, Error>>,
{
    async move {
        match fut.await {
            Ok(r) => Ok(Response::new(r)),
            Err(e) => {
                let status = crate::error::to_status(&e);
                warn!(code = ?status.code(), error = %e, "request failed");
                Err(status)
            }
        }
    }
    .instrument(span)
    .await
}

/// The repository URL of a request, without credentials, for spans.
fn repo_field(repo: Option<&v1alpha1::Repository>) -> String {
    repo.map_or_else(String::new, |r| display_url(r.repo()))
}

/// Answers an RPC Kiln does not serve.
fn unimplemented<T>(method: &str) -> Result<Response<T>, Status> {
    Err(Status::unimplemented(format!(
        "{method} is not implemented by Kiln's Argo CD repo-server"
    )))
}

#[tonic::async_trait]
impl RepoServerService for ArgoRepoServer {
    async fn generate_manifest(
        &self,
        request: Request<pb::ManifestRequest>,
    ) -> Result<Response<pb::ManifestResponse>, Status> {
        let q = request.into_inner();
        let span = info_span!(
            "argocd.GenerateManifest",
            repo = %repo_field(q.repo.as_ref()),
            revision = %q.revision,
            app = %q.app_name,
            path = %q.application_source.as_ref().map_or("", |s| s.path()),
        );
        unary(span, self.generate(q)).await
    }

    async fn generate_manifest_with_files(
        &self,
        _request: Request<Streaming<pb::ManifestRequestWithFiles>>,
    ) -> Result<Response<pb::ManifestResponse>, Status> {
        unimplemented("GenerateManifestWithFiles")
    }

    async fn test_repository(
        &self,
        request: Request<pb::TestRepositoryRequest>,
    ) -> Result<Response<pb::TestRepositoryResponse>, Status> {
        let q = request.into_inner();
        let span = info_span!("argocd.TestRepository", repo = %repo_field(q.repo.as_ref()));
        unary(span, self.test_repo(q)).await
    }

    async fn resolve_revision(
        &self,
        request: Request<pb::ResolveRevisionRequest>,
    ) -> Result<Response<pb::ResolveRevisionResponse>, Status> {
        let q = request.into_inner();
        let span = info_span!(
            "argocd.ResolveRevision",
            repo = %repo_field(q.repo.as_ref()),
            revision = %q.ambiguous_revision,
        );
        unary(span, self.resolve(q)).await
    }

    async fn list_refs(
        &self,
        request: Request<pb::ListRefsRequest>,
    ) -> Result<Response<pb::Refs>, Status> {
        let q = request.into_inner();
        let span = info_span!("argocd.ListRefs", repo = %repo_field(q.repo.as_ref()));
        unary(span, self.refs(q)).await
    }

    async fn list_oci_tags(
        &self,
        _request: Request<pb::ListRefsRequest>,
    ) -> Result<Response<pb::Refs>, Status> {
        unimplemented("ListOCITags")
    }

    async fn list_apps(
        &self,
        request: Request<pb::ListAppsRequest>,
    ) -> Result<Response<pb::AppList>, Status> {
        let q = request.into_inner();
        let span = info_span!(
            "argocd.ListApps",
            repo = %repo_field(q.repo.as_ref()),
            revision = %q.revision,
        );
        unary(span, self.apps(q)).await
    }

    async fn list_plugins(
        &self,
        _request: Request<()>,
    ) -> Result<Response<pb::PluginList>, Status> {
        unimplemented("ListPlugins")
    }

    async fn get_app_details(
        &self,
        request: Request<pb::RepoServerAppDetailsQuery>,
    ) -> Result<Response<pb::RepoAppDetailsResponse>, Status> {
        let q = request.into_inner();
        let span = info_span!(
            "argocd.GetAppDetails",
            repo = %repo_field(q.repo.as_ref()),
            revision = %q.source.as_ref().map_or("", |s| s.target_revision()),
            app = %q.app_name,
            path = %q.source.as_ref().map_or("", |s| s.path()),
        );
        unary(span, self.app_details(q)).await
    }

    async fn get_revision_metadata(
        &self,
        request: Request<pb::RepoServerRevisionMetadataRequest>,
    ) -> Result<Response<v1alpha1::RevisionMetadata>, Status> {
        let q = request.into_inner();
        let span = info_span!(
            "argocd.GetRevisionMetadata",
            repo = %repo_field(q.repo.as_ref()),
            revision = %q.revision,
        );
        unary(span, self.revision_metadata(q)).await
    }

    async fn get_oci_metadata(
        &self,
        _request: Request<pb::RepoServerRevisionChartDetailsRequest>,
    ) -> Result<Response<v1alpha1::OciMetadata>, Status> {
        unimplemented("GetOCIMetadata")
    }

    async fn get_revision_chart_details(
        &self,
        _request: Request<pb::RepoServerRevisionChartDetailsRequest>,
    ) -> Result<Response<v1alpha1::ChartDetails>, Status> {
        unimplemented("GetRevisionChartDetails")
    }

    async fn get_helm_charts(
        &self,
        _request: Request<pb::HelmChartsRequest>,
    ) -> Result<Response<pb::HelmChartsResponse>, Status> {
        unimplemented("GetHelmCharts")
    }

    async fn get_git_files(
        &self,
        _request: Request<pb::GitFilesRequest>,
    ) -> Result<Response<pb::GitFilesResponse>, Status> {
        unimplemented("GetGitFiles")
    }

    async fn get_git_directories(
        &self,
        _request: Request<pb::GitDirectoriesRequest>,
    ) -> Result<Response<pb::GitDirectoriesResponse>, Status> {
        unimplemented("GetGitDirectories")
    }

    async fn update_revision_for_paths(
        &self,
        request: Request<pb::UpdateRevisionForPathsRequest>,
    ) -> Result<Response<pb::UpdateRevisionForPathsResponse>, Status> {
        let q = request.into_inner();
        let span = info_span!(
            "argocd.UpdateRevisionForPaths",
            repo = %repo_field(q.repo.as_ref()),
            revision = %q.revision,
            synced = %q.synced_revision,
            app = %q.app_name,
        );
        unary(span, self.update_revision(q)).await
    }
}
