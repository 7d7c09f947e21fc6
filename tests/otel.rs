//! The optional OpenTelemetry exporter (`--features otel`): `kiln serve
//! --otlp-endpoint` sends its spans over OTLP/gRPC to a collector, here a
//! fake one on 127.0.0.1 that records what it receives. A GenerateManifests
//! call yields the request span with the pipeline, Git and plugin spans
//! under it, in one trace, from the `kiln-repo-server` service.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

#[path = "e2e/support.rs"]
mod support;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
    trace::v1::Span,
};
use support::*;

/// Records every span and the service name it came from.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref()?.value.as_ref())
                .map(|v| match v {
                    Value::StringValue(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    spans.push((service.clone(), span));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            Value::StringValue(s) => s.clone(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_collector_with_their_parents() {
    let collector = Collector::default();
    let port = free_port();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve(format!("127.0.0.1:{port}").parse().unwrap()),
    );

    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "shop");
    repo.commit(
        &[(
            "app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n",
        )],
        "app",
    );
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/*",
            "--otlp-endpoint",
            &endpoint,
        ],
    );
    let mut client = kiln.client().await;
    let url = daemon.url("shop");
    generate(&mut client, gen_req(&url, "main", "app"))
        .await
        .unwrap();

    // The batch exporter sends within its schedule delay (5 s by default).
    let wanted = [
        "GenerateManifests",
        "generate",
        "refresh_with",
        "render",
        "plugin",
    ];
    let start = Instant::now();
    let spans = loop {
        let spans = collector.spans.lock().unwrap().clone();
        if wanted
            .iter()
            .all(|w| spans.iter().any(|(_, s)| s.name == *w))
        {
            break spans;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "spans received: {:?}",
            spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        spans
            .iter()
            .all(|(service, _)| service == "kiln-repo-server")
    );

    let by_id: BTreeMap<&[u8], &Span> = spans
        .iter()
        .map(|(_, s)| (s.span_id.as_slice(), s))
        .collect();
    let find = |name: &str| {
        spans
            .iter()
            .map(|(_, s)| s)
            .find(|s| s.name == name)
            .unwrap()
    };
    let request = find("GenerateManifests");
    assert!(
        request.parent_span_id.is_empty(),
        "the request span is a root"
    );
    assert_eq!(attribute(request, "app").as_deref(), Some("app"));
    assert_eq!(attribute(request, "repo").as_deref(), Some(url.as_str()));
    // Every wanted span descends from the request span, in its trace.
    for name in &wanted[1..] {
        let span = find(name);
        assert_eq!(span.trace_id, request.trace_id, "{name}");
        let mut at = span;
        let mut hops = 0;
        while at.span_id != request.span_id {
            at = by_id
                .get(at.parent_span_id.as_slice())
                .unwrap_or_else(|| panic!("{name}: a parent was not exported"));
            hops += 1;
            assert!(hops < 20, "{name}: no path to the request span");
        }
    }
    assert_eq!(
        attribute(find("plugin"), "plugin").as_deref(),
        Some("directory")
    );
    drop(kiln);
    server.abort();
}
