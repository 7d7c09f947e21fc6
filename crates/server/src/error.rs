/// Why the gRPC server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listening socket is unusable.
    #[error("listener: {0}")]
    Listener(#[source] std::io::Error),
    /// The reflection service could not be built from the descriptors.
    #[error("building server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The TLS settings cannot be used.
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The HTTP/2 server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}
