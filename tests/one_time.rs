//! One-time links and upload slots: exactly once under concurrency (in one process with the
//! memory store, across two server processes with a real Redis), failing closed when Redis is
//! down, and upload slots that cannot be reused, redirected or overfilled.

mod support;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::routing::any;
use axum::Router;
use http::{header, Method, Request, StatusCode};
use tower::ServiceExt;
use tower_secure_link::{Key, ManualClock, RejectionKind, SecureLinkLayer, UrlSigner};

const NOW: u64 = 1_767_222_000;
const KEY: &str = "one-time test secret, 32 bytes long";

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", KEY).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
}

/// An axum app behind `layer` on a loopback port.
fn serve_in_background(layer: SecureLinkLayer) -> String {
    support::serve_app(
        Router::new()
            .fallback(any(|| async { "the private bytes" }))
            .layer(layer),
    )
}

#[test]
fn exactly_one_of_200_concurrent_requests_wins_with_the_memory_store() {
    let layer = layer();
    let link = layer
        .signer()
        .link("/private/once.txt")
        .one_time()
        .to_target()
        .unwrap();
    let addr = serve_in_background(layer);
    let statuses = support::fire(&[addr], "GET", &link, 200);
    assert_eq!(support::count(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(support::count(&statuses, 410), 199, "{statuses:?}");
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<RejectionKind>) {
    let reply = support::send_request(app, request).await;
    (reply.status, reply.kind)
}

fn get(target: &str) -> Request<Body> {
    Request::get(target).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn probes_do_not_use_up_a_link() {
    let layer = layer();
    let signer = layer.signer();
    let app = Router::new().fallback(any(|| async { "x" })).layer(layer);
    let link = signer
        .link("/private/a.pdf")
        .one_time()
        .to_target()
        .unwrap();
    let head = Request::head(&link).body(Body::empty()).unwrap();
    assert_eq!(
        send(&app, head).await.0,
        StatusCode::OK,
        "HEAD looks without using"
    );
    let options = Request::builder()
        .method(Method::OPTIONS)
        .uri(&link)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&app, options).await.0,
        StatusCode::FORBIDDEN,
        "OPTIONS is not the link's method"
    );
    let tampered = link.replace("a.pdf", "b.pdf");
    assert_eq!(
        send(&app, get(&tampered)).await.0,
        StatusCode::FORBIDDEN,
        "a forgery uses nothing"
    );
    assert_eq!(
        send(&app, get(&link)).await.0,
        StatusCode::OK,
        "the first GET"
    );
    assert_eq!(
        send(&app, get(&link)).await,
        (StatusCode::GONE, Some(RejectionKind::AlreadyUsed))
    );
    // Two links to the same file are independent.
    let other = signer
        .link("/private/a.pdf")
        .one_time()
        .to_target()
        .unwrap();
    assert_ne!(other, link);
    assert_eq!(send(&app, get(&other)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn resumed_downloads_are_refused_unless_configured() {
    let clock = ManualClock::new(NOW);
    let strict = layer().with_clock(clock.clone());
    let lenient = layer()
        .with_clock(clock.clone())
        .with_one_time_resume_window(Duration::from_secs(60));
    let range = |target: &str, range: &str| {
        Request::get(target)
            .header(header::RANGE, range)
            .body(Body::empty())
            .unwrap()
    };
    for (layer, resumes) in [(strict, false), (lenient, true)] {
        clock.set(NOW);
        let signer = layer.signer();
        let app = Router::new().fallback(any(|| async { "x" })).layer(layer);
        let link = signer
            .link("/private/big.iso")
            .one_time()
            .to_target()
            .unwrap();
        assert_eq!(send(&app, get(&link)).await.0, StatusCode::OK);
        let resumed = send(&app, range(&link, "bytes=1000-")).await.0;
        assert_eq!(
            resumed == StatusCode::OK,
            resumes,
            "a resume, within the window"
        );
        assert_eq!(
            send(&app, range(&link, "bytes=0-")).await.0,
            StatusCode::GONE,
            "a full copy"
        );
        assert_eq!(
            send(&app, range(&link, "bytes=-500")).await.0,
            StatusCode::GONE,
            "a suffix"
        );
        assert_eq!(
            send(&app, get(&link)).await.0,
            StatusCode::GONE,
            "a plain GET"
        );
        clock.advance(61);
        assert_eq!(
            send(&app, range(&link, "bytes=1000-")).await.0,
            StatusCode::GONE,
            "after the window"
        );
    }
}

fn upload_app(layer: SecureLinkLayer) -> Router {
    Router::new()
        .fallback(any(|body: Bytes| async move {
            format!("stored {} bytes", body.len())
        }))
        .layer(layer)
}

fn upload(method: Method, target: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(target)
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn upload_slots_are_single_use_bound_and_bounded() {
    let layer = layer();
    let signer: UrlSigner = layer.signer();
    let app = upload_app(layer);
    let slot = |signer: &UrlSigner| {
        signer
            .link("/private/uploads/report.bin")
            .method(Method::PUT)
            .one_time()
            .max_body_size(1024)
            .expires_in(Duration::from_secs(600))
            .to_target()
            .unwrap()
    };
    let link = slot(&signer);
    let small = || Body::from(vec![7u8; 100]);
    #[rustfmt::skip]
    let refused_before_use = [
        ("another method", upload(Method::POST, &link, small()), StatusCode::FORBIDDEN),
        ("another path", upload(Method::PUT, &link.replace("report.bin", "other.bin"), small()), StatusCode::FORBIDDEN),
        ("over the limit", upload(Method::PUT, &link, Body::from(vec![0u8; 2000])), StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (name, request, status) in refused_before_use {
        assert_eq!(send(&app, request).await.0, status, "{name}");
    }
    let response = app
        .clone()
        .oneshot(upload(Method::PUT, &link, small()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(&body[..], b"stored 100 bytes");
    assert_eq!(
        send(&app, upload(Method::PUT, &link, small())).await.0,
        StatusCode::GONE,
        "reused"
    );

    // A body of unknown length cannot be checked before it is read: refused up front.
    let streamed = Body::new(UnknownLength(vec![
        Bytes::from_static(&[1; 10]),
        Bytes::from_static(&[2; 10]),
    ]));
    let fresh = slot(&signer);
    let (status, kind) = send(&app, upload(Method::PUT, &fresh, streamed)).await;
    assert_eq!(
        (status, kind),
        (
            StatusCode::LENGTH_REQUIRED,
            Some(RejectionKind::LengthRequired)
        )
    );
    // The refusal did not use the slot up.
    assert_eq!(
        send(&app, upload(Method::PUT, &fresh, small())).await.0,
        StatusCode::OK
    );
}

/// A body whose length is not known in advance (its size hint is left unbounded).
struct UnknownLength(Vec<Bytes>);

impl http_body::Body for UnknownLength {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = (!self.0.is_empty()).then(|| self.0.remove(0));
        std::task::Poll::Ready(next.map(|chunk| Ok(http_body::Frame::data(chunk))))
    }
}

#[tokio::test]
async fn streamed_uploads_are_cut_off_at_the_limit_while_they_stream() {
    let layer = layer().with_streamed_uploads(true);
    let signer = layer.signer();
    let app = Router::new()
        .fallback(any(|body: Bytes| async move {
            format!("stored {} bytes", body.len())
        }))
        .layer(tower_secure_link::upload::UploadLimitLayer::new())
        .layer(layer);
    let slot = || {
        signer
            .link("/private/uploads/stream.bin")
            .method(Method::PUT)
            .one_time()
            .max_body_size(64)
            .to_target()
            .unwrap()
    };
    let chunks = |count: usize| Body::new(UnknownLength(vec![Bytes::from_static(&[9; 16]); count]));
    let small = slot();
    assert_eq!(
        send(&app, upload(Method::PUT, &small, chunks(3))).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, upload(Method::PUT, &small, chunks(1))).await.0,
        StatusCode::GONE
    );
    let large = slot();
    let (status, _) = send(&app, upload(Method::PUT, &large, chunks(10))).await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "160 bytes through a 64-byte slot"
    );
    // A declared length over the limit is still refused before reading.
    let (status, kind) = send(
        &app,
        upload(Method::PUT, &slot(), Body::from(vec![0u8; 65])),
    )
    .await;
    assert_eq!(
        (status, kind),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(RejectionKind::PayloadTooLarge)
        )
    );
}

#[tokio::test]
async fn a_resume_through_serve_dir_stays_partial_whatever_if_range_says() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    let whole = "0123456789abcdefghij";
    std::fs::write(root.path().join("private/video.mp4"), whole).unwrap();
    let layer = layer().with_one_time_resume_window(Duration::from_secs(60));
    let signer = layer.signer();
    let app = Router::new()
        .fallback_service(tower_http::services::ServeDir::new(root.path()))
        .layer(layer);
    let link = signer
        .link("/private/video.mp4")
        .one_time()
        .to_target()
        .unwrap();
    let fetch = |request: Request<Body>| {
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let (status, body) = fetch(get(&link)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, whole));
    for if_range in ["\"not-the-etag\"", "Thu, 01 Jan 1970 00:00:00 GMT"] {
        let request = Request::get(&link)
            .header(header::RANGE, "bytes=10-")
            .header(header::IF_RANGE, if_range)
            .body(Body::empty())
            .unwrap();
        let (status, body) = fetch(request).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "If-Range {if_range}");
        assert_eq!(
            body, "abcdefghij",
            "If-Range {if_range}: never the whole file"
        );
    }
}

#[tokio::test]
async fn a_clock_stepping_back_and_forth_never_frees_a_used_link() {
    let clock = ManualClock::new(NOW);
    let layer = layer().with_clock(clock.clone());
    let signer = layer.signer();
    let app = Router::new().fallback(any(|| async { "x" })).layer(layer);
    let link = signer
        .link("/private/once.txt")
        .one_time()
        .expires_in(Duration::from_secs(60))
        .to_target()
        .unwrap();
    assert_eq!(send(&app, get(&link)).await.0, StatusCode::OK);
    #[rustfmt::skip]
    let steps = [
        ("an hour back", NOW - 3600, RejectionKind::AlreadyUsed),
        ("a day ahead (the memory store purges as it goes)", NOW + 86_400, RejectionKind::Expired),
        ("back to within the link's life", NOW + 30, RejectionKind::AlreadyUsed),
        ("a year ahead", NOW + 365 * 86_400, RejectionKind::Expired),
        ("back to the first use", NOW, RejectionKind::AlreadyUsed),
    ];
    for (name, now, kind) in steps {
        clock.set(now);
        // A fresh one-time link each step makes the store purge what it thinks it may.
        let other = signer
            .link("/private/other.txt")
            .one_time()
            .to_target()
            .unwrap();
        assert_eq!(send(&app, get(&other)).await.0, StatusCode::OK, "{name}");
        assert_eq!(
            send(&app, get(&link)).await,
            (StatusCode::GONE, Some(kind)),
            "{name}"
        );
    }
}
