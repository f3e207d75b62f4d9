//! The cases that leaked where configurations combine, each through the real router and
//! `ServeDir` it leaked through: climbs out of a public exception inside a private mount, and
//! links whose verified target lies in another mount than the one the router chose.
//! `tests/boundary.rs` generates the combinations; these are the named ones.
#![cfg(feature = "axum")]

mod support;

use std::path::Path;

use std::convert::Infallible;

use axum::body::Body;
use axum::Router;
use http::{Method, Request, Response, StatusCode};
use tower::util::BoxCloneService;
use tower::Layer;
use tower_http::services::ServeDir;
use tower_secure_link::{Key, RejectionKind, SecureLinkLayer};

/// A site whose every file holds its own URL path, so a body says which file came back.
fn site() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for path in [
        "/report.pdf",
        "/files/report.pdf",
        "/files/x.pdf",
        "/files/thumbnails/a.png",
        "/files/thumbnails/sub/b.png",
        "/files/pub/thumbs/c.png",
        "/files/other/x.pdf",
        "/files/s/files/x.pdf",
        "/files/a/y.pdf",
        "/files/a/other/x.pdf",
        "/other/x.pdf",
        "/other/sub/y.pdf",
    ] {
        let file = root.path().join(&path[1..]);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, path).unwrap();
    }
    root
}

fn key() -> Key {
    Key::new("1", [9u8; 32]).unwrap()
}

type App = BoxCloneService<Request<Body>, Response<Body>, Infallible>;

/// The wirings of the leak, each a router serving `files/` (and `other/`) of the site, and the
/// layer in front of the whole router as the control.
fn wirings(layer: &SecureLinkLayer, root: &Path) -> Vec<(&'static str, App)> {
    let files = || ServeDir::new(root.join("files"));
    let other = || ServeDir::new(root.join("other"));
    let boxed = |router: Router| BoxCloneService::new(router);
    vec![
        (
            "Router::layer over nest_service",
            boxed(
                Router::new()
                    .nest_service("/files", files())
                    .nest_service("/other", other())
                    .layer(layer.clone()),
            ),
        ),
        (
            "Router::layer over nest + fallback_service",
            boxed(
                Router::new()
                    .nest("/files", Router::new().fallback_service(files()))
                    .nest("/other", Router::new().fallback_service(other()))
                    .layer(layer.clone()),
            ),
        ),
        (
            "layer inside each nest",
            boxed(
                Router::new()
                    .nest_service("/files", layer.layer(files()))
                    .nest_service("/other", layer.layer(other())),
            ),
        ),
        (
            "layer outside the router",
            BoxCloneService::new(
                layer.layer(
                    Router::new()
                        .nest_service("/files", files())
                        .nest_service("/other", other()),
                ),
            ),
        ),
    ]
}

/// Whether a body is the bytes of a private file (under `/files/` or `/other/`, outside the
/// exceptions), and which.
fn private_file(body: &str) -> Option<&str> {
    let private = body.starts_with("/files/") || body.starts_with("/other/");
    let exception = body.starts_with("/files/thumbnails/") || body.starts_with("/files/pub/");
    (private && !exception).then_some(body)
}

#[tokio::test]
async fn no_climb_out_of_a_public_exception_reaches_a_private_file() {
    let root = site();
    let layer = SecureLinkLayer::new(key())
        .with_private_prefix("/files/")
        .unwrap()
        .with_private_prefix("/other/")
        .unwrap()
        .with_public_exception("/files/thumbnails/")
        .unwrap()
        .with_public_exception("/files/pub/thumbs/")
        .unwrap();
    let climbs = [
        "/files/thumbnails/../report.pdf",
        "/files/thumbnails/../../report.pdf",
        "/files/thumbnails/%2e%2e/%2e%2e/report.pdf",
        "/files/thumbnails/%2E%2E/%2E%2E/report.pdf",
        "/files/thumbnails/.%2e/.%2e/report.pdf",
        "/files/thumbnails/sub/../../../report.pdf",
        "/files/thumbnails/sub/../../x.pdf",
        "/files/thumbnails//../../report.pdf",
        "/files/thumbnails/./../../report.pdf",
        "/files/thumbnails/..;/..;/report.pdf",
        "/files/thumbnails/..;/x.pdf",
        "/files/pub/thumbs/../../../report.pdf",
        "/files/pub/thumbs/../../x.pdf",
        "/files/pub/thumbs/%2e%2e/%2e%2e/%2e%2e/report.pdf",
        "/files/thumbnails/../../other/x.pdf",
    ];
    for (wiring, app) in wirings(&layer, root.path()) {
        for target in climbs {
            let (status, kind, body) = support::send(&app, Method::GET, target).await;
            assert!(
                private_file(&body).is_none(),
                "{wiring}: {target} served {body:?} ({status})"
            );
            assert_eq!(status, StatusCode::BAD_REQUEST, "{wiring}: {target}");
            assert_eq!(
                kind,
                Some(RejectionKind::AmbiguousPath),
                "{wiring}: {target}"
            );
        }
        // The exception's own files stay public, and a link still opens a private file.
        let (status, _, body) =
            support::send(&app, Method::GET, "/files/thumbnails/sub/b.png").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "/files/thumbnails/sub/b.png")
        );
        let link = layer.signer().sign("/files/report.pdf").unwrap();
        let (status, _, body) = support::send(&app, Method::GET, &link).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "/files/report.pdf"),
            "{wiring}"
        );
    }
}

#[tokio::test]
async fn an_opaque_link_is_served_only_where_its_target_lies() {
    let root = site();
    let layer = SecureLinkLayer::new(key())
        .with_private_prefix("/files/")
        .unwrap()
        .with_private_prefix("/other/")
        .unwrap()
        .with_opaque_prefix("/files/s/")
        .unwrap();
    let signer = layer.signer();
    let opaque = |target: &str| signer.link(target).opaque().to_target().unwrap();
    for (wiring, app) in wirings(&layer, root.path()) {
        for target in ["/other/x.pdf", "/other/sub/y.pdf"] {
            let link = opaque(target);
            let (status, kind, body) = support::send(&app, Method::GET, &link).await;
            assert!(
                private_file(&body).map_or(true, |file| file == target),
                "{wiring}: the link for {target} served {body:?}"
            );
            if wiring != "layer outside the router" {
                assert_eq!(status, StatusCode::FORBIDDEN, "{wiring}: {target}");
                assert_eq!(
                    kind,
                    Some(RejectionKind::OutsideMount),
                    "{wiring}: {target}"
                );
            }
        }
        // Only in front of all routing is the hidden target routed afresh: everywhere else a
        // router already chose a service for `/files/s/<token>`, so even a target inside that
        // mount is refused (a deeper mount could shadow it).
        let (status, kind, body) = support::send(&app, Method::GET, &opaque("/files/x.pdf")).await;
        if wiring == "layer outside the router" {
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::OK, "/files/x.pdf"),
                "{wiring}"
            );
        } else {
            assert_eq!(
                (status, kind),
                (StatusCode::FORBIDDEN, Some(RejectionKind::OutsideMount)),
                "{wiring}"
            );
        }
    }
}

#[tokio::test]
async fn a_folder_link_is_served_only_inside_its_mount() {
    let root = site();
    let layer = SecureLinkLayer::new(key())
        .with_private_prefix("/files/")
        .unwrap()
        .with_private_prefix("/other/")
        .unwrap();
    let signer = layer.signer();
    let other = signer.folder_link("/other/").to_path_base().unwrap();
    let query = signer.folder_link("/other/").to_query().unwrap();
    for (wiring, app) in wirings(&layer, root.path()) {
        // The folder link for /other/ presented under the /files mount.
        let token = other.strip_prefix("/other/").unwrap();
        for target in [
            format!("/files/{token}x.pdf"),
            format!("/files/x.pdf?{query}"),
            format!("/files/other/x.pdf?{query}"),
        ] {
            let (status, _, body) = support::send(&app, Method::GET, &target).await;
            assert!(
                private_file(&body).is_none(),
                "{wiring}: {target} served {body:?}"
            );
            assert_eq!(status, StatusCode::FORBIDDEN, "{wiring}: {target}");
        }
        let (status, _, body) =
            support::send(&app, Method::GET, &format!("{other}sub/y.pdf")).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "/other/sub/y.pdf"),
            "{wiring}"
        );
    }
}

#[tokio::test]
async fn an_opaque_link_is_not_rerouted_by_a_router_inside_the_nest() {
    // The layer sits inside a nested router that has already routed by the stripped path: the
    // nest's own mounts are invisible to the layer, so it refuses opaque links there.
    let root = site();
    let layer = SecureLinkLayer::new(key())
        .with_private_prefix("/files/")
        .unwrap()
        .with_opaque_prefix("/files/a/s/")
        .unwrap();
    let inner = Router::new()
        .nest_service("/a", ServeDir::new(root.path().join("files/a")))
        .nest_service("/other", ServeDir::new(root.path().join("files/other")))
        .layer(layer.clone());
    let app = Router::new().nest("/files", inner);
    let signer = layer.signer();
    let link = signer
        .link("/files/other/x.pdf")
        .opaque()
        .to_target()
        .unwrap();
    let (status, kind, body) = support::send(&app, Method::GET, &link).await;
    assert!(private_file(&body).is_none(), "served {body:?}");
    assert_eq!(
        (status, kind),
        (StatusCode::FORBIDDEN, Some(RejectionKind::OutsideMount))
    );
    let link = signer.link("/files/a/y.pdf").opaque().to_target().unwrap();
    let (status, kind, _) = support::send(&app, Method::GET, &link).await;
    assert_eq!(
        (status, kind),
        (StatusCode::FORBIDDEN, Some(RejectionKind::OutsideMount))
    );
    // In front of the whole router, the same links are served, each from its own place.
    let app = layer.layer(
        Router::new().nest(
            "/files",
            Router::new()
                .nest_service("/a", ServeDir::new(root.path().join("files/a")))
                .nest_service("/other", ServeDir::new(root.path().join("files/other"))),
        ),
    );
    for target in ["/files/a/y.pdf", "/files/other/x.pdf"] {
        let link = signer.link(target).opaque().to_target().unwrap();
        let (status, _, body) = support::send(&app, Method::GET, &link).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, target));
    }
}

#[test]
fn an_opaque_prefix_never_overlaps_a_public_exception() {
    let base = || {
        SecureLinkLayer::new(key())
            .with_private_prefix("/files/")
            .unwrap()
    };
    for opaque in ["/files/pub/", "/files/pub/s/", "/files/"] {
        let after = base()
            .with_public_exception("/files/pub/")
            .unwrap()
            .with_opaque_prefix(opaque);
        assert!(after.is_err(), "{opaque} after the exception");
        let before = base()
            .with_opaque_prefix(opaque)
            .unwrap()
            .with_public_exception("/files/pub/");
        assert!(before.is_err(), "{opaque} before the exception");
    }
    let apart = base()
        .with_public_exception("/files/pub/")
        .unwrap()
        .with_opaque_prefix("/files/s/");
    assert!(apart.is_ok());
}
