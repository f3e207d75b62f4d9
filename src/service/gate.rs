//! The store gate: what the nonce store must answer before a request through a valid link goes
//! on (whether its group is revoked, then its one-time use), what that answer means, and how a
//! use the application failed is given back.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use http::header::{IF_RANGE, RANGE};
use http::{Method, Request};
use http_range_header::{EndPosition, StartPosition};

use crate::config::Settings;
use crate::one_time::{Attempt, Gate, NonceStore, ResumedDownload, StoreError, StoreFuture, Use};
use crate::rejection::RejectionKind;
use crate::verify::OneTimeUse;

/// What the store must answer before a request goes on, and how to give its use back.
pub(crate) struct StoreGate {
    pub(crate) answer: StoreFuture<Gate>,
    /// The time the link was checked at.
    pub(crate) now: u64,
    /// Set when the request may record a one-time use: what undoes it if the application
    /// fails. It applies only when the answer is a first use.
    pub(crate) give_back: Option<Box<GiveBack>>,
}

/// What the store needs to give back one request's use of a nonce.
pub(crate) struct GiveBack {
    store: Arc<dyn NonceStore>,
    nonce: Box<str>,
    attempt: Attempt,
    /// For a link of several uses: which one this request took, once the store said.
    slot: Option<Arc<AtomicU32>>,
}

impl GiveBack {
    fn new(store: &Arc<dyn NonceStore>, nonce: &str, attempt: Attempt) -> Box<Self> {
        Box::new(Self {
            store: store.clone(),
            nonce: nonce.into(),
            attempt,
            slot: None,
        })
    }

    /// Gives the use back without waiting: the failed answer goes out now (see
    /// [`NonceStore::release`]).
    pub(crate) fn release(self) {
        let slot = self.slot.map_or(0, |slot| slot.load(Ordering::Acquire));
        let key = slot_key(&self.nonce, slot);
        let mut released = self.store.release(&key, self.attempt);
        if released.take_ready().is_none() {
            run_detached(released);
        }
    }
}

/// Runs a store's pending answer on the tokio runtime the request runs on, if there is one.
#[cfg(feature = "redis")]
fn run_detached(future: StoreFuture<()>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        drop(runtime.spawn(future));
    }
}

/// Without tokio the crate has no runtime to hand a pending answer to: it is dropped.
#[cfg(not(feature = "redis"))]
fn run_detached(future: StoreFuture<()>) {
    drop(future);
}

/// What the store must answer before the request goes on: whether the link's group is revoked,
/// then the one-time use to record; `None` when the link needs neither. `resumed` says whether
/// the request continues a download (asked only of links with several uses).
pub(super) fn store_gate(
    settings: &Settings,
    group: Option<&str>,
    consume: Option<OneTimeUse<'_>>,
    resumed: impl FnOnce() -> bool,
) -> Option<StoreGate> {
    match (group, consume) {
        (None, None) => None,
        (group, Some(use_)) if use_.uses > 1 => {
            Some(several_uses_gate(settings, group, use_, resumed()))
        }
        (None, Some(use_)) => Some(one_time_gate(settings, use_)),
        (Some(group), consume) => Some(revocation_gate(settings, group, consume)),
    }
}

/// The nonce that records use `slot` of a link: the link's own for the first, then one
/// derived from it (the first 16 bytes of SHA-256 over a label, the nonce and the slot number,
/// in base64url), so every store sees nonces of the one shape it knows.
fn slot_key(nonce: &str, slot: u32) -> Cow<'_, str> {
    if slot == 0 {
        return Cow::Borrowed(nonce);
    }
    let digest = Sha256::new()
        .chain_update(b"tower-secure-link use\0")
        .chain_update(nonce.as_bytes())
        .chain_update(slot.to_be_bytes())
        .finalize();
    Cow::Owned(URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// A link of `uses.uses` uses: its uses are that many one-time nonces, tried in order until
/// one is free, so each keeps every one-time guarantee (atomic across the fleet, given back
/// alone, the store's answer on its own clock). A resumed download stops at the first use
/// made inside the resume window instead, and reuses it.
fn several_uses_gate(
    settings: &Settings,
    group: Option<&str>,
    use_: OneTimeUse<'_>,
    resumed: bool,
) -> StoreGate {
    let store = settings.nonce_store.clone();
    let attempt = Attempt::fresh();
    let slot = Arc::new(AtomicU32::new(0));
    let give_back = Box::new(GiveBack {
        store: store.clone(),
        nonce: use_.nonce.as_ref().into(),
        attempt,
        slot: Some(slot.clone()),
    });
    let resume_from = settings
        .resume_window
        .filter(|_| resumed)
        .map(|window| use_.now.saturating_sub(window));
    let group = group.map(str::to_owned);
    let (nonce, now, keep_for, uses) =
        (use_.nonce.into_owned(), use_.now, use_.keep_for, use_.uses);
    let answer = StoreFuture::pending(async move {
        if let Some(group) = group {
            if store.is_revoked(&group, now).await? {
                return Ok(Gate::Revoked);
            }
        }
        let mut last = Use::Repeated { first_used_at: 0 };
        for k in 0..uses {
            slot.store(k, Ordering::Release);
            let key = slot_key(&nonce, k);
            last = store.consume_attempt(&key, now, keep_for, attempt).await?;
            match last {
                Use::First => break,
                Use::Repeated { first_used_at }
                    if resume_from.is_some_and(|from| first_used_at >= from) =>
                {
                    break
                }
                Use::Repeated { .. } => {}
            }
        }
        Ok(Gate::Used(last))
    });
    StoreGate {
        answer,
        now,
        give_back: Some(give_back),
    }
}

/// Records a one-time use. An in-process store answers at once, and then only a first use
/// pays for what a give-back needs.
fn one_time_gate(settings: &Settings, use_: OneTimeUse<'_>) -> StoreGate {
    let store = &settings.nonce_store;
    let attempt = Attempt::fresh();
    let mut answer = store
        .consume_attempt(&use_.nonce, use_.now, use_.keep_for, attempt)
        .map(Gate::Used);
    let may_give_back = match answer.take_ready() {
        Some(outcome) => {
            let first = records_a_use(&outcome);
            answer = StoreFuture::ready(outcome);
            first
        }
        None => true,
    };
    StoreGate {
        answer,
        now: use_.now,
        give_back: may_give_back.then(|| GiveBack::new(store, &use_.nonce, attempt)),
    }
}

/// Whether the store's answer is this request's first use (the one a give-back undoes).
pub(super) fn records_a_use(outcome: &Result<Gate, StoreError>) -> bool {
    matches!(outcome, Ok(Gate::Used(Use::First)))
}

/// Asks the store whether `group` is revoked, then records the one-time use if there is one.
/// Only links that carry a group get here; ordinary links never touch the store.
fn revocation_gate(
    settings: &Settings,
    group: &str,
    one_time: Option<OneTimeUse<'_>>,
) -> StoreGate {
    let now = one_time
        .as_ref()
        .map_or_else(|| settings.clock.now_unix(), |use_| use_.now);
    let store = settings.nonce_store.clone();
    let attempt = Attempt::fresh();
    let give_back = one_time
        .as_ref()
        .map(|use_| GiveBack::new(&store, &use_.nonce, attempt));
    let group = group.to_owned();
    let consume = one_time.map(|use_| (use_.nonce.into_owned(), use_.now, use_.keep_for));
    let answer = StoreFuture::pending(async move {
        if store.is_revoked(&group, now).await? {
            return Ok(Gate::Revoked);
        }
        match consume {
            Some((nonce, now, keep_for)) => store
                .consume_attempt(&nonce, now, keep_for, attempt)
                .await
                .map(Gate::Used),
            None => Ok(Gate::Open),
        }
    });
    StoreGate {
        answer,
        now,
        give_back,
    }
}

/// What the store's answer means for a one-time request: admitted (and whether as a resumed
/// download, a repeated use inside the resume window), or refused and why.
pub(super) fn admission(
    outcome: Result<Gate, StoreError>,
    admit_repeat_from: Option<u64>,
) -> Result<bool, RejectionKind> {
    match outcome {
        Ok(Gate::Open | Gate::Used(Use::First)) => Ok(false),
        Ok(Gate::Used(Use::Repeated { first_used_at }))
            if admit_repeat_from.is_some_and(|from| first_used_at >= from) =>
        {
            Ok(true)
        }
        Ok(Gate::Used(Use::Repeated { .. })) => Err(RejectionKind::AlreadyUsed),
        Ok(Gate::Revoked) => Err(RejectionKind::Revoked),
        Err(_) => Err(RejectionKind::StoreUnavailable),
    }
}

/// A resume must stay partial: a mismatched `If-Range` would let the server send it all. The
/// inner service never sees it; a service that hands the bytes to nginx can still check it.
pub(super) fn mark_resumed<B>(request: &mut Request<B>) {
    let if_range = request.headers_mut().remove(IF_RANGE);
    request
        .extensions_mut()
        .insert(ResumedDownload { if_range });
}

/// A GET whose `Range` (strictly parsed) only asks for bytes past the first: the rest of an
/// interrupted download, never a fresh full copy. A suffix range (`-500`) is a fresh read of
/// the end; anything malformed (`bytes=+1-`) is not a resume at all.
/// `as_get`: the request is a confirm link's POST, which counts as its GET.
pub(super) fn is_resumed_download<B>(request: &Request<B>, as_get: bool) -> bool {
    if request.method() != Method::GET && !as_get {
        return false;
    }
    let mut ranges = request.headers().get_all(RANGE).iter();
    let (Some(range), None) = (ranges.next(), ranges.next()) else {
        return false;
    };
    let Some(parsed) = range
        .to_str()
        .ok()
        .and_then(|range| http_range_header::parse_range_header(range).ok())
    else {
        return false;
    };
    parsed
        .ranges
        .iter()
        .all(|range| match (range.start, range.end) {
            (StartPosition::Index(start), EndPosition::LastByte) => start > 0,
            (StartPosition::Index(start), EndPosition::Index(end)) => start > 0 && end >= start,
            (StartPosition::FromLast(_), _) => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_strict_ranges_past_the_first_byte_are_resumes() {
        struct Case {
            name: &'static str,
            method: Method,
            ranges: &'static [&'static str],
            resume: bool,
        }
        #[rustfmt::skip]
        let cases = [
            Case { name: "open range past 0", method: Method::GET, ranges: &["bytes=100-"], resume: true },
            Case { name: "closed range past 0", method: Method::GET, ranges: &["bytes=100-199"], resume: true },
            Case { name: "several ranges past 0", method: Method::GET, ranges: &["bytes=10-20, 30-"], resume: true },
            Case { name: "from the first byte", method: Method::GET, ranges: &["bytes=0-"], resume: false },
            Case { name: "one of several from 0", method: Method::GET, ranges: &["bytes=0-10,20-"], resume: false },
            Case { name: "suffix", method: Method::GET, ranges: &["bytes=-500"], resume: false },
            Case { name: "plus sign", method: Method::GET, ranges: &["bytes=+1-"], resume: false },
            Case { name: "leading zero", method: Method::GET, ranges: &["bytes=01-"], resume: false },
            Case { name: "end before start", method: Method::GET, ranges: &["bytes=10-5"], resume: false },
            Case { name: "space after =", method: Method::GET, ranges: &["bytes= 10-"], resume: false },
            Case { name: "other unit", method: Method::GET, ranges: &["items=10-"], resume: false },
            Case { name: "two headers", method: Method::GET, ranges: &["bytes=10-", "bytes=0-"], resume: false },
            Case { name: "no range", method: Method::GET, ranges: &[], resume: false },
            Case { name: "not a GET", method: Method::POST, ranges: &["bytes=10-"], resume: false },
        ];
        for case in cases {
            let mut request = Request::builder().method(case.method).uri("/x");
            for range in case.ranges {
                request = request.header(RANGE, *range);
            }
            let request = request.body(()).unwrap();
            assert_eq!(
                is_resumed_download(&request, false),
                case.resume,
                "{}",
                case.name
            );
        }
    }
}
