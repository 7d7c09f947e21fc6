//! `ChartRepos` against a chart repository served on 127.0.0.1 by a small
//! HTTP server in this file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
};

use kiln_chartrepo::{ChartRepos, ErrorKind, RepoOptions};
use sha2::{Digest, Sha256};

/// Serves `files` (path → bytes) over HTTP/1.0 on 127.0.0.1.
struct Server {
    port: u16,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    requests: Arc<AtomicUsize>,
    /// The `Authorization` header every request must carry, if any.
    auth: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start(files: BTreeMap<String, Vec<u8>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let files = Arc::new(Mutex::new(files));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let auth: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let (f, r, s, a) = (files.clone(), requests.clone(), stop.clone(), auth.clone());
        let handle = thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut authorization = None;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        authorization = Some(v.trim().to_owned());
                    }
                }
                r.fetch_add(1, Ordering::SeqCst);
                let want = a.lock().unwrap().clone();
                if want.is_some() && authorization != want {
                    let _ =
                        conn.write_all(b"HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let body = f.lock().unwrap().get(&path).cloned();
                let _ = match body {
                    Some(b) => conn
                        .write_all(
                            format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", b.len())
                                .as_bytes(),
                        )
                        .and_then(|_| conn.write_all(&b)),
                    None => conn.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
                };
            }
        });
        Server {
            port,
            files,
            requests,
            auth,
            stop,
            handle: Some(handle),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/charts", self.port)
    }

    fn put(&self, path: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_owned(), bytes);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A chart archive as `helm package` lays it out: `<name>/Chart.yaml`...
fn chart_tgz(name: &str, version: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let files = [
        (
            "Chart.yaml",
            format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
        ),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n".into(),
        ),
    ];
    for (path, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("{name}/{path}"), text.as_bytes())
            .unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A repository with `web` 1.2.3, 1.2.10, 1.3.0 and 2.0.0-rc.1 (relative
/// URLs, digests given).
fn repo() -> (Server, BTreeMap<String, Vec<u8>>) {
    let mut files = BTreeMap::new();
    let mut index = String::from("apiVersion: v1\nentries:\n  web:\n");
    for v in ["2.0.0-rc.1", "1.3.0", "1.2.10", "1.2.3"] {
        let tgz = chart_tgz("web", v);
        index.push_str(&format!(
            "  - name: web\n    version: {v}\n    digest: {}\n    urls:\n    - web-{v}.tgz\n",
            sha(&tgz)
        ));
        files.insert(format!("/charts/web-{v}.tgz"), tgz);
    }
    files.insert("/charts/index.yaml".into(), index.into_bytes());
    (Server::start(files.clone()), files)
}

fn repos(dir: &std::path::Path, allow: &[&str]) -> ChartRepos {
    ChartRepos::open(RepoOptions::new(dir).allow(allow.iter().copied())).unwrap()
}

#[test]
fn constraints_resolve_and_archives_verify() {
    let (server, files) = repo();
    let dir = tempfile::tempdir().unwrap();
    let r = repos(dir.path(), &["http://127.0.0.1:*/**"]);
    for (asked, got) in [
        ("", "1.3.0"),
        ("~1.2.0", "1.2.10"),
        ("^1", "1.3.0"),
        (">=1.0.0 <1.3.0", "1.2.10"),
        ("1.2.x", "1.2.10"),
        ("1.2.3", "1.2.3"),
        (">=2.0.0-0", "2.0.0-rc.1"),
    ] {
        let f = r.fetch(&server.url(), "web", asked).unwrap();
        assert_eq!(f.version, got, "{asked}");
        assert_eq!(f.chart, "web");
        assert_eq!(
            *f.bytes,
            files[&format!("/charts/web-{got}.tgz")],
            "{asked}"
        );
        assert_eq!(f.digest, sha(&f.bytes));
    }
    // One index fetch (TTL) and one download per distinct version.
    assert_eq!(r.downloads(), 4);
    assert_eq!(server.requests(), 5);
    let blobs = std::fs::read_dir(dir.path().join("blobs")).unwrap().count();
    assert_eq!(blobs, 4);
}

#[test]
fn an_exact_version_is_served_from_the_cache_with_the_server_stopped() {
    let (mut server, _) = repo();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let first = repos(dir.path(), &["http://127.0.0.1:*/**"])
        .fetch(&url, "web", "1.2.10")
        .unwrap();
    assert!(!first.cached);
    server.stop();
    // A new process (new ChartRepos, no index in memory) and no server.
    let r = repos(dir.path(), &["http://127.0.0.1:*/**"]);
    let again = r.fetch(&url, "web", "1.2.10").unwrap();
    assert!(again.cached);
    assert_eq!(again.digest, first.digest);
    assert_eq!(r.downloads(), 0);
    // A constraint needs the index: the copy on disk answers while the
    // repository is down, and its archive is in the cache.
    let c = r.fetch(&url, "web", "~1.2.0").unwrap();
    assert_eq!((c.version.as_str(), c.cached), ("1.2.10", true));
    // A version never fetched cannot be had.
    let e = r.fetch(&url, "web", "1.3.0").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
}

#[test]
fn a_digest_mismatch_fails_and_caches_nothing() {
    let (server, _) = repo();
    server.put("/charts/web-1.3.0.tgz", chart_tgz("web", "9.9.9"));
    let dir = tempfile::tempdir().unwrap();
    let r = repos(dir.path(), &["http://127.0.0.1:*/**"]);
    let e = r.fetch(&server.url(), "web", "1.3.0").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Corrupt);
    let msg = e.to_string();
    assert!(msg.contains("chart 'web' version '1.3.0'"), "{msg}");
    assert!(
        msg.contains(&format!(
            "repository http://127.0.0.1:{}/charts",
            server.port
        )),
        "{msg}"
    );
    assert!(msg.contains("the index says"), "{msg}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("refs")).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
}

#[test]
fn repositories_off_the_allowlist_are_refused_without_a_request() {
    let (server, _) = repo();
    let dir = tempfile::tempdir().unwrap();
    let r = repos(dir.path(), &["https://charts.example.com/**"]);
    let e = r.fetch(&server.url(), "web", "").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotAllowed);
    assert!(
        e.to_string()
            .contains("not on this server's allowlist (allowed: https://charts.example.com/**)"),
        "{e}"
    );
    assert_eq!(server.requests(), 0);
    // A download URL elsewhere than the allowed repository is refused too.
    let other = repo().0;
    server.put(
        "/charts/index.yaml",
        format!(
            "entries:\n  web:\n  - version: 1.0.0\n    urls: [{}/web-1.3.0.tgz]\n",
            other.url()
        )
        .into_bytes(),
    );
    let r = repos(
        dir.path(),
        &[&format!("{}/**", server.url()), &server.url()],
    );
    let e = r.fetch(&server.url(), "web", "1.0.0").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotAllowed, "{e}");
    assert!(e.to_string().contains("download URL"), "{e}");
    assert_eq!(other.requests(), 0);
}

#[test]
fn missing_charts_versions_and_files_are_not_found_and_big_ones_too_large() {
    let (server, _) = repo();
    let dir = tempfile::tempdir().unwrap();
    let r = repos(dir.path(), &["http://127.0.0.1:*/**"]);
    let e = r.fetch(&server.url(), "db", "").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("no chart named 'db'"), "{e}");
    let e = r.fetch(&server.url(), "web", "^3").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(
        e.to_string()
            .contains("no version matches (newest: 2.0.0-rc.1, 1.3.0"),
        "{e}"
    );
    let e = r
        .fetch(&format!("{}/nothing", server.url()), "web", "")
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("index.yaml: HTTP 404"), "{e}");
    // The archive the index names is gone.
    server.files.lock().unwrap().remove("/charts/web-1.2.3.tgz");
    let e = r.fetch(&server.url(), "web", "1.2.3").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("web-1.2.3.tgz: HTTP 404"), "{e}");

    let mut small = RepoOptions::new(dir.path()).allow(["http://127.0.0.1:*/**"]);
    small.max_chart_bytes = 64;
    let r = ChartRepos::open(small).unwrap();
    let e = r.fetch(&server.url(), "web", "1.3.0").unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert!(
        e.to_string().contains("larger than the limit of 64 bytes"),
        "{e}"
    );
    let e = r.fetch("oci://registry/charts", "web", "").unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
}

#[test]
fn basic_auth_goes_to_the_repository_that_has_a_credential() {
    let (server, _) = repo();
    *server.auth.lock().unwrap() = Some("Basic a2lsbjpzM2NyZXQ=".into());
    let dir = tempfile::tempdir().unwrap();
    let e = repos(dir.path(), &["http://127.0.0.1:*/**"])
        .fetch(&server.url(), "web", "1.2.3")
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotAllowed, "{e}");
    assert!(e.to_string().contains("HTTP 401"), "{e}");
    let mut options = RepoOptions::new(dir.path()).allow(["http://127.0.0.1:*/**"]);
    options
        .credentials
        .add(
            &server.url(),
            kiln_git::Credential {
                username: Some("kiln".into()),
                password: Some(kiln_git::Secret::new("s3cret")),
                ..Default::default()
            },
        )
        .unwrap();
    let f = ChartRepos::open(options)
        .unwrap()
        .fetch(&server.url(), "web", "1.2.3")
        .unwrap();
    assert_eq!(f.version, "1.2.3");
}
