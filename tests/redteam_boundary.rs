//! A red-team pass over the boundary changes of issue 18: each case tries to get the bytes of a
//! private file without a valid link for exactly that file, or to make the layer break one of
//! its promises (a 500, an opaque target in a header, a cookie honoured elsewhere, a minted link
//! refused in a wiring the README calls held), through real wirings: axum routers over
//! `ServeDir`, and the `secure-link serve` process over a raw socket. Every case asserts the safe
//! outcome, so a passing case documents what holds; a failing one is a finding.
#![cfg(all(feature = "axum", feature = "nginx"))]

mod support;

use std::path::Path;

use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Method, Request, StatusCode};
use tower::{Layer, ServiceExt};
use tower_http::services::ServeDir;
use tower_secure_link::{Key, Rejection, RejectionKind, SecureLinkLayer};

/// A tree whose every file holds its own path under the tree, so a body names the file that
/// was opened, whichever mount opened it.
fn tree(paths: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for path in paths {
        let file = root.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, format!("FILE {path}")).unwrap();
    }
    root
}

fn dir(root: &Path, sub: &str) -> ServeDir {
    ServeDir::new(root.join(sub.trim_start_matches('/')))
}

fn layer(private: &[&str], exceptions: &[&str], opaque: Option<&str>) -> SecureLinkLayer {
    let mut layer = SecureLinkLayer::new(Key::new("1", [9u8; 32]).unwrap());
    for prefix in private {
        layer = layer.with_private_prefix(*prefix).unwrap();
    }
    for prefix in exceptions {
        layer = layer.with_public_exception(*prefix).unwrap();
    }
    if let Some(prefix) = opaque {
        layer = layer.with_opaque_prefix(prefix).unwrap();
    }
    layer
}

/// What came back for one request: status, the layer's reason, headers and body.
struct Answer {
    status: StatusCode,
    kind: Option<RejectionKind>,
    headers: HeaderMap,
    body: String,
}

async fn call<S>(service: &S, request: Request<Body>) -> Answer
where
    S: tower::Service<Request<Body>, Response = http::Response<Body>> + Clone,
    S::Error: std::fmt::Debug,
{
    let response = service.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .extensions()
        .get::<Rejection>()
        .map(Rejection::kind);
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        kind,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn get<S>(service: &S, target: &str) -> Answer
where
    S: tower::Service<Request<Body>, Response = http::Response<Body>> + Clone,
    S::Error: std::fmt::Debug,
{
    request(service, Method::GET, target, &[]).await
}

async fn request<S>(service: &S, method: Method, target: &str, headers: &[(&str, &str)]) -> Answer
where
    S: tower::Service<Request<Body>, Response = http::Response<Body>> + Clone,
    S::Error: std::fmt::Debug,
{
    let mut builder = Request::builder().method(method).uri(target);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    call(service, builder.body(Body::empty()).unwrap()).await
}

/// The safe outcome for a request that carries no valid link for the file in `leaked`: no body
/// of that file, and no 5xx.
/// An opaque link behind a router that has already routed is refused (403 `outside_mount`):
/// the router chose its service for `/s/<token>`, not for the hidden target. Anywhere else it
/// serves exactly its file.
fn assert_opaque_served_or_refused(case: &str, answer: &Answer, file: &str) {
    let refused =
        answer.status == StatusCode::FORBIDDEN && answer.kind == Some(RejectionKind::OutsideMount);
    assert!(
        refused || answer.body == format!("FILE {file}"),
        "{case}: {} {:?}: {}",
        answer.status,
        answer.kind,
        answer.body
    );
}

fn assert_no_leak(case: &str, answer: &Answer, leaked: &str) {
    assert!(
        !answer.body.contains(&format!("FILE {leaked}")),
        "{case}: served {leaked} ({} {:?}): {}",
        answer.status,
        answer.kind,
        answer.body
    );
    assert!(
        !answer.status.is_server_error(),
        "{case}: {} {:?}",
        answer.status,
        answer.kind
    );
}

// ---------------------------------------------------------------------------------------------
// Opaque links re-routed by a router that already routed.

/// Router::layer inside a nested router: the outer `nest("/a")` strips `/a`, the inner router
/// routes `/b/...` to its `nest_service("/b")`, and only then does the layer run (the README
/// marks layers inside nests as held). An opaque link for `/a/c/y.pdf` presented at
/// `/a/b/s/<token>` must not be served by the `/b` mount as `b/c/y.pdf`.
#[tokio::test]
async fn opaque_link_rerouted_by_an_inner_router_layer() {
    let root = tree(&["/a/c/y.pdf", "/a/b/c/y.pdf", "/a/b/x.pdf"]);
    let layer = layer(&["/a/"], &[], Some("/a/b/s/"));
    let app = Router::new().nest(
        "/a",
        Router::new()
            .nest_service("/b", dir(root.path(), "/a/b"))
            .fallback_service(dir(root.path(), "/a"))
            .layer(layer.clone()),
    );
    let signer = layer.signer();
    // The link for /a/c/y.pdf: its own file, or a refusal; never /a/b/c/y.pdf.
    let link = signer.link("/a/c/y.pdf").opaque().to_target().unwrap();
    let answer = get(&app, &link).await;
    assert_no_leak("opaque /a/c/y.pdf at /a/b/s/", &answer, "/a/b/c/y.pdf");
    // The held promise: a link for a file the /b mount serves works.
    let link = signer.link("/a/b/x.pdf").opaque().to_target().unwrap();
    let answer = get(&app, &link).await;
    assert_opaque_served_or_refused("opaque /a/b/x.pdf", &answer, "/a/b/x.pdf");
}

/// Two overlapping mounts, `/files` and the deeper `/files/sub` (another folder), with
/// `Router::layer`. An opaque link for `/files/sub/x.pdf` is routed by its raw path
/// `/files/s/<token>` into `/files`, which then opens `files/sub/x.pdf`: a file the router
/// never serves for that URL (the `/files/sub` mount shadows it).
#[tokio::test]
async fn opaque_link_into_a_shadowed_mount_router_layer() {
    let root = tree(&["/files/sub/x.pdf", "/vault/x.pdf", "/files/y.pdf"]);
    let layer = layer(&["/files/"], &[], Some("/files/s/"));
    let app = Router::new()
        .nest_service("/files", dir(root.path(), "/files"))
        .nest_service("/files/sub", dir(root.path(), "/vault"))
        .layer(layer.clone());
    // What the router serves for the URL: the deeper mount.
    let plain = layer.signer().sign("/files/sub/x.pdf").unwrap();
    assert_eq!(get(&app, &plain).await.body, "FILE /vault/x.pdf");
    let link = layer
        .signer()
        .link("/files/sub/x.pdf")
        .opaque()
        .to_target()
        .unwrap();
    let answer = get(&app, &link).await;
    assert_no_leak("opaque /files/sub/x.pdf", &answer, "/files/sub/x.pdf");
}

/// The same shadowing with the layer inside each nest.
#[tokio::test]
async fn opaque_link_into_a_shadowed_mount_layer_in_nest() {
    let root = tree(&["/files/sub/x.pdf", "/vault/x.pdf"]);
    let layer = layer(&["/files/"], &[], Some("/files/s/"));
    let app = Router::new()
        .nest_service("/files", layer.layer(dir(root.path(), "/files")))
        .nest_service("/files/sub", layer.layer(dir(root.path(), "/vault")));
    let link = layer
        .signer()
        .link("/files/sub/x.pdf")
        .opaque()
        .to_target()
        .unwrap();
    let answer = get(&app, &link).await;
    assert_no_leak(
        "opaque /files/sub/x.pdf, layer in nest",
        &answer,
        "/files/sub/x.pdf",
    );
}

// ---------------------------------------------------------------------------------------------
// Targets that are not paths.

/// With everything private (`/`), the asterisk-form target `*` is no path under `/`; a file
/// named `*` in the served folder must not come back without a link.
#[tokio::test]
async fn asterisk_target_with_everything_private() {
    let root = tree(&["/*", "/x.pdf"]);
    let layer = layer(&["/"], &[], None);
    let outside = layer.layer(Router::new().fallback_service(dir(root.path(), "/")));
    let router_layer = Router::new()
        .fallback_service(dir(root.path(), "/"))
        .layer(layer.clone());
    // The control: without the layer, ServeDir does open the file named `*`.
    let bare = Router::new().fallback_service(dir(root.path(), "/"));
    let control = request(&bare, Method::GET, "*", &[]).await;
    assert_eq!(
        control.body, "FILE /*",
        "the control: the attack reaches a file"
    );
    for method in [Method::GET, Method::OPTIONS, Method::HEAD] {
        let answer = request(&outside, method.clone(), "*", &[]).await;
        assert_no_leak(&format!("{method} * (layer.layer)"), &answer, "/*");
        let answer = request(&router_layer, method.clone(), "*", &[]).await;
        assert_no_leak(&format!("{method} * (Router::layer)"), &answer, "/*");
    }
}

// ---------------------------------------------------------------------------------------------
// Opaque links never show their target.

/// Every header value of an answer to an opaque link, lower-cased, for a search for the target.
fn header_text(answer: &Answer) -> String {
    answer
        .headers
        .iter()
        .map(|(name, value)| format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())))
        .collect::<String>()
        .to_ascii_lowercase()
}

/// An opaque link answered through `XAccelRedirect` (the README says opaque links compose with
/// it): nginx forwards the backend's `Content-Disposition` to the client, so its file name must
/// not be the hidden target's.
#[tokio::test]
async fn opaque_link_through_x_accel_redirect_names_no_file() {
    let layer = layer(&["/files/"], &[], Some("/s/"));
    let accel =
        tower_secure_link::accel::XAccelRedirect::<Body>::new("/files/", "/protected/").unwrap();
    let app = layer.layer(accel);
    let link = layer
        .signer()
        .link("/files/invoice-42-acme.pdf")
        .opaque()
        .to_target()
        .unwrap();
    let answer = get(&app, &link).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.kind);
    let shown = answer
        .headers
        .get(http::header::CONTENT_DISPOSITION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    assert!(
        !shown.contains("invoice-42-acme"),
        "Content-Disposition names the hidden file: {shown}"
    );
}

/// An opaque link to a folder, with and without its trailing `/`, through each held wiring and
/// each method: no answer carries the folder's name, none is a 5xx.
#[tokio::test]
async fn opaque_folder_links_show_nothing() {
    let root = tree(&[
        "/files/hidden-dir-7/index.html",
        "/files/hidden-dir-8/a.txt",
    ]);
    let layer = layer(&["/files/"], &[], Some("/files/s/"));
    let wirings: Vec<(&str, Router)> = vec![
        (
            "layer.layer",
            Router::new().nest_service("/files", dir(root.path(), "/files")),
        ),
        (
            "Router::layer",
            Router::new()
                .nest_service("/files", dir(root.path(), "/files"))
                .layer(layer.clone()),
        ),
        (
            "layer in nest",
            Router::new().nest_service("/files", layer.layer(dir(root.path(), "/files"))),
        ),
    ];
    for (name, router) in wirings {
        let app = if name == "layer.layer" {
            tower::util::BoxCloneService::new(layer.layer(router))
        } else {
            tower::util::BoxCloneService::new(router)
        };
        for folder in [
            "/files/hidden-dir-7",
            "/files/hidden-dir-7/",
            "/files/hidden-dir-8",
            "/files/hidden-dir-8/",
        ] {
            let Ok(link) = layer.signer().link(folder).opaque().to_target() else {
                continue; // refusing to mint it is a safe outcome
            };
            for method in [Method::GET, Method::HEAD] {
                let answer = request(&app, method.clone(), &link, &[]).await;
                let case = format!("{name}: {method} opaque {folder}");
                assert!(
                    !answer.status.is_server_error(),
                    "{case}: {}",
                    answer.status
                );
                assert!(
                    !header_text(&answer).contains("hidden-dir"),
                    "{case}: {}",
                    header_text(&answer)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Exceptions and private prefixes at several depths, climbed in and out.

/// A wiring, boxed so that different router shapes share one type.
type App =
    tower::util::BoxCloneService<Request<Body>, http::Response<Body>, std::convert::Infallible>;

/// The wirings the README marks held, each serving the tree at `root` with `files` mounted at
/// `/files` (and a root fallback where the wiring has one).
fn held_wirings(layer: &SecureLinkLayer, root: &Path) -> Vec<(&'static str, App)> {
    use tower::util::BoxCloneService as Boxed;
    vec![
        (
            "layer.layer(router)",
            Boxed::new(
                layer.layer(
                    Router::new()
                        .nest_service("/files", dir(root, "/files"))
                        .fallback_service(dir(root, "/")),
                ),
            ),
        ),
        (
            "Router::layer over nest_service",
            Boxed::new(
                Router::new()
                    .nest_service("/files", dir(root, "/files"))
                    .layer(layer.clone()),
            ),
        ),
        (
            "Router::layer over nest + fallback_service",
            Boxed::new(
                Router::new()
                    .nest(
                        "/files",
                        Router::new().fallback_service(dir(root, "/files")),
                    )
                    .layer(layer.clone()),
            ),
        ),
        (
            "layer inside nest_service",
            Boxed::new(Router::new().nest_service("/files", layer.layer(dir(root, "/files")))),
        ),
        (
            "Router::layer inside a nested router",
            Boxed::new(
                Router::new().nest(
                    "/files",
                    Router::new()
                        .fallback_service(dir(root, "/files"))
                        .layer(layer.clone()),
                ),
            ),
        ),
    ]
}

/// Climbs between a private prefix, an exception inside it and a private prefix inside the
/// exception, in every spelling a router or ServeDir may read, through every held wiring.
#[tokio::test]
async fn climbs_between_nested_exceptions_and_private_prefixes() {
    let root = tree(&[
        "/report.pdf",
        "/files/report.pdf",
        "/files/pub/logo.png",
        "/files/pub/secret/key.pem",
        "/files/pub/deep/pub2/ok.png",
    ]);
    let layer = layer(&["/files/", "/files/pub/secret/"], &["/files/pub/"], None);
    let climbs: &[(&str, &str)] = &[
        ("/files/pub/../report.pdf", "/files/report.pdf"),
        ("/files/pub/%2e%2e/report.pdf", "/files/report.pdf"),
        ("/files/pub/.%2E/report.pdf", "/files/report.pdf"),
        ("/files/pub/..;/report.pdf", "/files/report.pdf"),
        ("/files/pub/..%3b/report.pdf", "/files/report.pdf"),
        ("/files/pub/..%5creport.pdf", "/files/report.pdf"),
        ("/files/pub/..\\report.pdf", "/files/report.pdf"),
        ("/files/pub/..%2freport.pdf", "/files/report.pdf"),
        ("/files/pub/%252e%252e/report.pdf", "/files/report.pdf"),
        ("/files/pub//../report.pdf", "/files/report.pdf"),
        ("/files/pub/./../report.pdf", "/files/report.pdf"),
        ("/files/pub/deep/../../report.pdf", "/files/report.pdf"),
        (
            "/files/pub/deep/pub2/../../../report.pdf",
            "/files/report.pdf",
        ),
        ("/files/pub/secret/key.pem", "/files/pub/secret/key.pem"),
        (
            "/files/pub/deep/../secret/key.pem",
            "/files/pub/secret/key.pem",
        ),
        (
            "/files/pub/secret/../secret/key.pem",
            "/files/pub/secret/key.pem",
        ),
        ("/files/pub/%73ecret/key.pem", "/files/pub/secret/key.pem"),
        ("/files/pub/SECRET/key.pem", "/files/pub/secret/key.pem"),
        ("/files/pub/secret%2fkey.pem", "/files/pub/secret/key.pem"),
        ("/files/pub//secret/key.pem", "/files/pub/secret/key.pem"),
        ("/files/pub/secret./key.pem", "/files/pub/secret/key.pem"),
        ("/files/pub/secret;x/key.pem", "/files/pub/secret/key.pem"),
        ("/files/pub/./secret/key.pem", "/files/pub/secret/key.pem"),
        ("/files/pub/../../files/report.pdf", "/files/report.pdf"),
        // Climbs that land outside every prefix: the raw path still routes into `/files`.
        ("/files/pub/../../report.pdf", "/files/report.pdf"),
        ("/files/pub/%2e%2e/%2e%2e/report.pdf", "/files/report.pdf"),
        ("/files/pub/..;/..;/report.pdf", "/files/report.pdf"),
        ("/files/pub/secret/../../../report.pdf", "/files/report.pdf"),
        ("/files/pub/deep/../../../report.pdf", "/files/report.pdf"),
        ("/files/pub//../../report.pdf", "/files/report.pdf"),
        ("/files/pub/./../../report.pdf", "/files/report.pdf"),
        ("/files/pub/..%2f..%2freport.pdf", "/files/report.pdf"),
        ("/files/pub/..\\..\\report.pdf", "/files/report.pdf"),
    ];
    for (wiring, app) in held_wirings(&layer, root.path()) {
        for (target, private) in climbs {
            for method in [Method::GET, Method::HEAD] {
                let answer = request(&app, method.clone(), target, &[]).await;
                assert_no_leak(&format!("{wiring}: {method} {target}"), &answer, private);
            }
        }
        // And what must keep working there: the exception, and a link for the deep private file.
        let answer = get(&app, "/files/pub/logo.png").await;
        assert_eq!(
            answer.body, "FILE /files/pub/logo.png",
            "{wiring}: the exception"
        );
        let link = layer.signer().sign("/files/pub/secret/key.pem").unwrap();
        let answer = get(&app, &link).await;
        assert_eq!(
            answer.body, "FILE /files/pub/secret/key.pem",
            "{wiring}: link for the private prefix inside the exception ({:?})",
            answer.kind
        );
    }
}

/// Everything private (`/`) with an exception at the root's first level and the files at the
/// root: climbs out of the exception to the root.
#[tokio::test]
async fn everything_private_with_a_root_exception() {
    let root = tree(&["/x.pdf", "/public/a.css", "/files/report.pdf"]);
    let layer = layer(&["/"], &["/public/"], Some("/s/"));
    let apps: Vec<(&str, Router)> = vec![
        (
            "Router::layer over nest_service + fallback",
            Router::new()
                .nest_service("/public", dir(root.path(), "/public"))
                .fallback_service(dir(root.path(), "/"))
                .layer(layer.clone()),
        ),
        (
            "layer inside nest_service",
            Router::new()
                .nest_service("/public", layer.layer(dir(root.path(), "/public")))
                .fallback_service(layer.layer(dir(root.path(), "/"))),
        ),
    ];
    for (wiring, app) in apps {
        for target in [
            "/public/../x.pdf",
            "/public/%2e%2e/x.pdf",
            "/public/..;/x.pdf",
            "/public/..%2fx.pdf",
            "/public/..%5cx.pdf",
            "/public//../x.pdf",
            "/Public/../x.pdf",
            "/x.pdf",
            "/%78.pdf",
            "//x.pdf",
            "/./x.pdf",
            "/public/../files/report.pdf",
            "/s/../x.pdf",
            "/s/%2e%2e/x.pdf",
            "/s/",
            "/s",
        ] {
            let answer = get(&app, target).await;
            assert_no_leak(&format!("{wiring}: {target}"), &answer, "/x.pdf");
            assert_no_leak(&format!("{wiring}: {target}"), &answer, "/files/report.pdf");
        }
        let link = layer.signer().link("/x.pdf").opaque().to_target().unwrap();
        let answer = get(&app, &link).await;
        assert_opaque_served_or_refused(
            &format!("{wiring}: opaque link at the root"),
            &answer,
            "/x.pdf",
        );
        let link = layer.signer().sign("/files/report.pdf").unwrap();
        let answer = get(&app, &link).await;
        assert_eq!(
            answer.body, "FILE /files/report.pdf",
            "{wiring}: plain link ({:?})",
            answer.kind
        );
    }
}

/// A folder link for a folder above the mount the files are served from: the raw path routes
/// by its token segment, the layer hands on the path without it.
#[tokio::test]
async fn folder_link_above_the_mount_router_layer() {
    let root = tree(&["/files/v/a.ts", "/files/b.txt"]);
    let layer = layer(&["/files/"], &[], None);
    let app = Router::new()
        .nest_service("/files/v", dir(root.path(), "/files/v"))
        .layer(layer.clone());
    let base = layer
        .signer()
        .folder_link("/files/")
        .to_path_base()
        .unwrap();
    let answer = get(&app, &format!("{base}v/a.ts")).await;
    assert_no_leak("folder link above the mount", &answer, "/files/b.txt");
    // A documented limit: axum routes `/files/<token>/v/a.ts` by its raw segments before the
    // layer removes the token, so no route matches. Put the layer in front of the router.
    assert!(
        answer.body == "FILE /files/v/a.ts" || answer.status == StatusCode::NOT_FOUND,
        "a folder link for /files/ at {base}v/a.ts, Router::layer over nest_service(/files/v): {} {:?}",
        answer.status, answer.kind
    );
}

// ---------------------------------------------------------------------------------------------
// Nested nests: what the README marks held keeps working, and nothing crosses a mount.

/// `nest("/a", Router::new().nest_service("/b", layer.layer(ServeDir)))`: the layer two mounts
/// deep, with the opaque prefix inside them.
#[tokio::test]
async fn layer_two_nests_deep() {
    let root = tree(&["/a/b/x.pdf", "/a/b/c/y.pdf", "/a/c/y.pdf", "/a/x.pdf"]);
    let layer = layer(&["/a/"], &[], Some("/a/b/s/"));
    let app = Router::new().nest(
        "/a",
        Router::new()
            .nest_service("/b", layer.layer(dir(root.path(), "/a/b")))
            .fallback_service(layer.layer(dir(root.path(), "/a"))),
    );
    let signer = layer.signer();
    let held = [
        (
            "plain link",
            signer.sign("/a/b/x.pdf").unwrap(),
            "/a/b/x.pdf",
        ),
        (
            "opaque link",
            signer.link("/a/b/x.pdf").opaque().to_target().unwrap(),
            "/a/b/x.pdf",
        ),
        (
            "plain link, fallback",
            signer.sign("/a/c/y.pdf").unwrap(),
            "/a/c/y.pdf",
        ),
        (
            "folder link",
            format!(
                "{}c/y.pdf",
                signer.folder_link("/a/b/").to_path_base().unwrap()
            ),
            "/a/b/c/y.pdf",
        ),
    ];
    for (case, link, file) in held {
        let answer = get(&app, &link).await;
        if case.starts_with("opaque") {
            assert_opaque_served_or_refused(case, &answer, file);
            continue;
        }
        assert_eq!(
            answer.body,
            format!("FILE {file}"),
            "{case}: {} {:?}",
            answer.status,
            answer.kind
        );
    }
    // An opaque link for a file outside the inner mount: refused, never re-mapped into it.
    let link = signer.link("/a/c/y.pdf").opaque().to_target().unwrap();
    let answer = get(&app, &link).await;
    assert_no_leak("opaque /a/c/y.pdf at /a/b/s/", &answer, "/a/b/c/y.pdf");
    assert_eq!(answer.kind, Some(RejectionKind::OutsideMount));
    // Another file's link, a sibling's token, and climbs across the inner mount.
    for target in [
        format!("{}/../c/y.pdf", signer.sign("/a/b/x.pdf").unwrap()),
        "/a/b/../c/y.pdf".to_owned(),
        "/a/b/%2e%2e/c/y.pdf".to_owned(),
        "/a/b/..;/x.pdf".to_owned(),
        signer
            .sign("/a/b/x.pdf")
            .unwrap()
            .replace("/a/b/x.pdf", "/a/b/c/y.pdf"),
        format!(
            "{}../../c/y.pdf",
            signer.folder_link("/a/b/").to_path_base().unwrap()
        ),
    ] {
        let answer = get(&app, &target).await;
        assert_no_leak(&target, &answer, "/a/c/y.pdf");
        assert_no_leak(&target, &answer, "/a/b/c/y.pdf");
    }
}

// ---------------------------------------------------------------------------------------------
// Session cookies: their folder, their mount, their host.

fn cookie_of(answer: &Answer) -> Option<(String, String)> {
    let value = answer
        .headers
        .get(http::header::SET_COOKIE)?
        .to_str()
        .ok()?;
    let pair = value.split(';').next()?.trim().to_owned();
    let path = value
        .split(';')
        .find_map(|attribute| attribute.trim().strip_prefix("Path="))?
        .to_owned();
    Some((pair, path))
}

/// A cookie session from a folder link used through the layer inside a nest: the cookie's
/// `Path` is the folder as the browser sees it, and the cookie admits nothing in another mount
/// with the same path inside it, nor climbs, nor another host.
#[tokio::test]
async fn session_cookie_stays_in_its_mount_and_folder() {
    let root = tree(&[
        "/files/v/a.ts",
        "/files/v/b.ts",
        "/files/w/c.ts",
        "/other/v/a.ts",
        "/files/v2/d.ts",
    ]);
    let layer = layer(&["/files/", "/other/"], &["/files/v/pub/"], None);
    let app = Router::new()
        .nest_service("/files", layer.layer(dir(root.path(), "/files")))
        .nest_service("/other", layer.layer(dir(root.path(), "/other")));
    let base = layer
        .signer()
        .folder_link("/files/v/")
        .cookie_session(std::time::Duration::from_secs(600))
        .to_path_base()
        .unwrap();
    let host = ("host", "files.example");
    let answer = request(&app, Method::GET, &format!("{base}a.ts"), &[host]).await;
    assert_eq!(answer.body, "FILE /files/v/a.ts", "{:?}", answer.kind);
    let (cookie, path) = cookie_of(&answer).expect("a session cookie");
    assert_eq!(
        path, "/files/v/",
        "the cookie's Path is the folder the client sees"
    );
    let with = [("cookie", cookie.as_str()), host];
    let answer = request(&app, Method::GET, "/files/v/b.ts", &with).await;
    assert_eq!(
        answer.body, "FILE /files/v/b.ts",
        "the cookie's own folder: {:?}",
        answer.kind
    );
    for (target, file) in [
        ("/other/v/a.ts", "/other/v/a.ts"),
        ("/files/w/c.ts", "/files/w/c.ts"),
        ("/files/v2/d.ts", "/files/v2/d.ts"),
        ("/files/v/../w/c.ts", "/files/w/c.ts"),
        ("/files/v/%2e%2e/w/c.ts", "/files/w/c.ts"),
        ("/files/v/..;/w/c.ts", "/files/w/c.ts"),
        ("/files/v/..%2fw/c.ts", "/files/w/c.ts"),
        ("/files/v/pub/../../w/c.ts", "/files/w/c.ts"),
        ("/files/v%2f..%2fw/c.ts", "/files/w/c.ts"),
        ("/files/V/../w/c.ts", "/files/w/c.ts"),
    ] {
        for method in [Method::GET, Method::HEAD] {
            let answer = request(&app, method.clone(), target, &with).await;
            assert_no_leak(&format!("{method} {target} with the cookie"), &answer, file);
        }
    }
    // The cookie on another host, by Host and by an absolute-form target.
    let elsewhere = [("cookie", cookie.as_str()), ("host", "evil.example")];
    let answer = request(&app, Method::GET, "/files/v/b.ts", &elsewhere).await;
    assert_no_leak("cookie on another Host", &answer, "/files/v/b.ts");
    let answer = request(
        &app,
        Method::GET,
        "http://evil.example/files/v/b.ts",
        &[("cookie", &cookie)],
    )
    .await;
    assert_no_leak(
        "cookie with an absolute target naming another host",
        &answer,
        "/files/v/b.ts",
    );
    let answer = request(
        &app,
        Method::GET,
        "http://evil.example/files/v/b.ts",
        &[("cookie", &cookie), host],
    )
    .await;
    assert_no_leak(
        "absolute target for another host, Host of this one",
        &answer,
        "/files/v/b.ts",
    );
    // Methods a cookie does not cover.
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let answer = request(&app, method.clone(), "/files/v/b.ts", &with).await;
        assert_ne!(answer.status, StatusCode::OK, "{method} with the cookie");
    }
}

// ---------------------------------------------------------------------------------------------
// The `serve` process over raw sockets.

const SECRET: (&str, &str) = (
    "SECURE_LINK_KEY",
    "a red-team secret of thirty-two bytes or more",
);

/// `serve --private /` with an exception and a root opaque prefix: the request forms that are
/// no origin-form path, and climbs out of the exception, get no private bytes and no 5xx.
#[test]
fn serve_everything_private_odd_targets() {
    let root = tree(&["/*", "/x.pdf", "/pub/a.css", "/dir/index.html"]);
    let server = support::Serve::start(
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--private",
            "/",
            "--public",
            "/pub/",
        ],
        &[SECRET],
    );
    let addr = server.addr.clone();
    let attacks: Vec<(&str, String)> = vec![
        ("OPTIONS", "*".into()),
        ("GET", "*".into()),
        ("HEAD", "*".into()),
        ("CONNECT", addr.clone()),
        ("CONNECT", "127.0.0.1:1".into()),
        ("GET", addr.clone()),
        ("GET", format!("http://{addr}")),
        ("GET", format!("http://{addr}/x.pdf")),
        ("GET", format!("http://{addr}/pub/../x.pdf")),
        ("GET", format!("http://user@{addr}/x.pdf")),
        ("GET", "/pub/../x.pdf".into()),
        ("GET", "/pub/%2e%2e/x.pdf".into()),
        ("GET", "/pub/..;/x.pdf".into()),
        ("GET", "/pub/..%2fx.pdf".into()),
        ("GET", "/pub/..%5cx.pdf".into()),
        ("GET", "/pub/..\\x.pdf".into()),
        ("GET", "/pub//../x.pdf".into()),
        ("GET", "/PUB/../x.pdf".into()),
        ("GET", "/%2a".into()),
        ("GET", "/x.pdf%00".into()),
        ("GET", "/x.pdf%".into()),
        ("GET", "/s/../x.pdf".into()),
        ("GET", "/s/..%2fx.pdf".into()),
        ("GET", "/dir".into()),
        ("GET", "/pub/../dir".into()),
    ];
    for (method, target) in &attacks {
        let response = support::raw_request(&addr, method, target.as_bytes());
        let case = format!("{method} {target}");
        assert!(response.status < 500, "{case}: {}", response.head);
        for file in ["/*", "/x.pdf", "/dir/index.html"] {
            assert!(
                !response.body_text().contains(&format!("FILE {file}")),
                "{case}: served {file}: {}",
                response.head
            );
        }
        assert!(
            !response
                .head
                .to_ascii_lowercase()
                .contains("location: /dir"),
            "{case}: {}",
            response.head
        );
    }
    // What must keep working: the exception, a plain link, the same link in absolute form.
    assert_eq!(
        support::get(&addr, "/pub/a.css").body_text(),
        "FILE /pub/a.css"
    );
    let link = support::cli_sign(&["/x.pdf"], &[SECRET]);
    assert_eq!(support::get(&addr, &link).body_text(), "FILE /x.pdf");
    let absolute = format!("http://{addr}{link}");
    let response = support::get(&addr, &absolute);
    assert_eq!(
        response.body_text(),
        "FILE /x.pdf",
        "absolute form: {}",
        response.head
    );
    let opaque = support::cli_sign(&["--opaque", "/x.pdf"], &[SECRET]);
    assert_eq!(
        support::get(&addr, &opaque).body_text(),
        "FILE /x.pdf",
        "opaque {opaque}"
    );
}

/// `sign --opaque` for a folder without its trailing `/`, served by `serve`: refused at
/// minting (exit 2), or answered without naming the folder.
#[test]
fn serve_opaque_folder_without_slash() {
    let root = tree(&["/private/hidden-folder-9/a.txt"]);
    let server = support::Serve::start(&["--root", root.path().to_str().unwrap()], &[SECRET]);
    let output = support::run_cli(&["sign", "--opaque", "/private/hidden-folder-9"], &[SECRET]);
    if !output.status.success() {
        assert_eq!(output.status.code(), Some(2));
        return;
    }
    let link = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    for method in ["GET", "HEAD"] {
        let response = support::raw_request(&server.addr, method, link.as_bytes());
        assert!(response.status < 500, "{}", response.head);
        assert!(
            !response.head.contains("hidden-folder-9")
                && !response.body_text().contains("hidden-folder-9"),
            "{method}: {}",
            response.head
        );
    }
}

// ---------------------------------------------------------------------------------------------
// nginx in front: `nginx-config --accel-internal` with an opaque prefix.

/// nginx started with the `nginx-config --accel-internal` output located at the opaque prefix
/// `/s/`, in front of the layer and `XAccelRedirect` over `root/private`; `None` without nginx.
fn accel_behind_nginx(root: &Path, layer: &SecureLinkLayer) -> Option<support::Nginx> {
    let Some(nginx) = support::nginx_binary() else {
        eprintln!("nginx is not installed: skipped");
        return None;
    };
    support::open_up(root);
    let files =
        tower_secure_link::accel::XAccelRedirect::<Body>::new("/private/", "/protected/").unwrap();
    let backend = support::serve_app(layer.layer(files));
    let alias = format!("{}/", root.join("private").display());
    let output = support::run_cli(
        &[
            "nginx-config",
            "--location",
            "/s/",
            "--accel-internal",
            "/protected/",
            "--alias",
            &alias,
            "--upstream",
            &backend,
        ],
        &[("SECURE_LINK_KEY", "unused")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config = String::from_utf8(output.stdout).unwrap();
    let (http, server) = config
        .split_once(tower_secure_link::nginx::SERVER_CONTEXT_MARKER)
        .unwrap();
    Some(support::Nginx::start_with_http(&nginx, http, server))
}

/// Through nginx, an opaque link to a file: the client sees the bytes, and no header names the
/// file (nginx forwards the backend's `Content-Disposition`).
#[test]
fn opaque_file_link_through_nginx_accel_names_nothing() {
    let root = tree(&["/private/quarterly-report-acme.pdf"]);
    let layer = layer(&["/private/"], &[], Some("/s/"));
    let Some(server) = accel_behind_nginx(root.path(), &layer) else {
        return;
    };
    let link = layer
        .signer()
        .link("/private/quarterly-report-acme.pdf")
        .opaque()
        .to_target()
        .unwrap();
    let response = support::get(&server.addr, &link);
    assert_eq!(
        response.status,
        200,
        "{}\n{}",
        response.head,
        server.error_log()
    );
    assert_eq!(
        response.body_text(),
        "FILE /private/quarterly-report-acme.pdf"
    );
    assert!(
        !response.head.contains("quarterly-report"),
        "opaque file link through nginx: {}",
        response.head
    );
}

/// Through nginx, an opaque link to a folder written without its `/`: nginx's own redirect for
/// a folder must not reach the client with the folder's name.
#[test]
fn opaque_folder_link_through_nginx_accel_names_nothing() {
    let root = tree(&["/private/secret-folder-5/a.txt"]);
    let layer = layer(&["/private/"], &[], Some("/s/"));
    let Some(server) = accel_behind_nginx(root.path(), &layer) else {
        return;
    };
    let Ok(link) = layer
        .signer()
        .link("/private/secret-folder-5")
        .opaque()
        .to_target()
    else {
        return; // refused at minting: safe
    };
    let response = support::get(&server.addr, &link);
    assert!(response.status < 500, "{}", response.head);
    assert!(
        !response.head.contains("secret-folder-5"),
        "opaque folder link through nginx: {}",
        response.head
    );
}

// ---------------------------------------------------------------------------------------------
// Sign only what verifies: configurations the builder accepts, links the signer mints.

/// An opaque prefix that overlaps a private prefix or an exception: either the builder refuses
/// it, or every link the signer then mints (plain, folder, opaque) and every public file still
/// works through `layer.layer(router)`.
#[tokio::test]
async fn opaque_prefix_overlapping_other_prefixes() {
    let root = tree(&["/files/x.pdf", "/files/pub/a.png", "/files/v/a.ts"]);
    let configs: &[(&str, &[&str], &[&str], &str)] = &[
        (
            "opaque prefix = private prefix",
            &["/files/"],
            &[],
            "/files/",
        ),
        (
            "opaque prefix = exception",
            &["/files/"],
            &["/files/pub/"],
            "/files/pub/",
        ),
        (
            "opaque prefix above the private prefix",
            &["/files/v/"],
            &[],
            "/files/",
        ),
    ];
    let mut failures = vec![];
    for (case, private, exceptions, opaque) in configs {
        let mut built = SecureLinkLayer::new(Key::new("1", [9u8; 32]).unwrap());
        for prefix in *private {
            built = built.with_private_prefix(*prefix).unwrap();
        }
        for prefix in *exceptions {
            built = built.with_public_exception(*prefix).unwrap();
        }
        let Ok(built) = built.with_opaque_prefix(opaque) else {
            continue; // refused by the builder: safe
        };
        let app = built.layer(Router::new().fallback_service(dir(root.path(), "/")));
        let signer = built.signer();
        let mut links = vec![];
        if let Ok(link) = signer.sign("/files/v/a.ts") {
            links.push(("plain", link, "/files/v/a.ts"));
        }
        if let Ok(base) = signer.folder_link("/files/v/").to_path_base() {
            links.push(("folder", format!("{base}a.ts"), "/files/v/a.ts"));
        }
        if let Ok(link) = signer.link("/files/v/a.ts").opaque().to_target() {
            links.push(("opaque", link, "/files/v/a.ts"));
        }
        for (kind, link, file) in links {
            let answer = get(&app, &link).await;
            if answer.body != format!("FILE {file}") {
                failures.push(format!(
                    "{case}: the signer's {kind} link: {} {:?}",
                    answer.status, answer.kind
                ));
            }
        }
        if !exceptions.is_empty() {
            let answer = get(&app, "/files/pub/a.png").await;
            if answer.body != "FILE /files/pub/a.png" {
                failures.push(format!(
                    "{case}: the public exception: {} {:?}",
                    answer.status, answer.kind
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A folder link minted for a folder inside a public exception, or for a folder holding one:
/// if the signer mints it, the layer serves it.
#[tokio::test]
async fn folder_links_and_exceptions() {
    let root = tree(&[
        "/files/pub/a.png",
        "/files/pub/secret/k.pem",
        "/files/x.pdf",
    ]);
    let layer = layer(&["/files/", "/files/pub/secret/"], &["/files/pub/"], None);
    let apps: Vec<(&str, Router)> = vec![
        (
            "layer.layer",
            Router::new().fallback_service(layer.layer(dir(root.path(), "/"))),
        ),
        (
            "Router::layer over nest_service",
            Router::new()
                .nest_service("/files", dir(root.path(), "/files"))
                .layer(layer.clone()),
        ),
    ];
    let mut failures = vec![];
    for (wiring, app) in apps {
        for (folder, file) in [
            ("/files/pub/", "a.png"),
            ("/files/pub/secret/", "k.pem"),
            ("/files/", "pub/a.png"),
            ("/files/", "pub/secret/k.pem"),
            ("/files/", "x.pdf"),
        ] {
            let Ok(base) = layer.signer().folder_link(folder).to_path_base() else {
                continue; // refused at minting: safe
            };
            let answer = get(&app, &format!("{base}{file}")).await;
            if answer.body != format!("FILE {folder}{file}") {
                failures.push(format!(
                    "{wiring}: folder link for {folder}, file {file}: {} {:?}",
                    answer.status, answer.kind
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

// ---------------------------------------------------------------------------------------------
// A seeded random sweep over the held wirings.

/// A small deterministic generator (xorshift), so a failure names a reproducible seed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Targets built from the segments that matter (prefix names in several spellings, dot
/// segments plain, escaped, parameterised and doubly escaped, separators), some carrying a
/// sibling file's link or a folder token, some a stray session cookie or odd `Host`: no answer
/// is a 5xx, and no private file comes back except the one a carried link names.
#[tokio::test]
async fn random_targets_through_held_wirings() {
    let private_files = [
        "/files/x.pdf",
        "/files/report.pdf",
        "/files/pub/secret/k.pem",
    ];
    let root = tree(&[
        "/report.pdf",
        "/files/x.pdf",
        "/files/report.pdf",
        "/files/pub/a.png",
        "/files/pub/secret/k.pem",
    ]);
    let layer = layer(
        &["/files/", "/files/pub/secret/"],
        &["/files/pub/"],
        Some("/files/s/"),
    );
    let signer = layer.signer();
    let sibling = signer.sign("/files/pub/secret/k.pem").unwrap();
    let sibling_query = sibling.split_once('?').unwrap().1.to_owned();
    let folder = signer
        .folder_link("/files/pub/secret/")
        .to_path_base()
        .unwrap();
    let token = folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let opaque = signer
        .link("/files/pub/secret/k.pem")
        .opaque()
        .to_target()
        .unwrap();
    let opaque_token = opaque.rsplit('/').next().unwrap().to_owned();
    let segments = [
        "files",
        "FILES",
        "%66iles",
        "pub",
        "PUB",
        "%70ub",
        "secret",
        "s",
        "x.pdf",
        "report.pdf",
        "k.pem",
        "a.png",
        "..",
        ".",
        "%2e%2e",
        "%2E.",
        ".%2e",
        "..;",
        ".;",
        "..%3b",
        "%252e%252e",
        "",
        "..%2f",
        "..%5c",
        "..\\",
        "x.pdf;a",
        "x.pdf.",
        "x.pdf%20",
        "%2f",
        "a",
        &token,
        &opaque_token,
    ];
    let climbs = [
        "..",
        "%2e%2e",
        "%2E.",
        ".%2e",
        "..;",
        "..%3B",
        "%252e%252e",
        "..%2f..",
        "..\\..",
    ];
    let tails = [
        "report.pdf",
        "x.pdf",
        "files/x.pdf",
        "files/report.pdf",
        "secret/k.pem",
        "pub/secret/k.pem",
        "files/pub/secret/k.pem",
        "k.pem",
    ];
    let mut failures = vec![];
    let mut sent = 0usize;
    for (wiring, app) in held_wirings(&layer, root.path()) {
        let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
        for _ in 0..6000 {
            let count = 1 + dice.next() % 6;
            // Half the targets start inside a mount or a prefix, where climbs out matter.
            let mut target = match dice.next() % 8 {
                0 => "/files".to_owned(),
                1 => "/files/pub".to_owned(),
                2 => "/files/pub/secret".to_owned(),
                3 => "/files/s".to_owned(),
                _ => String::new(),
            };
            if dice.next() % 2 == 0 {
                for _ in 0..count {
                    target.push('/');
                    target.push_str(dice.pick(&segments));
                }
            } else {
                // A shaped climb: a few segments in, some climbs out, a tail naming a file.
                for _ in 0..dice.next() % 3 {
                    target.push('/');
                    target.push_str(dice.pick(&["pub", "secret", "a", "", ".", "s"]));
                }
                for _ in 0..1 + dice.next() % 4 {
                    target.push('/');
                    target.push_str(dice.pick(&climbs));
                }
                target.push('/');
                target.push_str(dice.pick(&tails));
            }
            if dice.next() % 5 == 0 {
                target.push('/');
            }
            // What the target carries that may grant k.pem: the sibling's query, its folder's
            // token or its opaque token (the last two only when the dice put them in).
            let carries_link = dice.next() % 6 == 0;
            if carries_link {
                target.push('?');
                target.push_str(&sibling_query);
            }
            let carries_grant =
                carries_link || target.contains(&token) || target.contains(&opaque_token);
            let mut headers = vec![];
            match dice.next() % 8 {
                0 => headers.push(("cookie", "sl_session=1~99999999999~%2Ffiles%2F~AAAA")),
                1 => headers.push(("host", "")),
                2 => headers.push(("host", "a.example")),
                _ => {}
            }
            let method = if dice.next() % 4 == 0 {
                Method::HEAD
            } else {
                Method::GET
            };
            let Ok(uri) = target.parse::<http::Uri>() else {
                continue; // not a request target hyper would hand on
            };
            sent += 1;
            let answer = request(&app, method.clone(), &uri.to_string(), &headers).await;
            if answer.status.is_server_error() {
                failures.push(format!("{wiring}: {method} {target}: {}", answer.status));
            }
            for file in private_files {
                let granted = carries_grant && file == "/files/pub/secret/k.pem";
                if answer.body == format!("FILE {file}") && !granted {
                    failures.push(format!("{wiring}: {method} {target} served {file}"));
                }
            }
        }
    }
    eprintln!("{sent} random requests sent");
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 (hyper's client, prior knowledge) against a real socket.

/// Over HTTP/2 to an axum app with `Router::layer` over `nest_service`: two `host` fields, a
/// `host` that differs from `:authority`, and the links that must keep working.
#[test]
fn http2_hosts_and_links() {
    let root = tree(&["/files/v/a.ts", "/files/v/b.ts", "/files/x.pdf"]);
    let layer = layer(&["/files/"], &[], Some("/files/s/"));
    let app = Router::new()
        .nest_service("/files", dir(root.path(), "/files"))
        .layer(layer.clone());
    let addr = support::serve_app(app);
    let signer = layer.signer();
    let session = signer
        .folder_link("/files/v/")
        .cookie_session(std::time::Duration::from_secs(600))
        .to_path_base()
        .unwrap();
    let opaque = signer.link("/files/x.pdf").opaque().to_target().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let mut send = |uri: String, headers: Vec<(&'static str, String)>| {
            let mut request = Request::get(uri).version(http::Version::HTTP_2);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let response = sender.send_request(
                request
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap(),
            );
            async move {
                use http_body_util::BodyExt as _;
                let response = response.await.unwrap();
                let status = response.status();
                let cookie = response
                    .headers()
                    .get(http::header::SET_COOKIE)
                    .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
                let body = response.into_body().collect().await.unwrap().to_bytes();
                (status, cookie, String::from_utf8_lossy(&body).into_owned())
            }
        };
        let at = |path: &str| format!("http://{addr}{path}");
        let (status, _, body) = send(at(&opaque), vec![]).await;
        assert!(
            (status, body.as_str()) == (StatusCode::OK, "FILE /files/x.pdf")
                || status == StatusCode::FORBIDDEN,
            "opaque over h2: {status} {body}"
        );
        let (status, cookie, _) = send(at(&format!("{session}a.ts")), vec![]).await;
        assert_eq!(status, StatusCode::OK);
        let cookie = cookie.expect("a session cookie over h2");
        let (status, _, body) = send(at("/files/v/b.ts"), vec![("cookie", cookie.clone())]).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "FILE /files/v/b.ts")
        );
        let attacks = [
            (
                "two host fields",
                vec![("host", addr.clone()), ("host", "evil.example".into())],
            ),
            (
                "host other than :authority",
                vec![("host", "evil.example".into())],
            ),
        ];
        for (case, mut headers) in attacks {
            headers.push(("cookie", cookie.clone()));
            let (status, _, body) = send(at("/files/v/b.ts"), headers).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        }
        // :authority naming another host: the cookie is not for it.
        let (status, _, body) = send(
            "http://evil.example/files/v/b.ts".into(),
            vec![("cookie", cookie.clone())],
        )
        .await;
        assert_ne!(
            body, "FILE /files/v/b.ts",
            "cookie on another :authority: {status}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Routes with parameters behind `Router::layer` (the README marks the shape held).

/// `.route("/files/{owner}/{*name}", h).layer(layer)`: the router extracts the parameters
/// before the layer runs, so whatever the layer verifies, the handler must be handed the
/// parameters of the path it verified, for every kind of link the signer mints.
#[tokio::test]
async fn route_parameters_see_the_verified_path() {
    use axum::extract::Path as Params;
    let layer = layer(&["/files/"], &[], Some("/files/s/"));
    let app = Router::new()
        .route(
            "/files/{owner}/{*name}",
            axum::routing::get(
                |Params((owner, name)): Params<(String, String)>| async move {
                    format!("{owner}|{name}")
                },
            ),
        )
        .layer(layer.clone());
    let signer = layer.signer();
    let mut failures = vec![];
    let links = [
        ("plain", signer.sign("/files/alice/x.pdf").unwrap()),
        (
            "folder",
            format!(
                "{}x.pdf",
                signer.folder_link("/files/alice/").to_path_base().unwrap()
            ),
        ),
        (
            "opaque",
            signer
                .link("/files/alice/x.pdf")
                .opaque()
                .to_target()
                .unwrap(),
        ),
    ];
    for (kind, link) in links {
        let answer = get(&app, &link).await;
        // Behind `Router::layer` axum reads parameters from the path as sent, before the
        // layer: a folder token shows up in `name` (documented; use the query form there), an
        // opaque link is refused. Never may the handler see another owner.
        let other_owner = answer.status == StatusCode::OK && !answer.body.starts_with("alice|");
        let refused_wrongly =
            answer.status != StatusCode::OK && answer.kind != Some(RejectionKind::OutsideMount);
        if other_owner || refused_wrongly {
            failures.push(format!(
                "{kind} link: {} {:?} {:?}",
                answer.status, answer.kind, answer.body
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// `serve` with its opaque prefix on a public exception: it refuses to start (exit 2), or the
/// exception's files stay public.
#[test]
fn serve_opaque_prefix_on_an_exception() {
    let root = tree(&["/private/pub/a.css"]);
    // `Serve::start` panics when the process exits before listening: a refusal, so safe.
    let server = std::panic::catch_unwind(|| {
        support::Serve::start(
            &[
                "--root",
                root.path().to_str().unwrap(),
                "--public",
                "/private/pub/",
                "--opaque-prefix",
                "/private/pub/",
            ],
            &[SECRET],
        )
    });
    let Ok(server) = server else {
        return; // refused at start: safe
    };
    let response = support::get(&server.addr, "/private/pub/a.css");
    assert_eq!(
        response.body_text(),
        "FILE /private/pub/a.css",
        "a public file under the opaque prefix: {}",
        response.head
    );
}
