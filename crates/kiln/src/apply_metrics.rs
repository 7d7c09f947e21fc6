//! `kiln apply --watch --metrics-listen`: each application's sync, health and
//! drift in Prometheus' text format, served at `/metrics` by a minimal
//! HTTP/1.1 responder (one request per connection).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use kiln_applier::health::HealthStatus;
use kiln_applier::reconcile::{Applied, Checked};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The figures of one application.
#[derive(Debug, Clone, Default)]
struct Figures {
    commit: String,
    synced: bool,
    health: Option<HealthStatus>,
    drifted: usize,
    syncs_ok: u64,
    syncs_failed: u64,
    self_heals: u64,
    last_sync_seconds: f64,
}

/// Figures of every watched application.
#[derive(Debug, Default)]
pub struct Metrics {
    apps: Mutex<BTreeMap<String, Figures>>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Metrics {
    fn update(&self, app: &str, f: impl FnOnce(&mut Figures)) {
        let mut apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        f(apps.entry(app.to_owned()).or_default());
    }

    /// After a sync (and its health wait).
    pub fn applied(&self, app: &str, commit: &str, applied: &Applied) {
        self.update(app, |f| {
            let synced = applied.report.is_synced();
            if synced {
                f.syncs_ok += 1;
                f.commit = commit.to_owned();
                f.drifted = 0;
            } else {
                f.syncs_failed += 1;
            }
            f.synced = synced;
            f.health = applied.health.or(f.health);
            f.last_sync_seconds = now();
        });
    }

    /// A sync that could not run (render error, API unreachable).
    pub fn sync_failed(&self, app: &str) {
        self.update(app, |f| {
            f.syncs_failed += 1;
            f.synced = false;
        });
    }

    /// After a drift check (and a self-heal).
    pub fn checked(&self, app: &str, commit: &str, checked: &Checked) {
        match &checked.healed {
            Some(healed) => {
                self.update(app, |f| f.self_heals += 1);
                self.applied(app, commit, healed);
            }
            None => self.update(app, |f| f.drifted = checked.drift.drifted.len()),
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, rows: &dyn Fn(&mut String)| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            rows(&mut out);
        };
        family(
            "kiln_applier_synced",
            "gauge",
            "Whether the application's last sync completed (1) or not (0).",
            &|out| {
                for (app, f) in apps.iter() {
                    let _ = writeln!(
                        out,
                        "kiln_applier_synced{{app=\"{}\"}} {}",
                        esc(app),
                        u8::from(f.synced)
                    );
                }
            },
        );
        family(
            "kiln_applier_health",
            "gauge",
            "1 for the application's current health status, 0 for the others.",
            &|out| {
                for (app, f) in apps.iter() {
                    for s in [
                        HealthStatus::Healthy,
                        HealthStatus::Progressing,
                        HealthStatus::Missing,
                        HealthStatus::Degraded,
                    ] {
                        let _ = writeln!(
                            out,
                            "kiln_applier_health{{app=\"{}\",status=\"{s}\"}} {}",
                            esc(app),
                            u8::from(f.health == Some(s))
                        );
                    }
                }
            },
        );
        family(
            "kiln_applier_drifted_objects",
            "gauge",
            "Objects that differed from the render at the last drift check.",
            &|out| {
                for (app, f) in apps.iter() {
                    let _ = writeln!(
                        out,
                        "kiln_applier_drifted_objects{{app=\"{}\"}} {}",
                        esc(app),
                        f.drifted
                    );
                }
            },
        );
        family(
            "kiln_applier_syncs_total",
            "counter",
            "Syncs by result.",
            &|out| {
                for (app, f) in apps.iter() {
                    let _ = writeln!(
                        out,
                        "kiln_applier_syncs_total{{app=\"{}\",result=\"synced\"}} {}",
                        esc(app),
                        f.syncs_ok
                    );
                    let _ = writeln!(
                        out,
                        "kiln_applier_syncs_total{{app=\"{}\",result=\"failed\"}} {}",
                        esc(app),
                        f.syncs_failed
                    );
                }
            },
        );
        family(
            "kiln_applier_self_heals_total",
            "counter",
            "Syncs started by self-heal to correct drift.",
            &|out| {
                for (app, f) in apps.iter() {
                    let _ = writeln!(
                        out,
                        "kiln_applier_self_heals_total{{app=\"{}\"}} {}",
                        esc(app),
                        f.self_heals
                    );
                }
            },
        );
        family(
            "kiln_applier_last_sync_timestamp_seconds",
            "gauge",
            "Unix time of the last sync attempt that ran.",
            &|out| {
                for (app, f) in apps.iter() {
                    let _ = writeln!(
                        out,
                        "kiln_applier_last_sync_timestamp_seconds{{app=\"{}\"}} {}",
                        esc(app),
                        f.last_sync_seconds
                    );
                }
            },
        );
        family(
            "kiln_applier_synced_commit_info",
            "gauge",
            "The last commit fully synced, as a label.",
            &|out| {
                for (app, f) in apps.iter().filter(|(_, f)| !f.commit.is_empty()) {
                    let _ = writeln!(
                        out,
                        "kiln_applier_synced_commit_info{{app=\"{}\",commit=\"{}\"}} 1",
                        esc(app),
                        esc(&f.commit)
                    );
                }
            },
        );
        out
    }
}

/// A label value escaped as the text format requires.
fn esc(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Answers `GET /metrics` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) -> Result<()> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut request = Vec::with_capacity(1024);
            let mut buf = [0u8; 1024];
            // Read the request head (bounded); the body, if any, is ignored.
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let (status, body) = if line.starts_with("GET /metrics ") {
                ("200 OK", metrics.render())
            } else {
                ("404 Not Found", "not found; see /metrics\n".to_owned())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}
