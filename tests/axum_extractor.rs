//! The `UrlSigner` axum extractor (feature `axum`): handlers take the signer as an argument, and
//! a router without the layer gets an error that names it.
#![cfg(feature = "axum")]

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_secure_link::{Key, SecureLinkLayer, UrlSigner};

async fn page(signer: UrlSigner) -> String {
    signer.sign("/private/report.pdf").unwrap()
}

async fn body(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn handlers_take_the_signer_as_an_argument() {
    let layer = SecureLinkLayer::new(Key::new("1", [3u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap();
    let app = Router::new().route("/", get(page)).layer(layer.clone());
    let response = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let link = body(response).await;
    assert!(
        layer
            .check(&http::Method::GET, &link.parse().unwrap())
            .is_ok(),
        "{link}"
    );
}

#[tokio::test]
async fn a_missing_layer_is_named() {
    let app = Router::new().route("/", get(page));
    let response = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body(response)
        .await
        .contains("add tower_secure_link::SecureLinkLayer"));
}
