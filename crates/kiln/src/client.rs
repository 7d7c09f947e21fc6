//! gRPC client commands: `kiln get`, and `kiln resolve --server`.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, Result, anyhow, bail};
use kiln_git::{CacheOptions, GitCache};
use kiln_proto::kiln::v1::{
    GenerateManifestsRequest, ResolveRevisionRequest, repo_server_client::RepoServerClient,
};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::cli::{GetArgs, ResolveArgs, default_cache_dir};

fn status_error(s: tonic::Status) -> anyhow::Error {
    anyhow!("{:?}: {}", s.code(), s.message())
}

/// TLS flags of the client commands. A server given without a scheme is
/// called over TLS when any of them is set, else in plaintext.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientTlsArgs {
    /// Verify the server's certificate against this CA (PEM); implies TLS.
    #[arg(long, env = "KILN_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for servers that require mutual TLS; needs --tls-key.
    #[arg(
        long,
        env = "KILN_CLIENT_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Private key of --tls-cert (PEM).
    #[arg(
        long,
        env = "KILN_CLIENT_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Use TLS without verifying the server's certificate, as `argocd
    /// --insecure` does: for a server with a self-signed certificate.
    #[arg(long, conflicts_with = "tls_ca")]
    pub insecure_skip_verify: bool,
    /// Send the bearer token in FILE (trailing whitespace ignored) to a
    /// server that requires one.
    #[arg(long, env = "KILN_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

impl ClientTlsArgs {
    /// Adds the `authorization` header of --token-file to a request.
    pub fn authorize<T>(&self, request: &mut tonic::Request<T>) -> Result<()> {
        let Some(path) = &self.token_file else {
            return Ok(());
        };
        let token = std::fs::read_to_string(path)
            .with_context(|| format!("reading --token-file {}", path.display()))?;
        let value = format!("Bearer {}", token.trim())
            .parse()
            .map_err(|_| anyhow!("--token-file {}: not a valid token", path.display()))?;
        request.metadata_mut().insert("authorization", value);
        Ok(())
    }

    fn any(&self) -> bool {
        self.tls_ca.is_some() || self.tls_cert.is_some() || self.insecure_skip_verify
    }

    /// A channel to one server; `tls_name` is the name its certificate is
    /// verified against when `server` is an address resolved from it.
    async fn channel_to(
        &self,
        server: &str,
        tls_name: Option<&str>,
    ) -> Result<tonic::transport::Channel> {
        let url = self.url_of(server);
        let uri: http::Uri = url
            .parse()
            .with_context(|| format!("server address {url}"))?;
        let https = uri.scheme_str() == Some("https");
        if !https {
            if self.any() {
                bail!("{url}: TLS flags given for a plaintext http:// server");
            }
            return Endpoint::from_shared(url.clone())?
                .connect_timeout(CONNECT_TIMEOUT)
                .connect()
                .await
                .with_context(|| format!("connecting to {url}"));
        }
        let identity = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
            _ => None,
        };
        if self.insecure_skip_verify {
            return insecure_channel(&uri, identity, tls_name)
                .await
                .with_context(|| format!("connecting to {url}"));
        }
        let Some(ca) = &self.tls_ca else {
            bail!(
                "{url}: TLS needs --tls-ca FILE (or --insecure-skip-verify for a self-signed server)"
            );
        };
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
        if let Some((c, k)) = identity {
            tls = tls.identity(Identity::from_pem(c, k));
        }
        if let Some(name) = tls_name {
            tls = tls.domain_name(name);
        }
        Endpoint::from_shared(url.clone())?
            .connect_timeout(CONNECT_TIMEOUT)
            .tls_config(tls)
            .with_context(|| format!("TLS settings for {url}"))?
            .connect()
            .await
            .with_context(|| format!("connecting to {url}"))
    }
}

/// How long a connection attempt may take before the next replica is tried.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// One repo-server replica: the address to connect to, and the host name
/// its TLS certificate is verified against when the address was resolved
/// from a name (a headless Service).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Replica {
    /// Its identity for routing: `host:port` as given or resolved.
    pub authority: String,
    /// The URL connected to.
    pub url: String,
    /// Certificate name for an address resolved from a name.
    pub tls_name: Option<String>,
}

impl ClientTlsArgs {
    fn url_of(&self, server: &str) -> String {
        if server.contains("://") {
            server.to_owned()
        } else if self.any() {
            format!("https://{server}")
        } else {
            format!("http://{server}")
        }
    }

    /// The replicas named by `servers`: a comma-separated list, where a
    /// host name resolving to several addresses of a family (a headless
    /// Service) stands for one replica per address (IPv4 preferred).
    pub async fn replicas(&self, servers: &str) -> Result<Vec<Replica>> {
        let mut out = Vec::new();
        for server in servers.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let url = self.url_of(server);
            let uri: http::Uri = url
                .parse()
                .with_context(|| format!("server address {url}"))?;
            let scheme = uri.scheme_str().unwrap_or("http").to_owned();
            let host = uri
                .host()
                .ok_or_else(|| anyhow!("server address {url}: no host"))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            let single = Replica {
                authority: format!("{}:{port}", uri.host().unwrap_or(&host)),
                url: url.clone(),
                tls_name: None,
            };
            if host.parse::<std::net::IpAddr>().is_ok() {
                out.push(single);
                continue;
            }
            // A lookup failure is left to the connection to report.
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map(Iterator::collect)
                .unwrap_or_default();
            let v4: Vec<_> = addrs.iter().filter(|a| a.is_ipv4()).copied().collect();
            let mut family = if v4.is_empty() { addrs } else { v4 };
            family.sort();
            family.dedup();
            if family.len() <= 1 {
                out.push(single);
                continue;
            }
            for addr in family {
                out.push(Replica {
                    authority: addr.to_string(),
                    url: format!("{scheme}://{addr}"),
                    tls_name: Some(host.clone()),
                });
            }
        }
        out.sort();
        out.dedup_by(|a, b| a.authority == b.authority);
        if out.is_empty() {
            bail!("--server {servers:?}: no address");
        }
        Ok(out)
    }

    /// A client of the replica that serves `repo_url` among `servers`
    /// (see [`route`]): the first in rendezvous order that accepts a
    /// connection, so an unreachable replica's repositories fall over to
    /// their next choice and no other repository moves.
    pub async fn client_for(
        &self,
        servers: &str,
        repo_url: &str,
    ) -> Result<(Replica, RepoServerClient<tonic::transport::Channel>)> {
        let replicas = self.replicas(servers).await?;
        let mut last = None;
        for replica in route(&replicas, repo_url) {
            match self
                .channel_to(&replica.url, replica.tls_name.as_deref())
                .await
            {
                Ok(channel) => {
                    tracing::debug!(replica = %replica.authority, repo = repo_url, "routed");
                    return Ok((replica.clone(), RepoServerClient::new(channel)));
                }
                Err(e) => {
                    tracing::warn!(
                        replica = %replica.authority,
                        error = format!("{e:#}"),
                        "repo-server replica unreachable; trying the next one"
                    );
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("--server {servers:?}: no address")))
    }
}

/// The routing key of a repository: its normalised URL (as the server
/// names its mirror), or the URL as given when it does not parse.
pub fn repo_key(repo_url: &str) -> String {
    kiln_git::RepoUrl::parse(repo_url).map_or_else(|_| repo_url.to_owned(), |u| u.key().to_owned())
}

/// Rendezvous (highest random weight) order of `replicas` for a
/// repository: each replica scores hash(replica, repository key) and the
/// highest score serves it. Adding or removing a replica moves only the
/// repositories it wins or held; everything else stays where its Git
/// mirror and render cache already are.
pub fn route<'a>(replicas: &'a [Replica], repo_url: &str) -> Vec<&'a Replica> {
    let key = repo_key(repo_url);
    let mut order: Vec<(u64, &Replica)> = replicas
        .iter()
        .map(|r| (score(&r.authority, &key), r))
        .collect();
    order.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.authority.cmp(&b.1.authority))
    });
    order.into_iter().map(|(_, r)| r).collect()
}

/// FNV-1a of `replica NUL key`, finished with SplitMix64's mixer: stable
/// across processes, versions and platforms, as every client must agree.
fn score(replica: &str, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in replica.bytes().chain([0]).chain(key.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// A TLS channel that accepts any server certificate (the handshake's
/// signatures are still checked), with an optional client identity.
async fn insecure_channel(
    uri: &http::Uri,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    tls_name: Option<&str>,
) -> Result<tonic::transport::Channel> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider)));
    let mut config = match identity {
        Some((cert, key)) => {
            let certs = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<Vec<_>, _>>()
                .context("client certificate")?;
            let key = PrivateKeyDer::from_pem_slice(&key).context("client key")?;
            builder.with_client_auth_cert(certs, key)?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let host = uri
        .host()
        .ok_or_else(|| anyhow!("{uri}: no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let name = ServerName::try_from(tls_name.map_or_else(|| host.clone(), str::to_owned))?;
    let service = tower::service_fn(move |_: http::Uri| {
        let (connector, host, name) = (connector.clone(), host.clone(), name.clone());
        async move {
            let tcp = tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio::net::TcpStream::connect((host.as_str(), port)),
            )
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            tcp.set_nodelay(true)?;
            let tls = connector.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
        }
    });
    // The connector does TLS itself; tonic sees a plain stream.
    let plain = format!("http://{}", uri.authority().map_or("", |a| a.as_str()));
    Ok(Endpoint::from_shared(plain)?
        .connect_with_connector(service)
        .await?)
}

/// Accepts any server certificate; checks the handshake signatures with the
/// provider's algorithms so the connection is still a sound TLS session.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Prints the commit a revision resolves to.
pub async fn resolve(args: ResolveArgs) -> Result<()> {
    let sha = if let Some(server) = &args.server {
        let (_, mut client) = args.tls.client_for(server, &args.repo).await?;
        let mut request = tonic::Request::new(ResolveRevisionRequest {
            repo_url: args.repo.clone(),
            revision: args.revision.clone(),
        });
        args.tls.authorize(&mut request)?;
        client
            .resolve_revision(request)
            .await
            .map_err(status_error)?
            .into_inner()
            .commit_sha
    } else {
        let dir = args
            .cache_dir
            .clone()
            .unwrap_or_else(|| default_cache_dir("cli"));
        let git = Arc::new(GitCache::open(CacheOptions::new(&dir).allow(["**"]))?);
        git.resolve(&args.repo, &args.revision)
            .await?
            .commit
            .to_hex()
    };
    writeln!(std::io::stdout().lock(), "{sha}")?;
    Ok(())
}

/// Asks a server to render an app and prints the manifests.
pub async fn get(args: GetArgs) -> Result<()> {
    let (_, mut client) = args.tls.client_for(&args.server, &args.repo).await?;
    let mut request = tonic::Request::new(GenerateManifestsRequest {
        repo_url: args.repo.clone(),
        revision: args.revision.clone(),
        path: args.path.clone(),
        engine: args.engine.clone(),
        parameters: args.params.iter().cloned().collect(),
        namespace: args.namespace.clone(),
        no_cache: false,
        transformers: Vec::new(),
        chart: String::new(),
    });
    request.set_timeout(args.timeout);
    args.tls.authorize(&mut request)?;
    let mut stream = client
        .generate_manifests(request)
        .await
        .map_err(status_error)?
        .into_inner();
    let mut manifests = Vec::new();
    while let Some(msg) = stream.message().await.map_err(status_error)? {
        manifests.extend(msg.manifests);
    }
    crate::render::print_manifests(&manifests, args.output)
}
