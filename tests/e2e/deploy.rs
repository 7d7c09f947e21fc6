//! deploy/: every overlay builds with Kiln exactly as with real Kustomize
//! (`tests/deploy/*.yaml`, from `tests/deploy/regen.sh`), and the
//! repo-server runs locked down in every one.

use std::{path::Path, process::Command};

use serde_json::Value;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn overlays() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("deploy/overlays"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn build(overlay: &str) -> String {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["render", "--root"])
        .arg(root())
        .arg(root().join("deploy/overlays").join(overlay))
        .env("KILN_CLI_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{overlay}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_overlay_builds_as_kustomize_builds_it_and_is_locked_down() {
    let names = overlays();
    assert!(names.len() >= 2, "{names:?}");
    for overlay in names {
        let got = build(&overlay);
        let want = std::fs::read_to_string(root().join(format!("tests/deploy/{overlay}.yaml")))
            .unwrap_or_else(|_| panic!("no golden for {overlay}: run tests/deploy/regen.sh"));
        assert_eq!(got, want, "{overlay}");

        let objs: Vec<Value> = serde_yaml::Deserializer::from_str(&got)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        let kind = |k: &str| {
            objs.iter()
                .find(|o| o["kind"] == k)
                .unwrap_or_else(|| panic!("{overlay}: no {k}"))
        };
        for k in [
            "Service",
            "ConfigMap",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler",
        ] {
            kind(k);
        }
        let named = |k: &str, n: &str| {
            objs.iter()
                .find(|o| o["kind"] == k && o["metadata"]["name"] == n)
                .unwrap_or_else(|| panic!("{overlay}: no {k} {n}"))
        };
        // No API access for the repo-server: no token, no role bound to it.
        assert_eq!(
            named("ServiceAccount", "kiln-repo-server")["automountServiceAccountToken"],
            false
        );
        for o in objs
            .iter()
            .filter(|o| o["kind"].as_str().unwrap().ends_with("Binding"))
        {
            for s in o["subjects"].as_array().unwrap() {
                assert_eq!(s["name"], "kiln-applier", "{overlay}: {o}");
            }
        }
        check_applier(&overlay, &objs);

        let pod = &named("Deployment", "kiln-repo-server")["spec"]["template"]["spec"];
        locked_down(&overlay, pod);
        let c = &pod["containers"][0];
        for p in ["readinessProbe", "livenessProbe"] {
            assert!(c[p].is_object(), "{overlay}: {p}");
        }
        // The cache is an emptyDir; the age keyring a read-only Secret mount.
        let volumes = pod["volumes"].as_array().unwrap();
        let vol = |n: &str| volumes.iter().find(|v| v["name"] == n).unwrap();
        assert!(vol("cache")["emptyDir"].is_object());
        assert_eq!(vol("age-keys")["secret"]["secretName"], "kiln-age-keys");
        let mounts = c["volumeMounts"].as_array().unwrap();
        let keys = mounts.iter().find(|m| m["name"] == "age-keys").unwrap();
        assert_eq!(keys["readOnly"], true);

        // Ingress only from labelled callers; egress only DNS, HTTPS and SSH.
        let np = &named("NetworkPolicy", "kiln-repo-server")["spec"];
        assert_eq!(np["policyTypes"], serde_json::json!(["Ingress", "Egress"]));
        assert_eq!(
            np["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["kiln.dev/client"],
            "true"
        );
        let ports: Vec<i64> = np["egress"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["ports"].as_array().unwrap().iter())
            .map(|p| p["port"].as_i64().unwrap())
            .collect();
        assert!(ports.iter().all(|p| [53, 443, 22].contains(p)), "{ports:?}");
    }
}

/// Non-root, read-only root filesystem, no capabilities, no privilege
/// escalation, seccomp RuntimeDefault, requests and limits, no automounted
/// ServiceAccount token.
fn locked_down(overlay: &str, pod: &Value) {
    assert_eq!(pod["automountServiceAccountToken"], false, "{overlay}");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{overlay}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "{overlay}"
    );
    for c in pod["containers"].as_array().unwrap() {
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{overlay}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{overlay}");
        assert_eq!(
            sc["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{overlay}"
        );
        for r in ["requests", "limits"] {
            assert!(c["resources"][r]["cpu"].is_string(), "{overlay}: {r}");
            assert!(c["resources"][r]["memory"].is_string(), "{overlay}: {r}");
        }
    }
}

/// The applier: locked down like the repo-server, its token projected
/// (short-lived) rather than automounted, and RBAC with no wildcard, no
/// list/watch, no RBAC or namespace objects, Secrets by name only, and the
/// namespaced permissions bound per namespace (RoleBinding), never
/// cluster-wide.
fn check_applier(overlay: &str, objs: &[Value]) {
    let find = |k: &str, n: &str| {
        objs.iter()
            .find(|o| o["kind"] == k && o["metadata"]["name"] == n)
            .unwrap_or_else(|| panic!("{overlay}: no {k} {n}"))
    };
    assert_eq!(
        find("ServiceAccount", "kiln-applier")["automountServiceAccountToken"],
        false
    );
    let deployment = find("Deployment", "kiln-applier");
    assert_eq!(deployment["spec"]["replicas"], 1, "{overlay}");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "kiln-applier");
    locked_down(overlay, pod);
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["labels"]["kiln.dev/client"], "true",
        "{overlay}: the repo-server's NetworkPolicy must let the applier in"
    );
    let token = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "api-token")
        .unwrap();
    let sources = token["projected"]["sources"].as_array().unwrap();
    let sat = sources
        .iter()
        .find_map(|s| s.get("serviceAccountToken"))
        .unwrap();
    assert!(sat["expirationSeconds"].as_i64().unwrap() <= 3600);
    let c = &pod["containers"][0];
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "api-token")
        .unwrap();
    assert_eq!(mount["readOnly"], true);

    let roles: Vec<&Value> = objs
        .iter()
        .filter(|o| o["kind"] == "ClusterRole" || o["kind"] == "Role")
        .collect();
    assert!(!roles.is_empty(), "{overlay}");
    for role in &roles {
        let name = role["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("kiln-applier"), "{overlay}: {name}");
        for rule in role["rules"].as_array().unwrap() {
            let strs = |k: &str| -> Vec<String> {
                rule[k]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default()
            };
            let (groups, resources, verbs) = (strs("apiGroups"), strs("resources"), strs("verbs"));
            for list in [&groups, &resources, &verbs] {
                assert!(!list.iter().any(|v| v.contains('*')), "{overlay}: {rule}");
            }
            assert!(
                !verbs.is_empty() && !resources.is_empty(),
                "{overlay}: {rule}"
            );
            for v in &verbs {
                assert!(
                    ["get", "create", "patch", "delete"].contains(&v.as_str()),
                    "{overlay}: verb {v} in {name}"
                );
            }
            for r in &resources {
                assert!(
                    ![
                        "roles",
                        "rolebindings",
                        "clusterroles",
                        "clusterrolebindings",
                        "namespaces",
                        "serviceaccounts/token",
                        "pods/exec",
                    ]
                    .contains(&r.as_str()),
                    "{overlay}: {r} in {name}"
                );
            }
            assert!(rule.get("nonResourceURLs").is_none(), "{overlay}: {rule}");
            if groups.iter().any(|g| g == "apiextensions.k8s.io") {
                assert_eq!(verbs, ["get"], "{overlay}: CRDs are read-only");
            }
        }
    }
    // Cluster-wide bindings grant only the CRD reader; everything that
    // writes is bound per namespace.
    for binding in objs.iter().filter(|o| o["kind"] == "ClusterRoleBinding") {
        assert_eq!(binding["roleRef"]["name"], "kiln-applier-crds", "{overlay}");
    }
    let crds = find("ClusterRole", "kiln-applier-crds");
    assert_eq!(crds["rules"].as_array().unwrap().len(), 1);
    let rb = find("RoleBinding", "kiln-applier");
    assert_eq!(rb["roleRef"]["name"], "kiln-applier-namespaced");
    assert_eq!(
        rb["subjects"][0]["namespace"], rb["metadata"]["namespace"],
        "{overlay}: the binding names the applier of this namespace"
    );
}
