//! Remote down, and a server killed in the middle of a fetch.

use std::{process::Command, sync::atomic::Ordering, time::Duration};

use tonic::Code;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_down_serves_what_the_mirror_has() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "flaky");
    let head = repo.commit(&[("app/a.yaml", &configmap("a", "1"))], "one");
    let mut daemon = GitDaemon::start(root.path());
    let url = daemon.url("flaky");
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/**",
            "--fetch-interval",
            "0s",
        ],
    );
    let mut c = kiln.client().await;
    generate(&mut c, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    daemon.stop();

    // Branch and sha already in the mirror: still served.
    let msgs = generate(&mut c, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].commit_sha, head);
    let msgs = generate(&mut c, gen_req(&url, &head, "app")).await.unwrap();
    assert_eq!(msgs[0].total_manifests, 1);
    let r = c
        .resolve_revision(kiln_proto::kiln::v1::ResolveRevisionRequest {
            repo_url: url.clone(),
            revision: "main".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.stale);

    // Not in the mirror: UNAVAILABLE naming the remote and the cause.
    let e = generate(&mut c, gen_req(&url, "other-branch", "app"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(
        e.message().contains(&url) && e.message().contains("other-branch"),
        "{}",
        e.message()
    );
    let never = format!("git://127.0.0.1:{}/never", free_port());
    let e = generate(&mut c, gen_req(&never, "main", "app"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(e.message().contains(&never), "{}", e.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_fetch_leaves_a_usable_mirror() {
    let root = tempfile::tempdir().unwrap();
    big_repo(root.path(), "huge", 6);
    let daemon = GitDaemon::start(root.path());
    let proxy = Proxy::start(daemon.port, 512 << 10);
    let url = format!("git://127.0.0.1:{}/huge", proxy.port);
    let cache = tempfile::tempdir().unwrap();
    let mut kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/**"]);
    let mut c = kiln.client().await;
    let pending = {
        let url = url.clone();
        tokio::spawn(async move { generate(&mut c, gen_req(&url, "main", "app")).await })
    };
    // Wait until the pack is well under way, then kill the server outright.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while proxy.forwarded.load(Ordering::SeqCst) < 1 << 20 {
        assert!(std::time::Instant::now() < deadline, "fetch never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kiln.kill9();
    assert!(pending.await.unwrap().is_err());
    let mirrors: Vec<_> = std::fs::read_dir(cache.path().join("mirrors"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(mirrors.len(), 1, "the mirror existed before the fetch");

    // Restart on the same cache directory at full speed: it repairs and serves.
    proxy.throttle.store(false, Ordering::SeqCst);
    let kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/**"]);
    let mut c = kiln.client().await;
    let msgs = generate(&mut c, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].total_manifests, 1);
    assert!(msgs[0].manifests[0].contains("\"big\""));
    let mirror = mirrors[0].path();
    let fsck = Command::new("git")
        .args(["fsck", "--no-progress"])
        .current_dir(&mirror)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "git fsck: {}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    let locks = walk(&mirror)
        .into_iter()
        .filter(|p| p.ends_with(".lock"))
        .count();
    assert_eq!(locks, 0);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}
