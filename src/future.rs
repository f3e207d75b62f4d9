//! The response future of [`SecureLink`](crate::SecureLink).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::{CACHE_CONTROL, REFERRER_POLICY};
use http::{HeaderValue, Response};
use pin_project_lite::pin_project;

pin_project! {
    /// Either the inner service's future or a rejection that is ready at once.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            future: F,
            signed: bool,
        },
        Rejected {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F, signed: bool) -> Self {
        Self {
            kind: Kind::Inner { future, signed },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, signed } => {
                let mut response = ready!(future.poll(cx))?;
                if *signed {
                    mark_private(&mut response);
                }
                Poll::Ready(Ok(response))
            }
            KindProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after completion: a contract breach by the caller, but no panic.
                None => Poll::Pending,
            },
        }
    }
}

/// A response to a signed link must not be cached for others, and the page it shows must not
/// leak the link through `Referer`.
fn mark_private<B>(response: &mut Response<B>) {
    let headers = response.headers_mut();
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    }
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}
