//! Argo CD's repo-server protocol against a real `kiln serve`: a client
//! built from Kiln's own `proto/argocd` sends requests shaped as Argo CD's
//! application-controller and api-server send them.

use std::{collections::HashMap, time::Instant};

use kiln_argocd::proto::{
    repository::{self as pb, repo_server_service_client::RepoServerServiceClient},
    v1alpha1 as v1,
};
use serde_json::Value;
use tonic::{Code, transport::Channel};

use crate::support::*;

type ArgoClient = RepoServerServiceClient<Channel>;

async fn argo_client(kiln: &Kiln) -> ArgoClient {
    RepoServerServiceClient::connect(kiln.channel_url())
        .await
        .expect("connect to kiln")
        .max_decoding_message_size(100 << 20)
}

fn start(root: &std::path::Path) -> (GitDaemon, tempfile::TempDir, Kiln) {
    let daemon = GitDaemon::start(root);
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/**",
            "--allow-repo",
            "http://127.0.0.1:*/**",
            "--fetch-interval",
            "200ms",
        ],
    );
    (daemon, cache, kiln)
}

/// A repository as Argo CD sends it: every credential field present, empty.
pub(crate) fn repository(url: &str) -> v1::Repository {
    v1::Repository {
        repo: Some(url.into()),
        username: Some(String::new()),
        password: Some(String::new()),
        ssh_private_key: Some(String::new()),
        insecure_ignore_host_key: Some(false),
        insecure: Some(false),
        enable_lfs: Some(false),
        tls_client_cert_data: Some(String::new()),
        tls_client_cert_key: Some(String::new()),
        r#type: Some("git".into()),
        name: Some(String::new()),
        inherited_creds: Some(false),
        enable_oci: Some(false),
        github_app_private_key: Some(String::new()),
        github_app_id: Some(0),
        github_app_installation_id: Some(0),
        proxy: Some(String::new()),
        project: Some(String::new()),
        no_proxy: Some(String::new()),
        bearer_token: Some(String::new()),
        depth: Some(0),
        ..Default::default()
    }
}

/// A ManifestRequest with everything the application-controller fills.
pub(crate) fn manifest_request(url: &str, source: v1::ApplicationSource) -> pb::ManifestRequest {
    pb::ManifestRequest {
        repo: Some(repository(url)),
        revision: source.target_revision().to_owned(),
        no_cache: false,
        app_label_key: "app.kubernetes.io/instance".into(),
        app_name: "guestbook".into(),
        namespace: "prod".into(),
        application_source: Some(source),
        repos: vec![repository(url)],
        plugins: Vec::new(),
        kustomize_options: Some(v1::KustomizeOptions {
            build_options: Some(String::new()),
            binary_path: Some(String::new()),
        }),
        kube_version: "1.31.0".into(),
        api_versions: vec!["v1".into(), "apps/v1".into()],
        verify_signature: false,
        helm_repo_creds: Vec::new(),
        no_revision_cache: false,
        tracking_method: "annotation".into(),
        enabled_source_types: [
            ("Helm".to_owned(), true),
            ("Kustomize".to_owned(), true),
            ("Plugin".to_owned(), true),
        ]
        .into(),
        helm_options: Some(v1::HelmOptions {
            values_file_schemes: vec!["https".into(), "http".into()],
        }),
        has_multiple_sources: false,
        ref_sources: HashMap::new(),
        project_source_repos: vec!["*".into()],
        project_name: "default".into(),
        annotation_manifest_generate_paths: String::new(),
        installation_id: String::new(),
        source_integrity: None,
    }
}

pub(crate) fn git_source(url: &str, path: &str, revision: &str) -> v1::ApplicationSource {
    v1::ApplicationSource {
        repo_url: Some(url.into()),
        path: Some(path.into()),
        target_revision: Some(revision.into()),
        chart: Some(String::new()),
        r#ref: Some(String::new()),
        name: Some(String::new()),
        ..Default::default()
    }
}

fn parse(manifests: &[String]) -> Vec<Value> {
    manifests
        .iter()
        .map(|m| serde_json::from_str(m).unwrap())
        .collect()
}

fn names(objs: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = objs
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

fn tracking_id(o: &Value) -> &str {
    o["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_apps_with_recurse_include_and_exclude() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    let head = repo.commit(
        &[
            ("guestbook/web.yaml", &configmap("web", "<1>")),
            ("guestbook/skip.yaml", &configmap("skip", "2")),
            ("guestbook/sub/deep.yaml", &configmap("deep", "3")),
            (
                "guestbook/list.yaml",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: listed, namespace: other}\n  spec: {replicas: 1}\n",
            ),
            ("README.md", "not an app"),
        ],
        "apps",
    );
    let (daemon, _cache, kiln) = start(root.path());
    let url = daemon.url("apps");
    let mut c = argo_client(&kiln).await;

    // No directory options: the folder's own files, tracked by annotation.
    let res = c
        .generate_manifest(manifest_request(
            &url,
            git_source(&url, "guestbook", "main"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(res.revision, head);
    assert_eq!(res.source_type, "Directory");
    let objs = parse(&res.manifests);
    assert_eq!(names(&objs), ["listed", "skip", "web"]);
    let web = objs
        .iter()
        .find(|o| o["metadata"]["name"] == "web")
        .unwrap();
    assert_eq!(tracking_id(web), "guestbook:/ConfigMap:prod/web");
    assert_eq!(web["metadata"]["namespace"], "prod");
    let listed = objs
        .iter()
        .find(|o| o["metadata"]["name"] == "listed")
        .unwrap();
    assert_eq!(
        tracking_id(listed),
        "guestbook:apps/Deployment:other/listed"
    );
    // Printed as Go prints it: sorted keys, HTML characters escaped.
    let web_text = res
        .manifests
        .iter()
        .find(|m| m.contains("\"web\""))
        .unwrap();
    assert!(web_text.starts_with(r#"{"apiVersion":"v1","data":{"value":"\u003c1\u003e"},"kind":"ConfigMap","metadata":{"annotations""#), "{web_text}");

    // recurse + include + exclude.
    let mut source = git_source(&url, "guestbook", "main");
    source.directory = Some(v1::ApplicationSourceDirectory {
        recurse: Some(true),
        include: Some("{*.yaml,sub/*.yaml}".into()),
        exclude: Some("{skip.yaml,list.yaml}".into()),
        jsonnet: Some(v1::ApplicationSourceJsonnet::default()),
        disable_extension_filter: Some(false),
    });
    let res = c
        .generate_manifest(manifest_request(&url, source.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&parse(&res.manifests)), ["deep", "web"]);
    assert_eq!(res.source_type, "Directory");

    // An explicitly empty `directory {}` is a directory app without recursion.
    source.directory = Some(v1::ApplicationSourceDirectory::default());
    let res = c
        .generate_manifest(manifest_request(&url, source))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&parse(&res.manifests)), ["listed", "skip", "web"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_overlay_tracked_by_label_or_both() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(
        &[
            ("base/kustomization.yaml", "resources:\n- deploy.yaml\n"),
            (
                "base/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n",
            ),
            (
                "overlays/prod/kustomization.yaml",
                "resources:\n- ../../base\nnamePrefix: prod-\ncommonLabels:\n  env: prod\n",
            ),
        ],
        "kustomize",
    );
    let (daemon, _cache, kiln) = start(root.path());
    let url = daemon.url("apps");
    let mut c = argo_client(&kiln).await;

    let mut q = manifest_request(&url, git_source(&url, "overlays/prod", "HEAD"));
    q.tracking_method = "label".into();
    let res = c.generate_manifest(q).await.unwrap().into_inner();
    assert_eq!(res.source_type, "Kustomize");
    let objs = parse(&res.manifests);
    assert_eq!(names(&objs), ["prod-web"]);
    let labels = &objs[0]["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/instance"], "guestbook");
    assert_eq!(labels["env"], "prod");
    assert!(objs[0]["metadata"].get("annotations").is_none());

    // annotation+label, with an explicit (empty) kustomize block.
    let mut source = git_source(&url, "overlays/prod", "HEAD");
    source.kustomize = Some(v1::ApplicationSourceKustomize::default());
    let mut q = manifest_request(&url, source);
    q.tracking_method = "annotation+label".into();
    q.installation_id = "argocd-1".into();
    let res = c.generate_manifest(q).await.unwrap().into_inner();
    let objs = parse(&res.manifests);
    assert_eq!(
        tracking_id(&objs[0]),
        "guestbook:apps/Deployment:prod/prod-web"
    );
    assert_eq!(
        objs[0]["metadata"]["annotations"]["argocd.argoproj.io/installation-id"],
        "argocd-1"
    );
    assert_eq!(
        objs[0]["metadata"]["labels"]["app.kubernetes.io/instance"],
        "guestbook"
    );

    // No label key: Argo CD tracks nothing.
    let mut q = manifest_request(&url, git_source(&url, "overlays/prod", "HEAD"));
    q.app_label_key = String::new();
    let res = c.generate_manifest(q).await.unwrap().into_inner();
    assert!(!res.manifests[0].contains("argocd.argoproj.io"));

    // Overrides Kiln cannot apply are refused, not ignored.
    let mut source = git_source(&url, "overlays/prod", "HEAD");
    source.kustomize = Some(v1::ApplicationSourceKustomize {
        images: vec!["nginx=nginx:1.28".into()],
        ..Default::default()
    });
    let err = c
        .generate_manifest(manifest_request(&url, source))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    assert!(err.message().contains("images"));

    // GetAppDetails reports the images of the build.
    let details = c
        .get_app_details(pb::RepoServerAppDetailsQuery {
            repo: Some(repository(&url)),
            source: Some(git_source(&url, "overlays/prod", "HEAD")),
            app_name: "guestbook".into(),
            tracking_method: "annotation".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(details.r#type, "Kustomize");
    assert_eq!(details.kustomize.unwrap().images, ["nginx:1.27"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_sources_map_to_the_helm_engine() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(
        &[
            (
                "chart/Chart.yaml",
                "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            ),
            ("chart/values.yaml", "replicas: 1\n"),
            ("chart/values-prod.yaml", "replicas: 3\n"),
            (
                "chart/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
            ),
        ],
        "chart",
    );
    let (daemon, _cache, kiln) = start(root.path());
    let url = daemon.url("apps");
    let mut c = argo_client(&kiln).await;
    let mut source = git_source(&url, "chart", "main");
    source.helm = Some(v1::ApplicationSourceHelm {
        release_name: Some("web".into()),
        value_files: vec!["values-prod.yaml".into()],
        parameters: vec![v1::HelmParameter {
            name: Some("replicas".into()),
            value: Some("5".into()),
            force_string: Some(false),
        }],
        ..Default::default()
    });
    let res = c
        .generate_manifest(manifest_request(&url, source.clone()))
        .await;
    // Rendered by Kiln's helm engine with Argo CD's release name, values
    // files and parameters, and tracked as Argo CD's repo-server tracks.
    let r = res.unwrap().into_inner();
    assert_eq!(r.source_type, "Helm");
    assert_eq!(r.manifests.len(), 1, "{:?}", r.manifests);
    let cm: serde_json::Value = serde_json::from_str(&r.manifests[0]).unwrap();
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "web");
    let details = c
        .get_app_details(pb::RepoServerAppDetailsQuery {
            repo: Some(repository(&url)),
            source: Some(source),
            app_name: "guestbook".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(details.r#type, "Helm");
    let helm = details.helm.unwrap();
    assert_eq!(helm.value_files, ["values-prod.yaml", "values.yaml"]);
    assert_eq!(helm.values, "replicas: 1\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_revisions_and_reads_metadata_refs_and_apps() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    let first = repo.commit(
        &[
            ("web/cm.yaml", &configmap("web", "1")),
            ("kust/kustomization.yaml", "resources: []\n"),
            (
                "charts/db/Chart.yaml",
                "apiVersion: v2\nname: db\nversion: 1.0.0\n",
            ),
        ],
        "first\n\nwith a body\n",
    );
    repo.git(&["tag", "-a", "v1.0.0", "-m", "release"]);
    repo.git(&["tag", "light"]);
    repo.git(&["branch", "feature"]);
    let second = repo.commit(&[("web/cm.yaml", &configmap("web", "2"))], "second");
    let (daemon, _cache, kiln) = start(root.path());
    let url = daemon.url("apps");
    let mut c = argo_client(&kiln).await;
    let app = v1::Application {
        metadata: None,
        spec: Some(v1::ApplicationSpec {
            source: Some(git_source(&url, "web", "main")),
            ..Default::default()
        }),
    };
    let resolve = |rev: &str| pb::ResolveRevisionRequest {
        repo: Some(repository(&url)),
        app: Some(app.clone()),
        ambiguous_revision: rev.into(),
        source_index: 0,
        no_revision_cache: false,
    };
    for (rev, want) in [
        ("main", &second),
        ("HEAD", &second),
        ("v1.0.0", &first),
        ("light", &first),
        ("feature", &first),
        (&first[..8], &first),
        (first.as_str(), &first),
    ] {
        let r = c.resolve_revision(resolve(rev)).await.unwrap().into_inner();
        assert_eq!(&r.revision, want, "{rev}");
        assert_eq!(r.ambiguous_revision, format!("{rev} ({want})"));
    }
    let err = c.resolve_revision(resolve("nope")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("nope"), "{err:?}");

    let md = c
        .get_revision_metadata(pb::RepoServerRevisionMetadataRequest {
            repo: Some(repository(&url)),
            revision: first.clone(),
            check_signature: false,
            source_integrity: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(md.author(), "Ada Lovelace <ada@example.com>");
    assert_eq!(md.date.unwrap().seconds(), 1_741_061_167);
    assert_eq!(md.tags, ["light", "v1.0.0"]);
    assert_eq!(md.message(), "first\n\nwith a body");
    let err = c
        .get_revision_metadata(pb::RepoServerRevisionMetadataRequest {
            repo: Some(repository(&url)),
            revision: "main".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.message().contains("must be resolved"), "{err:?}");

    let refs = c
        .list_refs(pb::ListRefsRequest {
            repo: Some(repository(&url)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refs.branches, ["feature", "main"]);
    assert_eq!(refs.tags, ["light", "v1.0.0"]);

    let apps = c
        .list_apps(pb::ListAppsRequest {
            repo: Some(repository(&url)),
            revision: "main".into(),
            enabled_source_types: HashMap::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut apps: Vec<(String, String)> = apps.apps.into_iter().collect();
    apps.sort();
    assert_eq!(
        apps,
        [
            ("charts/db".to_owned(), "Helm".to_owned()),
            ("kust".to_owned(), "Kustomize".to_owned())
        ]
    );

    let ok = c
        .test_repository(pb::TestRepositoryRequest {
            repo: Some(repository(&url)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!ok.verified_repository);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_revision_for_paths_answers_from_the_read_sets() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(
        &[
            ("base/kustomization.yaml", "resources:\n- cm.yaml\n"),
            ("base/cm.yaml", &configmap("shared", "1")),
            ("prod/kustomization.yaml", "resources:\n- ../base\n"),
            ("other/cm.yaml", &configmap("other", "1")),
        ],
        "one",
    );
    let (daemon, _cache, kiln) = start(root.path());
    let url = daemon.url("apps");
    let mut c = argo_client(&kiln).await;
    let synced = repo.head();
    let res = c
        .generate_manifest(manifest_request(&url, git_source(&url, "prod", &synced)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(res.revision, synced);
    let update = |synced: &str, paths: Vec<String>| pb::UpdateRevisionForPathsRequest {
        repo: Some(repository(&url)),
        app_label_key: "app.kubernetes.io/instance".into(),
        app_name: "guestbook".into(),
        namespace: "prod".into(),
        application_source: Some(git_source(&url, "prod", "main")),
        tracking_method: "annotation".into(),
        kube_version: "1.31.0".into(),
        api_versions: vec!["v1".into(), "apps/v1".into()],
        synced_revision: synced.into(),
        revision: "main".into(),
        paths,
        // Commits follow each other faster than the fetch interval.
        no_revision_cache: true,
        ..Default::default()
    };
    let paths = || vec!["prod".to_owned()];

    // A commit outside the app's inputs: no changes, new revision.
    let unrelated = repo.commit(&[("other/cm.yaml", &configmap("other", "2"))], "other");
    let r = c
        .update_revision_for_paths(update(&synced, paths()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.changes, r.revision.as_str()),
        (false, unrelated.as_str())
    );

    // A commit to ../base, outside the annotated path but read by the build.
    let touched = repo.commit(&[("base/cm.yaml", &configmap("shared", "2"))], "base");
    let r = c
        .update_revision_for_paths(update(&synced, paths()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.changes, r.revision.as_str()), (true, touched.as_str()));

    // As Argo CD: no paths means always refresh; same revision, no changes.
    let r = c
        .update_revision_for_paths(update(&synced, Vec::new()))
        .await
        .unwrap()
        .into_inner();
    assert!(r.changes);
    let mut same = update("main", paths());
    same.revision = "main".into();
    let r = c
        .update_revision_for_paths(same)
        .await
        .unwrap()
        .into_inner();
    assert!(!r.changes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_what_is_missing_and_other_rpcs_are_unimplemented() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "apps");
    repo.commit(&[("web/cm.yaml", &configmap("web", "1"))], "one");
    let (daemon, _cache, kiln) = start(root.path());
    let url = daemon.url("apps");
    let mut c = argo_client(&kiln).await;

    let err = c
        .generate_manifest(manifest_request(&url, git_source(&url, "nope", "main")))
        .await
        .unwrap_err();
    assert!(err.message().contains("app path does not exist"), "{err:?}");
    let err = c
        .generate_manifest(manifest_request(
            &url,
            git_source(&url, "web", "no-such-branch"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("no-such-branch"), "{err:?}");
    let mut q = manifest_request(&url, git_source(&url, "web", "main"));
    q.repo = None;
    let err = c.generate_manifest(q).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    let started = Instant::now();
    let repo_req = || Some(repository(&url));
    let codes = [
        c.list_oci_tags(pb::ListRefsRequest { repo: repo_req() })
            .await
            .map(|_| ()),
        c.list_plugins(()).await.map(|_| ()),
        c.get_helm_charts(pb::HelmChartsRequest { repo: repo_req() })
            .await
            .map(|_| ()),
        c.get_git_files(pb::GitFilesRequest {
            repo: repo_req(),
            ..Default::default()
        })
        .await
        .map(|_| ()),
        c.get_git_directories(pb::GitDirectoriesRequest {
            repo: repo_req(),
            ..Default::default()
        })
        .await
        .map(|_| ()),
        c.get_oci_metadata(pb::RepoServerRevisionChartDetailsRequest::default())
            .await
            .map(|_| ()),
        c.get_revision_chart_details(pb::RepoServerRevisionChartDetailsRequest::default())
            .await
            .map(|_| ()),
        c.generate_manifest_with_files(futures_util::stream::iter(vec![
            pb::ManifestRequestWithFiles::default(),
        ]))
        .await
        .map(|_| ()),
    ];
    for r in codes {
        assert_eq!(r.unwrap_err().code(), Code::Unimplemented);
    }
    assert!(started.elapsed().as_secs() < 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_credentials_reach_the_fetch_and_no_log() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "private.git");
    let head = repo.commit(&[("app/cm.yaml", &configmap("private", "p"))], "one");
    let http = HttpGit::start(root.path(), Some(("robot", "argo-s3cr3t-XYZ")));
    let url = http.url("private.git");
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "http://127.0.0.1:*/**",
            "--log",
            "trace,cranelift_codegen=off,regalloc2=off,wasmtime=off,wasmtime_cranelift=off,wasmtime_environ=off,h2=off,hyper=off",
        ],
    );
    let mut c = argo_client(&kiln).await;

    // Without credentials the remote refuses.
    let err = c
        .generate_manifest(manifest_request(&url, git_source(&url, "app", "main")))
        .await
        .unwrap_err();
    assert_ne!(err.code(), Code::Ok);
    let mut with = repository(&url);
    with.username = Some("robot".into());
    with.password = Some("wrong".into());
    let err = c
        .test_repository(pb::TestRepositoryRequest {
            repo: Some(with.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");

    with.password = Some("argo-s3cr3t-XYZ".into());
    c.test_repository(pb::TestRepositoryRequest {
        repo: Some(with.clone()),
    })
    .await
    .unwrap();
    let mut q = manifest_request(&url, git_source(&url, "app", "main"));
    q.repo = Some(with.clone());
    q.no_revision_cache = true;
    let res = c.generate_manifest(q).await.unwrap().into_inner();
    assert_eq!(res.revision, head);
    let refs = c
        .list_refs(pb::ListRefsRequest { repo: Some(with) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refs.branches, ["main"]);
    assert!(!kiln.log_text().contains("argo-s3cr3t-XYZ"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_argocd_api_can_be_turned_off() {
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(cache.path(), &["--argocd-api=false"]);
    let mut c = argo_client(&kiln).await;
    let err = c
        .list_refs(pb::ListRefsRequest {
            repo: Some(repository("git://127.0.0.1:1/x")),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    // kiln.v1 is still served.
    let mut k = kiln.client().await;
    assert!(
        k.list_plugins(kiln_proto::kiln::v1::ListPluginsRequest {})
            .await
            .is_ok()
    );
}

/// An sshd on 127.0.0.1 accepting `client_pub`, or `None` when sshd is not
/// installed (as transports.rs, which runs the same check).
fn sshd(dir: &std::path::Path, client_pub: &str) -> Option<(std::process::Child, u16)> {
    let sshd = std::path::Path::new("/usr/sbin/sshd");
    if !sshd.exists() {
        eprintln!("SKIPPED argocd ssh test: /usr/sbin/sshd is not installed");
        return None;
    }
    let _ = std::fs::create_dir_all("/run/sshd");
    keygen(&dir.join("host_key"));
    std::fs::write(dir.join("authorized_keys"), client_pub).unwrap();
    let port = free_port();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile {d}/sshd.pid\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "sshd did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some((child, port))
}

fn keygen(path: &std::path::Path) {
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "kiln-argocd", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ssh_key_under_the_configured_known_hosts() {
    let root = tempfile::tempdir().unwrap();
    let repo = Repo::init(root.path(), "over-ssh");
    let head = repo.commit(&[("app/cm.yaml", &configmap("ssh", "s"))], "one");
    let keys = tempfile::tempdir().unwrap();
    keygen(&keys.path().join("id"));
    let client_pub = std::fs::read_to_string(keys.path().join("id.pub")).unwrap();
    let Some((mut child, port)) = sshd(keys.path(), &client_pub) else {
        return;
    };
    let host_pub = std::fs::read_to_string(keys.path().join("host_key.pub")).unwrap();
    let known = keys.path().join("known_hosts");
    std::fs::write(&known, format!("[127.0.0.1]:{port} {host_pub}")).unwrap();
    // The server pins the host key; the private key comes with the request.
    let config = keys.path().join("kiln.yaml");
    std::fs::write(
        &config,
        format!(
            "credentials:\n  - url: ssh://127.0.0.1:*/**\n    sshKnownHostsFile: {}\n",
            known.display()
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "ssh://127.0.0.1:*/**",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let url = format!("ssh://{user}@127.0.0.1:{port}{}", repo.dir.display());
    let mut with = repository(&url);
    with.ssh_private_key = Some(
        std::fs::read_to_string(keys.path().join("id"))
            .unwrap()
            .trim_end()
            .to_owned(),
    );
    let mut c = argo_client(&kiln).await;
    let mut q = manifest_request(&url, git_source(&url, "app", "main"));
    q.repo = Some(with);
    let res = c.generate_manifest(q).await;
    let _ = child.kill();
    let _ = child.wait();
    let res = res.unwrap().into_inner();
    assert_eq!(res.revision, head);
    assert!(res.manifests[0].contains("\"ssh\""));
    // The key file lived only for the request.
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("kiln-argocd-key-")
        })
        .count();
    assert_eq!(leftovers, 0);
}
