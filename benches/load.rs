//! Load generator: N concurrent clients over M apps against a live release
//! `kiln serve` (loopback gRPC, `git daemon`), for a configurable duration,
//! while a committer pushes new commits. Reports throughput, p50/p90/p99
//! latency (all calls, cache hits, renders), errors by status code, and the
//! server's RSS sampled once a second from /proc/PID/status.
//!
//! Run: `cargo bench --bench load`. Environment:
//!   KILN_LOAD_SECS     duration (default 20; 600 for the 10-minute run)
//!   KILN_LOAD_CLIENTS  concurrent clients (default 16)
//!   KILN_LOAD_APPS     apps, spread over 4 repositories (default 40)
//!   KILN_LOAD_COLD     per mille of calls with a new namespace, i.e. a real
//!                      render (default 50)
//!   KILN_LOAD_CACHE_BYTES  the server's --render-cache-max-bytes (default:
//!                      the server's default)
//!
//! At the end it prints the server's render cache figures from /metrics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

#[path = "../tests/e2e/support.rs"]
mod support;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use support::*;

const REPOS: usize = 4;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The body of `GET /metrics` at `addr`.
fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map_or(out.clone(), |(_, b)| b.to_owned())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn deployment(app: usize, i: usize, rev: u64) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{app}-svc{i}\n  labels: {{app: app{app}-svc{i}}}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: app{app}-svc{i}}}\n  template:\n    metadata:\n      labels: {{app: app{app}-svc{i}}}\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/svc-{i}:1.{rev}.0\n          resources:\n            requests: {{cpu: 100m, memory: 128Mi}}\n"
    )
}

/// App `a`: a kustomization over 4 Deployments and a ConfigMap generator
/// (odd apps) or a plain directory of 4 Deployments (even apps).
fn app_files(a: usize, rev: u64) -> Vec<(String, String)> {
    let dir = format!("apps/app{a}");
    let mut files: Vec<(String, String)> = (0..4)
        .map(|i| (format!("{dir}/deploy-{i}.yaml"), deployment(a, i, rev)))
        .collect();
    if a % 2 == 1 {
        files.push((
            format!("{dir}/kustomization.yaml"),
            format!(
                "namePrefix: k-\ncommonLabels:\n  team: t{a}\nresources: [deploy-0.yaml, deploy-1.yaml, deploy-2.yaml, deploy-3.yaml]\nconfigMapGenerator:\n- name: settings\n  literals: [REV={rev}]\n"
            ),
        ));
    }
    files
}

#[derive(Default)]
struct Stats {
    warm: Vec<Duration>,
    cold: Vec<Duration>,
    errors: BTreeMap<String, u64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = env_or("KILN_LOAD_SECS", 20);
    let clients = env_or("KILN_LOAD_CLIENTS", 16) as usize;
    let apps = env_or("KILN_LOAD_APPS", 40).max(1) as usize;
    let cold_per_mille = env_or("KILN_LOAD_COLD", 50);

    let root = tempfile::tempdir().unwrap();
    let repos: Vec<Repo> = (0..REPOS)
        .map(|r| Repo::init(root.path(), &format!("load{r}")))
        .collect();
    for (r, repo) in repos.iter().enumerate() {
        let files: Vec<(String, String)> = (0..apps)
            .filter(|a| a % REPOS == r)
            .flat_map(|a| app_files(a, 0))
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        repo.commit(&refs, "apps");
    }
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--allow-repo".to_owned(),
        "git://127.0.0.1:*/*".to_owned(),
        "--fetch-interval".to_owned(),
        "2s".to_owned(),
        "--metrics-listen".to_owned(),
        "127.0.0.1:0".to_owned(),
    ];
    if let Ok(bytes) = std::env::var("KILN_LOAD_CACHE_BYTES") {
        args.extend(["--render-cache-max-bytes".to_owned(), bytes]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let kiln = Kiln::start(cache.path(), &args);
    let pid = kiln.pid();
    let client = kiln.client().await;
    let urls: Vec<String> = (0..REPOS)
        .map(|r| daemon.url(&format!("load{r}")))
        .collect();
    // Warm every app once.
    for a in 0..apps {
        generate(
            &mut client.clone(),
            gen_req(&urls[a % REPOS], "main", &format!("apps/app{a}")),
        )
        .await
        .unwrap();
    }
    let idle = rss_kib(pid);
    println!(
        "load: {clients} clients, {apps} apps in {REPOS} repositories, {seconds}s, {cold_per_mille}‰ cold; server pid {pid}, RSS after warm-up {} MiB",
        idle / 1024
    );

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Mutex::new(Stats::default()));
    let seq = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..clients {
        let (mut c, urls, stop, stats, seq) = (
            client.clone(),
            urls.clone(),
            stop.clone(),
            stats.clone(),
            seq.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut x = (n as u64 + 1) * 0x9e37_79b9_7f4a_7c15;
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let a = (x % apps as u64) as usize;
                let cold = (x >> 20) % 1000 < cold_per_mille;
                let mut req = gen_req(&urls[a % REPOS], "main", &format!("apps/app{a}"));
                if cold {
                    req.namespace = format!("ns-{}", seq.fetch_add(1, Ordering::Relaxed));
                }
                let t = Instant::now();
                let r = generate(&mut c, req).await;
                let took = t.elapsed();
                let mut s = stats.lock().unwrap();
                match r {
                    Ok(msgs) if msgs.first().is_some_and(|m| m.cached) => s.warm.push(took),
                    Ok(_) => s.cold.push(took),
                    Err(e) => *s.errors.entry(format!("{:?}", e.code())).or_default() += 1,
                }
            }
        }));
    }
    // A committer: every 3 s one app changes (new image tag), so fetches
    // and real renders of new commits run under the load too.
    let committer = {
        let stop = stop.clone();
        let dirs: Vec<std::path::PathBuf> = repos.iter().map(|r| r.dir.clone()).collect();
        std::thread::spawn(move || {
            let mut rev = 1u64;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(3));
                let a = (rev as usize * 7) % apps;
                let repo = Repo {
                    dir: dirs[a % REPOS].clone(),
                    name: String::new(),
                };
                let files = app_files(a, rev);
                let refs: Vec<(&str, &str)> = files
                    .iter()
                    .map(|(p, c)| (p.as_str(), c.as_str()))
                    .collect();
                repo.commit(&refs, &format!("rev {rev}"));
                rev += 1;
            }
            rev - 1
        })
    };
    // RSS once a second.
    let mut rss: Vec<(u64, u64)> = Vec::new();
    let total = Duration::from_secs(seconds);
    while started.elapsed() < total {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push((started.elapsed().as_secs(), rss_kib(pid)));
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let commits = committer.join().unwrap();
    let elapsed = started.elapsed().as_secs_f64();

    let mut s = stats.lock().unwrap();
    let mut all: Vec<Duration> = s.warm.iter().chain(s.cold.iter()).copied().collect();
    all.sort();
    s.warm.sort();
    s.cold.sort();
    let errors: u64 = s.errors.values().sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "calls: {} ok ({:.0}/s), {} cache hits, {} renders, {errors} errors {:?}, {commits} commits pushed",
        all.len(),
        all.len() as f64 / elapsed,
        s.warm.len(),
        s.cold.len(),
        s.errors
    );
    for (what, v) in [("all", &all), ("cache hits", &s.warm), ("renders", &s.cold)] {
        println!(
            "latency {what:>10}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(v, 0.50)),
            ms(percentile(v, 0.90)),
            ms(percentile(v, 0.99)),
            ms(v.last().copied().unwrap_or_default()),
        );
    }
    let peak = rss.iter().map(|r| r.1).max().unwrap_or(0);
    let step = (rss.len() / 10).max(1);
    let series: Vec<String> = rss
        .iter()
        .step_by(step)
        .chain(rss.last())
        .map(|(t, k)| format!("{t}s {}", k / 1024))
        .collect();
    println!(
        "server RSS MiB: after warm-up {}, peak {}, end {}; over time: {}",
        idle / 1024,
        peak / 1024,
        rss.last().map_or(0, |r| r.1) / 1024,
        series.join(", ")
    );
    let metrics = kiln.log.lock().unwrap().iter().find_map(|l| {
        l.strip_prefix("kiln: metrics on http://")
            .and_then(|r| r.strip_suffix("/metrics"))
            .map(str::to_owned)
    });
    if let Some(addr) = metrics {
        let text = scrape(&addr);
        let cache: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("kiln_render_cache_"))
            .collect();
        println!("server render cache: {}", cache.join("; "));
    }
    drop(kiln);
}
