//! The credentials Argo CD sends inside each request, as a Git credential
//! for that request's fetches only.
//!
//! A password stays in a [`Secret`] (never printed); an ssh private key is
//! written to a temporary file readable only by Kiln's user, because the
//! system ssh client reads keys from files, and the file is removed when
//! the request ends. Nothing is cached: the next request brings its own.

use std::{io::Write, time::Duration};

use kiln_git::{Credential, FetchOptions, Secret};

use crate::{Error, proto::v1alpha1::Repository};

/// One request's credential, alive as long as the request.
#[derive(Debug, Default)]
pub struct RequestCredential {
    credential: Option<Credential>,
    /// Keeps the ssh key file until the request ends.
    _key_file: Option<tempfile::NamedTempFile>,
}

impl RequestCredential {
    /// The credential a repository carries; none when it carries none (the
    /// server's configured credentials then apply).
    pub fn from_repo(repo: &Repository) -> Result<Self, Error> {
        for (set, field) in [
            (
                !repo.github_app_private_key().is_empty(),
                "githubAppPrivateKey",
            ),
            (!repo.tls_client_cert_data().is_empty(), "tlsClientCertData"),
            (!repo.bearer_token().is_empty(), "bearerToken"),
            (
                !repo.gcp_service_account_key().is_empty(),
                "gcpServiceAccountKey",
            ),
            (
                repo.use_azure_workload_identity(),
                "useAzureWorkloadIdentity",
            ),
        ] {
            if set {
                return Err(Error::Unsupported(format!(
                    "repository {}: {field} credentials are not supported by Kiln yet; use username/password or sshPrivateKey",
                    repo.repo()
                )));
            }
        }
        if !repo.ssh_private_key().is_empty() {
            let mut file = tempfile::Builder::new()
                .prefix("kiln-argocd-key-")
                .tempfile()
                .map_err(|e| Error::Internal(format!("cannot create a key file: {e}")))?;
            let key = repo.ssh_private_key();
            let written = file.write_all(key.as_bytes()).and_then(|()| {
                if key.ends_with('\n') {
                    Ok(())
                } else {
                    file.write_all(b"\n")
                }
            });
            written
                .and_then(|()| file.flush())
                .map_err(|e| Error::Internal(format!("cannot write a key file: {e}")))?;
            let credential = Credential {
                ssh_key_file: Some(file.path().to_path_buf()),
                ..Credential::default()
            };
            return Ok(RequestCredential {
                credential: Some(credential),
                _key_file: Some(file),
            });
        }
        if !repo.password().is_empty() {
            let username = Some(repo.username())
                .filter(|u| !u.is_empty())
                .map(str::to_owned);
            let credential = Credential {
                username,
                password: Some(Secret::new(repo.password())),
                ..Credential::default()
            };
            return Ok(RequestCredential {
                credential: Some(credential),
                _key_file: None,
            });
        }
        Ok(RequestCredential::default())
    }

    /// Fetch options for this request: its credential, and refs refreshed
    /// at once when the caller asked for no cached revisions.
    pub fn fetch_options(&self, fresh: bool) -> FetchOptions {
        FetchOptions {
            credential: self.credential.clone(),
            max_age: fresh.then_some(Duration::ZERO),
        }
    }

    /// The credential, if the request carried one.
    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }
}
