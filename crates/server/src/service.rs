use std::{collections::BTreeMap, future::Future, pin::Pin, sync::Arc};

use futures_util::{Stream, StreamExt, stream};
use kiln_proto::kiln::v1::{
    self as pb,
    repo_server_server::{RepoServer, RepoServerServer},
};
use kiln_render::{GenerateRequest, Pipeline};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status, transport::Server};
use tracing::{Instrument, info, info_span};

use crate::{
    ServeError, auth, deadline,
    guard::{GuardLayer, GuardOptions},
    limits::Limits,
    status::{git_status, to_status},
    watch::WatchHub,
};

/// The router of [`router_with_options`]: every service behind the guard
/// layer (authentication, limits, metrics).
pub type KilnRouter = tonic::transport::server::Router<
    tower::layer::util::Stack<GuardLayer, tower::layer::util::Identity>,
>;

/// Settings of the listener besides TLS. [`ServerOptions::default`]: no
/// authentication, [`Limits::default`].
#[derive(Debug, Default)]
pub struct ServerOptions {
    /// Tokens and limits enforced in front of every service.
    pub guard: GuardOptions,
}

/// Largest sum of manifest bytes put in one streamed message (1 MiB), well
/// under the 4 MiB most gRPC clients accept by default.
const CHUNK_BYTES: usize = 1 << 20;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The `kiln.v1.RepoServer` service.
#[derive(Clone)]
pub struct RepoServerService {
    pipeline: Pipeline,
    watches: Arc<WatchHub>,
    max_response_bytes: usize,
}

impl RepoServerService {
    /// A service answering from `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        let watches = WatchHub::new(pipeline.git().clone());
        RepoServerService {
            pipeline,
            watches,
            max_response_bytes: Limits::default().max_response_bytes,
        }
    }
}

/// The full gRPC router: `kiln.v1.RepoServer`, `grpc.health.v1.Health` and
/// server reflection v1 and v1alpha, over plaintext (h2c).
pub fn router(pipeline: Pipeline) -> Result<KilnRouter, ServeError> {
    Ok(router_with(pipeline, None)?.0)
}

/// [`router`] with TLS when `tls` is given, and the health reporter so
/// services added to the router can be reported as serving.
pub fn router_with(
    pipeline: Pipeline,
    tls: Option<tonic::transport::ServerTlsConfig>,
) -> Result<(KilnRouter, tonic_health::server::HealthReporter), ServeError> {
    router_with_options(pipeline, tls, ServerOptions::default())
}

/// [`router_with`] with tokens and limits.
pub fn router_with_options(
    pipeline: Pipeline,
    tls: Option<tonic::transport::ServerTlsConfig>,
    options: ServerOptions,
) -> Result<(KilnRouter, tonic_health::server::HealthReporter), ServeError> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    // The reporter only writes to a watch channel; setting the status is synchronous in effect.
    let reporter = health_reporter.clone();
    tokio::spawn(async move {
        reporter
            .set_serving::<RepoServerServer<RepoServerService>>()
            .await;
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
    });
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(kiln_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(kiln_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let limits = &options.guard.limits;
    let mut service = RepoServerService::new(pipeline);
    service.max_response_bytes = limits.max_response_bytes;
    let svc = RepoServerServer::new(service)
        .max_decoding_message_size(limits.max_request_bytes)
        .max_encoding_message_size(limits.max_response_bytes);
    let mut server = Server::builder();
    if let Some(tls) = tls {
        server = server.tls_config(tls)?;
    }
    let router = server
        .layer(GuardLayer::new(options.guard))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(svc);
    Ok((router, health_reporter))
}

/// Serves the router on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    pipeline: Pipeline,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    serve_router(listener, router(pipeline)?, shutdown).await
}

/// Serves a router built by [`router`], with any further services added
/// (such as the Argo CD front end), on `listener` until `shutdown` completes.
pub async fn serve_router(
    listener: TcpListener,
    router: KilnRouter,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let addr = listener.local_addr().map_err(ServeError::Listener)?;
    // Small responses must not wait for delayed ACKs (Nagle): set TCP_NODELAY.
    let incoming = tonic::transport::server::TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(std::time::Duration::from_secs(60)));
    info!(%addr, "serving gRPC");
    router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

fn manifests_messages(g: kiln_render::Generated) -> Vec<pb::GenerateManifestsResponse> {
    let mut out = Vec::new();
    let mut cur = pb::GenerateManifestsResponse {
        commit_sha: g.commit.clone(),
        input_digest: g.input_digest.clone(),
        cached: g.cached,
        timings: Some(pb::Timings {
            resolve_us: g.timings.resolve.as_micros() as u64,
            render_us: g.timings.render.as_micros() as u64,
            total_us: g.timings.total.as_micros() as u64,
        }),
        engine: g.engine.clone(),
        total_manifests: g.manifests.len() as u32,
        manifests: Vec::new(),
    };
    let mut size = 0;
    for m in g.manifests.iter() {
        if size > 0 && size + m.len() > CHUNK_BYTES {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += m.len();
        cur.manifests.push(m.clone());
    }
    out.push(cur);
    out
}

/// Runs a unary handler inside its span and the caller's deadline, once
/// the caller is allowed to read the request's repository.
async fn unary<Req, Resp, Fut>(
    request: Request<Req>,
    name: &'static str,
    span: impl FnOnce(&Req) -> tracing::Span,
    repo: fn(&Req) -> &str,
    handler: impl FnOnce(Req) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = Result<Resp, Status>>,
{
    auth::authorize(&request, repo(request.get_ref()))?;
    let limit = deadline::from_metadata(request.metadata());
    let req = request.into_inner();
    let span = span(&req);
    deadline::within(limit, true, name, handler(req))
        .instrument(span)
        .await
        .map(Response::new)
}

impl RepoServerService {
    async fn resolve(&self, repo_url: &str, revision: &str) -> Result<kiln_git::Resolved, Status> {
        self.pipeline
            .git()
            .resolve(repo_url, revision)
            .await
            .map_err(git_status)
    }

    /// The resolved commit's signature (or the signed tag's the revision
    /// names), checked against the repository's signature policy.
    async fn signature(
        &self,
        r: &kiln_git::Resolved,
        revision: &str,
    ) -> Result<pb::CommitSignature, Status> {
        let git = self.pipeline.git().clone();
        let (mirror, commit, revision) = (r.mirror.clone(), r.commit, revision.to_owned());
        let v = tokio::task::spawn_blocking(move || git.signature(&mirror, commit, &revision))
            .await
            .map_err(|e| Status::internal(format!("signature task: {e}")))?
            .map_err(git_status)?;
        Ok(pb::CommitSignature {
            kind: v.kind.as_str().to_owned(),
            fingerprint: v.fingerprint.unwrap_or_default(),
            verified: v.verified,
            reason: v.reason,
            signer: v.signer.unwrap_or_default(),
        })
    }
}

#[tonic::async_trait]
impl RepoServer for RepoServerService {
    async fn resolve_revision(
        &self,
        request: Request<pb::ResolveRevisionRequest>,
    ) -> Result<Response<pb::ResolveRevisionResponse>, Status> {
        let span = |r: &pb::ResolveRevisionRequest| info_span!("ResolveRevision", repo = %r.repo_url, revision = %r.revision);
        unary(
            request,
            "ResolveRevision",
            span,
            |r| r.repo_url.as_str(),
            |req| async move {
                let r = self.resolve(&req.repo_url, &req.revision).await?;
                let signature = self.signature(&r, &req.revision).await?;
                Ok(pb::ResolveRevisionResponse {
                    commit_sha: r.commit.to_hex(),
                    resolved_ref: r.reference.unwrap_or_default(),
                    kind: r.kind.as_str().to_owned(),
                    stale: r.stale,
                    signature: Some(signature),
                })
            },
        )
        .await
    }

    async fn get_revision_metadata(
        &self,
        request: Request<pb::GetRevisionMetadataRequest>,
    ) -> Result<Response<pb::GetRevisionMetadataResponse>, Status> {
        let span = |r: &pb::GetRevisionMetadataRequest| info_span!("GetRevisionMetadata", repo = %r.repo_url, revision = %r.revision);
        unary(
            request,
            "GetRevisionMetadata",
            span,
            |r| r.repo_url.as_str(),
            |req| async move {
                let r = self.resolve(&req.repo_url, &req.revision).await?;
                let signature = self.signature(&r, &req.revision).await?;
                let mirror = r.mirror.clone();
                let md = tokio::task::spawn_blocking(move || mirror.metadata(r.commit))
                    .await
                    .map_err(|e| Status::internal(format!("metadata task: {e}")))?
                    .map_err(git_status)?;
                let sig = |p: kiln_git::Person| pb::Signature {
                    time_rfc3339: rfc3339(p.time, p.offset),
                    name: p.name,
                    email: p.email,
                    time_unix: p.time,
                };
                Ok(pb::GetRevisionMetadataResponse {
                    commit_sha: md.commit.to_hex(),
                    author: Some(sig(md.author)),
                    committer: Some(sig(md.committer)),
                    message: md.message,
                    parents: md.parents.iter().map(|p| p.to_hex()).collect(),
                    tags: md.tags,
                    signature: Some(signature),
                })
            },
        )
        .await
    }

    async fn list_apps(
        &self,
        request: Request<pb::ListAppsRequest>,
    ) -> Result<Response<pb::ListAppsResponse>, Status> {
        let span = |r: &pb::ListAppsRequest| info_span!("ListApps", repo = %r.repo_url, revision = %r.revision, path = %r.path);
        unary(
            request,
            "ListApps",
            span,
            |r| r.repo_url.as_str(),
            |req| async move {
                let (r, apps) = self
                    .pipeline
                    .list_apps(&req.repo_url, &req.revision, &req.path)
                    .await
                    .map_err(|e| to_status(&e))?;
                Ok(pb::ListAppsResponse {
                    commit_sha: r.commit.to_hex(),
                    apps: apps
                        .into_iter()
                        .map(|a| pb::App {
                            path: a.path,
                            engine: a.engine.as_str().to_owned(),
                        })
                        .collect(),
                })
            },
        )
        .await
    }

    async fn list_plugins(
        &self,
        _request: Request<pb::ListPluginsRequest>,
    ) -> Result<Response<pb::ListPluginsResponse>, Status> {
        let plugins = self
            .pipeline
            .renderers()
            .into_iter()
            .map(|i| pb::Plugin {
                name: i.name,
                version: i.version,
                digest: i.digest,
                interface_version: i.interface_version,
                markers: i.markers,
                parameters: i
                    .parameters
                    .into_iter()
                    .map(|p| pb::PluginParameter {
                        name: p.name,
                        description: p.description,
                        required: p.required,
                    })
                    .collect(),
                transformer: i.transformer,
                origin: i.origin,
            })
            .collect();
        Ok(Response::new(pb::ListPluginsResponse { plugins }))
    }

    type GenerateManifestsStream = BoxStream<pb::GenerateManifestsResponse>;

    async fn generate_manifests(
        &self,
        request: Request<pb::GenerateManifestsRequest>,
    ) -> Result<Response<Self::GenerateManifestsStream>, Status> {
        auth::authorize(&request, &request.get_ref().repo_url)?;
        let caller = auth::caller(request.extensions()).cloned();
        let max_response = self.max_response_bytes;
        let limit = deadline::from_metadata(request.metadata());
        let req = request.into_inner();
        let span = info_span!("GenerateManifests", repo = %req.repo_url, revision = %req.revision, app = %req.path);
        let pipeline = self.pipeline.clone();
        // A chart of an HTTP chart repository instead of a Git folder.
        let chart = req.chart.clone();
        let greq = GenerateRequest {
            repo_url: req.repo_url,
            revision: req.revision,
            path: req.path,
            engine: req.engine,
            parameters: req.parameters.into_iter().collect::<BTreeMap<_, _>>(),
            namespace: req.namespace,
            no_cache: req.no_cache,
            transformers: req
                .transformers
                .into_iter()
                .map(|t| kiln_render::TransformerSpec {
                    engine: t.engine,
                    config: (!t.config_json.is_empty()).then_some(t.config_json),
                })
                .collect(),
        };
        // The work happens inside the stream, so this handler's deadline (not
        // tonic's, which only covers returning the stream) governs it.
        let work = async move {
            let repo = greq.repo_url.clone();
            let g = deadline::within(limit, false, "GenerateManifests", async {
                pipeline
                    .generate_with_chart(greq, &chart)
                    .await
                    .map_err(|e| to_status(&e))
            })
            .await?;
            if let Some(c) = &caller {
                c.may_receive_secrets(&repo, g.secret)?;
            }
            let size: usize = g.manifests.iter().map(String::len).sum();
            if size > max_response {
                if let Some(m) = crate::metrics::get() {
                    m.limit_hit(crate::limits::LimitKind::ResponseSize);
                }
                return Err(Status::resource_exhausted(format!(
                    "the manifests of {repo} are {size} bytes, over the server's response limit of {max_response} bytes"
                )));
            }
            Ok(g)
        }
        .instrument(span);
        let s = stream::once(work).flat_map(|r| match r {
            Ok(g) => stream::iter(
                manifests_messages(g)
                    .into_iter()
                    .map(Ok)
                    .collect::<Vec<_>>(),
            ),
            Err(status) => stream::iter(vec![Err(status)]),
        });
        Ok(Response::new(Box::pin(s)))
    }

    type WatchRevisionStream = BoxStream<pb::WatchRevisionResponse>;

    async fn watch_revision(
        &self,
        request: Request<pb::WatchRevisionRequest>,
    ) -> Result<Response<Self::WatchRevisionStream>, Status> {
        auth::authorize(&request, &request.get_ref().repo_url)?;
        let req = request.into_inner();
        let span = info_span!("WatchRevision", repo = %req.repo_url, revision = %req.revision);
        let resolved = self
            .resolve(&req.repo_url, &req.revision)
            .instrument(span)
            .await?;
        let rx = self.watches.subscribe(
            resolved.mirror.clone(),
            &req.revision,
            resolved.commit.to_hex(),
        );
        let first = resolved.commit.to_hex();
        let s = stream::unfold(
            (rx, None::<String>, Some(first)),
            |(mut rx, prev, first)| async move {
                let sha = match first {
                    Some(sha) => sha,
                    None => {
                        rx.changed().await.ok()?;
                        rx.borrow_and_update().clone()
                    }
                };
                let msg = pb::WatchRevisionResponse {
                    commit_sha: sha.clone(),
                    previous_sha: prev.unwrap_or_default(),
                };
                Some((Ok(msg), (rx, Some(sha), None)))
            },
        );
        Ok(Response::new(Box::pin(s)))
    }
}

/// Formats seconds since the epoch with an offset as RFC 3339.
fn rfc3339(secs: i64, offset: i32) -> String {
    let local = secs + i64::from(offset);
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    let tz = if offset == 0 {
        "Z".to_owned()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let o = offset.abs();
        format!("{sign}{:02}:{:02}", o / 3600, (o % 3600) / 60)
    };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}{tz}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_rfc3339() {
        assert_eq!(super::rfc3339(1_735_787_045, 0), "2025-01-02T03:04:05Z");
        assert_eq!(
            super::rfc3339(1_735_787_045, 3600 + 1800),
            "2025-01-02T04:34:05+01:30"
        );
        assert_eq!(super::rfc3339(0, -7200), "1969-12-31T22:00:00-02:00");
    }
}
