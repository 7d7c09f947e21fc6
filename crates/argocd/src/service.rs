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

/// The repository a request reads, for the auth hook.
trait RequestRepository {
    fn repository(&self) -> Option<&v1alpha1::Repository>;
}

macro_rules! request_repository {
    ($($t:ty),* $(,)?) => {$(
        impl RequestRepository for $t {
            fn repository(&self) -> Option<&v1alpha1::Repository> {
                self.repo.as_ref()
            }
        }
    )*};
}

request_repository!(
    pb::ManifestRequest,
    pb::TestRepositoryRequest,
    pb::ResolveRevisionRequest,
    pb::ListRefsRequest,
    pb::ListAppsRequest,
    pb::RepoServerAppDetailsQuery,
    pb::RepoServerRevisionMetadataRequest,
    pb::UpdateRevisionForPathsRequest,
);

/// Runs a unary handler inside its span and the caller's deadline (answered
/// DEADLINE_EXCEEDED, as `kiln.v1` does, not tonic's CANCELLED); a failure
/// is logged once there.
///
/// The auth hook: the caller the guard layer of `kiln_server` identified
/// must be allowed to read the request's repository (PERMISSION_DENIED
/// naming it otherwise), and stays the current caller for the handler, so a
/// render that decrypted secrets is checked against it
/// (`kiln_server::auth::check_secrets`).
async fn unary<Req: RequestRepository, Resp, Fut>(
    request: Request<Req>,
    name: &'static str,
    span: impl FnOnce(&Req) -> Span,
    handler: impl FnOnce(Req) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = Result<Resp, Error>>,
{
    let caller = kiln_server::auth::caller(request.extensions()).cloned();
    if let Some(c) = &caller {
        let url = request
            .get_ref()
            .repository()
            .map(|r| r.repo().to_owned())
            .unwrap_or_default();
        if let Err(status) = c.may_read(&url) {
            warn!(caller = %c.identity, code = ?status.code(), "{}", status.message());
            return Err(status);
        }
    }
    let limit = kiln_server::deadline::from_metadata(request.metadata());
    let q = request.into_inner();
    let span = span(&q);
    let answer = async move {
        handler(q).await.map_err(|e| {
            let status = crate::error::to_status(&e);
            warn!(code = ?status.code(), error = %e, "request failed");
            status
        })
    };
    let answer = kiln_server::auth::scope(caller, answer);
    async move {
        let r = kiln_server::deadline::within(limit, true, name, answer).await;
        if let Err(status) = &r
            && status.code() == tonic::Code::DeadlineExceeded
        {
            warn!("the caller's deadline passed");
        }
        r.map(Response::new)
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
        let span = |q: &pb::ManifestRequest| {
            info_span!(
                "argocd.GenerateManifest",
                repo = %repo_field(q.repo.as_ref()),
                revision = %q.revision,
                app = %q.app_name,
                path = %q.application_source.as_ref().map_or("", |s| s.path()),
            )
        };
        unary(request, "GenerateManifest", span, |q| self.generate(q)).await
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
        let span = |q: &pb::TestRepositoryRequest| info_span!("argocd.TestRepository", repo = %repo_field(q.repo.as_ref()));
        unary(request, "TestRepository", span, |q| self.test_repo(q)).await
    }

    async fn resolve_revision(
        &self,
        request: Request<pb::ResolveRevisionRequest>,
    ) -> Result<Response<pb::ResolveRevisionResponse>, Status> {
        let span = |q: &pb::ResolveRevisionRequest| {
            info_span!(
                "argocd.ResolveRevision",
                repo = %repo_field(q.repo.as_ref()),
                revision = %q.ambiguous_revision,
            )
        };
        unary(request, "ResolveRevision", span, |q| self.resolve(q)).await
    }

    async fn list_refs(
        &self,
        request: Request<pb::ListRefsRequest>,
    ) -> Result<Response<pb::Refs>, Status> {
        let span = |q: &pb::ListRefsRequest| info_span!("argocd.ListRefs", repo = %repo_field(q.repo.as_ref()));
        unary(request, "ListRefs", span, |q| self.refs(q)).await
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
        let span = |q: &pb::ListAppsRequest| {
            info_span!(
                "argocd.ListApps",
                repo = %repo_field(q.repo.as_ref()),
                revision = %q.revision,
            )
        };
        unary(request, "ListApps", span, |q| self.apps(q)).await
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
        let span = |q: &pb::RepoServerAppDetailsQuery| {
            info_span!(
                "argocd.GetAppDetails",
                repo = %repo_field(q.repo.as_ref()),
                revision = %q.source.as_ref().map_or("", |s| s.target_revision()),
                app = %q.app_name,
                path = %q.source.as_ref().map_or("", |s| s.path()),
            )
        };
        unary(request, "GetAppDetails", span, |q| self.app_details(q)).await
    }

    async fn get_revision_metadata(
        &self,
        request: Request<pb::RepoServerRevisionMetadataRequest>,
    ) -> Result<Response<v1alpha1::RevisionMetadata>, Status> {
        let span = |q: &pb::RepoServerRevisionMetadataRequest| {
            info_span!(
                "argocd.GetRevisionMetadata",
                repo = %repo_field(q.repo.as_ref()),
                revision = %q.revision,
            )
        };
        unary(request, "GetRevisionMetadata", span, |q| {
            self.revision_metadata(q)
        })
        .await
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
        let span = |q: &pb::UpdateRevisionForPathsRequest| {
            info_span!(
                "argocd.UpdateRevisionForPaths",
                repo = %repo_field(q.repo.as_ref()),
                revision = %q.revision,
                synced = %q.synced_revision,
                app = %q.app_name,
            )
        };
        unary(request, "UpdateRevisionForPaths", span, |q| {
            self.update_revision(q)
        })
        .await
    }
}
