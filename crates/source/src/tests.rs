use std::os::unix::fs::symlink;

use crate::{
    EntryKind, FsBackend, Outcome, Query, ReadLimits, Source, SourceError, Tree, join, normalize,
};

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("base")).unwrap();
    std::fs::create_dir_all(p.join("apps/web")).unwrap();
    std::fs::write(p.join("base/cm.yaml"), "kind: ConfigMap\n").unwrap();
    std::fs::write(p.join("apps/web/a.yaml"), "kind: A\n").unwrap();
    symlink("../../base/cm.yaml", p.join("apps/web/link.yaml")).unwrap();
    symlink("../../../etc/passwd", p.join("apps/web/escape.yaml")).unwrap();
    symlink("/etc/passwd", p.join("apps/web/absolute.yaml")).unwrap();
    symlink("loop2", p.join("apps/loop1")).unwrap();
    symlink("loop1", p.join("apps/loop2")).unwrap();
    symlink("../base", p.join("apps/basedir")).unwrap();
    dir
}

fn tree(dir: &tempfile::TempDir) -> Tree<FsBackend> {
    Tree::new(FsBackend::open(dir.path()).unwrap(), ReadLimits::default())
}

#[test]
fn normalize_cleans_like_go() {
    assert_eq!(normalize("a/./b//c/../d").unwrap(), "a/b/d");
    assert_eq!(normalize("").unwrap(), "");
    assert_eq!(normalize("a/..").unwrap(), "");
    assert!(matches!(
        normalize("../x"),
        Err(SourceError::InvalidPath { .. })
    ));
    assert!(matches!(
        normalize("a/../../x"),
        Err(SourceError::InvalidPath { .. })
    ));
    assert!(matches!(
        normalize("/etc/passwd"),
        Err(SourceError::InvalidPath { .. })
    ));
    assert_eq!(
        join("apps/web", "../../base/cm.yaml").unwrap(),
        "base/cm.yaml"
    );
    assert!(join("apps/web", "../../../x").is_err());
}

#[test]
fn symlinks_resolve_inside_the_tree() {
    let d = fixture();
    let t = tree(&d);
    assert_eq!(
        t.read_file("apps/web/link.yaml").unwrap(),
        b"kind: ConfigMap\n"
    );
    assert_eq!(
        t.read_file("apps/basedir/cm.yaml").unwrap(),
        b"kind: ConfigMap\n"
    );
    assert_eq!(t.stat("apps/basedir").unwrap(), Some(EntryKind::Dir));
}

#[test]
fn escapes_are_refused() {
    let d = fixture();
    let t = tree(&d);
    let e = t.read_file("apps/web/escape.yaml").unwrap_err();
    assert!(matches!(e, SourceError::SymlinkEscape { .. }), "{e}");
    assert!(e.to_string().contains("apps/web/escape.yaml"), "{e}");
    assert!(matches!(
        t.read_file("apps/web/absolute.yaml"),
        Err(SourceError::SymlinkEscape { .. })
    ));
    assert!(matches!(
        t.read_file("apps/loop1"),
        Err(SourceError::SymlinkLoop { .. })
    ));
    assert!(matches!(
        t.read_file("../../etc/passwd"),
        Err(SourceError::InvalidPath { .. })
    ));
    assert!(matches!(
        t.read_file("/etc/passwd"),
        Err(SourceError::InvalidPath { .. })
    ));
    // Refusals are part of the read set, so a later fix invalidates renders.
    let rs = t.read_set();
    assert!(matches!(
        rs.get(Query::Read, "apps/web/escape.yaml"),
        Some(Outcome::Refused(_))
    ));
}

#[test]
fn read_set_records_misses_and_listings() {
    let d = fixture();
    let t = tree(&d);
    assert!(matches!(
        t.read_file("apps/web/missing.yaml"),
        Err(SourceError::NotFound { .. })
    ));
    assert_eq!(t.stat("apps/web/kustomization.yaml").unwrap(), None);
    let names: Vec<_> = t
        .list_dir("apps/web")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        ["a.yaml", "absolute.yaml", "escape.yaml", "link.yaml"]
    );
    t.read_file("apps/web/a.yaml").unwrap();
    let rs = t.take_read_set();
    assert_eq!(rs.len(), 4);
    assert_eq!(
        rs.get(Query::Read, "apps/web/missing.yaml"),
        Some(&Outcome::Absent)
    );

    // Unchanged tree: still matches.
    let t2 = tree(&d);
    assert!(t2.still_matches(&rs));
    // A file that was looked for and absent appears: no longer matches.
    std::fs::write(d.path().join("apps/web/missing.yaml"), "x").unwrap();
    assert!(!tree(&d).still_matches(&rs));
    std::fs::remove_file(d.path().join("apps/web/missing.yaml")).unwrap();
    assert!(tree(&d).still_matches(&rs));
    // Content change of a read file: no longer matches.
    std::fs::write(d.path().join("apps/web/a.yaml"), "kind: B\n").unwrap();
    assert!(!tree(&d).still_matches(&rs));
    std::fs::write(d.path().join("apps/web/a.yaml"), "kind: A\n").unwrap();
    // A change to a file nobody read: still matches.
    std::fs::write(d.path().join("base/cm.yaml"), "kind: Other\n").unwrap();
    assert!(tree(&d).still_matches(&rs));
}

#[test]
fn limits_are_enforced_and_named() {
    let d = fixture();
    let small = ReadLimits {
        max_file_size: 4,
        ..ReadLimits::default()
    };
    let t = Tree::new(FsBackend::open(d.path()).unwrap(), small);
    let e = t.read_file("apps/web/a.yaml").unwrap_err();
    assert!(e.to_string().contains("max-file-size"), "{e}");

    let few = ReadLimits {
        max_files: 1,
        ..ReadLimits::default()
    };
    let t = Tree::new(FsBackend::open(d.path()).unwrap(), few);
    t.read_file("apps/web/a.yaml").unwrap();
    t.read_file("apps/web/a.yaml").unwrap(); // same file again is free
    let e = t.read_file("base/cm.yaml").unwrap_err();
    assert!(e.to_string().contains("max-files-read"), "{e}");

    let bytes = ReadLimits {
        max_total_bytes: 20,
        ..ReadLimits::default()
    };
    let t = Tree::new(FsBackend::open(d.path()).unwrap(), bytes);
    t.read_file("apps/web/a.yaml").unwrap();
    let e = t.read_file("base/cm.yaml").unwrap_err();
    assert!(e.to_string().contains("max-total-bytes"), "{e}");
}

#[test]
fn clock_reads_tie_a_render_to_the_commit_time() {
    let d = fixture();
    let t =
        Tree::new(FsBackend::open(d.path()).unwrap(), ReadLimits::default()).with_commit_time(1000);
    assert_eq!(t.commit_time(), 1000);
    let rs = t.take_read_set();
    let same =
        Tree::new(FsBackend::open(d.path()).unwrap(), ReadLimits::default()).with_commit_time(1000);
    assert!(same.still_matches(&rs));
    let later =
        Tree::new(FsBackend::open(d.path()).unwrap(), ReadLimits::default()).with_commit_time(2000);
    assert!(!later.still_matches(&rs));
}
