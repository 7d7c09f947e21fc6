//! The read-set render cache, seen from a client.

use std::sync::Arc;

use crate::support::*;

fn value_of(manifests: &[String], name: &str) -> String {
    for m in manifests {
        let v: serde_json::Value = serde_json::from_str(m).unwrap();
        if v["metadata"]["name"] == name {
            return v["data"]["value"].as_str().unwrap_or_default().to_owned();
        }
    }
    panic!("no object named {name} in {manifests:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrelated_commits_reuse_the_render_and_input_changes_miss() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "mono");
    repo.commit(
        &[
            ("base/common.yaml", &configmap("common", "v1")),
            ("apps/web/deploy.yaml", &configmap("web", "w1")),
            ("apps/other/x.yaml", &configmap("other", "o1")),
            ("docs/README.md", "docs\n"),
        ],
        "initial",
    );
    // The app reads a file outside its folder through a symlink.
    std::os::unix::fs::symlink(
        "../../base/common.yaml",
        repo.dir.join("apps/web/common.yaml"),
    )
    .unwrap();
    let c1 = repo.commit(&[], "link base");
    let daemon = GitDaemon::start(root.path());
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
    let url = daemon.url("mono");
    let render = |c: &mut _, rev: &str| {
        let req = gen_req(&url, rev, "apps/web");
        let c: &mut kiln_proto::kiln::v1::repo_server_client::RepoServerClient<_> = c;
        let mut c = c.clone();
        async move {
            let msgs = generate(&mut c, req).await.unwrap();
            let first = msgs[0].clone();
            let manifests: Vec<String> = msgs.into_iter().flat_map(|m| m.manifests).collect();
            (first, manifests)
        }
    };

    let (m1, objs) = render(&mut c, "main").await;
    assert_eq!(
        (m1.commit_sha.as_str(), m1.cached, m1.engine.as_str()),
        (c1.as_str(), false, "directory")
    );
    assert_eq!(objs.len(), 2);
    assert_eq!(value_of(&objs, "common"), "v1");
    let (again, _) = render(&mut c, "main").await;
    assert!(again.cached, "same commit again must come from cache");
    assert_eq!(again.input_digest, m1.input_digest);

    // Unrelated commit: new sha, no renderer run, same digest.
    let fetches = daemon.fetches("mono");
    let c2 = repo.commit(
        &[
            ("docs/README.md", "more docs\n"),
            ("apps/other/x.yaml", &configmap("other", "o2")),
        ],
        "docs",
    );
    let (m2, objs2) = render(&mut c, "main").await;
    assert_eq!(m2.commit_sha, c2);
    assert!(
        daemon.fetches("mono") > fetches,
        "the new commit was fetched"
    );
    assert!(
        m2.cached,
        "a commit touching none of the app's inputs must not run the renderer"
    );
    assert_eq!(m2.input_digest, m1.input_digest);
    assert_eq!(objs2, objs);

    // An input outside the app folder changes: miss, new content.
    let c3 = repo.commit(
        &[("base/common.yaml", &configmap("common", "v2"))],
        "base change",
    );
    let (m3, objs3) = render(&mut c, "main").await;
    assert_eq!((m3.commit_sha.as_str(), m3.cached), (c3.as_str(), false));
    assert_ne!(m3.input_digest, m1.input_digest);
    assert_eq!(value_of(&objs3, "common"), "v2");

    // A file appears where the renderer listed: miss.
    repo.commit(
        &[("apps/web/extra.yaml", &configmap("extra", "e1"))],
        "new file",
    );
    let (m4, objs4) = render(&mut c, "main").await;
    assert!(!m4.cached);
    assert_eq!(objs4.len(), 3);

    // Asking for an old commit again is still answered from cache.
    let (old, old_objs) = render(&mut c, &c1).await;
    assert!(old.cached);
    assert_eq!(value_of(&old_objs, "common"), "v1");

    // no_cache runs the renderer anyway.
    let mut req = gen_req(&url, "main", "apps/web");
    req.no_cache = true;
    let msgs = generate(&mut c, req).await.unwrap();
    assert!(!msgs[0].cached);
    assert_eq!(msgs[0].input_digest, m4.input_digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_renders_over_ten_revisions() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "many");
    let mut shas = Vec::new();
    for i in 0..10 {
        let files: Vec<(String, String)> = (0..5)
            .map(|j| {
                (
                    format!("app/obj{j}.yaml"),
                    configmap(&format!("obj{j}"), &format!("{i}-{j}")),
                )
            })
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        shas.push(repo.commit(&refs, &format!("rev {i}")));
        repo.git(&["tag", &format!("r{i}")]);
    }
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/**"]);
    let client = kiln.client().await;
    let url = Arc::new(daemon.url("many"));
    let mut tasks = Vec::new();
    for k in 0..50 {
        let mut c = client.clone();
        let url = url.clone();
        let i = k % 10;
        // Mix tags and full shas so both resolution paths run concurrently.
        let rev = if k % 2 == 0 {
            format!("r{i}")
        } else {
            shas[i].clone()
        };
        tasks.push(tokio::spawn(async move {
            (i, generate(&mut c, gen_req(&url, &rev, "app")).await)
        }));
    }
    for t in tasks {
        let (i, res) = t.await.unwrap();
        let msgs = res.unwrap();
        assert_eq!(msgs[0].commit_sha, shas[i]);
        let manifests: Vec<String> = msgs.into_iter().flat_map(|m| m.manifests).collect();
        assert_eq!(manifests.len(), 5);
        for j in 0..5 {
            assert_eq!(value_of(&manifests, &format!("obj{j}")), format!("{i}-{j}"));
        }
    }
    // All 50 needed one fetch of the new repository.
    assert_eq!(daemon.fetches("many"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_new_ref_cause_one_fetch() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "single");
    repo.commit(&[("app/a.yaml", &configmap("a", "1"))], "one");
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/**",
            "--fetch-interval",
            "1h",
        ],
    );
    let client = kiln.client().await;
    let url = daemon.url("single");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let mut c = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            generate(&mut c, gen_req(&url, "main", "app")).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(daemon.fetches("single"), 1);
    // A new branch appears: twenty concurrent requests for it, one more fetch.
    repo.git(&["branch", "feature"]);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let mut c = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            generate(&mut c, gen_req(&url, "feature", "app")).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // "feature" is unknown locally, but the interval has not passed, so the
    // first lookup misses; exactly one forced fetch serves all twenty.
    assert_eq!(daemon.fetches("single"), 2);
}
