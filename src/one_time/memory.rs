//! The default store: a bounded map in this process.

use std::cmp::Reverse;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Attempt, ConsumeFuture, Durability, NonceStore, StoreError, StoreFuture, Use};
use crate::token::SEXTETS;

/// How many nonces the memory store holds unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// One-time link state in this process: right for a single server, wrong for a fleet (use the
/// Redis store there). Needs no background task and no particular runtime: nonces that can no
/// longer be used are forgotten as new ones arrive. When `capacity` live nonces are held, new
/// one-time links get 503 until some can be forgotten, rather than letting live ones be
/// forgotten and replayed.
///
/// A nonce is forgotten only when two clocks agree: the layer's clock says no host within the
/// leeway could still accept its link, **and** the time the layer asked the store to keep it
/// has passed on this process's monotonic clock. A wall clock stepped backwards (links verify
/// again) or forwards (and back) can therefore never drop a nonce whose link could still
/// verify.
///
/// A use given back ([`NonceStore::release`], after the application failed the request) is
/// forgotten at once, if it is still that attempt's; a later use of the nonce starts afresh.
///
/// A live nonce costs about 85 bytes (measured at 100,000 by `tests/allocations.rs`: the map
/// entry, the forgetting queue's entry and their spare capacity).
///
/// Everything is lost when the process restarts: a link used before a restart can be used
/// once more after it, and a revoked group works again. Use the Redis store, with persistence,
/// where that matters; revoking on this store needs
/// [`Revocation::allow_volatile`](super::Revocation::allow_volatile).
///
/// ```
/// use std::time::Duration;
/// use tower_secure_link::one_time::{MemoryNonceStore, NonceStore, Use};
/// # futures_executor_stub::block_on(async {
/// let store = MemoryNonceStore::with_capacity(10);
/// let nonce = "q83vEjRWeJq83vEjRWeJqw";
/// let keep = Duration::from_secs(100);
/// assert_eq!(store.consume(nonce, 100, keep).await, Ok(Use::First));
/// assert_eq!(store.consume(nonce, 150, keep).await, Ok(Use::Repeated { first_used_at: 100 }));
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
    ticks: Ticks,
    state: Mutex<State>,
}

/// Whole seconds on a clock that never steps.
#[derive(Debug)]
enum Ticks {
    Monotonic(Instant),
    #[cfg(test)]
    Manual(std::sync::Arc<std::sync::atomic::AtomicU64>),
}

impl Ticks {
    fn now(&self) -> u64 {
        match self {
            Ticks::Monotonic(origin) => origin.elapsed().as_secs(),
            #[cfg(test)]
            Ticks::Manual(now) => now.load(std::sync::atomic::Ordering::SeqCst),
        }
    }
}

#[derive(Debug)]
struct State {
    /// Nonce → its use.
    used: HashMap<u128, Record, NonceHash>,
    /// Revoked group → until when on the layer's clock and on the monotonic clock; it is
    /// forgotten only when both have passed, as nonces are.
    revoked: HashMap<String, (u64, u64)>,
    /// Nonces by when they may be looked at for forgetting, soonest first.
    forget: BinaryHeap<Reverse<Entry>>,
}

impl State {
    fn new() -> Self {
        Self {
            used: HashMap::with_hasher(NonceHash::random()),
            revoked: HashMap::new(),
            forget: BinaryHeap::new(),
        }
    }
}

/// Hashes nonces with a multiply under a random key instead of SipHash. Nonces are 128 random
/// bits inside signed links, so nobody without the minting secret picks them, and the random key
/// keeps even a minter's chosen nonces from landing in one bucket on purpose. SipHash cost a
/// quarter of the store's time per use.
#[derive(Debug, Clone, Copy)]
struct NonceHash {
    key: u64,
}

impl NonceHash {
    fn random() -> Self {
        let mut key = [0u8; 8];
        // Without randomness the key is fixed; the nonces themselves stay random.
        let _ = getrandom::getrandom(&mut key);
        Self {
            key: u64::from_ne_bytes(key) | 1,
        }
    }
}

impl BuildHasher for NonceHash {
    type Hasher = NonceHasher;
    fn build_hasher(&self) -> NonceHasher {
        NonceHasher {
            key: self.key,
            state: 0,
        }
    }
}

/// See [`NonceHash`].
#[derive(Debug)]
struct NonceHasher {
    key: u64,
    state: u64,
}

impl Hasher for NonceHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_ne_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        // Fold with a multiply by the odd key; the table uses the top bits as well as the low.
        let mixed = (self.state ^ word).wrapping_mul(self.key);
        self.state = mixed ^ (mixed >> 29);
    }

    fn write_u128(&mut self, word: u128) {
        self.write_u64(word as u64);
        self.write_u64((word >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

/// A nonce's use: when (layer clock), and by which attempt.
#[derive(Debug, Clone, Copy)]
struct Record {
    first_used_at: u64,
    tag: u32,
}

/// The part of an attempt's id the store keeps: the low bits, which differ between any two of
/// the last 2^32 attempts in this process. With the monotonic deadline in 32 bits as well, an
/// entry stays 32 bytes.
fn tag(attempt: Attempt) -> u32 {
    attempt.id() as u32
}

/// A nonce's use and its two deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    /// Not before this many seconds on the monotonic clock (136 years saturate: never).
    tick: u32,
    /// Which use of the nonce this is: a use given back leaves its entry behind, which must
    /// not forget a later use.
    tag: u32,
    /// Not before the layer's clock passes this (the last moment the link could verify).
    until: u64,
    nonce: u128,
}

/// A monotonic deadline as an entry keeps it.
fn tick_at(seconds: u64) -> u32 {
    u32::try_from(seconds).unwrap_or(u32::MAX)
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
            ticks: Ticks::Monotonic(Instant::now()),
            state: Mutex::new(State::new()),
        }
    }

    /// How many nonces are held now (forgettable ones included until the next use).
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |state| state.used.len())
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record(
        &self,
        nonce: &str,
        now: u64,
        keep_for: Duration,
        attempt: Attempt,
    ) -> Result<Use, StoreError> {
        let key = nonce_bits(nonce).ok_or_else(|| StoreError::new("not a nonce"))?;
        let tick = self.ticks.now();
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::new("the memory store's lock is poisoned"))?;
        let State { used, forget, .. } = &mut *state;
        while let Some(Reverse(entry)) = forget.peek().copied() {
            if u64::from(entry.tick) > tick {
                break;
            }
            forget.pop();
            let current = used
                .get(&entry.nonce)
                .is_some_and(|record| record.tag == entry.tag);
            if !current {
                // A use given back: nothing of it is left to forget.
                continue;
            }
            if entry.until < now {
                used.remove(&entry.nonce);
            } else {
                // The wall clock disagrees (it stepped back): look again once the rest of the
                // link's life has passed on the monotonic clock.
                forget.push(Reverse(Entry {
                    tick: tick_at(tick.saturating_add(entry.until - now).saturating_add(1)),
                    ..entry
                }));
            }
        }
        let full = used.len() >= self.capacity;
        match used.entry(key) {
            MapEntry::Occupied(first) => {
                return Ok(Use::Repeated {
                    first_used_at: first.get().first_used_at,
                })
            }
            MapEntry::Vacant(_) if full => return Err(StoreError::new("the memory store is full")),
            MapEntry::Vacant(slot) => {
                slot.insert(Record {
                    first_used_at: now,
                    tag: tag(attempt),
                });
            }
        }
        // Rounded up, so a nonce is never looked at before its time.
        let keep = keep_for.as_secs() + u64::from(keep_for.subsec_nanos() > 0);
        forget.push(Reverse(Entry {
            tick: tick_at(tick.saturating_add(keep).saturating_add(1)),
            tag: tag(attempt),
            until: now.saturating_add(keep),
            nonce: key,
        }));
        Ok(Use::First)
    }

    /// Forgets `attempt`'s use of `nonce`, if the nonce is still recorded as that use.
    fn give_back(&self, nonce: &str, attempt: Attempt) -> Result<(), StoreError> {
        let Some(key) = nonce_bits(nonce) else {
            // Never recorded: nothing to give back.
            return Ok(());
        };
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::new("the memory store's lock is poisoned"))?;
        let State { used, forget, .. } = &mut *state;
        if !used
            .get(&key)
            .is_some_and(|record| record.tag == tag(attempt))
        {
            return Ok(());
        }
        used.remove(&key);
        // Each use given back leaves its entry in the queue until its deadline, so a link whose
        // requests keep failing would grow the queue without bound. Dropping those entries
        // whenever they outnumber the live ones keeps it within twice the map, at a constant
        // cost per use.
        if forget.len() > used.len().saturating_mul(2).saturating_add(64) {
            forget.retain(|Reverse(entry)| {
                used.get(&entry.nonce)
                    .is_some_and(|record| record.tag == entry.tag)
            });
        }
        Ok(())
    }
}

/// The 128 bits a nonce (22 characters of base64url) stands for, or `None` when it is not one
/// in canonical form. A table lookup per character, with no branch on its value: nonces are
/// random, so branching per character mispredicts about every other time.
fn nonce_bits(nonce: &str) -> Option<u128> {
    let (head, last): (&[u8; 21], &u8) = match nonce.as_bytes() {
        [head @ .., last] => (head.try_into().ok()?, last),
        [] => return None,
    };
    let mut bits = 0u128;
    let mut outside = 0u8;
    for &char in head {
        let value = SEXTETS[usize::from(char)];
        outside |= value;
        bits = bits << 6 | u128::from(value & 63);
    }
    // 21 characters carry 126 bits; the last one two more and four that must be zero. 0xFF
    // marks a byte outside the alphabet; valid values stay below 64.
    let last = SEXTETS[usize::from(*last)];
    (outside & 0xC0 == 0 && last & 0xCF == 0).then_some(bits << 2 | u128::from(last >> 4))
}

impl Default for MemoryNonceStore {
    fn default() -> Self {
        Self::new()
    }
}

impl NonceStore for MemoryNonceStore {
    fn consume(&self, nonce: &str, used_at: u64, keep_for: Duration) -> ConsumeFuture {
        self.consume_attempt(nonce, used_at, keep_for, Attempt::fresh())
    }

    fn consume_attempt(
        &self,
        nonce: &str,
        used_at: u64,
        keep_for: Duration,
        attempt: Attempt,
    ) -> ConsumeFuture {
        ConsumeFuture::ready(self.record(nonce, used_at, keep_for, attempt))
    }

    fn release(&self, nonce: &str, attempt: Attempt) -> StoreFuture<()> {
        StoreFuture::ready(self.give_back(nonce, attempt))
    }

    fn revoke(&self, group: &str, now: u64, keep_for: Duration) -> StoreFuture<()> {
        let keep = keep_for.as_secs() + u64::from(keep_for.subsec_nanos() > 0);
        let deadlines = (
            now.saturating_add(keep),
            self.ticks.now().saturating_add(keep).saturating_add(1),
        );
        StoreFuture::ready(match self.state.lock() {
            Ok(mut state) => {
                let entry = state.revoked.entry(group.to_owned()).or_insert(deadlines);
                *entry = (entry.0.max(deadlines.0), entry.1.max(deadlines.1));
                Ok(())
            }
            Err(_) => Err(StoreError::new("the memory store's lock is poisoned")),
        })
    }

    fn durability(&self) -> StoreFuture<Durability> {
        StoreFuture::ready(Ok(Durability::LostOnRestart))
    }

    fn is_revoked(&self, group: &str, now: u64) -> StoreFuture<bool> {
        let tick = self.ticks.now();
        StoreFuture::ready(match self.state.lock() {
            Ok(mut state) => {
                let revoked = state
                    .revoked
                    .get(group)
                    .is_some_and(|(until, tick_until)| now <= *until || tick < *tick_until);
                if !revoked {
                    state.revoked.remove(group);
                }
                Ok(revoked)
            }
            Err(_) => Err(StoreError::new("the memory store's lock is poisoned")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    const A: &str = "AAAAAAAAAAAAAAAAAAAAAA";
    const B: &str = "AAAAAAAAAAAAAAAAAAAAAQ";
    const C: &str = "AAAAAAAAAAAAAAAAAAAAAg";
    const TEN: Duration = Duration::from_secs(10);

    fn store(capacity: usize) -> (MemoryNonceStore, Arc<AtomicU64>) {
        let ticks = Arc::new(AtomicU64::new(0));
        let store = MemoryNonceStore {
            ticks: Ticks::Manual(ticks.clone()),
            ..MemoryNonceStore::with_capacity(capacity)
        };
        (store, ticks)
    }

    #[test]
    fn nonce_bits_agree_with_base64url() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        for round in 0..=255u8 {
            let bytes: [u8; 16] =
                std::array::from_fn(|at| round.wrapping_mul(29).wrapping_add(at as u8 * 13));
            let text = URL_SAFE_NO_PAD.encode(bytes);
            assert_eq!(
                nonce_bits(&text),
                Some(u128::from_be_bytes(bytes)),
                "{text}"
            );
        }
        let cases = [
            ("empty", ""),
            ("one short", "AAAAAAAAAAAAAAAAAAAAA"),
            ("one long", "AAAAAAAAAAAAAAAAAAAAAAA"),
            ("padding", "AAAAAAAAAAAAAAAAAAAA=="),
            ("standard alphabet", "AAAAAAAAAAAAAAAAAAAA+A"),
            ("trailing bits set", "AAAAAAAAAAAAAAAAAAAAAB"),
            ("non-ascii", "AAAAAAAAAAAAAAAAAAAé"),
        ];
        for (name, text) in cases {
            assert_eq!(nonce_bits(text), None, "{name}");
        }
    }

    #[test]
    fn first_use_wins_and_spent_nonces_are_forgotten() {
        let (store, ticks) = store(2);
        assert_eq!(store.record(A, 10, TEN, Attempt::fresh()), Ok(Use::First));
        assert_eq!(
            store.record(A, 11, TEN, Attempt::fresh()),
            Ok(Use::Repeated { first_used_at: 10 })
        );
        assert_eq!(
            store.record(B, 12, Duration::from_secs(30), Attempt::fresh()),
            Ok(Use::First)
        );
        // Full: refuse rather than forget a live nonce.
        assert!(store.record(C, 13, TEN, Attempt::fresh()).is_err());
        // Both clocks past A's time: A is forgotten and C fits.
        ticks.store(12, Ordering::SeqCst);
        assert_eq!(store.record(C, 21, TEN, Attempt::fresh()), Ok(Use::First));
        assert_eq!(store.len(), 2);
        assert!(store
            .record("not a nonce", 21, TEN, Attempt::fresh())
            .is_err());
    }

    #[test]
    fn a_wall_clock_that_steps_never_drops_a_live_nonce() {
        struct Step {
            name: &'static str,
            wall: u64,
            ticks: u64,
            remembered: bool,
        }
        // A is used at wall time 1000 and must be kept 10 s: until wall 1010.
        #[rustfmt::skip]
        let steps = [
            Step { name: "wall clock jumps an hour ahead", wall: 4600, ticks: 1, remembered: true },
            Step { name: "and steps back", wall: 1001, ticks: 2, remembered: true },
            Step { name: "monotonic time passes, wall clock stepped back further", wall: 990, ticks: 50, remembered: true },
            Step { name: "wall clock behind while its link still verifies", wall: 1009, ticks: 80, remembered: true },
            Step { name: "both clocks past", wall: 1012, ticks: 120, remembered: false },
        ];
        let (store, ticks) = store(10);
        assert_eq!(store.record(A, 1000, TEN, Attempt::fresh()), Ok(Use::First));
        for step in steps {
            ticks.store(step.ticks, Ordering::SeqCst);
            let again = store.record(A, step.wall, TEN, Attempt::fresh());
            let expected = if step.remembered {
                Use::Repeated {
                    first_used_at: 1000,
                }
            } else {
                Use::First
            };
            assert_eq!(again, Ok(expected), "{}", step.name);
        }
    }

    #[test]
    fn a_use_is_given_back_only_by_the_attempt_that_made_it() {
        let (store, _) = store(10);
        let (first, stranger) = (Attempt::fresh(), Attempt::fresh());
        assert_eq!(store.record(A, 10, TEN, first), Ok(Use::First));
        assert_eq!(store.give_back(A, stranger), Ok(()));
        assert_eq!(
            store.record(A, 11, TEN, Attempt::fresh()),
            Ok(Use::Repeated { first_used_at: 10 }),
            "another attempt's give-back keeps the use"
        );
        assert_eq!(store.give_back(A, first), Ok(()));
        let later = Attempt::fresh();
        assert_eq!(store.record(A, 12, TEN, later), Ok(Use::First));
        // The first attempt's give-back again (late, or twice): the later use stays.
        assert_eq!(store.give_back(A, first), Ok(()));
        assert_eq!(
            store.record(A, 13, TEN, Attempt::fresh()),
            Ok(Use::Repeated { first_used_at: 12 })
        );
        assert_eq!(store.give_back("not a nonce", first), Ok(()));
    }

    #[test]
    fn the_entry_of_a_use_given_back_never_forgets_a_later_use() {
        let (store, ticks) = store(10);
        let first = Attempt::fresh();
        // Kept until wall 1010 and monotonic second 11.
        assert_eq!(store.record(A, 1000, TEN, first), Ok(Use::First));
        assert_eq!(store.give_back(A, first), Ok(()));
        // The wall clock stepped back 100 s: the next use must be kept 100 s longer.
        let keep = Duration::from_secs(110);
        assert_eq!(store.record(A, 900, keep, Attempt::fresh()), Ok(Use::First));
        // The first use's deadlines have both passed (the wall clock jumped ahead), the
        // second's monotonic one has not.
        ticks.store(20, Ordering::SeqCst);
        assert_eq!(
            store.record(A, 1011, TEN, Attempt::fresh()),
            Ok(Use::Repeated { first_used_at: 900 })
        );
    }

    #[test]
    fn a_link_whose_requests_keep_failing_does_not_grow_the_queue() {
        let (store, _) = store(10);
        assert_eq!(store.record(B, 10, TEN, Attempt::fresh()), Ok(Use::First));
        for round in 0..10_000u64 {
            let attempt = Attempt::fresh();
            assert_eq!(store.record(A, 10 + round, TEN, attempt), Ok(Use::First));
            assert_eq!(store.give_back(A, attempt), Ok(()));
        }
        let queued = store.state.lock().unwrap().forget.len();
        assert!(queued <= 2 + 64, "{queued} entries for one live nonce");
        assert_eq!(store.len(), 1);
    }
}
