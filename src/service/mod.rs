//! [`SecureLink`]: the middleware service. `call` is orchestration only: the
//! [`verify`](crate::verify) module decides, the store [`gate`] records one-time uses, and the
//! [`ResponseFuture`] sets what a valid link asks of the answer.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, Uri};
use http_body::Body;
use tower_service::Service;

use crate::config::Settings;
use crate::mount::Verified;
use crate::rejection::{refuse, DefaultRejectionResponse, RejectionKind, RejectionResponse};
use crate::signer::UrlSigner;
use crate::upload::UploadLimit;
use crate::verify::{self, Conditions, OnSuccess, Verdict};

mod future;
mod gate;

pub use future::ResponseFuture;
use future::{OneTimeCall, VersionCheck};

/// Lets public requests through, admits private ones that carry a valid link, and answers the
/// rest with a rejection. Made by [`SecureLinkLayer`](crate::SecureLinkLayer).
#[derive(Clone)]
pub struct SecureLink<S, R = DefaultRejectionResponse> {
    inner: S,
    settings: Arc<Settings>,
    responder: R,
}

/// How a request the layer lets through other than as it came (admitted by a link, or public
/// with a canonical path) goes on: what changes in the request and what its answer must carry.
/// All owned, so it is built from the verdict before the request changes.
struct Passage<ResBody> {
    signed: bool,
    /// The request's new URI, when the inner service must see another path or query.
    uri: Option<Uri>,
    max_body: Option<u64>,
    /// A confirm link's POST, which the inner service sees as the GET it stands for.
    as_get: bool,
    cache_for: Option<u64>,
    version: Option<Box<VersionCheck<ResBody>>>,
    on_success: Option<Box<OnSuccess>>,
    conceal: Option<Box<Response<ResBody>>>,
    /// The store's answer to wait for, the time the link was checked at, and the give-back.
    gate: Option<gate::StoreGate>,
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

    /// What a version-bound link asks of the answer: carry `validator` (base64url, which the
    /// link's format already checked is canonical), else be refused as changed.
    fn version_check<B>(&self, validator: &str) -> Box<VersionCheck<B>>
    where
        R: RejectionResponse<B>,
    {
        Box::new(VersionCheck {
            validator: URL_SAFE_NO_PAD
                .decode(validator)
                .unwrap_or_default()
                .into_boxed_slice(),
            changed: self.reject(RejectionKind::VersionChanged),
        })
    }

    /// Decides on `request` and, unless it goes on as it came (`None`), makes everything its
    /// passage needs: the refusals it may answer with, its new URI, and the store's answer.
    fn passage<ReqBody: Body, ResBody>(
        &self,
        request: &Request<ReqBody>,
    ) -> Result<Option<Passage<ResBody>>, RejectionKind>
    where
        R: RejectionResponse<ResBody>,
    {
        let settings = &*self.settings;
        let (method, uri) = (request.method(), request.uri());
        let verdict = match verify::decide(
            settings,
            method,
            uri,
            request.headers(),
            request.extensions(),
        ) {
            Ok(verdict) => verdict,
            Err(kind) => {
                #[cfg(feature = "tracing")]
                log_rejection(&self.settings, request, kind);
                return Err(kind);
            }
        };
        let signed = verdict.is_signed();
        // Looking for a link costs a scan of the query and path: only when the warning is wanted.
        #[cfg(feature = "tracing")]
        if !signed
            && tracing::enabled!(target: "tower_secure_link", tracing::Level::WARN)
            && verify::carries_link(settings, uri)
        {
            warn_public_link(&self.settings, request);
        }
        if matches!(verdict, Verdict::Public) {
            return Ok(None);
        }
        let (target, conditions) = verdict.into_parts();
        let Conditions {
            consume,
            max_body,
            cache_for,
            version,
            group,
            on_success,
            conceal,
            as_get,
        } = conditions;
        let conceal = conceal.then(|| Box::new(self.reject(RejectionKind::OpaqueRedirect)));
        let version = version.map(|validator| self.version_check(&validator));
        let uri = match target {
            None => None,
            Some(target) => {
                Some(with_path_and_query(uri, target).ok_or(RejectionKind::MalformedPath)?)
            }
        };
        if let Some(kind) = max_body.and_then(|limit| upload_refusal(settings, request, limit)) {
            return Err(kind);
        }
        // Nothing refuses the request after this point, so the store is asked now.
        let gate = gate::store_gate(settings, group.as_deref(), consume, || {
            gate::is_resumed_download(request, as_get)
        });
        Ok(Some(Passage {
            signed,
            uri,
            max_body,
            as_get,
            cache_for,
            version,
            on_success,
            conceal,
            gate,
        }))
    }
}

impl<ResBody> Passage<ResBody> {
    /// Changes the request into what the inner service must see: the verified path, no session
    /// cookies, and the marks for the layers inside (verified, upload limit).
    fn apply<B>(&mut self, settings: &Settings, request: &mut Request<B>) {
        if let Some(uri) = self.uri.take() {
            *request.uri_mut() = uri;
        }
        if self.signed {
            let mark = Verified::new(settings.id, request.uri().path());
            request.extensions_mut().insert(mark);
            verify::cookie::strip(settings, request.headers_mut());
        }
        if let Some(limit) = self.max_body {
            request.extensions_mut().insert(UploadLimit(limit));
        }
        if self.as_get {
            // The form's body is not the application's business: what it sees is the GET the
            // link stands for.
            *request.method_mut() = http::Method::GET;
            let headers = request.headers_mut();
            headers.remove(http::header::CONTENT_TYPE);
            headers.remove(http::header::CONTENT_LENGTH);
            headers.remove(http::header::TRANSFER_ENCODING);
        }
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
        let passage = match self.passage(&request) {
            Ok(passage) => passage,
            Err(kind) => return ResponseFuture::rejected(self.reject(kind)),
        };
        let Some(mut passage) = passage else {
            // Most requests: public, with nothing to rewrite, check or mark.
            self.lend_signer(&mut request);
            return ResponseFuture::inner(self.inner.call(request), None, None);
        };
        passage.apply(settings, &mut request);
        self.lend_signer(&mut request);
        self.forward(request, passage)
    }
}

impl<S, R> SecureLink<S, R> {
    /// Puts a signer in the request's extensions, unless the layer was told not to.
    fn lend_signer<B>(&self, request: &mut Request<B>) {
        if self.settings.signer_in_extensions {
            request
                .extensions_mut()
                .insert(UrlSigner::new(self.settings.clone()));
        }
    }

    /// Calls the inner service with `request` on its passage: at once, or once the store has
    /// answered (in a future when it cannot answer at once).
    fn forward<ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
        passage: Passage<ResBody>,
    ) -> ResponseFuture<S, ReqBody, ResBody, R>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        R: RejectionResponse<ResBody> + Clone,
    {
        let settings = &*self.settings;
        let Some(gate::StoreGate {
            answer: mut gate,
            now,
            give_back,
        }) = passage.gate
        else {
            let private = passage
                .signed
                .then(|| private_cache_control(settings.private_cache, passage.cache_for));
            return ResponseFuture::inner(self.inner.call(request), private, passage.version)
                .with_on_success(passage.on_success)
                .with_concealment(passage.conceal);
        };
        let admit_repeat_from = settings
            .resume_window
            .filter(|_| gate::is_resumed_download(&request, false))
            .map(|window| now.saturating_sub(window));
        if let Some(outcome) = gate.take_ready() {
            // An in-process store answered at once: no need to wait in a future.
            return match gate::admission(outcome, admit_repeat_from) {
                Ok(resumed) => {
                    if resumed {
                        gate::mark_resumed(&mut request);
                    }
                    let private = HeaderValue::from_static("private");
                    ResponseFuture::inner(self.inner.call(request), Some(private), passage.version)
                        .with_concealment(passage.conceal)
                        .with_on_success(passage.on_success)
                        .with_give_back(give_back)
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
            version: passage.version,
            conceal: passage.conceal,
            on_success: passage.on_success,
            give_back,
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
