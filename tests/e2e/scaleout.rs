//! Scale-out by repository: `kiln get --server a,b,c` routes each
//! repository to one replica by rendezvous hashing, so its mirror lives on
//! that replica only; killing a replica moves only its repositories.

use std::{collections::BTreeMap, path::Path, process::Command};

use crate::support::*;

const REPOS: usize = 24;

fn name(i: usize) -> String {
    format!("r{i:02}")
}

/// Which replicas (by index) hold a mirror of each repository.
fn placement(caches: &[&Path]) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, cache) in caches.iter().enumerate() {
        let Ok(dir) = std::fs::read_dir(cache.join("mirrors")) else {
            continue;
        };
        for e in dir.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            for r in 0..REPOS {
                if file.contains(&format!("_{}-", name(r))) {
                    out.entry(name(r)).or_default().push(i);
                }
            }
        }
    }
    out
}

fn get(servers: &str, repo: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args([
            "get",
            "--server",
            servers,
            "--repo",
            repo,
            "--revision",
            "main",
            "app",
        ])
        .env_remove("KILN_SERVER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kiln get {repo}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("kind: ConfigMap"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_stick_to_one_replica_and_only_a_dead_ones_move() {
    let root = tempfile::tempdir().unwrap();
    for i in 0..REPOS {
        Repo::init(root.path(), &name(i))
            .commit(&[("app/cm.yaml", &configmap(&name(i), "1"))], "app");
    }
    let daemon = GitDaemon::start(root.path());
    let caches: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut servers: Vec<Kiln> = caches
        .iter()
        .map(|c| Kiln::start(c.path(), &["--allow-repo", "git://127.0.0.1:*/*"]))
        .collect();
    let list = servers
        .iter()
        .map(|s| s.addr.clone())
        .collect::<Vec<_>>()
        .join(",");
    let paths: Vec<&Path> = caches.iter().map(|c| c.path()).collect();

    // Every repository lands on exactly one replica, and again on the same.
    for round in 0..2 {
        for i in 0..REPOS {
            get(&list, &daemon.url(&name(i)));
        }
        let placed = placement(&paths);
        assert_eq!(placed.len(), REPOS, "round {round}: {placed:?}");
        assert!(
            placed.values().all(|on| on.len() == 1),
            "round {round}: a repository on two replicas: {placed:?}"
        );
    }
    // The same list in another order and spelling routes the same way.
    let reordered = format!(
        "http://{},{},{}",
        servers[2].addr, servers[0].addr, servers[1].addr
    );
    let before = placement(&paths);
    for i in 0..REPOS {
        get(&reordered, &daemon.url(&name(i)));
    }
    assert_eq!(placement(&paths), before);

    // Different repositories spread over the replicas.
    let mut load = [0usize; 3];
    for on in before.values() {
        load[on[0]] += 1;
    }
    assert!(
        load.iter().filter(|&&n| n > 0).count() >= 2,
        "no spread: {load:?}"
    );

    // Kill the busiest replica: its repositories fall over to the others,
    // every other repository stays where it was.
    let dead = (0..3).max_by_key(|&i| load[i]).unwrap();
    servers[dead].kill9();
    for i in 0..REPOS {
        get(&list, &daemon.url(&name(i)));
    }
    let after = placement(&paths);
    for (repo, was) in &before {
        let now = &after[repo];
        if was[0] == dead {
            assert_eq!(now.len(), 2, "{repo} did not move: {now:?}");
            assert!(now.contains(&dead));
        } else {
            assert_eq!(now, was, "{repo} moved though its replica is up");
        }
    }
}
