//! The caller's `grpc-timeout`, enforced by the handlers themselves so the
//! caller gets DEADLINE_EXCEEDED (tonic's own timeout answers CANCELLED).

use std::{future::Future, time::Duration};

use tonic::{Status, metadata::MetadataMap};

/// Parses a `grpc-timeout` header value: up to 8 digits and a unit
/// (H, M, S, m, u, n).
pub fn parse(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The caller's deadline, if it sent one.
pub fn from_metadata(md: &MetadataMap) -> Option<Duration> {
    md.get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse)
}

/// A deadline shortened a little (5 %, 1–20 ms), so an answer computed
/// against it is sent before tonic's own timer answers CANCELLED.
pub fn early(d: Duration) -> Duration {
    d.saturating_sub((d / 20).clamp(Duration::from_millis(1), Duration::from_millis(20)))
}

/// Runs `fut` within the deadline. Unary handlers pass `margin = true` to
/// finish a little before tonic's own timer, which would answer CANCELLED.
pub async fn within<T>(
    deadline: Option<Duration>,
    margin: bool,
    what: &str,
    fut: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    let Some(d) = deadline else {
        return fut.await;
    };
    let d = if margin { early(d) } else { d };
    match tokio::time::timeout(d, fut).await {
        Ok(r) => r,
        Err(_) => Err(Status::deadline_exceeded(format!(
            "{what}: the caller's deadline of {} ms passed before the answer was ready",
            deadline.unwrap_or_default().as_millis()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grpc_timeouts() {
        assert_eq!(parse("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse("m"), None);
        assert_eq!(parse("123456789S"), None);
        assert_eq!(parse("10x"), None);
    }
}
