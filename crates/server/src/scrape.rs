//! The metrics listener: `GET /metrics` over HTTP/1.1, one response per
//! connection. Deliberately tiny (no HTTP stack beyond what Prometheus's
//! scraper needs): request heads over 16 KiB or slower than 10 s are
//! dropped, anything but `GET /metrics` is 404 or 405.

use std::{future::Future, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tracing::{debug, info};

const MAX_HEAD: usize = 16 << 10;

/// Serves the process's metrics on `listener` until `shutdown` completes.
pub async fn serve_metrics(listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let metrics = crate::metrics::install();
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "serving metrics at /metrics");
    }
    tokio::pin!(shutdown);
    loop {
        let conn = tokio::select! {
            _ = &mut shutdown => return,
            c = listener.accept() => c,
        };
        match conn {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    if let Err(e) =
                        tokio::time::timeout(Duration::from_secs(10), answer(stream, metrics))
                            .await
                            .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
                    {
                        debug!(error = %e, "metrics connection");
                    }
                });
            }
            Err(e) => {
                debug!(error = %e, "metrics accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn answer(mut stream: TcpStream, metrics: &crate::metrics::Metrics) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return Ok(());
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    if path == b"/metrics" {
        metrics.settle().await;
    }
    let (status, ctype, body) = match (method, path) {
        (b"GET", b"/metrics") => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        (_, b"/metrics") => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
        _ => (
            "404 Not Found",
            "text/plain",
            "metrics are at /metrics\n".into(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
