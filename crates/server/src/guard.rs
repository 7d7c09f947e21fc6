//! The tower layer in front of every gRPC service of the listener (kiln.v1
//! and the Argo CD front end alike): identifies and authenticates the
//! caller, applies its rate and concurrency limits and the render queue,
//! and counts the call in the metrics when its answer ends.
//!
//! Health checks (`grpc.health.v1.Health`) need no token and are not
//! limited, so probes keep working. Whether a caller may read a repository
//! is decided by the handlers ([`crate::auth::authorize`]), which see the
//! decoded request; this layer only puts the [`Caller`] in the request's
//! extensions.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http_body::{Body as HttpBody, Frame};
use tokio::sync::OwnedSemaphorePermit;
use tonic::{
    Code, Status,
    body::Body,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};
use tracing::{debug, info};

use crate::{
    auth::{AuthHandle, Caller},
    deadline,
    limits::{CallerLimits, LimitKind, Limits, RenderQueue, RenderSlot},
};

/// gRPC paths that run a render and so go through the render queue.
const RENDER_PATHS: &[&str] = &[
    "/kiln.v1.RepoServer/GenerateManifests",
    "/repository.RepoServerService/GenerateManifest",
];

/// Paths that need no token and are not limited.
fn exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
}

/// What the guard enforces: tokens (none: every caller may call) and limits.
#[derive(Debug, Default)]
pub struct GuardOptions {
    /// Accepted bearer tokens (replaceable while serving); `None` turns
    /// authentication off.
    pub auth: Option<AuthHandle>,
    /// Per-caller limits and the render queue.
    pub limits: Limits,
}

struct Shared {
    auth: Option<AuthHandle>,
    callers: CallerLimits,
    queue: RenderQueue,
}

/// The layer; cheap to clone.
#[derive(Clone)]
pub struct GuardLayer {
    shared: Arc<Shared>,
}

impl GuardLayer {
    /// A guard with these options.
    pub fn new(options: GuardOptions) -> Self {
        let l = options.limits;
        GuardLayer {
            shared: Arc::new(Shared {
                auth: options.auth,
                queue: RenderQueue::new(l.render_concurrency, l.render_queue),
                callers: CallerLimits::new(l),
            }),
        }
    }
}

impl std::fmt::Debug for GuardLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardLayer")
            .field(
                "auth",
                &self.shared.auth.as_ref().map(|a| a.current().len()),
            )
            .finish_non_exhaustive()
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service the layer wraps around the router.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    shared: Arc<Shared>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The subject of the verified mTLS client certificate, if any.
fn client_subject(ext: &http::Extensions) -> Option<String> {
    let tls = ext.get::<TlsConnectInfo<TcpConnectInfo>>()?;
    let certs = tls.peer_certs()?;
    let cert = certs.first()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(parsed.subject().to_string())
}

/// The identity of an unauthenticated caller: the verified mTLS client
/// certificate's subject, else the peer's IP address.
fn peer_identity(ext: &http::Extensions) -> String {
    if let Some(subject) = client_subject(ext) {
        return format!("cert:{subject}");
    }
    if let Some(tls) = ext.get::<TlsConnectInfo<TcpConnectInfo>>()
        && let Some(addr) = tls.get_ref().remote_addr()
    {
        return addr.ip().to_string();
    }
    if let Some(tcp) = ext.get::<TcpConnectInfo>()
        && let Some(addr) = tcp.remote_addr()
    {
        return addr.ip().to_string();
    }
    "unknown".to_owned()
}

impl<S> tower::Service<http::Request<Body>> for Guard<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        // The ready service answers this call; a clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            let started = Instant::now();
            let path = req.uri().path().to_owned();
            let refuse = |status: Status, kind: Option<LimitKind>| {
                let m = crate::metrics::get();
                if let (Some(m), Some(kind)) = (m, kind) {
                    m.limit_hit(kind);
                }
                if let Some(m) = m {
                    m.request(&path, status.code(), started.elapsed().as_secs_f64());
                }
                debug!(rpc = %path, code = ?status.code(), "refused: {}", status.message());
                Ok(status.into_http::<Body>())
            };
            let caller = if exempt(&path) {
                Caller::unrestricted("health")
            } else if let Some(auth) = shared.auth.as_ref().map(AuthHandle::current) {
                let header = req
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .map(|v| v.as_bytes());
                // A caller without a token may be a known mTLS client.
                let client = header
                    .is_none()
                    .then(|| client_subject(req.extensions()))
                    .flatten()
                    .and_then(|s| auth.client(&s));
                match client.map_or_else(|| auth.authenticate(header), Ok) {
                    Ok(grant) => Caller::with_grant(grant),
                    Err(status) => {
                        info!(rpc = %path, peer = %peer_identity(req.extensions()), "unauthenticated call refused");
                        return refuse(status, None);
                    }
                }
            } else {
                Caller::unrestricted(peer_identity(req.extensions()))
            };
            let mut held = Held::default();
            if !exempt(&path) {
                match shared.callers.admit(&caller.identity) {
                    Ok(p) => held.caller = p,
                    Err((kind, status)) => return refuse(status, Some(kind)),
                }
                if RENDER_PATHS.contains(&path.as_str()) {
                    let limit = req
                        .headers()
                        .get("grpc-timeout")
                        .and_then(|v| v.to_str().ok())
                        .and_then(deadline::parse);
                    match shared.queue.admit(limit).await {
                        Ok(slot) => held.render = Some(slot),
                        Err((kind, status)) => return refuse(status, Some(kind)),
                    }
                }
            }
            req.extensions_mut().insert(caller);
            let resp = inner.call(req).await?;
            let early = resp
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .map(Code::from_i32);
            let (parts, body) = resp.into_parts();
            let body = Tracked {
                inner: body,
                done: Some(Finish {
                    path,
                    started,
                    code: early,
                    _held: held,
                }),
            };
            Ok(http::Response::from_parts(parts, Body::new(body)))
        })
    }
}

/// Slots a call holds until its answer ends.
#[derive(Default)]
struct Held {
    caller: Option<OwnedSemaphorePermit>,
    render: Option<RenderSlot>,
}

/// Recorded when the answer ends or is dropped.
struct Finish {
    path: String,
    started: Instant,
    code: Option<Code>,
    _held: Held,
}

impl Drop for Finish {
    fn drop(&mut self) {
        if let Some(m) = crate::metrics::get() {
            // No status seen: the caller went away before the end.
            let code = self.code.unwrap_or(Code::Cancelled);
            m.request(&self.path, code, self.started.elapsed().as_secs_f64());
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that notes the grpc-status of its trailers.
    struct Tracked {
        #[pin]
        inner: Body,
        done: Option<Finish>,
    }
}

impl HttpBody for Tracked {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let r = this.inner.poll_frame(cx);
        match &r {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(t) = frame.trailers_ref()
                    && let Some(done) = this.done.as_mut()
                {
                    done.code = t
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map(Code::from_i32)
                        .or(done.code);
                }
            }
            Poll::Ready(None) => {
                if let Some(mut done) = this.done.take() {
                    done.code.get_or_insert(Code::Ok);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(done) = this.done.as_mut() {
                    done.code.get_or_insert(Code::Internal);
                }
            }
            Poll::Pending => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
