//! WatchRevision: one poller per repository, shared by every watcher.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use kiln_git::{GitCache, Mirror};
use tokio::sync::watch;
use tracing::{Instrument, debug, info_span};

/// Per-repository pollers and the revisions each one follows.
pub(crate) struct WatchHub {
    git: Arc<GitCache>,
    polls: Mutex<HashMap<String, Arc<RepoPoll>>>,
}

struct RepoPoll {
    mirror: Arc<Mirror>,
    revisions: Mutex<HashMap<String, watch::Sender<String>>>,
}

impl WatchHub {
    pub(crate) fn new(git: Arc<GitCache>) -> Arc<Self> {
        Arc::new(WatchHub {
            git,
            polls: Mutex::new(HashMap::new()),
        })
    }

    /// Subscribes to a revision whose current commit is `current`; starts the
    /// repository's poller if it has none.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        mirror: Arc<Mirror>,
        revision: &str,
        current: String,
    ) -> watch::Receiver<String> {
        let key = mirror.url().key().to_owned();
        let mut polls = self.polls.lock().unwrap_or_else(|e| e.into_inner());
        let poll = polls.entry(key.clone()).or_insert_with(|| {
            let poll = Arc::new(RepoPoll {
                mirror,
                revisions: Mutex::new(HashMap::new()),
            });
            let hub = self.clone();
            let p = poll.clone();
            let span = info_span!("watch_poller", repo = %key);
            tokio::spawn(async move { hub.run(key, p).await }.instrument(span));
            poll
        });
        let mut revs = poll.revisions.lock().unwrap_or_else(|e| e.into_inner());
        match revs.get(revision) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(current);
                revs.insert(revision.to_owned(), tx);
                rx
            }
        }
    }

    async fn run(self: Arc<Self>, key: String, poll: Arc<RepoPoll>) {
        let interval = self
            .git
            .options()
            .fetch_interval
            .max(Duration::from_millis(50));
        loop {
            tokio::time::sleep(interval).await;
            {
                // Drop revisions nobody watches; stop when none is left. The
                // hub lock is held so a new subscriber cannot slip in between.
                let mut polls = self.polls.lock().unwrap_or_else(|e| e.into_inner());
                let mut revs = poll.revisions.lock().unwrap_or_else(|e| e.into_inner());
                revs.retain(|_, tx| tx.receiver_count() > 0);
                if revs.is_empty() {
                    polls.remove(&key);
                    debug!("no watchers left; poller stops");
                    return;
                }
            }
            if let Err(e) = self.git.refresh(&poll.mirror, interval).await {
                debug!(error = %e, "poll fetch failed; will retry");
                continue;
            }
            let revs: Vec<(String, watch::Sender<String>)> = poll
                .revisions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(r, tx)| (r.clone(), tx.clone()))
                .collect();
            for (rev, tx) in revs {
                if let Ok(Some(r)) = self.git.resolve_offline(&poll.mirror, &rev) {
                    let sha = r.commit.to_hex();
                    tx.send_if_modified(|cur| {
                        if *cur != sha {
                            *cur = sha.clone();
                            true
                        } else {
                            false
                        }
                    });
                }
            }
        }
    }
}
