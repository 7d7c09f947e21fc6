//! The Kiln applier: Application files, the apply/prune plan, and the sync of
//! rendered manifests into a cluster with server-side apply and an in-cluster
//! inventory. It renders nothing itself: manifests come from the kiln.v1 API.

mod error;

pub mod app;
pub mod object;
pub mod plan;
pub mod sync;

pub use app::{Application, load_applications, parse_applications};
pub use error::Error;
pub use object::ObjectId;
pub use plan::{Plan, plan};
pub use sync::{FIELD_MANAGER, SyncReport, sync_once};
