//! The kiln.v1 API over a repository served by git daemon.

use std::time::Duration;

use kiln_proto::kiln::v1::{
    GetRevisionMetadataRequest, ListAppsRequest, ResolveRevisionRequest, WatchRevisionRequest,
};

use crate::support::*;

fn resolve_req(repo: &str, rev: &str) -> ResolveRevisionRequest {
    ResolveRevisionRequest {
        repo_url: repo.into(),
        revision: rev.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_branches_tags_shas_and_head() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    let first = repo.commit(&[("web/cm.yaml", &configmap("web", "1"))], "first");
    repo.git(&["tag", "-a", "v1.0.0", "-m", "release"]);
    repo.git(&["tag", "light"]);
    let second = repo.commit(&[("web/cm.yaml", &configmap("web", "2"))], "second");
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/**",
            "--fetch-interval",
            "300ms",
        ],
    );
    let mut c = kiln.client().await;
    let url = daemon.url("apps");

    let r = c
        .resolve_revision(resolve_req(&url, "main"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            r.commit_sha.as_str(),
            r.kind.as_str(),
            r.resolved_ref.as_str()
        ),
        (second.as_str(), "branch", "refs/heads/main")
    );
    let r = c
        .resolve_revision(resolve_req(&url, "HEAD"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.commit_sha.as_str(), r.kind.as_str()),
        (second.as_str(), "head")
    );
    let r = c
        .resolve_revision(resolve_req(&url, "v1.0.0"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.commit_sha.as_str(), r.kind.as_str()),
        (first.as_str(), "tag")
    );
    let r = c
        .resolve_revision(resolve_req(&url, "light"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.commit_sha, first);
    let r = c
        .resolve_revision(resolve_req(&url, &first[..7]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.commit_sha.as_str(), r.kind.as_str()),
        (first.as_str(), "commit")
    );
    let r = c
        .resolve_revision(resolve_req(&url, &first))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.commit_sha, first);
    let e = c
        .resolve_revision(resolve_req(&url, "does-not-exist"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
    assert!(
        e.message().contains("does-not-exist") && e.message().contains(&url.replace(".git", "")),
        "{}",
        e.message()
    );

    // The branch moves; after the fetch interval the new commit is seen.
    let third = repo.commit(&[("web/cm.yaml", &configmap("web", "3"))], "third");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = c
        .resolve_revision(resolve_req(&url, "main"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.commit_sha, third);

    let md = c
        .get_revision_metadata(GetRevisionMetadataRequest {
            repo_url: url.clone(),
            revision: "v1.0.0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(md.commit_sha, first);
    assert_eq!(md.author.as_ref().unwrap().name, "Ada Lovelace");
    assert_eq!(
        md.author.as_ref().unwrap().time_rfc3339,
        "2025-03-04T05:06:07+01:00"
    );
    assert_eq!(md.message.trim(), "first");
    assert_eq!(md.tags, vec!["light".to_owned(), "v1.0.0".to_owned()]);
    let md = c
        .get_revision_metadata(GetRevisionMetadataRequest {
            repo_url: url.clone(),
            revision: third.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(md.parents, vec![second]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_apps_with_their_engines() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "mono");
    repo.commit(
        &[
            ("apps/web/deploy.yaml", &configmap("web", "1")),
            ("apps/api/kustomization.yaml", "resources: []\n"),
            (
                "charts/redis/Chart.yaml",
                "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
            ),
            ("charts/redis/templates/cm.yaml", "{{ .Values }}"),
            ("docs/README.md", "# docs\n"),
            (
                "base/svc.json",
                "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"}}",
            ),
        ],
        "layout",
    );
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--allow-repo", "git://127.0.0.1:*/**"]);
    let mut c = kiln.client().await;
    let apps = c
        .list_apps(ListAppsRequest {
            repo_url: daemon.url("mono"),
            revision: "main".into(),
            path: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .apps;
    let got: Vec<(String, String)> = apps.into_iter().map(|a| (a.path, a.engine)).collect();
    assert_eq!(
        got,
        vec![
            ("apps/api".to_owned(), "kustomize".to_owned()),
            ("apps/web".to_owned(), "directory".to_owned()),
            ("base".to_owned(), "directory".to_owned()),
            ("charts/redis".to_owned(), "helm".to_owned()),
        ]
    );
    let e = c
        .list_apps(ListAppsRequest {
            repo_url: daemon.url("mono"),
            revision: "main".into(),
            path: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_share_one_poller_and_see_each_move() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "watched");
    let first = repo.commit(&[("a.yaml", &configmap("a", "1"))], "first");
    let daemon = GitDaemon::start(root.path());
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/**",
            "--fetch-interval",
            "200ms",
        ],
    );
    let url = daemon.url("watched");
    let mut streams = Vec::new();
    for _ in 0..5 {
        let mut c = kiln.client().await;
        let s = c
            .watch_revision(WatchRevisionRequest {
                repo_url: url.clone(),
                revision: "main".into(),
            })
            .await
            .unwrap()
            .into_inner();
        streams.push(s);
    }
    for s in &mut streams {
        let m = s.message().await.unwrap().unwrap();
        assert_eq!(
            (m.commit_sha.as_str(), m.previous_sha.as_str()),
            (first.as_str(), "")
        );
    }
    let before = daemon.fetches("watched");
    let second = repo.commit(&[("a.yaml", &configmap("a", "2"))], "second");
    for s in &mut streams {
        let m = tokio::time::timeout(Duration::from_secs(10), s.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.commit_sha.as_str(), m.previous_sha.as_str()),
            (second.as_str(), first.as_str())
        );
    }
    // Let the poller run a while: five watchers, still one fetch per interval.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let polls = daemon.fetches("watched") - before;
    assert!(
        polls <= 9,
        "{polls} fetches in ~1.2 s at a 200 ms interval: more than one poller"
    );
    assert!(polls >= 2, "the poller did not poll ({polls})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer() {
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &[]);
    let channel = tonic::transport::Channel::from_shared(kiln.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in ["", "kiln.v1.RepoServer"] {
        // The status is published just after start; poll briefly.
        let mut serving = false;
        for _ in 0..50 {
            if let Ok(r) = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: service.into(),
                })
                .await
                && r.into_inner().status
                    == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            {
                serving = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(serving, "health of '{service}'");
    }
    use tonic_reflection::pb::{v1, v1alpha};
    let mut r1 = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut resp = r1
        .server_reflection_info(futures_util::stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let msg = resp.message().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        msg.message_response
    else {
        panic!("unexpected reflection answer")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"kiln.v1.RepoServer".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
    let mut ra = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "kiln.v1.RepoServer".into(),
            ),
        ),
    };
    let mut resp = ra
        .server_reflection_info(futures_util::stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let msg = resp.message().await.unwrap().unwrap();
    assert!(matches!(
        msg.message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));
}
