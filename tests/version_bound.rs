//! Version-bound links against tower-http's `ServeDir`: a link minted for a file's current
//! version is served while the file is untouched, and answers 410 (`version_changed`, body
//! dropped) once the file is replaced, touched or removed.

mod support;

use std::time::{Duration, SystemTime};

use axum::Router;
use http::{Method, StatusCode};
use tower::Layer;
use tower_http::services::ServeDir;
use tower_secure_link::{file_version, Key, RejectionKind, SecureLinkLayer};

async fn fetch(
    app: &tower_secure_link::SecureLink<Router>,
    method: Method,
    target: &str,
) -> (StatusCode, Option<RejectionKind>, String) {
    support::send(app, method, target).await
}

#[tokio::test]
async fn a_changed_file_kills_its_links() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("private");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.txt");
    std::fs::write(&file, "version one").unwrap();
    std::fs::write(dir.join("other.txt"), "another file").unwrap();
    let layer = SecureLinkLayer::new(Key::new("1", [4u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap();
    let signer = layer.signer();
    let app = layer.layer(Router::new().fallback_service(ServeDir::new(root.path())));
    let bound = |path: &std::path::Path, target: &str| {
        signer
            .link(target)
            .version(&file_version(path).unwrap())
            .to_target()
            .unwrap()
    };
    let link = bound(&file, "/private/report.txt");
    let other = bound(&dir.join("other.txt"), "/private/other.txt");

    assert_eq!(
        fetch(&app, Method::GET, &link).await,
        (StatusCode::OK, None, "version one".into()),
        "untouched"
    );
    assert_eq!(fetch(&app, Method::HEAD, &link).await.0, StatusCode::OK);

    // Touched: the same bytes, a newer modification time.
    let later = SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let (status, kind, body) = fetch(&app, Method::GET, &link).await;
    assert_eq!(
        (status, kind),
        (StatusCode::GONE, Some(RejectionKind::VersionChanged))
    );
    assert!(!body.contains("version one"), "the body is dropped: {body}");

    // Replaced: a fresh link for the new version works, the old one stays dead. (ServeDir's
    // validator has whole seconds: a file replaced within the second it was written keeps it.)
    std::fs::write(&file, "version two").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later + Duration::from_secs(5))
        .unwrap();
    let fresh = bound(&file, "/private/report.txt");
    assert_eq!(fetch(&app, Method::GET, &fresh).await.2, "version two");
    assert_eq!(fetch(&app, Method::GET, &link).await.0, StatusCode::GONE);

    // Other files' links are not affected; a removed file's link is gone too.
    assert_eq!(fetch(&app, Method::GET, &other).await.0, StatusCode::OK);
    std::fs::remove_file(dir.join("other.txt")).unwrap();
    assert_eq!(fetch(&app, Method::GET, &other).await.0, StatusCode::GONE);

    // The version is signed: changing it breaks the link.
    let forged = fresh.replace("sl_ver=", "sl_ver=A");
    assert_eq!(
        fetch(&app, Method::GET, &forged).await.0,
        StatusCode::FORBIDDEN
    );
    // Only reads carry a version.
    assert!(signer
        .link("/private/report.txt")
        .method(Method::PUT)
        .version("x")
        .to_target()
        .is_err());
}
