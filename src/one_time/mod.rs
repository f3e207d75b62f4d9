//! One-time links: where the layer records that a link was used.
//!
//! A one-time link carries a random 128-bit nonce, bound into its signature. The layer checks
//! the signature, the times and the method first, and only then asks a [`NonceStore`] to record
//! the nonce's first use, in one atomic step: exactly one request wins, every later one gets
//! 410 Gone.
//!
//! # Rules
//!
//! - The method the link was minted for consumes it. A HEAD request on a GET link is answered
//!   without consuming (mail scanners and link previews probe with HEAD), and so is any request
//!   the layer refuses for another reason.
//! - The store keeps a nonce for a relative time computed on the verifying clock, until no host
//!   whose clock is within the leeway could still accept the link (`expiry + 2 × leeway`, plus a
//!   second): a store's own clock, or a clock step, never shortens it. Memory is bounded by the
//!   links alive at once.
//! - If the store cannot answer (Redis down or stalled, memory store full), the request gets 503
//!   and the resource is not served, and the attempt does not count as a use. Ordinary links do
//!   not touch the store and keep working.
//! - Restarts: the memory store forgets everything with its process; Redis keeps used nonces
//!   only as far as its persistence does (see `RedisNonceStore`, feature `redis`). A revocation
//!   on a store that would forget it is refused unless the caller allows it ([`Revocation`]).
//! - Resumed downloads: by default a one-time link admits exactly one request, so a broken
//!   download cannot resume. [`SecureLinkLayer::with_one_time_resume_window`] admits, for a
//!   short window after the first use, GET requests whose `Range` starts past byte 0 (a resume,
//!   never a fresh full copy), with `If-Range` removed (see [`ResumedDownload`]). That window is
//!   a deliberate trade: whoever holds the link may fetch the rest of the file during it.
//! - The application's failure is not a use: when the service behind the layer answers a
//!   request that used a link with a 5xx status, or its future fails, the layer gives the use
//!   back ([`NonceStore::release`]) and the link works again. A 4xx (a 404 for a missing file)
//!   is an answer and keeps the use; so does a request dropped before its answer, and a
//!   response whose body fails after its head was sent.
//!
//! ```
//! use axum::{body::Body, routing::get, Router};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_secure_link::{Key, SecureLinkLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
//! let link = layer.signer().link("/logo.png").one_time().to_target().unwrap();
//! let app = Router::new().route("/logo.png", get(|| async { "png" })).layer(layer);
//! let get = |target: &str| Request::get(target).body(Body::empty()).unwrap();
//! assert_eq!(app.clone().oneshot(get(&link)).await.unwrap().status(), StatusCode::OK);
//! assert_eq!(app.oneshot(get(&link)).await.unwrap().status(), StatusCode::GONE);
//! # }
//! ```
//!
//! [`SecureLinkLayer::with_one_time_resume_window`]: crate::SecureLinkLayer::with_one_time_resume_window

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

pub use memory::{MemoryNonceStore, DEFAULT_CAPACITY};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{
    Persistence, RedisNonceStore, RedisNonceStoreBuilder, DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT,
};

/// Records the use of one-time link nonces, atomically.
pub trait NonceStore: Send + Sync + 'static {
    /// Records that `nonce` is used now, unless it was used before.
    ///
    /// `used_at` is the verifying layer's clock (Unix seconds); a repeat reports the first
    /// use's. The store must remember the nonce for at least `keep_for` from now, measured on a
    /// clock that does not step: a relative time, never to be turned into an absolute time on
    /// another host's clock (the layer computes it with a margin for the clock skew it allows).
    ///
    /// When the store cannot tell whether its write landed (a timeout, a lost connection), it
    /// must answer an error and make sure the write does not count as a use: the layer answers
    /// 503, and a 503 never uses a link up.
    fn consume(&self, nonce: &str, used_at: u64, keep_for: Duration) -> ConsumeFuture;

    /// [`consume`](Self::consume) on behalf of `attempt`: a store that can give uses back
    /// records `attempt` with a first use, so that [`release`](Self::release) undoes that use
    /// and no other. The layer calls this one; the default calls `consume` and forgets the
    /// attempt.
    fn consume_attempt(
        &self,
        nonce: &str,
        used_at: u64,
        keep_for: Duration,
        attempt: Attempt,
    ) -> ConsumeFuture {
        let _ = attempt;
        self.consume(nonce, used_at, keep_for)
    }

    /// Gives back the use of `nonce` that `attempt` recorded, because the application failed
    /// the request (a 5xx, or an error instead of a response): the link can be used again.
    ///
    /// It must undo only that use: when the nonce's record is another attempt's (written after
    /// this one's was given back or forgotten), it stays. The default keeps the use, so a store
    /// that does not implement this (with [`consume_attempt`](Self::consume_attempt)) counts
    /// failed requests as uses.
    ///
    /// The failed answer does not wait for this. An answer that is ready at once is the whole
    /// story; a pending one is spawned on the tokio runtime the request runs on (with feature
    /// `redis`, which brings tokio) and dropped otherwise, the use then staying counted. A
    /// store that fails to give back keeps the use: an error here is never seen by a client.
    fn release(&self, nonce: &str, attempt: Attempt) -> StoreFuture<()> {
        let _ = (nonce, attempt);
        StoreFuture::ready(Ok(()))
    }

    /// Records that every link of revocation group `group` is refused from now on, for
    /// `keep_for` (a relative time, as for nonces) measured from `now` (the layer's clock).
    /// Stores that keep no revocations answer an error.
    ///
    /// [`SecureLinkLayer::revoke_group`](crate::SecureLinkLayer::revoke_group) asks
    /// [`durability`](Self::durability) first and calls this only for a store that keeps
    /// revocations across its restarts, or when the caller allowed a volatile revocation.
    fn revoke(&self, group: &str, now: u64, keep_for: Duration) -> StoreFuture<()> {
        let _ = (group, now, keep_for);
        StoreFuture::ready(Err(StoreError::new("this store keeps no revocations")))
    }

    /// Whether links of `group` are revoked at `now` (the layer's clock). Only links that carry
    /// a group ask; a store that cannot answer makes those links fail closed (503).
    fn is_revoked(&self, group: &str, now: u64) -> StoreFuture<bool> {
        let _ = (group, now);
        StoreFuture::ready(Err(StoreError::new("this store keeps no revocations")))
    }

    /// Whether what this store records outlives a restart of the store, asked before each
    /// revocation (a revocation that a restart forgets lets the group's links work again).
    /// A store that does not say is [`Durability::Unknown`], and its revocations are refused
    /// unless the caller allows volatile ones: a store that keeps revocations should say so.
    fn durability(&self) -> StoreFuture<Durability> {
        StoreFuture::ready(Ok(Durability::Unknown))
    }
}

/// Whether a store keeps what it records across its own restarts (see
/// [`NonceStore::durability`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Kept across restarts: Redis with an append-only file, or with RDB snapshots (which lose
    /// what was written since the last snapshot if Redis crashes rather than stops).
    Kept,
    /// Forgotten when the store restarts: the memory store (with its process), Redis without
    /// persistence.
    LostOnRestart,
    /// The store cannot say (a Redis that refuses `CONFIG GET`, a store that does not tell).
    Unknown,
}

impl Durability {
    /// Why a revocation on a store of this durability is refused, or `None` when it is kept.
    fn refusal(self) -> Option<&'static str> {
        match self {
            Durability::Kept => None,
            Durability::LostOnRestart => Some(
                "the store forgets revocations when it restarts (the memory store with its \
                 process, a Redis without appendonly or save), and the group's links would work \
                 again",
            ),
            Durability::Unknown => Some(
                "the store cannot say whether it keeps revocations across its restarts (a Redis \
                 that refuses CONFIG GET, or a store without NonceStore::durability)",
            ),
        }
    }
}

/// A revocation of one group, made by
/// [`SecureLinkLayer::revoke_group`](crate::SecureLinkLayer::revoke_group): `.await` it.
///
/// It is refused, with a [`StoreError`] of kind [`StoreErrorKind::WouldBeForgotten`], on a
/// store that would forget it when it restarts (or cannot say), because the revoked links would
/// then quietly work again. [`allow_volatile`](Self::allow_volatile) revokes there anyway.
///
/// ```
/// use tower_secure_link::one_time::StoreErrorKind;
/// use tower_secure_link::{Key, SecureLinkLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The default store lives in this process, so a restart forgets what it was told.
/// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32])?);
/// let until = 1_900_000_000;
/// let refused = layer.revoke_group("team-a", until).await.unwrap_err();
/// assert_eq!(refused.kind(), StoreErrorKind::WouldBeForgotten);
/// // One process that knows it: revoke for as long as the process lives.
/// layer.revoke_group("team-a", until).allow_volatile().await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "a revocation does nothing until it is awaited"]
pub struct Revocation {
    store: Arc<dyn NonceStore>,
    group: Box<str>,
    now: u64,
    keep_for: Duration,
    allow_volatile: bool,
    refused: Option<StoreError>,
}

impl Revocation {
    /// A revocation of `group` in `store`, from `now` for `keep_for`.
    pub(crate) fn new(
        store: Arc<dyn NonceStore>,
        group: &str,
        now: u64,
        keep_for: Duration,
    ) -> Self {
        Self {
            store,
            group: group.into(),
            now,
            keep_for,
            allow_volatile: false,
            refused: None,
        }
    }

    /// A revocation that fails with `error` when awaited (the group was refused).
    pub(crate) fn refused(store: Arc<dyn NonceStore>, error: StoreError) -> Self {
        Self {
            refused: Some(error),
            ..Self::new(store, "", 0, Duration::ZERO)
        }
    }

    /// Revokes also on a store that would forget it when it restarts (the memory store, Redis
    /// without persistence): until then the group is refused as usual, afterwards its links
    /// work again. `secure-link revoke --volatile` on the command line.
    pub fn allow_volatile(mut self) -> Self {
        self.allow_volatile = true;
        self
    }
}

impl std::future::IntoFuture for Revocation {
    type Output = Result<(), StoreError>;
    type IntoFuture = StoreFuture<()>;

    fn into_future(self) -> StoreFuture<()> {
        let Revocation {
            store,
            group,
            now,
            keep_for,
            allow_volatile,
            refused,
        } = self;
        if let Some(error) = refused {
            return StoreFuture::ready(Err(error));
        }
        if allow_volatile {
            return store.revoke(&group, now, keep_for);
        }
        let mut durability = store.durability();
        match durability.take_ready() {
            Some(Ok(durability)) => match durability.refusal() {
                None => store.revoke(&group, now, keep_for),
                Some(why) => StoreFuture::ready(Err(StoreError::would_be_forgotten(why))),
            },
            Some(Err(error)) => StoreFuture::ready(Err(error)),
            None => StoreFuture::pending(async move {
                match durability.await?.refusal() {
                    None => store.revoke(&group, now, keep_for).await,
                    Some(why) => Err(StoreError::would_be_forgotten(why)),
                }
            }),
        }
    }
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("group", &self.group)
            .field("allow_volatile", &self.allow_volatile)
            .finish_non_exhaustive()
    }
}

/// Put into the extensions of a request that a one-time link's resume window admitted (a
/// repeated use whose `Range` starts past the first byte).
///
/// The layer removes the request's `If-Range` header before the inner service sees it, so that
/// a mismatched validator cannot turn the resume into a full copy; it is kept here. A service
/// that lets another server send the bytes (nginx behind `X-Accel-Redirect`, which reads the
/// client's original headers) must check it itself: see
/// [`XAccelRedirect::with_validators_from`](crate::accel::XAccelRedirect::with_validators_from).
#[derive(Debug, Clone)]
pub struct ResumedDownload {
    pub(crate) if_range: Option<http::HeaderValue>,
}

impl ResumedDownload {
    /// The `If-Range` the client sent, removed from the request's headers.
    pub fn if_range(&self) -> Option<&http::HeaderValue> {
        self.if_range.as_ref()
    }
}

/// How long from `now` (the verifying host's clock) a one-time nonce must be remembered.
///
/// A host accepts a link until its own clock passes `expires + leeway`. Hosts whose clocks are
/// within `leeway` of this one may therefore accept it until this clock reads
/// `expires + 2 * leeway`; one more second covers the rounding to whole seconds. The time is
/// relative, so a store applies it on its own clock without depending on that clock's offset.
pub(crate) fn keep_for(expires: u64, leeway: u64, now: u64) -> Duration {
    let last_acceptance = expires.saturating_add(leeway.saturating_mul(2));
    Duration::from_secs(last_acceptance.saturating_sub(now).saturating_add(1))
}

/// One request's attempt to use a nonce, named so that a store can give back exactly the use
/// it recorded (see [`NonceStore::release`]).
///
/// Ids are unique within a process and start at a random point in each, so attempts of
/// different servers sharing one store do not meet either (but for a chance of about one in
/// 2^64 per pair of attempts on the same nonce).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attempt {
    id: u64,
}

impl Attempt {
    /// An attempt no earlier one in this process shares.
    pub fn fresh() -> Self {
        static NEXT: OnceLock<AtomicU64> = OnceLock::new();
        let next = NEXT.get_or_init(|| AtomicU64::new(random_start()));
        Self {
            id: next.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The attempt's id, for a store to keep with the use.
    pub fn id(self) -> u64 {
        self.id
    }
}

/// Where this process's attempt ids start: random, so that servers sharing a store count from
/// different places. Without randomness, the time and the process id stand in.
fn random_start() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_ok() {
        return u64::from_ne_bytes(bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(40)
}

/// What a store answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// This was the first use.
    First,
    /// The nonce was used before, first at this Unix time.
    Repeated {
        /// When the nonce was first used.
        first_used_at: u64,
    },
}

/// The store could not answer (the layer fails closed with 503), or refused a revocation it
/// would forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    reason: String,
}

/// What kind of failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store failed or refused its input: unreachable, too slow, full, a bad argument.
    Failed,
    /// A revocation was refused because the store would forget it when it restarts, or cannot
    /// say that it would not (see [`Revocation::allow_volatile`]).
    WouldBeForgotten,
}

impl StoreError {
    /// A store failure with a reason for logs (never include secrets or nonces).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            kind: StoreErrorKind::Failed,
            reason: reason.into(),
        }
    }

    fn would_be_forgotten(reason: &str) -> Self {
        Self {
            kind: StoreErrorKind::WouldBeForgotten,
            reason: reason.to_owned(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StoreErrorKind::Failed => write!(f, "the one-time link store failed: {}", self.reason),
            StoreErrorKind::WouldBeForgotten => write!(f, "revocation refused: {}", self.reason),
        }
    }
}

impl std::error::Error for StoreError {}

/// A store's answer: ready at once (an in-process store, no allocation) or later (a network
/// store).
pub struct StoreFuture<T> {
    inner: Inner<T>,
}

/// The answer of [`NonceStore::consume`].
pub type ConsumeFuture = StoreFuture<Use>;

enum Inner<T> {
    Ready(Option<Result<T, StoreError>>),
    Pending(Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>),
}

impl<T> StoreFuture<T> {
    /// An answer that is known now.
    pub fn ready(result: Result<T, StoreError>) -> Self {
        Self {
            inner: Inner::Ready(Some(result)),
        }
    }

    /// An answer that comes later.
    pub fn pending(future: impl Future<Output = Result<T, StoreError>> + Send + 'static) -> Self {
        Self {
            inner: Inner::Pending(Box::pin(future)),
        }
    }
}

impl<T: Send + 'static> StoreFuture<T> {
    /// The answer passed through `f` (no allocation for an answer that is ready).
    pub(crate) fn map<U: Send + 'static>(self, f: fn(T) -> U) -> StoreFuture<U> {
        match self.inner {
            Inner::Ready(result) => StoreFuture {
                inner: Inner::Ready(result.map(|result| result.map(f))),
            },
            Inner::Pending(future) => StoreFuture::pending(async move { future.await.map(f) }),
        }
    }
}

/// What the store said about a request whose link needs it: a one-time use, a revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Nothing to record, and not revoked.
    Open,
    /// A one-time link's use, recorded.
    Used(Use),
    /// The link's revocation group is revoked.
    Revoked,
}

impl<T> Unpin for StoreFuture<T> {}

impl<T> StoreFuture<T> {
    /// The answer, if the store gave it at once (an in-process store): the caller can go on
    /// without waiting in a future.
    pub(crate) fn take_ready(&mut self) -> Option<Result<T, StoreError>> {
        match &mut self.inner {
            Inner::Ready(result) => result.take(),
            Inner::Pending(_) => None,
        }
    }
}

impl<T> Future for StoreFuture<T> {
    type Output = Result<T, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            Inner::Ready(result) => Poll::Ready(
                result
                    .take()
                    .unwrap_or_else(|| Err(StoreError::new("polled after completion"))),
            ),
            Inner::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> fmt::Debug for StoreFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreFuture").finish_non_exhaustive()
    }
}
