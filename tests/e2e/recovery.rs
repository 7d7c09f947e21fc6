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

/// The compiled-plugin cache files: name → (length, modification time).
fn compiled(
    cache: &std::path::Path,
) -> std::collections::BTreeMap<String, (u64, std::time::SystemTime)> {
    std::fs::read_dir(cache.join("compiled-plugins"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
        .map(|e| {
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.len(), m.modified().unwrap()),
            )
        })
        .collect()
}

/// `plugin loaded` lines of a server's log: (cache hits, compilations).
fn plugin_loads(kiln: &Kiln) -> (usize, usize) {
    let log = strip_ansi(&kiln.log_text());
    let loaded = log.lines().filter(|l| l.contains("plugin loaded"));
    let (mut hits, mut misses) = (0, 0);
    for l in loaded {
        if l.contains("compiled_cache_hit=true") {
            hits += 1;
        } else if l.contains("compiled_cache_hit=false") {
            misses += 1;
        }
    }
    (hits, misses)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_render_keeps_mirrors_and_compiled_plugins_valid() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(
        &[
            ("plain/cm.yaml", &configmap("plain", "1")),
            ("custom/hostile.yaml", "kind: marker\n"),
        ],
        "apps",
    );
    let daemon = GitDaemon::start(root.path());
    let url = daemon.url("apps");
    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(
        plugins.path().join("hostile.wasm"),
        kiln_plugins_builtin::testing::HOSTILE,
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "--allow-repo",
        "git://127.0.0.1:*/**",
        "--plugin-dir",
        plugins.path().to_str().unwrap(),
        "--plugin-deadline",
        "60s",
    ];

    // First start: every plugin is compiled and stored.
    let mut kiln = Kiln::start(cache.path(), &args);
    let mut c = kiln.client().await;
    generate(&mut c, gen_req(&url, "main", "plain"))
        .await
        .unwrap();
    let (_, compiled_first) = plugin_loads(&kiln);
    assert!(compiled_first >= 2, "{}", kiln.log_text());
    let before = compiled(cache.path());
    assert_eq!(before.len(), compiled_first, "{before:?}");

    // Kill it while a plugin is rendering (a loop, so certainly mid-render).
    let pending = {
        let (mut c, url) = (c.clone(), url.clone());
        tokio::spawn(async move {
            let mut req = gen_req(&url, "main", "custom");
            req.parameters.insert("mode".into(), "loop".into());
            generate(&mut c, req).await
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(kiln.is_running());
    kiln.kill9();
    assert!(pending.await.unwrap().is_err());

    // Restart on the same cache: nothing is recompiled, the files are the
    // same, the mirror is sound, and both engines render.
    let kiln = Kiln::start(cache.path(), &args);
    let mut c = kiln.client().await;
    let msgs = generate(&mut c, gen_req(&url, "main", "plain"))
        .await
        .unwrap();
    assert_eq!(msgs[0].total_manifests, 1);
    let msgs = generate(&mut c, gen_req(&url, "main", "custom"))
        .await
        .unwrap();
    assert_eq!(msgs[0].engine, "hostile");
    let (hits, misses) = plugin_loads(&kiln);
    assert_eq!(misses, 0, "recompiled after a kill -9: {}", kiln.log_text());
    assert_eq!(hits, compiled_first);
    assert_eq!(compiled(cache.path()), before);
    let mirrors: Vec<_> = std::fs::read_dir(cache.path().join("mirrors"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(mirrors.len(), 1);
    let fsck = Command::new("git")
        .args(["fsck", "--no-progress"])
        .current_dir(mirrors[0].path())
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "git fsck: {}",
        String::from_utf8_lossy(&fsck.stderr)
    );

    // A torn cache entry (as a disk fault would leave; Kiln's own writes
    // are renamed into place) and a leftover temporary file: the torn entry
    // is detected, rebuilt, and never used.
    let mut kiln = kiln;
    kiln.kill9();
    let dir = cache.path().join("compiled-plugins");
    let (victim, (len, _)) = before.iter().next().unwrap();
    let bytes = std::fs::read(dir.join(victim)).unwrap();
    std::fs::write(dir.join(victim), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(dir.join("leftover.cwasm.tmp4242"), b"partial").unwrap();
    let kiln = Kiln::start(cache.path(), &args);
    let mut c = kiln.client().await;
    for app in ["plain", "custom"] {
        let msgs = generate(&mut c, gen_req(&url, "main", app)).await.unwrap();
        assert_eq!(msgs[0].total_manifests, 1, "{app}");
    }
    let (hits, misses) = plugin_loads(&kiln);
    assert_eq!(
        (hits, misses),
        (compiled_first - 1, 1),
        "{}",
        kiln.log_text()
    );
    assert!(kiln.log_text().contains("corrupt; recompiling"));
    let after = compiled(cache.path());
    assert_eq!(after.len(), before.len());
    assert_eq!(after[victim].0, *len, "the torn entry was rewritten whole");
}

/// The log without terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
