//! The response future of [`SecureLink`](crate::SecureLink): the inner service's future with
//! what a valid link sets on its answer, a ready rejection, or a store's answer awaited first.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LOCATION, ETAG, LAST_MODIFIED, LOCATION,
    REFERRER_POLICY,
};
use http::{HeaderValue, Request, Response};

use crate::verify::OnSuccess;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::gate::{admission, mark_resumed, records_a_use, GiveBack};
use crate::one_time::{Gate, StoreFuture};
use crate::rejection::{refuse, DefaultRejectionResponse, RejectionResponse};

pin_project! {
    /// The inner service's future, a rejection that is ready at once, or a one-time link's use
    /// being recorded before the inner service is called.
    pub struct ResponseFuture<S, ReqBody, ResBody, R = DefaultRejectionResponse>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    {
        #[pin]
        kind: Kind<S, ReqBody, ResBody, R>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqBody, ResBody, R>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    {
        Inner {
            #[pin]
            future: S::Future,
            // `Cache-Control` for a response through a valid link; `None` when public.
            private: Option<HeaderValue>,
            version: Option<Box<VersionCheck<ResBody>>>,
            // Headers for a successful answer (a session cookie, a signed download name).
            on_success: Option<Box<OnSuccess>>,
            // An opaque link's answer to a redirect (built up front); `None` for other links.
            conceal: Option<Box<Response<ResBody>>>,
            // A one-time use this request recorded, given back if the service fails it.
            give_back: Option<Box<GiveBack>>,
        },
        Rejected {
            response: Option<Response<ResBody>>,
        },
        // Boxed: a one-time request is rare next to the others and would make every future
        // as large as itself (the request and the service wait in it).
        Consuming {
            call: Option<Box<OneTimeCall<S, ReqBody, ResBody, R>>>,
        },
    }
}

/// A version-bound link's condition on the response: the validator it must carry, and the
/// answer when it does not (built up front, so the future needs no responder).
pub(crate) struct VersionCheck<ResBody> {
    pub(crate) validator: Box<[u8]>,
    pub(crate) changed: Response<ResBody>,
}

impl<ResBody> VersionCheck<ResBody> {
    /// The response when it is the version the link was minted for, `changed` otherwise (its
    /// body dropped unread).
    ///
    /// A validator passes when the response's `ETag` or `Last-Modified` is exactly it (links
    /// minted before sizes were bound, and application validators, keep meaning just that). A
    /// [`file_version`](crate::file_version) validator (`<Last-Modified>; size=<bytes>`) also
    /// needs the size the response reports to be the bound one: a same-second replacement of
    /// another size is another version. Where no size can be read (a streamed or compressed
    /// body inside the layer) the version cannot be confirmed, and the answer is 410: serving
    /// it would reopen exactly the replacement this check exists to catch.
    ///
    /// A 304 passes whatever it carries (`ServeDir` sends none): it has no body, and the copy
    /// it revalidates was itself served through this link, so it was the bound version.
    fn apply(self, response: Response<ResBody>) -> Response<ResBody> {
        let headers = response.headers();
        let carries = |name, validator: &[u8]| {
            headers
                .get(name)
                .is_some_and(|value: &HeaderValue| value.as_bytes() == validator)
        };
        if carries(ETAG, &self.validator)
            || carries(LAST_MODIFIED, &self.validator)
            || response.status() == http::StatusCode::NOT_MODIFIED
        {
            return response;
        }
        let same_file =
            crate::signer::split_file_version(&self.validator).is_some_and(|(modified, size)| {
                carries(LAST_MODIFIED, modified) && Self::reported_size(&response) == Some(size)
            });
        if same_file {
            response
        } else {
            self.changed
        }
    }

    /// The size of the whole file a response reports: what `X-Accel-Redirect` found on disk,
    /// the total of a `Content-Range` (206, 416), else the `Content-Length` (200, and HEAD,
    /// where `ServeDir` sends the length it would have sent).
    fn reported_size(response: &Response<ResBody>) -> Option<u64> {
        if let Some(file) = response.extensions().get::<crate::accel::FileSize>() {
            return Some(file.0);
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &HeaderValue| value.to_str().ok())
        };
        let digits = |text: &str| {
            (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse().ok())
                .flatten()
        };
        let status = response.status();
        if status == http::StatusCode::PARTIAL_CONTENT
            || status == http::StatusCode::RANGE_NOT_SATISFIABLE
        {
            // `bytes 0-99/1234` or `bytes */1234`; an unknown total (`/*`) confirms nothing.
            let range = header(http::header::CONTENT_RANGE)?;
            return digits(range.strip_prefix("bytes ")?.rsplit_once('/')?.1);
        }
        digits(header(http::header::CONTENT_LENGTH)?)
    }
}

/// What a one-time request waits for, and what it answers when the link was used or the store
/// failed.
pub(crate) struct OneTimeCall<S, ReqBody, ResBody, R> {
    pub(crate) gate: StoreFuture<Gate>,
    pub(crate) service: S,
    pub(crate) request: Request<ReqBody>,
    pub(crate) responder: R,
    pub(crate) stealth: bool,
    pub(crate) admit_repeat_from: Option<u64>,
    pub(crate) version: Option<Box<VersionCheck<ResBody>>>,
    pub(crate) conceal: Option<Box<Response<ResBody>>>,
    pub(crate) on_success: Option<Box<OnSuccess>>,
    pub(crate) give_back: Option<Box<GiveBack>>,
}

impl<S, ReqBody, ResBody, R> ResponseFuture<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    /// The inner service's future; `private` (the `Cache-Control` for an answer through a valid
    /// link) and `version` are set on its answer.
    pub(crate) fn inner(
        future: S::Future,
        private: Option<HeaderValue>,
        version: Option<Box<VersionCheck<ResBody>>>,
    ) -> Self {
        Self {
            kind: Kind::Inner {
                future,
                private,
                version,
                on_success: None,
                conceal: None,
                give_back: None,
            },
        }
    }

    /// Keeps an opaque link's hidden target out of the answer; `redirected` answers a redirect.
    pub(crate) fn with_concealment(mut self, redirected: Option<Box<Response<ResBody>>>) -> Self {
        if let Kind::Inner { conceal, .. } = &mut self.kind {
            *conceal = redirected;
        }
        self
    }

    /// Gives the one-time use back if the inner service answers with a 5xx or fails.
    pub(crate) fn with_give_back(mut self, recorded: Option<Box<GiveBack>>) -> Self {
        if let Kind::Inner { give_back, .. } = &mut self.kind {
            *give_back = recorded;
        }
        self
    }

    /// Sets `headers` on the inner service's answer when it succeeds.
    pub(crate) fn with_on_success(mut self, headers: Option<Box<OnSuccess>>) -> Self {
        if let Kind::Inner { on_success, .. } = &mut self.kind {
            *on_success = headers;
        }
        self
    }

    /// A refusal, ready at once.
    pub(crate) fn rejected(response: Response<ResBody>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    /// A one-time request waiting for the store before the inner service is called.
    pub(crate) fn one_time(call: OneTimeCall<S, ReqBody, ResBody, R>) -> Self {
        Self {
            kind: Kind::Consuming {
                call: Some(Box::new(call)),
            },
        }
    }
}

impl<S, ReqBody, ResBody, R> Future for ResponseFuture<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: RejectionResponse<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut kind = self.project().kind;
        loop {
            match kind.as_mut().project() {
                KindProj::Inner {
                    future,
                    private,
                    version,
                    on_success,
                    conceal,
                    give_back,
                } => {
                    let answer = ready!(future.poll(cx));
                    release_if_failed(give_back.take(), &answer);
                    let response = Answer {
                        version: version.take(),
                        conceal: conceal.take(),
                        on_success: on_success.take(),
                        private: private.take(),
                    }
                    .apply(answer?);
                    return Poll::Ready(Ok(response));
                }
                KindProj::Rejected { response } => {
                    return match response.take() {
                        Some(response) => Poll::Ready(Ok(response)),
                        // Polled again after completion: a contract breach by the caller, but
                        // no panic.
                        None => Poll::Pending,
                    };
                }
                KindProj::Consuming { call } => {
                    let Some(waiting) = call.as_mut() else {
                        // Polled again after completion: no panic.
                        return Poll::Pending;
                    };
                    let outcome = ready!(Pin::new(&mut waiting.gate).poll(cx));
                    let recorded = records_a_use(&outcome);
                    let admission = admission(outcome, waiting.admit_repeat_from);
                    let Some(waiting) = call.take() else {
                        return Poll::Pending;
                    };
                    let OneTimeCall {
                        mut service,
                        mut request,
                        responder,
                        stealth,
                        version,
                        conceal,
                        on_success,
                        give_back,
                        ..
                    } = *waiting;
                    let resumed = match admission {
                        Ok(resumed) => resumed,
                        Err(refusal) => {
                            let response = refuse(&responder, refusal, stealth);
                            kind.set(Kind::Rejected {
                                response: Some(response),
                            });
                            continue;
                        }
                    };
                    if resumed {
                        mark_resumed(&mut request);
                    }
                    let future = service.call(request);
                    kind.set(Kind::Inner {
                        future,
                        private: Some(HeaderValue::from_static("private")),
                        version,
                        on_success,
                        conceal,
                        give_back: give_back.filter(|_| recorded),
                    });
                }
            }
        }
    }
}

/// Gives a one-time use back when the application failed: decided on the service's own answer,
/// before the layer changes it (a 5xx or an error is the application failing, not the link
/// being used).
fn release_if_failed<B, E>(give_back: Option<Box<GiveBack>>, answer: &Result<Response<B>, E>) {
    let Some(give_back) = give_back else {
        return;
    };
    let failed = answer
        .as_ref()
        .map_or(true, |response| response.status().is_server_error());
    if failed {
        give_back.release();
    }
}

/// What a valid link's answer is made to carry, applied in this order once the inner service
/// answered.
struct Answer<ResBody> {
    version: Option<Box<VersionCheck<ResBody>>>,
    conceal: Option<Box<Response<ResBody>>>,
    on_success: Option<Box<OnSuccess>>,
    private: Option<HeaderValue>,
}

impl<ResBody> Answer<ResBody> {
    fn apply(self, mut response: Response<ResBody>) -> Response<ResBody> {
        if let Some(check) = self.version {
            response = check.apply(response);
        }
        if let Some(redirected) = self.conceal {
            response = concealed(response, *redirected);
        }
        // After concealment: a download name the link signed names no hidden target.
        if let Some(headers) = self.on_success {
            headers.apply(&mut response);
        }
        if let Some(cache_control) = self.private {
            mark_private(&mut response, cache_control);
        }
        response
    }
}

/// The answer to an opaque link without anything that names its hidden target: `Location`,
/// `Content-Location` and `Content-Disposition` are dropped, and a redirect (which is nothing
/// without its `Location`, and
/// ServeDir's names the folder) becomes `redirected`.
fn concealed<B>(mut response: Response<B>, redirected: Response<B>) -> Response<B> {
    if response.status().is_redirection() && response.headers().contains_key(LOCATION) {
        return redirected;
    }
    let headers = response.headers_mut();
    headers.remove(LOCATION);
    headers.remove(CONTENT_LOCATION);
    // A file name (`XAccelRedirect` writes one) names the target as well.
    headers.remove(CONTENT_DISPOSITION);
    response
}

/// A response to a signed link must not be cached for others, and the page it shows must not
/// leak the link through `Referer`.
fn mark_private<B>(response: &mut Response<B>, cache_control: HeaderValue) {
    let headers = response.headers_mut();
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, cache_control);
    }
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}
