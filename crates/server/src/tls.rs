//! TLS for the gRPC listener (rustls through tonic): a certificate and key
//! from PEM files, or a self-signed certificate made in memory at start as
//! Argo CD's repo-server does; optionally mutual TLS against a client CA.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tracing::info;

/// Longest a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How the listener is secured; the default is plaintext (h2c).
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Certificate chain PEM file (with `key`).
    pub cert: Option<PathBuf>,
    /// Private key PEM file (with `cert`).
    pub key: Option<PathBuf>,
    /// Make a self-signed certificate in memory at start (no files).
    pub self_signed: bool,
    /// Names and addresses the self-signed certificate is valid for, beyond
    /// `localhost`, `127.0.0.1`, `::1` and `kiln`.
    pub self_signed_names: Vec<String>,
    /// CA PEM file: clients must present a certificate it signed (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file cannot be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file does not hold what it should.
    #[error("{} holds no PEM {what}", path.display())]
    NoPem {
        /// The file.
        path: PathBuf,
        /// What was expected ("certificate", "private key").
        what: &'static str,
    },
    /// The flags do not make one configuration.
    #[error("{0}")]
    Flags(&'static str),
    /// The self-signed certificate could not be made.
    #[error("generating a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
}

impl TlsOptions {
    /// Whether any TLS setting is given.
    pub fn enabled(&self) -> bool {
        self.cert.is_some() || self.key.is_some() || self.self_signed || self.client_ca.is_some()
    }

    /// The tonic configuration, or `None` for plaintext.
    pub fn server_config(&self) -> Result<Option<ServerTlsConfig>, TlsError> {
        if !self.enabled() {
            return Ok(None);
        }
        let identity = match (&self.cert, &self.key, self.self_signed) {
            (Some(cert), Some(key), false) => {
                let cert_pem = read_pem(cert, "CERTIFICATE", "certificate")?;
                let key_pem = read_pem(key, "PRIVATE KEY", "private key")?;
                info!(cert = %cert.display(), "TLS with the given certificate");
                Identity::from_pem(cert_pem, key_pem)
            }
            (None, None, true) => {
                let (cert_pem, key_pem) = self_signed(&self.self_signed_names)?;
                info!(names = ?self.self_signed_names, "TLS with a self-signed certificate made at start");
                Identity::from_pem(cert_pem, key_pem)
            }
            (_, _, true) => {
                return Err(TlsError::Flags(
                    "--tls-self-signed and --tls-cert/--tls-key exclude each other",
                ));
            }
            (None, None, false) => {
                return Err(TlsError::Flags(
                    "--tls-client-ca needs a server certificate: --tls-cert and --tls-key, or --tls-self-signed",
                ));
            }
            _ => {
                return Err(TlsError::Flags(
                    "--tls-cert and --tls-key must be given together",
                ));
            }
        };
        let mut config = ServerTlsConfig::new()
            .identity(identity)
            .timeout(HANDSHAKE_TIMEOUT);
        if let Some(ca) = &self.client_ca {
            let ca_pem = read_pem(ca, "CERTIFICATE", "certificate")?;
            info!(client_ca = %ca.display(), "mutual TLS: clients must present a certificate signed by this CA");
            config = config.client_ca_root(Certificate::from_pem(ca_pem));
        }
        Ok(Some(config))
    }
}

/// Reads a PEM file and checks that it holds a block whose label ends with `label`.
fn read_pem(path: &Path, label: &str, what: &'static str) -> Result<Vec<u8>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let found = text.lines().any(|l| {
        l.trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
            .is_some_and(|l| l.ends_with(label))
    });
    if !found {
        return Err(TlsError::NoPem {
            path: path.to_owned(),
            what,
        });
    }
    Ok(bytes)
}

/// A self-signed certificate and its key, as PEM, valid for `localhost`,
/// `127.0.0.1`, `::1`, `kiln` and `extra` names.
pub fn self_signed(extra: &[String]) -> Result<(String, String), TlsError> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1", "kiln"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for n in extra {
        if !n.is_empty() && !names.contains(n) {
            names.push(n.clone());
        }
    }
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_by_default() {
        assert!(matches!(TlsOptions::default().server_config(), Ok(None)));
    }

    #[test]
    fn self_signed_makes_a_config() {
        let opts = TlsOptions {
            self_signed: true,
            ..TlsOptions::default()
        };
        assert!(matches!(opts.server_config(), Ok(Some(_))));
    }

    #[test]
    fn refuses_half_configurations() {
        let ca_only = TlsOptions {
            client_ca: Some("/nonexistent".into()),
            ..TlsOptions::default()
        };
        assert!(matches!(ca_only.server_config(), Err(TlsError::Flags(_))));
        let cert_only = TlsOptions {
            cert: Some("/nonexistent".into()),
            ..TlsOptions::default()
        };
        assert!(matches!(cert_only.server_config(), Err(TlsError::Flags(_))));
    }

    #[test]
    fn names_the_file_without_pem() {
        let dir = std::env::temp_dir().join(format!("kiln-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let f = dir.join("not.pem");
        std::fs::write(&f, "hello").ok();
        let opts = TlsOptions {
            cert: Some(f.clone()),
            key: Some(f.clone()),
            ..TlsOptions::default()
        };
        let err = opts.server_config().err().map(|e| e.to_string());
        assert_eq!(
            err,
            Some(format!("{} holds no PEM certificate", f.display()))
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
