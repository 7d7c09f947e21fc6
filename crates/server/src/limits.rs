//! Per-caller limits and the bounded render queue.
//!
//! [`Limits::default`] lists every default. Each limit says what it bounds
//! and what it does not:
//!
//! * **Rate** (`rate_per_second`, `burst`): a token bucket per caller
//!   identity (token name, mTLS client subject, or peer IP address). Counts
//!   calls, not their cost: a cached answer and a cold render weigh the same.
//!   Health checks are not counted.
//! * **Concurrency per caller**: calls of one caller in flight at once,
//!   including open streams (a WatchRevision holds one slot while it is
//!   open). A call over the limit is refused at once, never queued.
//! * **Render queue** (`render_concurrency`, `render_queue`): renders
//!   (kiln.v1 GenerateManifests, Argo CD GenerateManifest) of all callers
//!   together. Beyond `render_concurrency` running, up to `render_queue` wait
//!   in arrival order; one more is RESOURCE_EXHAUSTED. A waiting render whose
//!   `grpc-timeout` is shorter than the expected wait (the average time a
//!   render held its slot, times the renders ahead of it, over the
//!   concurrency) is answered DEADLINE_EXCEEDED at once rather than after
//!   waiting in vain. It bounds renders, not fetches or metadata calls.
//! * **Message sizes** (`max_request_bytes`, `max_response_bytes`): one
//!   decoded request message, and the whole of one response (the sum of a
//!   GenerateManifests stream's manifests).
//!
//! Every refusal is counted in the metrics (`kiln_limits_hit_total`).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

/// The limits of the server. `0` turns a per-caller limit off.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Calls per second per caller, refilled continuously (0: no limit).
    pub rate_per_second: f64,
    /// Calls a caller may make at once after being idle (bucket size).
    pub burst: u32,
    /// Calls of one caller in flight at once (0: no limit).
    pub concurrency_per_caller: usize,
    /// Renders running at once over all callers.
    pub render_concurrency: usize,
    /// Renders waiting for a slot; one more is refused.
    pub render_queue: usize,
    /// Largest request message, in bytes.
    pub max_request_bytes: usize,
    /// Largest response, in bytes.
    pub max_response_bytes: usize,
}

impl Default for Limits {
    /// No rate or per-caller limit; renders: twice the CPUs running and 256
    /// waiting; requests up to 4 MiB, responses up to 256 MiB.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            rate_per_second: 0.0,
            burst: 0,
            concurrency_per_caller: 0,
            render_concurrency: cpus * 2,
            render_queue: 256,
            max_request_bytes: 4 << 20,
            max_response_bytes: 256 << 20,
        }
    }
}

/// Callers remembered at most; idle ones are forgotten beyond this.
const MAX_CALLERS: usize = 4096;

struct CallerState {
    tokens: f64,
    refilled: Instant,
    inflight: Arc<Semaphore>,
}

/// Per-caller rate and concurrency state.
pub(crate) struct CallerLimits {
    limits: Limits,
    callers: Mutex<HashMap<Arc<str>, CallerState>>,
}

/// Why a call was refused (the label of `kiln_limits_hit_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    /// The caller's token bucket was empty.
    Rate,
    /// The caller had its maximum of calls in flight.
    Concurrency,
    /// The render queue was full.
    QueueFull,
    /// The caller's deadline could not be met in the render queue.
    QueueDeadline,
    /// A response was over `max_response_bytes`.
    ResponseSize,
}

impl LimitKind {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Rate => "rate",
            LimitKind::Concurrency => "concurrency",
            LimitKind::QueueFull => "render_queue_full",
            LimitKind::QueueDeadline => "render_queue_deadline",
            LimitKind::ResponseSize => "response_size",
        }
    }
}

impl CallerLimits {
    pub(crate) fn new(limits: Limits) -> Self {
        CallerLimits {
            limits,
            callers: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from the caller's bucket and a slot of its
    /// concurrency; the slot is held by the returned permit.
    pub(crate) fn admit(
        &self,
        identity: &Arc<str>,
    ) -> Result<Option<OwnedSemaphorePermit>, (LimitKind, Status)> {
        let l = &self.limits;
        if l.rate_per_second <= 0.0 && l.concurrency_per_caller == 0 {
            return Ok(None);
        }
        let now = Instant::now();
        let mut callers = self.callers.lock().unwrap_or_else(|e| e.into_inner());
        if callers.len() >= MAX_CALLERS && !callers.contains_key(identity) {
            let burst = f64::from(l.burst.max(1));
            callers.retain(|_, c| {
                c.inflight.available_permits() < l.concurrency_per_caller
                    || (c.tokens < burst
                        && now.duration_since(c.refilled) < Duration::from_secs(60))
            });
        }
        let st = callers
            .entry(identity.clone())
            .or_insert_with(|| CallerState {
                tokens: f64::from(l.burst.max(1)),
                refilled: now,
                inflight: Arc::new(Semaphore::new(l.concurrency_per_caller.max(1))),
            });
        if l.rate_per_second > 0.0 {
            let burst = f64::from(l.burst.max(1));
            let elapsed = now.duration_since(st.refilled).as_secs_f64();
            st.tokens = (st.tokens + elapsed * l.rate_per_second).min(burst);
            st.refilled = now;
            if st.tokens < 1.0 {
                return Err((
                    LimitKind::Rate,
                    Status::resource_exhausted(format!(
                        "caller {identity} is over its rate limit of {} calls per second (burst {})",
                        l.rate_per_second,
                        l.burst.max(1)
                    )),
                ));
            }
            st.tokens -= 1.0;
        }
        if l.concurrency_per_caller == 0 {
            return Ok(None);
        }
        match st.inflight.clone().try_acquire_owned() {
            Ok(p) => Ok(Some(p)),
            Err(_) => Err((
                LimitKind::Concurrency,
                Status::resource_exhausted(format!(
                    "caller {identity} already has {} calls in flight (its concurrency limit)",
                    l.concurrency_per_caller
                )),
            )),
        }
    }
}

/// The bounded queue of renders.
pub(crate) struct RenderQueue {
    slots: Arc<Semaphore>,
    concurrency: usize,
    max_waiting: usize,
    waiting: AtomicUsize,
    /// Exponentially weighted average time a render held its slot, in µs.
    average_us: Arc<AtomicU64>,
}

/// A render slot; dropping it frees the slot and updates the average.
pub(crate) struct RenderSlot {
    _permit: OwnedSemaphorePermit,
    since: Instant,
    average_us: Arc<AtomicU64>,
}

impl Drop for RenderSlot {
    fn drop(&mut self) {
        let took = self.since.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
        let old = self.average_us.load(Ordering::Relaxed);
        let new = if old == 0 { took } else { (old * 7 + took) / 8 };
        self.average_us.store(new, Ordering::Relaxed);
    }
}

struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl RenderQueue {
    pub(crate) fn new(concurrency: usize, max_waiting: usize) -> Self {
        let concurrency = concurrency.max(1);
        RenderQueue {
            slots: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            max_waiting,
            waiting: AtomicUsize::new(0),
            average_us: Arc::new(AtomicU64::new(0)),
        }
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> RenderSlot {
        RenderSlot {
            _permit: permit,
            since: Instant::now(),
            average_us: self.average_us.clone(),
        }
    }

    /// The expected wait of a render that would queue behind `ahead` others.
    fn expected_wait(&self, ahead: usize) -> Duration {
        let avg = self.average_us.load(Ordering::Relaxed);
        let rounds = (ahead as u64 + 1).div_ceil(self.concurrency as u64);
        Duration::from_micros(avg.saturating_mul(rounds))
    }

    /// A render slot, waiting at most `deadline`.
    pub(crate) async fn admit(
        &self,
        deadline: Option<Duration>,
    ) -> Result<RenderSlot, (LimitKind, Status)> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(self.slot(p));
        }
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if ahead >= self.max_waiting {
            return Err((
                LimitKind::QueueFull,
                Status::resource_exhausted(format!(
                    "the render queue is full ({} renders running, {} waiting)",
                    self.concurrency, self.max_waiting
                )),
            ));
        }
        let Some(deadline) = deadline else {
            let p = self.slots.clone().acquire_owned().await.map_err(|_| {
                (
                    LimitKind::QueueFull,
                    Status::unavailable("the render queue is closed"),
                )
            })?;
            return Ok(self.slot(p));
        };
        let expected = self.expected_wait(ahead);
        let late = || {
            Status::deadline_exceeded(format!(
                "the caller's deadline of {} ms cannot be met: {} renders are queued ahead, \
                 about {} ms of waiting",
                deadline.as_millis(),
                ahead,
                expected.as_millis()
            ))
        };
        if expected >= deadline {
            return Err((LimitKind::QueueDeadline, late()));
        }
        // Answer before tonic's own timer (which would say CANCELLED).
        let wait = crate::deadline::early(deadline);
        match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(self.slot(p)),
            Ok(Err(_)) => Err((
                LimitKind::QueueFull,
                Status::unavailable("the render queue is closed"),
            )),
            Err(_) => Err((LimitKind::QueueDeadline, late())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: f64, burst: u32, conc: usize) -> Limits {
        Limits {
            rate_per_second: rate,
            burst,
            concurrency_per_caller: conc,
            ..Limits::default()
        }
    }

    #[test]
    fn token_bucket_per_caller() {
        let l = CallerLimits::new(limits(0.001, 2, 0));
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        assert!(l.admit(&a).is_ok());
        assert!(l.admit(&a).is_ok());
        let e = l.admit(&a).err();
        assert_eq!(e.as_ref().map(|e| e.0), Some(LimitKind::Rate));
        assert_eq!(e.map(|e| e.1.code()), Some(tonic::Code::ResourceExhausted));
        // Another caller has its own bucket.
        assert!(l.admit(&b).is_ok());
    }

    #[test]
    fn concurrency_per_caller() {
        let l = CallerLimits::new(limits(0.0, 0, 1));
        let a: Arc<str> = "a".into();
        let held = l.admit(&a);
        assert!(matches!(held, Ok(Some(_))));
        assert_eq!(l.admit(&a).err().map(|e| e.0), Some(LimitKind::Concurrency));
        drop(held);
        assert!(l.admit(&a).is_ok());
    }

    #[tokio::test]
    async fn queue_full_and_deadlines() {
        let q = Arc::new(RenderQueue::new(1, 1));
        let first = q.admit(None).await;
        assert!(first.is_ok());
        // One may wait; with no average yet it is not refused early.
        let q2 = q.clone();
        let waiter =
            tokio::spawn(async move { q2.admit(Some(Duration::from_secs(5))).await.is_ok() });
        while q.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        // The queue is full now.
        let full = q.admit(Some(Duration::from_secs(5))).await.err();
        assert_eq!(full.as_ref().map(|e| e.0), Some(LimitKind::QueueFull));
        assert_eq!(
            full.map(|e| e.1.code()),
            Some(tonic::Code::ResourceExhausted)
        );
        drop(first);
        assert!(waiter.await.unwrap_or(false));
    }

    #[tokio::test]
    async fn refuses_at_once_a_deadline_it_cannot_meet() {
        let q = RenderQueue::new(1, 10);
        q.average_us.store(2_000_000, Ordering::Relaxed);
        let _running = q.admit(None).await;
        let started = Instant::now();
        let e = q.admit(Some(Duration::from_millis(500))).await.err();
        assert_eq!(e.as_ref().map(|e| e.0), Some(LimitKind::QueueDeadline));
        assert_eq!(e.map(|e| e.1.code()), Some(tonic::Code::DeadlineExceeded));
        assert!(started.elapsed() < Duration::from_millis(200));
        // A short wait that times out is DEADLINE_EXCEEDED too.
        q.average_us.store(1, Ordering::Relaxed);
        let e = q.admit(Some(Duration::from_millis(30))).await.err();
        assert_eq!(e.map(|e| e.0), Some(LimitKind::QueueDeadline));
    }
}
