//! The Git cache against real repositories made by real `git`, over file://.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::{path::Path, process::Command, sync::Arc, time::Duration};

use kiln_git::{CacheOptions, Error, GitCache, RevisionKind};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "2025-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2025-01-02T03:04:05Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn commit_file(dir: &Path, file: &str, content: &str, msg: &str) -> String {
    let p = dir.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

fn origin() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    git(d.path(), &["init", "-q", "-b", "main"]);
    commit_file(d.path(), "apps/a.yaml", "a: 1\n", "first");
    git(d.path(), &["tag", "-a", "v1", "-m", "release 1"]);
    git(d.path(), &["branch", "feature"]);
    commit_file(d.path(), "apps/a.yaml", "a: 2\n", "second");
    d
}

fn cache(dir: &Path, interval: Duration) -> GitCache {
    let mut o = CacheOptions::new(dir).allow(["**"]);
    o.fetch_interval = interval;
    GitCache::open(o).unwrap()
}

fn url(d: &tempfile::TempDir) -> String {
    format!("file://{}", d.path().display())
}

#[tokio::test]
async fn resolves_every_kind_of_revision() {
    let o = origin();
    let c = tempfile::tempdir().unwrap();
    let cache = cache(c.path(), Duration::from_secs(60));
    let head = git(o.path(), &["rev-parse", "HEAD"]);
    let v1 = git(o.path(), &["rev-parse", "v1^{commit}"]);

    let r = cache.resolve(&url(&o), "main").await.unwrap();
    assert_eq!(r.commit.to_hex(), head);
    assert_eq!(r.kind, RevisionKind::Branch);
    let r = cache.resolve(&url(&o), "HEAD").await.unwrap();
    assert_eq!(
        (r.commit.to_hex(), r.kind),
        (head.clone(), RevisionKind::Head)
    );
    let r = cache.resolve(&url(&o), "").await.unwrap();
    assert_eq!(r.commit.to_hex(), head);
    let r = cache.resolve(&url(&o), "v1").await.unwrap();
    assert_eq!((r.commit.to_hex(), r.kind), (v1.clone(), RevisionKind::Tag));
    let r = cache.resolve(&url(&o), "feature").await.unwrap();
    assert_eq!(r.commit.to_hex(), v1);
    let r = cache.resolve(&url(&o), "refs/heads/feature").await.unwrap();
    assert_eq!((r.commit.to_hex(), r.kind), (v1.clone(), RevisionKind::Ref));
    let r = cache.resolve(&url(&o), &head[..8]).await.unwrap();
    assert_eq!(
        (r.commit.to_hex(), r.kind),
        (head.clone(), RevisionKind::Commit)
    );
    let r = cache.resolve(&url(&o), &head).await.unwrap();
    assert_eq!(r.commit.to_hex(), head);

    let e = cache
        .resolve(&url(&o), "no-such-branch")
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::RevisionNotFound { .. }), "{e}");
    assert!(
        e.to_string().contains("no-such-branch")
            && e.to_string().contains(o.path().to_str().unwrap()),
        "{e}"
    );
    let tree_id = git(o.path(), &["rev-parse", "HEAD^{tree}"]);
    let e = cache.resolve(&url(&o), &tree_id).await.err().unwrap();
    assert!(matches!(e, Error::NotACommit { .. }), "{e}");

    let md = r.mirror.metadata(r.commit).unwrap();
    assert_eq!(md.author.name, "Ada");
    assert_eq!(md.message.trim(), "second");
    assert_eq!(md.parents.len(), 1);
    let md1 = r.mirror.metadata(kiln_source_oid(&v1)).unwrap();
    assert_eq!(md1.tags, vec!["v1".to_owned()]);
}

fn kiln_source_oid(hex_sha: &str) -> kiln_source::Oid {
    let mut b = [0u8; 20];
    hex::decode_to_slice(hex_sha, &mut b).unwrap();
    kiln_source::Oid(b)
}

#[tokio::test]
async fn branches_move_after_the_interval_and_deleted_refs_are_pruned() {
    let o = origin();
    let c = tempfile::tempdir().unwrap();
    let cache = cache(c.path(), Duration::from_millis(300));
    let before = cache
        .resolve(&url(&o), "main")
        .await
        .unwrap()
        .commit
        .to_hex();
    let after = commit_file(o.path(), "apps/b.yaml", "b: 1\n", "third");
    git(o.path(), &["branch", "-D", "feature"]);
    // Within the interval the mirror answers alone.
    assert_eq!(
        cache
            .resolve(&url(&o), "main")
            .await
            .unwrap()
            .commit
            .to_hex(),
        before
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        cache
            .resolve(&url(&o), "main")
            .await
            .unwrap()
            .commit
            .to_hex(),
        after
    );
    assert!(matches!(
        cache.resolve(&url(&o), "feature").await,
        Err(Error::RevisionNotFound { .. })
    ));
    // A full sha we hold is answered without the remote.
    let fetches = cache.stats().fetches;
    tokio::time::sleep(Duration::from_millis(350)).await;
    cache.resolve(&url(&o), &before).await.unwrap();
    assert_eq!(cache.stats().fetches, fetches);
}

#[tokio::test]
async fn concurrent_resolves_share_one_fetch() {
    let o = origin();
    let c = tempfile::tempdir().unwrap();
    let cache = Arc::new(cache(c.path(), Duration::from_secs(60)));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let cache = cache.clone();
        let u = url(&o);
        tasks.push(tokio::spawn(async move {
            let rev = if i % 2 == 0 { "main" } else { "v1" };
            cache.resolve(&u, rev).await.map(|r| r.commit)
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(cache.stats().fetches, 1);
}

#[tokio::test]
async fn serves_what_it_has_when_the_remote_is_gone() {
    let o = origin();
    let c = tempfile::tempdir().unwrap();
    let cache = cache(c.path(), Duration::ZERO);
    let head = cache.resolve(&url(&o), "main").await.unwrap().commit;
    let moved = tempfile::tempdir().unwrap();
    let gone = moved.path().join("gone");
    std::fs::rename(o.path(), &gone).unwrap();
    let r = cache.resolve(&url(&o), "main").await.unwrap();
    assert_eq!(r.commit, head);
    assert!(r.stale);
    let e = cache
        .resolve(&url(&o), "deadbeefdeadbeef")
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
    std::fs::rename(&gone, o.path()).unwrap();

    // Never fetched and unreachable: UNAVAILABLE naming the remote.
    let e = cache
        .resolve("git://127.0.0.1:1/nothing.git", "main")
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
    assert!(e.to_string().contains("git://127.0.0.1:1/nothing"), "{e}");
}

#[tokio::test]
async fn allowlist_and_cache_lock() {
    let o = origin();
    let c = tempfile::tempdir().unwrap();
    let cache =
        GitCache::open(CacheOptions::new(c.path()).allow(["https://github.com/acme/*"])).unwrap();
    let e = cache.resolve(&url(&o), "main").await.err().unwrap();
    assert!(matches!(e, Error::NotAllowed { .. }), "{e}");
    let second = GitCache::open(CacheOptions::new(c.path()));
    assert!(matches!(second, Err(Error::CacheDir { .. })));
}

#[test]
fn tree_view_reads_by_object_id() {
    let o = origin();
    std::os::unix::fs::symlink("../../etc/passwd", o.path().join("apps/evil.yaml")).unwrap();
    std::os::unix::fs::symlink("a.yaml", o.path().join("apps/good.yaml")).unwrap();
    git(o.path(), &["add", "-A"]);
    git(o.path(), &["commit", "-q", "-m", "links"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = tempfile::tempdir().unwrap();
    let cache = cache(c.path(), Duration::from_secs(60));
    let r = rt.block_on(cache.resolve(&url(&o), "main")).unwrap();
    use kiln_source::{ReadLimits, Source, SourceError, Tree};
    let tree = Tree::new(r.mirror.tree(r.commit).unwrap(), ReadLimits::default());
    assert_eq!(tree.read_file("apps/a.yaml").unwrap(), b"a: 2\n");
    assert_eq!(tree.read_file("apps/good.yaml").unwrap(), b"a: 2\n");
    assert!(matches!(
        tree.read_file("apps/evil.yaml"),
        Err(SourceError::SymlinkEscape { .. })
    ));
    let names: Vec<_> = tree
        .list_dir("apps")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["a.yaml", "evil.yaml", "good.yaml"]);
}

#[tokio::test]
async fn ancestry_suffixes_walk_parents() {
    let o = origin();
    let c = tempfile::tempdir().unwrap();
    let cache = cache(c.path(), Duration::from_secs(60));
    let parent = git(o.path(), &["rev-parse", "main~1"]);
    assert_eq!(
        cache
            .resolve(&url(&o), "main~1")
            .await
            .unwrap()
            .commit
            .to_hex(),
        parent
    );
    assert_eq!(
        cache
            .resolve(&url(&o), "HEAD^")
            .await
            .unwrap()
            .commit
            .to_hex(),
        parent
    );
    let e = cache.resolve(&url(&o), "main~5").await.err().unwrap();
    assert!(matches!(e, Error::RevisionNotFound { .. }), "{e}");
}
