//! `ChartRepos` against a chart repository served on 127.0.0.1 by
//! `kiln_chartrepo::testing::FileServer`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use kiln_chartrepo::{
    ChartRepos, ErrorKind, RepoOptions,
    testing::{FileServer, chart_archive},
};
use sha2::{Digest, Sha256};

/// A chart archive as `helm package` lays it out: `<name>/Chart.yaml`...
fn chart_tgz(name: &str, version: &str) -> Vec<u8> {
    let chart = format!("apiVersion: v2\nname: {name}\nversion: {version}\n");
    chart_archive(
        name,
        &[
            ("Chart.yaml", &chart),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
            ),
        ],
    )
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A repository with `web` 1.2.3, 1.2.10, 1.3.0 and 2.0.0-rc.1 (relative
/// URLs, digests given).
fn repo() -> (FileServer, BTreeMap<String, Vec<u8>>) {
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
    (FileServer::start(files.clone()), files)
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
fn concurrent_fetches_of_one_chart_download_it_once() {
    let (server, files) = repo();
    let dir = tempfile::tempdir().unwrap();
    let r = repos(dir.path(), &["http://127.0.0.1:*/**"]);
    let url = server.url();
    let start = std::sync::Barrier::new(8);
    let got: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    r.fetch(&url, "web", "~1.2.0").unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for f in &got {
        assert_eq!(f.version, "1.2.10");
        assert_eq!(*f.bytes, files["/charts/web-1.2.10.tgz"]);
    }
    // One index request and one archive download for the eight callers;
    // the others waited and were answered from the cache.
    assert_eq!(server.requests(), 2);
    assert_eq!(r.downloads(), 1);
    assert_eq!(got.iter().filter(|f| !f.cached).count(), 1);
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
            server.port()
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
    server.remove("/charts/web-1.2.3.tgz");
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
    server.require_authorization("Basic a2lsbjpzM2NyZXQ=");
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
