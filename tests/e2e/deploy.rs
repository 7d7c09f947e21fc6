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
        // No API access for the repo-server.
        assert_eq!(
            kind("ServiceAccount")["automountServiceAccountToken"],
            false
        );
        assert!(
            objs.iter()
                .all(|o| !o["kind"].as_str().unwrap().contains("Role")),
            "{overlay}"
        );

        let pod = &kind("Deployment")["spec"]["template"]["spec"];
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let c = &pod["containers"][0];
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
        let np = &kind("NetworkPolicy")["spec"];
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
