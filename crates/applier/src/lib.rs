//! The Kiln applier: Application files, the apply/prune plan, the sync of
//! rendered manifests into a cluster with server-side apply and an in-cluster
//! inventory, health assessment, and drift detection with self-heal. It
//! renders nothing itself and has no Git of its own: manifests come from the
//! kiln.v1 API (the `kiln apply` command fetches them).
//!
//! ```no_run
//! # async fn example(client: kube::Client, manifests: Vec<String>) -> Result<(), kiln_applier::Error> {
//! use std::path::Path;
//! let apps = kiln_applier::load_applications(Path::new("apps/"))?;
//! let params = kiln_applier::SyncParams { commit: "0123abc".into(), ..Default::default() };
//! let outcome = kiln_applier::reconcile::apply(&client, &apps[0], &manifests, &params, None).await?;
//! assert!(outcome.report.is_synced());
//! # Ok(()) }
//! ```

mod error;

pub mod app;
pub mod diff;
pub mod drift;
pub mod health;
pub mod object;
pub mod plan;
pub mod reconcile;
pub mod sync;

pub use app::{Application, load_applications, parse_applications};
pub use error::Error;
pub use object::ObjectId;
pub use plan::{Plan, plan};
pub use sync::{AppStatus, FIELD_MANAGER, SyncParams, SyncReport, sync, sync_once};
