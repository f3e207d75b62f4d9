//! [`SecureLink`]: the middleware service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::RANGE;
use http::uri::PathAndQuery;
use http::{HeaderValue, Method, Request, Response, Uri};
use http_body::Body;
use http_range_header::{EndPosition, StartPosition};
use tower_service::Service;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::future::{admission, mark_resumed, OneTimeCall, ResponseFuture, VersionCheck};
use crate::mount::Verified;
use crate::one_time::{Gate, StoreFuture};
use crate::rejection::{refuse, RejectionKind, RejectionResponse};
use crate::settings::{Conditions, OneTimeUse, Settings, Verdict};
use crate::signer::UrlSigner;
use crate::upload::UploadLimit;
use crate::DefaultRejectionResponse;

/// Lets public requests through, admits private ones that carry a valid link, and answers the
/// rest with a rejection. Made by [`SecureLinkLayer`](crate::SecureLinkLayer).
#[derive(Clone)]
pub struct SecureLink<S, R = DefaultRejectionResponse> {
    inner: S,
    settings: Arc<Settings>,
    responder: R,
}

impl<S, R> SecureLink<S, R> {
    pub(crate) fn new(inner: S, settings: Arc<Settings>, responder: R) -> Self {
        Self {
            inner,
            settings,
            responder,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    fn reject<B>(&self, kind: RejectionKind) -> Response<B>
    where
        R: RejectionResponse<B>,
    {
        refuse(&self.responder, kind, self.settings.stealth)
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for SecureLink<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: RejectionResponse<ResBody> + Clone,
    ReqBody: Body,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let settings = &*self.settings;
        let verified_outside = request
            .extensions()
            .get::<Verified>()
            .is_some_and(|mark| mark.covers(settings.id, request.uri().path()));
        if verified_outside {
            let private = HeaderValue::from_static("private");
            return ResponseFuture::inner(self.inner.call(request), Some(private), None);
        }
        let verdict = match settings.decide(
            request.method(),
            request.uri(),
            request.headers(),
            request.extensions(),
        ) {
            Ok(verdict) => verdict,
            Err(kind) => {
                #[cfg(feature = "tracing")]
                log_rejection(&self.settings, &request, kind);
                return ResponseFuture::rejected(self.reject(kind));
            }
        };
        let signed = verdict.is_signed();
        #[cfg(feature = "tracing")]
        if !signed && settings.carries_link(request.uri()) {
            warn_public_link(&self.settings, &request);
        }
        if matches!(verdict, Verdict::Public) {
            // Most requests: nothing to rewrite, check or mark.
            if settings.signer_in_extensions {
                request
                    .extensions_mut()
                    .insert(UrlSigner::new(self.settings.clone()));
            }
            return ResponseFuture::inner(self.inner.call(request), None, None);
        }
        let (target, conditions) = verdict.into_parts();
        let Conditions {
            consume,
            max_body,
            cache_for,
            version,
            group,
            set_cookie,
            conceal,
        } = conditions;
        let conceal = conceal.then(|| Box::new(self.reject(RejectionKind::OpaqueRedirect)));
        // The link's format already checked the version is canonical base64url.
        let version = version.map(|version| {
            Box::new(VersionCheck {
                validator: URL_SAFE_NO_PAD
                    .decode(&*version)
                    .unwrap_or_default()
                    .into_boxed_slice(),
                changed: self.reject(RejectionKind::VersionChanged),
            })
        });
        let uri = match target {
            None => None,
            Some(target) => match with_path_and_query(request.uri(), target) {
                Some(uri) => Some(uri),
                None => return ResponseFuture::rejected(self.reject(RejectionKind::MalformedPath)),
            },
        };
        if let Some(kind) = max_body.and_then(|limit| upload_refusal(settings, &request, limit)) {
            return ResponseFuture::rejected(self.reject(kind));
        }
        // Nothing refuses the request after this point, so the store is asked now.
        let gate = store_gate(settings, group.as_deref(), consume);
        if let Some(uri) = uri {
            *request.uri_mut() = uri;
        }
        if signed {
            let mark = Verified::new(settings.id, request.uri().path());
            request.extensions_mut().insert(mark);
            crate::format::cookie::strip(settings, request.headers_mut());
        }
        if let Some(limit) = max_body {
            request.extensions_mut().insert(UploadLimit(limit));
        }
        if settings.signer_in_extensions {
            request
                .extensions_mut()
                .insert(UrlSigner::new(self.settings.clone()));
        }
        let Some((mut gate, now)) = gate else {
            let private = signed.then(|| private_cache_control(settings.private_cache, cache_for));
            return ResponseFuture::inner(self.inner.call(request), private, version)
                .with_set_cookie(set_cookie)
                .with_concealment(conceal);
        };
        let admit_repeat_from = settings
            .resume_window
            .filter(|_| is_resumed_download(&request))
            .map(|window| now.saturating_sub(window));
        if let Some(outcome) = gate.take_ready() {
            // An in-process store answered at once: no need to wait in a future.
            return match admission(outcome, admit_repeat_from) {
                Ok(resumed) => {
                    if resumed {
                        mark_resumed(&mut request);
                    }
                    let private = HeaderValue::from_static("private");
                    ResponseFuture::inner(self.inner.call(request), Some(private), version)
                        .with_concealment(conceal)
                }
                Err(kind) => ResponseFuture::rejected(self.reject(kind)),
            };
        }
        // The service that was polled ready goes into the future; this one keeps a fresh clone.
        let fresh = self.inner.clone();
        let ready_service = std::mem::replace(&mut self.inner, fresh);
        ResponseFuture::one_time(OneTimeCall {
            gate,
            service: ready_service,
            request,
            // The refusals are built only if needed, from a clone of the responder.
            responder: self.responder.clone(),
            stealth: settings.stealth,
            admit_repeat_from,
            version,
            conceal,
        })
    }
}

/// Logs a refusal with its reason, the path class, the method, the path and the key id the
/// link names; never a signature, nonce or token.
#[cfg(feature = "tracing")]
fn log_rejection<B>(settings: &Arc<Settings>, request: &Request<B>, kind: RejectionKind) {
    let redactor = crate::redact::Redactor::new(settings.clone());
    let class = match kind {
        RejectionKind::AmbiguousPath => "ambiguous",
        RejectionKind::MalformedPath => "malformed",
        _ => "private",
    };
    tracing::debug!(
        target: "tower_secure_link",
        reason = kind.as_str(),
        class,
        method = %request.method(),
        path = %redactor.redact_path(request.uri().path()),
        key_id = redactor.key_id(request.uri()),
        "secure link refused"
    );
}

/// A signed link reached the layer on a path it treats as public: the layer is probably mounted
/// where a router strips part of the path (see `SecureLinkLayer::with_mount_path`), or the link
/// was minted for a prefix this layer does not guard. The path is logged without the link.
#[cfg(feature = "tracing")]
fn warn_public_link<B>(settings: &Arc<Settings>, request: &Request<B>) {
    let redactor = crate::redact::Redactor::new(settings.clone());
    tracing::warn!(
        target: "tower_secure_link",
        method = %request.method(),
        path = %redactor.redact_path(request.uri().path()),
        "a signed link arrived on a path this layer treats as public: check where the layer \
         sits (nest/nest_service strip the mount path; see SecureLinkLayer::with_mount_path) \
         and its private prefixes"
    );
}

/// Why an upload slot's body cannot be admitted, if it cannot. A declared length is checked now
/// and enforced by the HTTP server; an unknown one can only be measured while read: refused,
/// unless an `UploadLimitLayer` inside does the measuring.
fn upload_refusal<B: Body>(
    settings: &Settings,
    request: &Request<B>,
    limit: u64,
) -> Option<RejectionKind> {
    match request.body().size_hint().upper() {
        Some(len) if len > limit => Some(RejectionKind::PayloadTooLarge),
        None if !settings.streamed_uploads => Some(RejectionKind::LengthRequired),
        _ => None,
    }
}

/// What the store must answer before the request goes on: whether the link's group is revoked,
/// then the one-time use to record; `None` when the link needs neither.
fn store_gate(
    settings: &Settings,
    group: Option<&str>,
    consume: Option<OneTimeUse<'_>>,
) -> Option<(StoreFuture<Gate>, u64)> {
    match (group, consume) {
        (None, None) => None,
        (None, Some(use_)) => Some((
            settings
                .nonce_store
                .consume(&use_.nonce, use_.now, use_.keep_for)
                .map(Gate::Used),
            use_.now,
        )),
        (Some(group), consume) => Some(revocation_gate(settings, group, consume)),
    }
}

/// Asks the store whether `group` is revoked, then records the one-time use if there is one.
/// Only links that carry a group get here; ordinary links never touch the store.
fn revocation_gate(
    settings: &Settings,
    group: &str,
    one_time: Option<OneTimeUse<'_>>,
) -> (StoreFuture<Gate>, u64) {
    let now = one_time
        .as_ref()
        .map_or_else(|| settings.clock.now_unix(), |use_| use_.now);
    let store = settings.nonce_store.clone();
    let group = group.to_owned();
    let consume = one_time.map(|use_| (use_.nonce.into_owned(), use_.now, use_.keep_for));
    let gate = StoreFuture::pending(async move {
        if store.is_revoked(&group, now).await? {
            return Ok(Gate::Revoked);
        }
        match consume {
            Some((nonce, now, keep_for)) => {
                store.consume(&nonce, now, keep_for).await.map(Gate::Used)
            }
            None => Ok(Gate::Open),
        }
    });
    (gate, now)
}

/// `Cache-Control` for a response through a valid link: never shared, and kept by the browser
/// at most `max_age` and never past the link's expiry.
fn private_cache_control(max_age: Option<u64>, cache_for: Option<u64>) -> HeaderValue {
    match (max_age, cache_for) {
        (Some(max_age), Some(left)) if max_age.min(left) > 0 => {
            HeaderValue::from_str(&format!("private, max-age={}", max_age.min(left)))
                .unwrap_or(HeaderValue::from_static("private"))
        }
        _ => HeaderValue::from_static("private"),
    }
}

/// A GET whose `Range` (strictly parsed) only asks for bytes past the first: the rest of an
/// interrupted download, never a fresh full copy. A suffix range (`-500`) is a fresh read of
/// the end; anything malformed (`bytes=+1-`) is not a resume at all.
fn is_resumed_download<B>(request: &Request<B>) -> bool {
    if request.method() != Method::GET {
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

/// The request's URI with another path and query, keeping scheme and authority.
fn with_path_and_query(uri: &Uri, target: String) -> Option<Uri> {
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(target).ok()?);
    Uri::from_parts(parts).ok()
}

impl<S: fmt::Debug, R> fmt::Debug for SecureLink<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureLink")
            .field("inner", &self.inner)
            .field("scheme", &self.settings.scheme)
            .finish_non_exhaustive()
    }
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
            assert_eq!(is_resumed_download(&request), case.resume, "{}", case.name);
        }
    }
}
