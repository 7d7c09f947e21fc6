//! Every documented error status, while well-behaved calls keep working.

use std::time::Duration;

use tonic::Code;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_precise_statuses_and_harm_nobody() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "allowed");
    let big = "x".repeat(5000);
    let big_cm = configmap("big", &big);
    repo.commit(
        &[
            ("good/cm.yaml", &configmap("good", "1")),
            ("broken/ok.yaml", &configmap("ok", "1")),
            (
                "broken/bad.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata: {a: [1, 2\n",
            ),
            ("big/cm.yaml", &big_cm),
            ("many/a.yaml", &configmap("a", "1")),
            ("many/b.yaml", &configmap("b", "1")),
            ("many/c.yaml", &configmap("c", "1")),
            ("many/d.yaml", &configmap("d", "1")),
            ("kust/kustomization.yaml", "resources: [cm.yaml]\n"),
            ("notk8s/x.yaml", "just: data\n"),
        ],
        "fixtures",
    );
    std::os::unix::fs::symlink("../../../../etc/passwd", repo.dir.join("good/escape.yaml"))
        .unwrap();
    std::fs::create_dir_all(repo.dir.join("escaping")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", repo.dir.join("escaping/passwd.yaml")).unwrap();
    repo.commit(&[], "symlinks");
    Repo::init(root.path(), "secret-repo").commit(&[("a.yaml", &configmap("a", "1"))], "x");
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/allowed",
            "--max-file-size",
            "2000",
            "--max-files-read",
            "3",
        ],
    );
    let mut c = kiln.client().await;
    let url = daemon.url("allowed");

    let status = |r: Result<Vec<_>, tonic::Status>| r.map(|_| ()).unwrap_err();
    let e = status(generate(&mut c, gen_req(&daemon.url("secret-repo"), "main", "")).await);
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("secret-repo"), "{}", e.message());

    let e = status(generate(&mut c, gen_req(&url, "no-branch", "good")).await);
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().contains("no-branch"), "{}", e.message());

    let e = status(generate(&mut c, gen_req(&url, "main", "missing/app")).await);
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(
        e.message().contains("missing/app") && e.message().contains("allowed"),
        "{}",
        e.message()
    );

    let e = status(generate(&mut c, gen_req(&url, "main", "broken")).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("broken/bad.yaml:"),
        "file and line: {}",
        e.message()
    );

    let e = status(generate(&mut c, gen_req(&url, "main", "notk8s")).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("notk8s/x.yaml") && e.message().contains("apiVersion"),
        "{}",
        e.message()
    );

    let e = status(generate(&mut c, gen_req(&url, "main", "../../etc")).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    // A symlink inside the app pointing out of the repository.
    let e = status(generate(&mut c, gen_req(&url, "main", "good")).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("good/escape.yaml") && e.message().contains("leaves the repository"),
        "{}",
        e.message()
    );
    let e = status(generate(&mut c, gen_req(&url, "main", "escaping")).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    let e = status(generate(&mut c, gen_req(&url, "main", "big")).await);
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(
        e.message().contains("max-file-size") && e.message().contains("big/cm.yaml"),
        "{}",
        e.message()
    );
    let e = status(generate(&mut c, gen_req(&url, "main", "many")).await);
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("max-files-read"), "{}", e.message());

    // A kustomization naming a file that is not there.
    let e = status(generate(&mut c, gen_req(&url, "main", "kust")).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("kust/kustomization.yaml")
            && e.message().contains("resources")
            && e.message().contains("cm.yaml"),
        "{}",
        e.message()
    );

    let mut req = gen_req(&url, "main", "broken");
    req.engine = "directory".into();
    req.parameters.insert("recurse".into(), "maybe".into());
    let e = status(generate(&mut c, req).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    // A failed render is not cached as a success: fix the file and it renders.
    let fixed = repo.commit(&[("broken/bad.yaml", &configmap("bad", "fixed"))], "fix");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let msgs = generate(&mut c, gen_req(&url, &fixed, "broken"))
        .await
        .unwrap();
    assert_eq!(msgs[0].total_manifests, 2);

    // After all of that, a good request works and the server is up.
    let mut req = gen_req(&url, "main", "broken");
    req.namespace = "team-a".into();
    let msgs = generate(&mut c, req).await.unwrap();
    assert!(msgs[0].manifests[0].contains("\"namespace\":\"team-a\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_deadline_is_deadline_exceeded_and_others_proceed() {
    let root = tempfile::tempdir().unwrap();
    big_repo(root.path(), "slow", 4);
    Repo::init(root.path(), "fast").commit(&[("app/a.yaml", &configmap("a", "1"))], "fast");
    let daemon = GitDaemon::start(root.path());
    let proxy = Proxy::start(daemon.port, 256 << 10);
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/**"]);
    let mut c = kiln.client().await;
    let slow_url = format!("git://127.0.0.1:{}/slow", proxy.port);
    let mut slow = c.clone();
    let slow_call = tokio::spawn(async move {
        let mut req = tonic::Request::new(gen_req(&slow_url, "main", "app"));
        req.set_timeout(Duration::from_millis(500));
        let started = std::time::Instant::now();
        let r = slow.generate_manifests(req).await;
        let r = match r {
            Ok(resp) => resp.into_inner().message().await.map(|_| ()),
            Err(e) => Err(e),
        };
        (r, started.elapsed())
    });
    // Meanwhile a request for another repository is answered.
    let msgs = generate(&mut c, gen_req(&daemon.url("fast"), "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].total_manifests, 1);
    let (r, took) = slow_call.await.unwrap();
    let e = r.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    assert!(
        took < Duration::from_secs(3),
        "deadline honoured late: {took:?}"
    );
    let mut req = tonic::Request::new(kiln_proto::kiln::v1::ResolveRevisionRequest {
        repo_url: format!("git://127.0.0.1:{}/slow", proxy.port),
        revision: "main".into(),
    });
    req.set_timeout(Duration::from_millis(300));
    let e = c.resolve_revision(req).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
}
