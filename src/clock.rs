//! Where the layer and the signer read the time.
//!
//! Links carry absolute Unix seconds, so the only clock the crate needs is "seconds since the
//! epoch". It is a trait so tests (yours and ours) can pin the time instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in whole Unix seconds.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now_unix(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        // A clock set before 1970 reads as 0: every link then looks far in the future, which
        // the maximum-lifetime check rejects, so a broken clock fails closed.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that stands still until told to move; cheap to clone, and clones share the time.
///
/// ```
/// use tower_secure_link::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_700_000_000);
/// let seen_by_layer = clock.clone();
/// clock.advance(60);
/// assert_eq!(seen_by_layer.now_unix(), 1_700_000_060);
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `now_unix` until it is set or advanced.
    pub fn new(now_unix: u64) -> Self {
        Self {
            now: Arc::new(AtomicU64::new(now_unix)),
        }
    }

    /// Sets the time for this clock and all its clones.
    pub fn set(&self, now_unix: u64) {
        self.now.store(now_unix, Ordering::SeqCst);
    }

    /// Moves the time forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now_unix", &self.now_unix())
            .finish()
    }
}
