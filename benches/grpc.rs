//! Repo-server benchmark over a real loopback gRPC connection to a release
//! `kiln serve` process, with a 20-object app served by `git daemon`.
//!
//! Measures: warm GenerateManifests latency (p50/p99) and throughput with
//! concurrent clients; the answer for a new commit that touches none of the
//! app's inputs (no render); and the server's idle RSS.
//!
//! Run: `cargo bench --bench grpc` (add `-- --seconds N` to change the load
//! duration, default 5).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

#[path = "../tests/e2e/support.rs"]
mod support;

use std::time::{Duration, Instant};

use kiln_proto::kiln::v1::ResolveRevisionRequest;
use support::*;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn deployment(i: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-{i}\n  labels: {{app: svc-{i}, tier: backend}}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: svc-{i}}}\n  template:\n    metadata:\n      labels: {{app: svc-{i}}}\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/svc-{i}:1.{i}.0\n          ports: [{{containerPort: 8080, name: http}}]\n          resources:\n            requests: {{cpu: 100m, memory: 128Mi}}\n"
    )
}

fn service(i: usize) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  selector: {{app: svc-{i}}}\n  ports: [{{port: 80, targetPort: http}}]\n"
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(5);

    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "bench");
    let mut files = Vec::new();
    for i in 0..10 {
        files.push((format!("apps/web/deploy-{i}.yaml"), deployment(i)));
        files.push((format!("apps/web/svc-{i}.yaml"), service(i)));
    }
    files.push(("docs/README.md".to_owned(), "docs\n".to_owned()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    repo.commit(&refs, "20 objects");
    let daemon = GitDaemon::start(root.path());
    let url = daemon.url("bench");
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/**",
            "--fetch-interval",
            "1h",
            "--log",
            "warn",
        ],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = kiln_pid(&kiln);
    let idle_rss = rss_kib(pid);

    // Warm the mirror and the render cache.
    let mut c = kiln.client().await;
    let warm = generate(&mut c, gen_req(&url, "main", "apps/web"))
        .await
        .unwrap();
    assert_eq!(warm[0].total_manifests, 20);
    let sha = warm[0].commit_sha.clone();

    // Warm latency, one client, sequential.
    let mut seq = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        let r = generate(&mut c, gen_req(&url, &sha, "apps/web"))
            .await
            .unwrap();
        seq.push(t.elapsed());
        assert!(r[0].cached);
    }
    seq.sort();

    // Throughput and latency under load, at two levels of concurrency.
    let mut loads = Vec::new();
    for (connections, per_connection) in [(1, 4), (2, 4), (4, 8)] {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let client = kiln.client().await;
            for _ in 0..per_connection {
                let mut c = client.clone();
                let (url, sha) = (url.clone(), sha.clone());
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        generate(&mut c, gen_req(&url, &sha, "apps/web"))
                            .await
                            .unwrap();
                        lat.push(t.elapsed());
                    }
                    lat
                }));
            }
        }
        let started = Instant::now();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        all.sort();
        loads.push((
            connections * per_connection,
            all.len() as f64 / elapsed,
            all,
        ));
    }
    let loaded_rss = rss_kib(pid);

    // New commits that touch none of the app's inputs.
    let mut fetch_and_answer = Vec::new();
    let mut answer = Vec::new();
    for i in 0..30 {
        let new = repo.commit(&[("docs/README.md", &format!("docs {i}\n"))], "docs only");
        let t = Instant::now();
        let r = c
            .resolve_revision(ResolveRevisionRequest {
                repo_url: url.clone(),
                revision: new.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.commit_sha, new);
        let fetched = t.elapsed();
        let t2 = Instant::now();
        let msgs = generate(&mut c, gen_req(&url, &new, "apps/web"))
            .await
            .unwrap();
        let a = t2.elapsed();
        assert!(
            msgs[0].cached,
            "an unrelated commit must not run the renderer"
        );
        answer.push(a);
        fetch_and_answer.push(fetched + a);
    }
    answer.sort();
    fetch_and_answer.sort();
    drop(daemon);
    // A restart on the same cache directory: plugins come from the
    // compiled-code cache, so no compiler memory is left behind.
    drop(c);
    drop(kiln);
    let again = Kiln::start(
        cache.path(),
        &["--allow-repo", "git://127.0.0.1:*/**", "--log", "warn"],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let warm_rss = rss_kib(again.pid());

    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1000.0);
    println!("| measure (20-object directory app, loopback gRPC, `kiln serve` release) | figure |");
    println!("|---|---|");
    println!(
        "| warm GenerateManifests, 1 client, p50 | {} |",
        ms(percentile(&seq, 0.50))
    );
    println!(
        "| warm GenerateManifests, 1 client, p99 | {} |",
        ms(percentile(&seq, 0.99))
    );
    for (inflight, rps, lat) in &loads {
        println!(
            "| warm GenerateManifests, {inflight} in flight, p50 / p99 | {} / {} |",
            ms(percentile(lat, 0.50)),
            ms(percentile(lat, 0.99))
        );
        println!(
            "| warm GenerateManifests throughput, {inflight} in flight | {rps:.0} requests/s |"
        );
    }
    println!(
        "| new commit touching no input: answer (no render), p50 | {} |",
        ms(percentile(&answer, 0.50))
    );
    println!(
        "| new commit touching no input: answer (no render), max | {} |",
        ms(*answer.last().unwrap())
    );
    println!(
        "| new commit touching no input: fetch over git:// + answer, p50 | {} |",
        ms(percentile(&fetch_and_answer, 0.50))
    );
    println!(
        "| idle RSS of `kiln serve` after a first start (compiles the built-in plugins) | {:.1} MB |",
        idle_rss as f64 / 1024.0
    );
    println!(
        "| idle RSS of `kiln serve` after a restart (compiled-plugin cache warm) | {:.1} MB |",
        warm_rss as f64 / 1024.0
    );
    println!(
        "| RSS of `kiln serve` after the load | {:.1} MB |",
        loaded_rss as f64 / 1024.0
    );
}

fn kiln_pid(k: &Kiln) -> u32 {
    k.pid()
}
