//! The default store: a bounded map in this process.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::{ConsumeFuture, NonceStore, StoreError, Use};

/// How many nonces the memory store holds unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// One-time link state in this process: right for a single server, wrong for a fleet (use the
/// Redis store there). Needs no background task and no particular runtime: expired nonces are
/// purged as new ones arrive. When `capacity` live nonces are held, new one-time links get 503
/// until some expire, rather than letting old ones be forgotten and replayed.
///
/// ```
/// use tower_secure_link::one_time::{MemoryNonceStore, NonceStore, Use};
/// # futures_executor_stub::block_on(async {
/// let store = MemoryNonceStore::with_capacity(10);
/// let nonce = "q83vEjRWeJq83vEjRWeJqw";
/// assert_eq!(store.consume(nonce, 100, 200).await, Ok(Use::First));
/// assert_eq!(store.consume(nonce, 150, 200).await, Ok(Use::Repeated { first_used_at: 100 }));
/// # });
/// # mod futures_executor_stub {
/// #     pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #         tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// #     }
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryNonceStore {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Nonce → first use.
    used: HashMap<u128, u64>,
    /// (keep until, nonce), soonest first, for purging.
    expiry: BinaryHeap<Reverse<(u64, u128)>>,
}

impl MemoryNonceStore {
    /// A store for up to [`DEFAULT_CAPACITY`] live nonces.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A store for up to `capacity` live nonces.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    /// How many nonces are held now (expired ones included until the next purge).
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |state| state.used.len())
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record(&self, nonce: &str, now: u64, keep_until: u64) -> Result<Use, StoreError> {
        let mut bytes = [0u8; 16];
        match URL_SAFE_NO_PAD.decode_slice(nonce, &mut bytes) {
            Ok(16) => {}
            _ => return Err(StoreError::new("not a nonce")),
        }
        let key = u128::from_be_bytes(bytes);
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::new("the memory store's lock is poisoned"))?;
        let State { used, expiry } = &mut *state;
        while let Some(Reverse((until, old))) = expiry.peek().copied() {
            if until >= now {
                break;
            }
            expiry.pop();
            used.remove(&old);
        }
        if let Some(&first_used_at) = used.get(&key) {
            return Ok(Use::Repeated { first_used_at });
        }
        if used.len() >= self.capacity {
            return Err(StoreError::new("the memory store is full"));
        }
        used.insert(key, now);
        expiry.push(Reverse((keep_until, key)));
        Ok(Use::First)
    }
}

impl Default for MemoryNonceStore {
    fn default() -> Self {
        Self::new()
    }
}

impl NonceStore for MemoryNonceStore {
    fn consume(&self, nonce: &str, now: u64, keep_until: u64) -> ConsumeFuture {
        ConsumeFuture::ready(self.record(nonce, now, keep_until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAAAAAAAAAAAAAAAAAAAAA";
    const B: &str = "AAAAAAAAAAAAAAAAAAAAAQ";
    const C: &str = "AAAAAAAAAAAAAAAAAAAAAg";

    #[test]
    fn first_use_wins_and_expired_nonces_are_purged() {
        let store = MemoryNonceStore::with_capacity(2);
        assert_eq!(store.record(A, 10, 20), Ok(Use::First));
        assert_eq!(
            store.record(A, 11, 20),
            Ok(Use::Repeated { first_used_at: 10 })
        );
        assert_eq!(store.record(B, 12, 30), Ok(Use::First));
        // Full: refuse rather than forget a live nonce.
        assert!(store.record(C, 13, 30).is_err());
        assert_eq!(
            store.record(A, 20, 20),
            Ok(Use::Repeated { first_used_at: 10 })
        );
        // Past A's keep-until, A is purged and C fits.
        assert_eq!(store.record(C, 21, 30), Ok(Use::First));
        assert_eq!(store.len(), 2);
        assert!(store.record("not a nonce", 21, 30).is_err());
    }
}
