//! [`SecureLink`]: the middleware service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::CACHE_CONTROL;
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, Uri};
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::rejection::{Rejection, RejectionKind, RejectionResponse};
use crate::settings::Settings;
use crate::signer::UrlSigner;
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
        let rejection = Rejection::new(kind, self.settings.stealth);
        let mut response = self.responder.response(&rejection);
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(rejection);
        response
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for SecureLink<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: RejectionResponse<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let (signed, target) =
            match self
                .settings
                .decide(request.method(), request.uri(), request.extensions())
            {
                Ok(verdict) => (verdict.is_signed(), verdict.into_target()),
                Err(kind) => return ResponseFuture::rejected(self.reject(kind)),
            };
        if let Some(target) = target {
            match with_path_and_query(request.uri(), target) {
                Some(uri) => *request.uri_mut() = uri,
                None => return ResponseFuture::rejected(self.reject(RejectionKind::MalformedPath)),
            }
        }
        if self.settings.signer_in_extensions {
            request
                .extensions_mut()
                .insert(UrlSigner::new(self.settings.clone()));
        }
        ResponseFuture::inner(self.inner.call(request), signed)
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
