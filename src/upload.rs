//! Upload slots with bodies of unknown length: enforcing the limit while the body streams.
//!
//! A slot's size limit is signed into its link. When the request declares its length, the
//! layer compares that length with the limit and answers 413 before anything is read (the HTTP
//! server then stops at the declared length). A body of unknown length (chunked, or an HTTP/2
//! stream without `content-length`) can only be measured while it is read, which needs a
//! different request body type inside: that is this module.
//!
//! With [`SecureLinkLayer::with_streamed_uploads`](crate::SecureLinkLayer::with_streamed_uploads)
//! the layer lets such bodies through with the slot's [`UploadLimit`] in the request extensions,
//! and [`UploadLimitLayer`], placed inside it, wraps every body in `http_body_util::Limited`: the
//! body fails with `LengthLimitError` once it passes the limit, and axum's extractors answer 413.
//! Without both, the layer answers 411 to an upload slot with a body of unknown length.
//!
//! ```
//! use axum::{body::{Body, Bytes}, routing::put, Router};
//! use http::{Method, Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_secure_link::{upload::UploadLimitLayer, Key, SecureLinkLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap()).with_streamed_uploads(true);
//! let slot = layer.signer().link("/in/a.bin").method(Method::PUT).max_body_size(4).to_target().unwrap();
//! let app = Router::new()
//!     .route("/in/a.bin", put(|body: Bytes| async move { body.len().to_string() }))
//!     .layer(UploadLimitLayer::new())
//!     .layer(layer);
//! let upload = |bytes: &'static [u8]| {
//!     // A stream: no declared length.
//!     let body = Body::from_stream(futures_stream(bytes));
//!     Request::put(&slot).body(body).unwrap()
//! };
//! assert_eq!(app.clone().oneshot(upload(b"abc")).await.unwrap().status(), StatusCode::OK);
//! assert_eq!(app.oneshot(upload(b"abcdefgh")).await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
//! # }
//! # fn futures_stream(bytes: &'static [u8]) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
//! #     struct Once(Option<Bytes>);
//! #     impl futures_core::Stream for Once {
//! #         type Item = Result<Bytes, std::io::Error>;
//! #         fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
//! #             std::task::Poll::Ready(self.0.take().map(Ok))
//! #         }
//! #     }
//! #     Once(Some(Bytes::from_static(bytes)))
//! # }
//! ```

use std::task::{Context, Poll};

use http::Request;
use http_body_util::Limited;
use tower_layer::Layer;
use tower_service::Service;

/// An upload slot's size limit in bytes, put in the request extensions by the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimit(pub u64);

/// Wraps every request body in `http_body_util::Limited`, with the slot's [`UploadLimit`] when
/// the request carries one and no limit otherwise.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct UploadLimitLayer;

impl UploadLimitLayer {
    /// The layer; put it inside [`SecureLinkLayer`](crate::SecureLinkLayer).
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for UploadLimitLayer {
    type Service = UploadLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        UploadLimitService { inner }
    }
}

/// The service made by [`UploadLimitLayer`].
#[derive(Debug, Clone)]
pub struct UploadLimitService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for UploadLimitService<S>
where
    S: Service<Request<Limited<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let limit = request
            .extensions()
            .get::<UploadLimit>()
            .map_or(usize::MAX, |limit| {
                usize::try_from(limit.0).unwrap_or(usize::MAX)
            });
        self.inner
            .call(request.map(|body| Limited::new(body, limit)))
    }
}
