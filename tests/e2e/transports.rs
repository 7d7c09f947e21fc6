//! Smart HTTP with basic auth from the credentials file.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_http_with_credentials_never_logged() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "private.git");
    let head = repo.commit(&[("app/cm.yaml", &configmap("private", "p"))], "one");
    let http = HttpGit::start(root.path(), Some(("robot", "s3cr3t-t0ken-XYZ")));
    let url = http.url("private.git");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cr3t-t0ken-XYZ\n").unwrap();
    let config = dir.path().join("kiln.yaml");
    std::fs::write(
        &config,
        format!("credentials:\n  - url: http://127.0.0.1:*/private\n    username: robot\n    passwordFile: {}\n", token.display()),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "http://127.0.0.1:*/**",
            "--config",
            config.to_str().unwrap(),
            "--log",
            "trace",
        ],
    );
    let mut c = kiln.client().await;
    let msgs = generate(&mut c, gen_req(&url, "main", "app"))
        .await
        .unwrap();
    assert_eq!(msgs[0].commit_sha, head);
    assert!(msgs[0].manifests[0].contains("private"));

    // Without credentials the same repository is refused by the remote.
    let cache2 = tempfile::tempdir().unwrap();
    let anon = Kiln::start(cache2.path(), &["--allow-repo", "http://127.0.0.1:*/**"]);
    let mut c2 = anon.client().await;
    let e = generate(&mut c2, gen_req(&url, "main", "app"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
    assert!(
        e.message().contains(&url.replace(".git", "")),
        "{}",
        e.message()
    );

    for log in [kiln.log_text(), anon.log_text()] {
        assert!(
            !log.contains("s3cr3t-t0ken-XYZ"),
            "the token leaked into a log"
        );
    }
}
