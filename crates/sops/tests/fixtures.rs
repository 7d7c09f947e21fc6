//! Decrypts every fixture encrypted by real sops 3.11 and compares with `sops decrypt`'s output.
//!
//! Fixtures live in `tests/sops/` at the repository root; `tests/sops/regen.sh` rebuilds them.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};

use kiln_sops::{EncryptedFile, Error, Format, Keyring};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sops")
}

fn keyring() -> Keyring {
    let dir = fixtures().join("keys");
    let mut k = Keyring::new();
    for f in ["age-test-1.txt", "age-test-2.txt"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        k.add_identities(&text, f).unwrap();
    }
    let ssh = std::fs::read_to_string(dir.join("ssh-ed25519-test")).unwrap();
    k.add_ssh_private_key(&ssh, "ssh-ed25519-test").unwrap();
    k
}

fn only(file: &str) -> Keyring {
    let dir = fixtures().join("keys");
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let mut k = Keyring::new();
    if file.starts_with("ssh") {
        k.add_ssh_private_key(&text, file).unwrap();
    } else {
        k.add_identities(&text, file).unwrap();
    }
    k
}

fn enc_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join("enc"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    assert!(v.len() >= 10, "fixtures missing: run tests/sops/regen.sh");
    v
}

#[test]
fn decrypts_every_sops_fixture_byte_for_byte() {
    let k = keyring();
    let mut failures = Vec::new();
    for path in enc_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let input = std::fs::read(&path).unwrap();
        let golden = std::fs::read(fixtures().join("golden").join(format!("{name}.dec"))).unwrap();
        match kiln_sops::decrypt(&name, &input, Format::from_path(&name), &k) {
            Ok(out) if out.as_slice() == golden.as_slice() => {}
            Ok(out) => failures.push(format!(
                "{name}: output differs\n--- kiln\n{}\n--- sops\n{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&golden)
            )),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn each_single_identity_decrypts_its_files() {
    let input = std::fs::read(fixtures().join("enc/secret.flux.enc.yaml")).unwrap();
    for key in ["age-test-1.txt", "age-test-2.txt", "ssh-ed25519-test"] {
        kiln_sops::decrypt("secret.flux.enc.yaml", &input, Format::Yaml, &only(key))
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
}

#[test]
fn parsed_tree_is_available() {
    let input = std::fs::read(fixtures().join("enc/secret.flux.enc.yaml")).unwrap();
    let f = EncryptedFile::parse("secret.flux.enc.yaml", &input, Format::Yaml).unwrap();
    assert_eq!(f.metadata().encrypted_regex, "^(data|stringData)$");
    assert_eq!(f.recipients().len(), 3);
    let d = f.decrypt(&keyring()).unwrap();
    let doc = d.document();
    let data = doc.branches[0]
        .iter()
        .find(|(k, _)| k.as_str() == Some("data"))
        .map(|(_, v)| v)
        .unwrap();
    assert_eq!(
        data.get("password").and_then(|v| v.as_str()),
        Some("czNjcjN0LXA0c3M=")
    );
    let dbg = format!("{d:?} {doc:?}");
    assert!(!dbg.contains("czNjcjN0"), "Debug leaks plaintext: {dbg}");
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("enc").join(name)).unwrap()
}

fn decrypt_str(name: &str, text: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    kiln_sops::decrypt(name, text.as_bytes(), Format::from_path(name), &keyring())
}

#[test]
fn tampered_value_is_refused_with_its_path() {
    let text = read("secret.flux.enc.yaml");
    // Flip one base64 character inside the data of `password`.
    let line_start = text.find("password: ENC[AES256_GCM,data:").unwrap()
        + "password: ENC[AES256_GCM,data:".len();
    let mut bytes = text.into_bytes();
    bytes[line_start] = if bytes[line_start] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let err = decrypt_str("secret.flux.enc.yaml", &String::from_utf8(bytes).unwrap()).unwrap_err();
    match &err {
        Error::Value { file, path, .. } => {
            assert_eq!(file, "secret.flux.enc.yaml");
            assert_eq!(path, "/data/password");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(err.to_string().contains("/data/password"));
}

#[test]
fn moved_value_is_refused() {
    // Swap two encrypted values: each authenticates its own path, so both fail.
    let text = read("secret.flux.enc.yaml");
    let grab = |key: &str| {
        let s = text.find(&format!("{key}: ENC[")).unwrap() + key.len() + 2;
        let e = s + text[s..].find('\n').unwrap();
        text[s..e].to_string()
    };
    let (p, u) = (grab("password"), grab("username"));
    let swapped = text
        .replace(&p, "@@P@@")
        .replace(&u, &p)
        .replace("@@P@@", &u);
    assert!(matches!(
        decrypt_str("secret.flux.enc.yaml", &swapped),
        Err(Error::Value { .. })
    ));
}

#[test]
fn tampered_unencrypted_value_fails_the_mac() {
    let text = read("secret.flux.enc.yaml").replace("name: payments-db", "name: evil-db");
    assert!(matches!(
        decrypt_str("secret.flux.enc.yaml", &text),
        Err(Error::MacMismatch { .. })
    ));
}

#[test]
fn tampered_mac_is_refused() {
    let text = read("values.enc.yaml");
    let s = text.find("mac: ENC[AES256_GCM,data:").unwrap() + "mac: ENC[AES256_GCM,data:".len();
    let mut b = text.into_bytes();
    b[s + 3] = if b[s + 3] == b'x' { b'y' } else { b'x' };
    let err = decrypt_str("values.enc.yaml", &String::from_utf8(b).unwrap()).unwrap_err();
    assert!(matches!(err, Error::MacUndecryptable { .. }), "{err}");
}

#[test]
fn changed_lastmodified_is_refused() {
    let text = read("values.enc.yaml");
    let s = text.find("lastmodified: \"").unwrap() + "lastmodified: \"".len();
    let mut b = text.into_bytes();
    b[s + 2] = if b[s + 2] == b'9' { b'8' } else { b'9' };
    let err = decrypt_str("values.enc.yaml", &String::from_utf8(b).unwrap()).unwrap_err();
    assert!(matches!(err, Error::MacUndecryptable { .. }), "{err}");
}

#[test]
fn deleted_mac_is_refused() {
    for name in ["values.enc.yaml", "config.enc.json", "app.enc.env"] {
        let text = read(name);
        let out: String = text
            .lines()
            .filter(|l| {
                !l.contains("mac: ENC") && !l.contains("\"mac\":") && !l.starts_with("sops_mac=")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let err = decrypt_str(name, &out).unwrap_err();
        assert!(matches!(err, Error::MacMissing { .. }), "{name}: {err}");
    }
}

#[test]
fn wrong_key_is_refused() {
    let input = std::fs::read(fixtures().join("enc/values.ssh.enc.yaml")).unwrap();
    let err = kiln_sops::decrypt(
        "values.ssh.enc.yaml",
        &input,
        Format::Yaml,
        &only("age-test-1.txt"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NoMatchingKey { .. }), "{err}");
    assert!(err.to_string().contains("values.ssh.enc.yaml"));
    let err = kiln_sops::decrypt("values.ssh.enc.yaml", &input, Format::Yaml, &Keyring::new())
        .unwrap_err();
    assert!(matches!(err, Error::NoMatchingKey { .. }), "{err}");
}

#[test]
fn plaintext_is_not_a_sops_file() {
    let input = std::fs::read(fixtures().join("plain/values.yaml")).unwrap();
    let err = kiln_sops::decrypt("values.yaml", &input, Format::Yaml, &keyring()).unwrap_err();
    assert!(matches!(err, Error::MetadataNotFound { .. }), "{err}");
}

#[test]
fn shamir_key_groups_are_refused() {
    let text = "a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops:\n    shamir_threshold: 2\n    key_groups:\n        - age:\n            - recipient: age1x\n              enc: x\n        - age:\n            - recipient: age1y\n              enc: y\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: x\n    version: 3.11.0\n";
    let err = decrypt_str("s.yaml", text).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedKeyGroups {
                groups: 2,
                threshold: 2,
                ..
            }
        ),
        "{err}"
    );
}
