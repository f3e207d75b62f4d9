//! Opaque links: `/s/<token>` hides the target, method, times and limits; the layer opens it and
//! applies exactly the rules of an ordinary link to the hidden target. A wrong key, a flipped
//! bit, a truncated or padded token get 403; an expired one 410; one-time opaque links work once.

mod support;

use support::send;

use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http::{Method, Request, StatusCode};
use tower::{Layer, ServiceExt};
use tower_secure_link::accel::XAccelRedirect;
use tower_secure_link::{Key, Keyring, ManualClock, RejectionKind, SecureLinkLayer};

const NOW: u64 = 1_767_222_000;

fn layer(key: Key, clock: &ManualClock) -> SecureLinkLayer {
    SecureLinkLayer::new(key)
        .with_private_prefix("/private/")
        .unwrap()
        .with_opaque_prefix("/s/")
        .unwrap()
        .with_clock(clock.clone())
}

fn key() -> Key {
    Key::new("k1", [21u8; 32]).unwrap()
}

/// Echoes the path and query the inner service saw, with the layer in front of the whole
/// router: opaque links are refused behind one that has already routed (see
/// `tests/mount_targets.rs`).
fn echo(layer: SecureLinkLayer) -> tower_secure_link::SecureLink<Router> {
    layer.layer(support::echo_app())
}

#[tokio::test]
async fn the_hidden_target_is_served_and_nothing_of_it_shows() {
    let clock = ManualClock::new(NOW);
    let layer = layer(key(), &clock);
    let signer = layer.signer();
    let app = echo(layer);
    // A 40-byte path.
    let path = "/private/reports/2026/q3/invoice-042.pdf";
    assert_eq!(path.len(), 40);
    let link = signer
        .link(&format!("{path}?lang=de"))
        .expires_in(Duration::from_secs(600))
        .opaque()
        .to_target()
        .unwrap();
    let token = link.strip_prefix("/s/").unwrap();
    eprintln!(
        "opaque token for a 40-byte path and a 7-byte query: {} characters",
        token.len()
    );
    // 2 + key id + 24 (nonce) + 16 (tag) + 9 two-byte lengths + method, path, query, expiry.
    assert!(token.len() <= 164, "{}", token.len());
    // Needles long enough that random base64 cannot spell them by chance.
    for secret in [
        "private",
        "reports",
        "invoice",
        ".pdf",
        "lang=",
        &(NOW + 600).to_string(),
    ] {
        assert!(!link.contains(secret), "{secret} shows in {link}");
    }
    assert_eq!(
        send(&app, Method::GET, &link).await,
        (StatusCode::OK, None, format!("{path}?lang=de"))
    );
    assert_eq!(send(&app, Method::HEAD, &link).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, Method::POST, &link).await.1,
        Some(RejectionKind::MethodNotAllowed)
    );
    // Two opaque links to the same target differ (a fresh nonce each).
    let again = signer.link(path).opaque().to_target().unwrap();
    assert_ne!(again, signer.link(path).opaque().to_target().unwrap());
}

#[tokio::test]
async fn tampered_tokens_are_refused() {
    let clock = ManualClock::new(NOW);
    let layer = layer(key(), &clock);
    let signer = layer.signer();
    let app = echo(layer);
    let link = signer.link("/private/a.pdf").opaque().to_target().unwrap();
    let token = link.strip_prefix("/s/").unwrap().to_owned();
    // Every character changed once: nothing is served.
    for at in 0..token.len() {
        let mut changed = token.clone();
        let original = &token[at..at + 1];
        let other = if original == "A" { "B" } else { "A" };
        changed.replace_range(at..at + 1, other);
        let (status, ..) = send(&app, Method::GET, &format!("/s/{changed}")).await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN),
            "position {at}: {status}"
        );
    }
    for (name, target) in [
        ("truncated", format!("/s/{}", &token[..token.len() - 4])),
        ("padded", format!("/s/{token}AAAA")),
        ("padding sign", format!("/s/{token}=")),
        ("empty", "/s/".to_owned()),
        ("query added", format!("{link}?x=1")),
        ("segment added", format!("{link}/x")),
        ("not base64", "/s/***".to_owned()),
    ] {
        let (status, ..) = send(&app, Method::GET, &target).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
    }
    // Another key: unknown id, or the same id with another secret.
    let other = layer_for_key(Key::new("k2", [22u8; 32]).unwrap(), &clock);
    assert_eq!(
        send(&other, Method::GET, &link).await.1,
        Some(RejectionKind::UnknownKey)
    );
    let same_id = layer_for_key(Key::new("k1", [23u8; 32]).unwrap(), &clock);
    assert_eq!(
        send(&same_id, Method::GET, &link).await.1,
        Some(RejectionKind::BadSignature)
    );
    // A public target is not a private resource: opaque links only hide private ones, so the
    // signer refuses to mint one the layer would refuse.
    let public = signer.link("/index.html").opaque().to_target();
    assert_eq!(
        public.unwrap_err().kind(),
        tower_secure_link::SignErrorKind::NotPrivate
    );
}

fn layer_for_key(key: Key, clock: &ManualClock) -> tower_secure_link::SecureLink<Router> {
    echo(layer(key, clock))
}

#[tokio::test]
async fn opaque_links_keep_every_rule_of_ordinary_links() {
    let clock = ManualClock::new(NOW);
    let layer = layer(key(), &clock);
    let signer = layer.signer();
    let app = echo(layer.clone());
    let expiring = signer
        .link("/private/a.pdf")
        .expires_in(Duration::from_secs(60))
        .opaque()
        .to_target()
        .unwrap();
    let once = signer
        .link("/private/a.pdf")
        .one_time()
        .opaque()
        .to_target()
        .unwrap();
    let upload = signer
        .link("/private/up.bin")
        .method(Method::PUT)
        .max_body_size(4)
        .opaque()
        .to_target()
        .unwrap();
    assert_eq!(send(&app, Method::GET, &once).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, Method::GET, &once).await.1,
        Some(RejectionKind::AlreadyUsed)
    );
    assert_eq!(send(&app, Method::PUT, &upload).await.0, StatusCode::OK);
    clock.advance(120);
    assert_eq!(
        send(&app, Method::GET, &expiring).await.1,
        Some(RejectionKind::Expired)
    );

    // Key rotation: a verify-only key still opens its links.
    let old = signer.link("/private/a.pdf").opaque().to_target().unwrap();
    let rotated = Keyring::new(Key::new("k9", [30u8; 32]).unwrap())
        .with_verify_only(key())
        .unwrap();
    layer.keyring_handle().unwrap().replace(rotated);
    assert_eq!(send(&app, Method::GET, &old).await.0, StatusCode::OK);

    // Without an opaque prefix the signer says so.
    let plain = SecureLinkLayer::new(key()).signer();
    assert!(plain.link("/private/a").opaque().to_target().is_err());
}

#[tokio::test]
async fn an_opaque_link_hands_nginx_the_hidden_file() {
    let clock = ManualClock::new(NOW);
    let layer = layer(key(), &clock);
    let link = layer
        .signer()
        .link("/private/deep/file.txt")
        .opaque()
        .to_target()
        .unwrap();
    let app = layer.layer(XAccelRedirect::<Body>::new("/private/", "/protected/").unwrap());
    let response = app
        .oneshot(Request::get(&link).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-accel-redirect"],
        "/protected/deep/file.txt"
    );
}

/// Every header of a response, as one text to search.
fn all_headers<B>(response: &http::Response<B>) -> String {
    response
        .headers()
        .iter()
        .map(|(name, value)| format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())))
        .collect()
}

#[tokio::test]
async fn no_answer_to_an_opaque_link_names_its_target() {
    let clock = ManualClock::new(NOW);
    let layer = layer(key(), &clock);
    let signer = layer.signer();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private/videos/dir")).unwrap();
    std::fs::write(root.path().join("private/videos/dir/index.html"), "index").unwrap();
    let files = layer.layer(tower_http::services::ServeDir::new(root.path()));
    // A folder minted without its trailing `/`: ServeDir answers with a redirect to `dir/`.
    let link = signer
        .link("/private/videos/dir?q=hidden-query-7")
        .opaque()
        .to_target()
        .unwrap();
    let response = files
        .clone()
        .oneshot(Request::get(&link).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let headers = all_headers(&response);
    for hidden in ["videos", "dir", "hidden-query-7"] {
        assert!(!headers.contains(hidden), "{hidden} shows in\n{headers}");
    }
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let kind = response.extensions().get::<tower_secure_link::Rejection>();
    assert_eq!(kind.map(|r| r.kind()), Some(RejectionKind::OpaqueRedirect));
    // With its trailing `/` the folder's index is served.
    let link = signer
        .link("/private/videos/dir/")
        .opaque()
        .to_target()
        .unwrap();
    let response = files
        .oneshot(Request::get(&link).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // An application's own `Location` and `Content-Location` (an upload answered with 201, a
    // redirect after a one-time use) are dropped or refused too.
    let app = layer.layer(tower::service_fn(|request: Request<Body>| async move {
        let target = request.uri().to_string();
        let status = if request.method() == Method::PUT {
            201
        } else {
            303
        };
        Ok::<_, std::convert::Infallible>(
            http::Response::builder()
                .status(status)
                .header("location", &target)
                .header("content-location", &target)
                .body(Body::empty())
                .unwrap(),
        )
    }));
    for (method, once) in [(Method::PUT, false), (Method::GET, true)] {
        let builder = signer
            .link("/private/up/hidden-name.bin")
            .method(method.clone());
        let builder = if once { builder.one_time() } else { builder };
        let link = builder.opaque().to_target().unwrap();
        let request = Request::builder().method(method.clone()).uri(&link);
        let request = request
            .header("content-length", "0")
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let headers = all_headers(&response);
        assert!(!headers.contains("hidden-name"), "{method}: {headers}");
        assert!(!headers.contains("location"), "{method}: {headers}");
    }
}
