//! The `kiln` command line: render (local folder and Git), resolve, get.

use std::process::Command;

use crate::support::*;

fn kiln(args: &[&str], cwd: &std::path::Path, cache: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .current_dir(cwd)
        .env("KILN_CLI_CACHE_DIR", cache)
        .env_remove("KILN_SERVER")
        .output()
        .expect("kiln runs")
}

fn stdout(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "kiln failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn layout(root: &std::path::Path) -> Repo {
    let repo = Repo::init(root, "work");
    repo.commit(
        &[
            ("base/cm.yaml", &configmap("base", "b1")),
            ("apps/web/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n"),
        ],
        "layout",
    );
    std::os::unix::fs::symlink("../../base/cm.yaml", repo.dir.join("apps/web/base.yaml")).unwrap();
    repo.commit(&[], "link");
    repo
}

#[test]
fn render_local_folder_and_git_revision_print_the_same_yaml() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let repo = layout(root.path());
    let expected = "apiVersion: v1\ndata:\n  value: b1\nkind: ConfigMap\nmetadata:\n  name: base\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n";
    // A local folder: the root is the enclosing work tree, so ../../base is inside it.
    let local = stdout(&kiln(&["render", "apps/web"], &repo.dir, cache.path()));
    assert_eq!(local, expected);
    // From the cwd of the app itself.
    let here = stdout(&kiln(
        &["render", "."],
        &repo.dir.join("apps/web"),
        cache.path(),
    ));
    assert_eq!(here, expected);
    // Through the Git cache, at a revision.
    let git = stdout(&kiln(
        &["render", "--repo", ".", "--revision", "HEAD", "apps/web"],
        &repo.dir,
        cache.path(),
    ));
    assert_eq!(git, expected);
    // The previous commit had no symlink: one object.
    let older = stdout(&kiln(
        &["render", "--repo", ".", "--revision", "HEAD~1", "apps/web"],
        &repo.dir,
        cache.path(),
    ));
    assert!(
        !older.contains("ConfigMap") && older.contains("Service"),
        "{older}"
    );
    // JSON lines with a namespace.
    let json = stdout(&kiln(
        &["render", "apps/web", "-n", "team", "-o", "json"],
        &repo.dir,
        cache.path(),
    ));
    assert_eq!(json.lines().count(), 2);
    assert!(
        json.lines().all(|l| l.contains("\"namespace\":\"team\"")),
        "{json}"
    );

    // A root that excludes ../base: the symlink now leaves it.
    let o = kiln(
        &["render", "--root", "apps", "apps/web"],
        &repo.dir,
        cache.path(),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("web/base.yaml") && err.contains("leaves the repository root"),
        "{err}"
    );
}

#[test]
fn errors_are_one_line_naming_repo_revision_and_file() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let repo = layout(root.path());
    repo.commit(&[("apps/bad/x.yaml", "apiVersion: v1\nkind: [\n")], "bad");
    for (args, needles) in [
        (
            vec!["render", "--repo", ".", "--revision", "nope", "apps/web"],
            vec!["nope", "work"],
        ),
        (
            vec!["render", "--repo", ".", "--revision", "HEAD", "apps/none"],
            vec!["apps/none", "does not exist"],
        ),
        (
            vec!["render", "--repo", ".", "--revision", "HEAD", "apps/bad"],
            vec!["apps/bad/x.yaml:", "work"],
        ),
        (vec!["render", "apps/bad"], vec!["apps/bad/x.yaml:"]),
    ] {
        let o = kiln(&args, &repo.dir, cache.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: '{n}' missing from {err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_resolve_talk_to_a_running_server() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let repo = layout(root.path());
    let daemon = GitDaemon::start(root.path());
    let server_cache = tempfile::tempdir().unwrap();
    let server = Kiln::start(
        server_cache.path(),
        &["--allow-repo", "git://127.0.0.1:*/*"],
    );
    let url = daemon.url("work");
    let o = kiln(
        &[
            "resolve",
            "--repo",
            &url,
            "--revision",
            "main",
            "--server",
            &server.addr,
        ],
        root.path(),
        cache.path(),
    );
    assert_eq!(stdout(&o).trim(), repo.head());
    let o = kiln(
        &["resolve", "--repo", &url, "--revision", "main"],
        root.path(),
        cache.path(),
    );
    assert_eq!(stdout(&o).trim(), repo.head(), "in-process resolve");
    let o = kiln(
        &["get", "apps/web", "--repo", &url, "--server", &server.addr],
        root.path(),
        cache.path(),
    );
    let local = stdout(&kiln(&["render", "apps/web"], &repo.dir, cache.path()));
    assert_eq!(stdout(&o), local);
    let o = kiln(
        &[
            "get",
            "apps/web",
            "--repo",
            "https://example.invalid/other",
            "--server",
            &server.addr,
        ],
        root.path(),
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("PermissionDenied"));
}
