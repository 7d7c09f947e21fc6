//! `kiln serve --metrics-listen`: /metrics scraped over HTTP after some
//! calls shows the request, cache, fetch, plugin, limit and memory metrics
//! moved; the same server logs JSON lines with their spans.

use std::{
    io::{Read, Write},
    net::TcpStream,
};

use kiln_proto::kiln::v1::ResolveRevisionRequest;
use tonic::Code;

use crate::support::*;

fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

/// The value of the sample line starting with `series ` (labels included).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_cache_fetches_and_limits() {
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
    let config = root.path().join("kiln.yaml");
    std::fs::write(&config, "limits:\n  ratePerSecond: 0.01\n  burst: 6\n").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/shop",
            "--metrics-listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--log-format",
            "json",
        ],
    );
    let metrics_addr = kiln
        .log
        .lock()
        .unwrap()
        .iter()
        .find_map(|l| {
            l.strip_prefix("kiln: metrics on http://")
                .and_then(|r| r.strip_suffix("/metrics"))
                .map(str::to_owned)
        })
        .expect("metrics address in the log");

    let mut client = kiln.client().await;
    let url = daemon.url("shop");
    // A render, the same again (cache hit), a refused repository, then
    // calls until the rate limit (burst 6) answers.
    generate(&mut client, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    generate(&mut client, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    let e = client
        .resolve_revision(ResolveRevisionRequest {
            repo_url: daemon.url("other"),
            revision: "main".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let mut limited = false;
    for _ in 0..6 {
        let r = client
            .resolve_revision(ResolveRevisionRequest {
                repo_url: url.clone(),
                revision: "main".into(),
            })
            .await;
        if let Err(e) = r {
            assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
            limited = true;
            break;
        }
    }
    assert!(limited, "the rate limit never answered");

    let (head, text) = http_get(&metrics_addr, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("openmetrics-text"), "{head}");
    let gen_ok =
        r#"kiln_grpc_requests_total{rpc="kiln.v1.RepoServer/GenerateManifests",code="OK"}"#;
    assert_eq!(sample(&text, gen_ok), Some(2.0), "{text}");
    let denied = r#"kiln_grpc_requests_total{rpc="kiln.v1.RepoServer/ResolveRevision",code="PERMISSION_DENIED"}"#;
    assert_eq!(sample(&text, denied), Some(1.0), "{text}");
    let exhausted = r#"kiln_grpc_requests_total{rpc="kiln.v1.RepoServer/ResolveRevision",code="RESOURCE_EXHAUSTED"}"#;
    assert_eq!(sample(&text, exhausted), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, r#"kiln_limits_hit_total{limit="rate"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"kiln_render_cache_total{result="hit"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"kiln_render_cache_total{result="miss"}"#),
        Some(1.0),
        "{text}"
    );
    // The render cache holds the one render and has evicted nothing.
    for cause in ["size", "stale", "replaced"] {
        let series = format!(r#"kiln_render_cache_evictions_total{{cause="{cause}"}}"#);
        assert_eq!(sample(&text, &series), Some(0.0), "{text}");
    }
    assert_eq!(
        sample(&text, "kiln_render_cache_entries"),
        Some(2.0),
        "{text}"
    );
    assert!(
        sample(&text, "kiln_render_cache_bytes").unwrap_or(0.0) > 512.0,
        "{text}"
    );
    let repo_key = url.trim_end_matches(".git");
    let fetched = format!(r#"kiln_git_fetches_total{{repository="{repo_key}",result="ok"}}"#);
    assert!(sample(&text, &fetched).unwrap_or(0.0) >= 1.0, "{text}");
    let fetch_count =
        format!(r#"kiln_git_fetch_duration_seconds_count{{repository="{repo_key}"}}"#);
    assert!(sample(&text, &fetch_count).unwrap_or(0.0) >= 1.0, "{text}");
    assert_eq!(
        sample(&text, r#"kiln_plugin_runs_total{plugin="directory"}"#),
        Some(1.0),
        "{text}"
    );
    let latency =
        r#"kiln_grpc_request_duration_seconds_count{rpc="kiln.v1.RepoServer/GenerateManifests"}"#;
    assert_eq!(sample(&text, latency), Some(2.0), "{text}");
    assert!(
        sample(&text, "kiln_process_resident_memory_bytes").unwrap_or(0.0) > 1e6,
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"), "{text}");

    let (head, _) = http_get(&metrics_addr, "/nope");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    // --log-format json: the fetch's event carries its spans, the request's
    // included.
    let log = kiln.log.lock().unwrap().clone();
    let fetched = log
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "fetched")
        .unwrap_or_else(|| panic!("no JSON `fetched` line: {log:?}"));
    let spans: Vec<&str> = fetched["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(spans.contains(&"GenerateManifests"), "{fetched}");
    assert_eq!(fetched["span"]["repo"], repo_key, "{fetched}");
}
