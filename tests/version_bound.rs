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

const KEY: &str = "version-bound-test-secret-0123456789";

/// `METHOD target` to a `serve` process, with extra header lines.
fn request(addr: &str, method: &str, target: &str, headers: &str) -> support::RawResponse {
    let request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    support::raw_bytes(addr, request.as_bytes())
}

/// Gives `path` the modification time `at`, as `cp -p` and `rsync -t` do.
fn set_mtime(path: &std::path::Path, at: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

/// The attack of issue 18: the file behind a version-bound link is replaced by one of another
/// size under the old modification time (`cp -p`, `rsync -t`). Through the `serve` process, the
/// link (from `sign --bind-file`) must then answer 410 to every way of reading the file.
#[test]
fn a_same_time_replacement_of_another_size_kills_the_link_in_serve() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("private");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.txt");
    std::fs::write(&file, "version one").unwrap();
    // A whole second, as every copy of the file keeps.
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_222_000);
    set_mtime(&file, mtime);
    let env = [("SECURE_LINK_KEY", KEY)];
    let serve = support::Serve::start(&["--root", root.path().to_str().unwrap()], &env);
    let link = support::cli_sign(
        &["--bind-file", file.to_str().unwrap(), "/private/report.txt"],
        &env,
    );
    let addr = &serve.addr;
    let last_modified = httpdate::fmt_http_date(mtime);

    let fresh = request(addr, "GET", &link, "");
    assert_eq!(
        (fresh.status, fresh.body_text().as_str()),
        (200, "version one")
    );
    assert_eq!(request(addr, "HEAD", &link, "").status, 200);
    let part = request(addr, "GET", &link, "Range: bytes=0-6\r\n");
    assert_eq!((part.status, part.body_text().as_str()), (206, "version"));
    // A browser revalidating its copy gets 304, not 410: it has no body to protect.
    let revalidated = request(
        addr,
        "GET",
        &link,
        &format!("If-Modified-Since: {last_modified}\r\n"),
    );
    assert_eq!(revalidated.status, 304, "{}", revalidated.head);

    // The documented limit: the same size in the same second is the same version.
    std::fs::write(&file, "version 1!!").unwrap();
    set_mtime(&file, mtime);
    let same_size = request(addr, "GET", &link, "");
    assert_eq!(
        (same_size.status, same_size.body_text().as_str()),
        (200, "version 1!!")
    );

    // `rsync -t`: a new file of another size renamed over the old one, with its time.
    let incoming = dir.join(".report.txt.tmp");
    std::fs::write(&incoming, "version two, longer").unwrap();
    set_mtime(&incoming, mtime);
    std::fs::rename(&incoming, &file).unwrap();
    let if_range = format!("Range: bytes=0-6\r\nIf-Range: {last_modified}\r\n");
    for (method, headers) in [
        ("GET", ""),
        ("HEAD", ""),
        ("GET", "Range: bytes=0-6\r\n"),
        ("GET", if_range.as_str()),
    ] {
        let answer = request(addr, method, &link, headers);
        assert_eq!(
            answer.status, 410,
            "{method} with {headers:?}: {}",
            answer.head
        );
        assert!(
            !answer.body_text().contains("version two"),
            "{method}: the body is dropped"
        );
    }
    // `cp -p` in place, back to the bound size but other bytes of it: the limit again.
    std::fs::write(&file, "VERSION ONE").unwrap();
    set_mtime(&file, mtime);
    assert_eq!(request(addr, "GET", &link, "").status, 200);
    // A fresh link for the new version works; the old one stays bound to the old size.
    std::fs::write(&file, "version three").unwrap();
    set_mtime(&file, mtime);
    let relinked = support::cli_sign(
        &["--bind-file", file.to_str().unwrap(), "/private/report.txt"],
        &env,
    );
    assert_eq!(
        request(addr, "GET", &relinked, "").body_text(),
        "version three"
    );
    assert_eq!(request(addr, "GET", &link, "").status, 410);
}

/// Links minted before sizes were bound carry a bare `Last-Modified`: they keep working (and
/// keep the old, time-only meaning) until they expire.
#[tokio::test]
async fn links_bound_to_a_bare_last_modified_keep_working() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    let file = root.path().join("private/old.txt");
    std::fs::write(&file, "old link").unwrap();
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_222_000);
    set_mtime(&file, mtime);
    let layer = SecureLinkLayer::new(Key::new("1", [4u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap();
    let app = layer
        .clone()
        .layer(Router::new().fallback_service(ServeDir::new(root.path())));
    let link = layer
        .signer()
        .link("/private/old.txt")
        .version(&httpdate::fmt_http_date(mtime))
        .to_target()
        .unwrap();
    assert_eq!(fetch(&app, Method::GET, &link).await.2, "old link");
    set_mtime(&file, mtime + Duration::from_secs(1));
    assert_eq!(fetch(&app, Method::GET, &link).await.0, StatusCode::GONE);
}

/// `file_version` binds regular files only, and never panics on a time `Last-Modified` cannot
/// write.
#[test]
fn file_versions_are_for_files_with_writable_times() {
    let root = tempfile::tempdir().unwrap();
    assert!(
        file_version(root.path()).is_err(),
        "a folder has no version"
    );
    let file = root.path().join("f.txt");
    std::fs::write(&file, "12345").unwrap();
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_222_000);
    set_mtime(&file, mtime);
    assert_eq!(
        file_version(&file).unwrap(),
        format!("{}; size=5", httpdate::fmt_http_date(mtime))
    );
    set_mtime(&file, SystemTime::UNIX_EPOCH - Duration::from_secs(60));
    assert!(file_version(&file).is_err(), "1969 is no HTTP date");
}

/// Behind `X-Accel-Redirect` nginx sends the bytes, so the layer checks the version on the
/// redirect: with `with_validators_from` it carries the file's time and size; without, the
/// version cannot be seen and the link is refused rather than trusted.
#[tokio::test]
async fn version_bound_links_through_x_accel_redirect() {
    use tower_secure_link::accel::{XAccelRedirect, X_ACCEL_REDIRECT};
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("clip.mp4");
    std::fs::write(&file, "clip, first cut").unwrap();
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_222_000);
    set_mtime(&file, mtime);
    let layer = SecureLinkLayer::new(Key::new("1", [4u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap();
    let accel = |validators: bool| {
        let mut files =
            XAccelRedirect::<axum::body::Body>::new("/private/", "/protected/").unwrap();
        if validators {
            files = files.with_validators_from(root.path());
        }
        Router::new()
            .route_service("/private/{*file}", files)
            .layer(layer.clone())
    };
    let (checked, blind) = (accel(true), accel(false));
    let link = layer
        .signer()
        .link("/private/clip.mp4")
        .version(&file_version(&file).unwrap())
        .to_target()
        .unwrap();
    let send = |app: Router, target: String| async move {
        use tower::ServiceExt as _;
        let request = http::Request::get(target)
            .body(axum::body::Body::empty())
            .unwrap();
        app.oneshot(request).await.unwrap()
    };
    let served = send(checked.clone(), link.clone()).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()[X_ACCEL_REDIRECT], "/protected/clip.mp4");
    assert_eq!(send(blind, link.clone()).await.status(), StatusCode::GONE);

    // Replaced by another size under the same time: the redirect is refused.
    std::fs::write(&file, "clip, the final longer cut").unwrap();
    set_mtime(&file, mtime);
    let refused = send(checked, link).await;
    assert_eq!(refused.status(), StatusCode::GONE);
    assert!(refused.headers().get(X_ACCEL_REDIRECT).is_none());
}
