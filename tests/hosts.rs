//! Hosts the HTTP way (issue 18, item 6). Folder session cookies are bound to the host a request
//! is for, so the layer reads that host as HTTP defines it: the authority of an absolute-form
//! target (or HTTP/2's `:authority`) wins, a second `Host` or one that contradicts the authority
//! is refused (400 `ambiguous_host`), a request with no usable host gets no cookie (though its
//! link serves the file), and a target with no path (authority form) gets 400
//! `malformed_target` instead of the 500 `ServeDir` answered it with.
//!
//! Each attack goes through a real axum router with `ServeDir` behind the layer, and over real
//! sockets to the `secure-link serve` process (raw HTTP/1.0 and HTTP/1.1, and hyper's HTTP/2
//! client).

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http::header::{COOKIE, HOST, SET_COOKIE};
use http::{HeaderValue, Method, Request, StatusCode};
use tower::Layer;
use tower_http::services::ServeDir;
use tower_secure_link::{Key, RejectionKind, SecureLinkLayer};

const THIS_HOST: &str = "files.example";
const SECRET: (&str, &str) = (
    "SECURE_LINK_KEY",
    "a secret for the host tests, long enough!!",
);

/// A tree whose files hold their own paths: a private folder, a sibling, a public file.
fn tree() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for path in ["private/v/a.txt", "private/v/b.txt", "public/p.txt"] {
        let file = root.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("content of /{path}")).unwrap();
    }
    root
}

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("k1", [7u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
}

/// The `serve` wiring: the layer in front of a router that serves the tree with `ServeDir`.
fn app(layer: &SecureLinkLayer, root: &std::path::Path) -> Router {
    let files = Router::new().fallback_service(ServeDir::new(root));
    Router::new().fallback_service(layer.layer(files))
}

/// The folder link for `/private/v/` that sets a session cookie when used.
fn session_link(layer: &SecureLinkLayer) -> String {
    layer
        .signer()
        .folder_link("/private/v/")
        .cookie_session(Duration::from_secs(600))
        .to_path_base()
        .unwrap()
}

/// What came back from one request through the router.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    kind: Option<RejectionKind>,
    set_cookie: Option<String>,
    body: String,
}

async fn send(app: &Router, request: http::request::Builder) -> Answer {
    let reply = support::send_request(app, request.body(Body::empty()).unwrap()).await;
    Answer {
        status: reply.status,
        kind: reply.kind,
        set_cookie: reply.header(SET_COOKIE).map(str::to_owned),
        body: reply.body,
    }
}

/// `GET target` with these `Host` fields (in order) and optionally a cookie.
fn get(target: &str, hosts: &[&str], cookie: Option<&str>) -> http::request::Builder {
    let mut request = Request::get(target);
    for host in hosts {
        request = request.header(HOST, *host);
    }
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request
}

/// The `name=value` of a `Set-Cookie`.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Uses the session link on `THIS_HOST` and returns the cookie it sets.
async fn session_cookie(app: &Router, layer: &SecureLinkLayer) -> String {
    let link = format!("{}a.txt", session_link(layer));
    let answer = send(app, get(&link, &[THIS_HOST], None)).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    cookie_pair(&answer.set_cookie.expect("the session link sets a cookie"))
}

#[tokio::test]
async fn an_absolute_target_naming_another_host_is_refused() {
    let root = tree();
    let layer = layer();
    let app = app(&layer, root.path());
    let cookie = session_cookie(&app, &layer).await;
    let b = "/private/v/b.txt";

    // The attack: the target names another authority, `Host` names this one. The target's
    // authority is the host (RFC 9112 3.2.2), and it contradicts `Host`: refused.
    let evil = format!("http://evil.example{b}");
    let answer = send(&app, get(&evil, &[THIS_HOST], Some(&cookie))).await;
    assert_eq!(
        (answer.status, answer.kind),
        (StatusCode::BAD_REQUEST, Some(RejectionKind::AmbiguousHost)),
        "{answer:?}"
    );
    // Without `Host`, the target's authority decides: not the cookie's host.
    let answer = send(&app, get(&evil, &[], Some(&cookie))).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{answer:?}");
    // A link is no way around it: the check comes before any path is read.
    let link = format!("http://evil.example{}a.txt", session_link(&layer));
    let answer = send(&app, get(&link, &[THIS_HOST], None)).await;
    assert_eq!(
        answer.kind,
        Some(RejectionKind::AmbiguousHost),
        "{answer:?}"
    );
    // Public paths too: the host is checked before any path is read.
    let answer = send(
        &app,
        get("http://evil.example/public/p.txt", &[THIS_HOST], None),
    )
    .await;
    assert_eq!(
        answer.kind,
        Some(RejectionKind::AmbiguousHost),
        "{answer:?}"
    );

    // Absolute targets naming this host work, with `Host` in any case or with the default port.
    let ours = format!("http://{THIS_HOST}{b}");
    for hosts in [
        &[][..],
        &[THIS_HOST],
        &["FILES.example"],
        &["files.example:80"],
    ] {
        let answer = send(&app, get(&ours, hosts, Some(&cookie))).await;
        assert_eq!(answer.status, StatusCode::OK, "Host {hosts:?}: {answer:?}");
        assert_eq!(answer.body, "content of /private/v/b.txt");
    }
    // An absolute target with a port `Host` leaves out names another host.
    let answer = send(
        &app,
        get(&format!("http://{THIS_HOST}:8080{b}"), &[THIS_HOST], None),
    )
    .await;
    assert_eq!(
        answer.kind,
        Some(RejectionKind::AmbiguousHost),
        "{answer:?}"
    );
    // A cookie granted through an absolute target is bound to its authority.
    let link = format!("http://{THIS_HOST}{}a.txt", session_link(&layer));
    let set_cookie = send(&app, get(&link, &[], None)).await.set_cookie.unwrap();
    let answer = send(&app, get(b, &[THIS_HOST], Some(&cookie_pair(&set_cookie)))).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
}

#[tokio::test]
async fn two_host_fields_are_refused() {
    let root = tree();
    let layer = layer();
    let app = app(&layer, root.path());
    let cookie = session_cookie(&app, &layer).await;
    let link = format!("{}a.txt", session_link(&layer));
    let cases = [
        (
            "the cookie's host first",
            "/private/v/b.txt",
            [THIS_HOST, "evil.example"],
            Some(&*cookie),
        ),
        (
            "the cookie's host second",
            "/private/v/b.txt",
            ["evil.example", THIS_HOST],
            Some(&*cookie),
        ),
        (
            "the same host twice",
            "/private/v/b.txt",
            [THIS_HOST, THIS_HOST],
            Some(&*cookie),
        ),
        ("a link", &*link, [THIS_HOST, "evil.example"], None),
        (
            "a public file",
            "/public/p.txt",
            [THIS_HOST, "evil.example"],
            None,
        ),
    ];
    for (name, target, hosts, cookie) in cases {
        let answer = send(&app, get(target, &hosts, cookie)).await;
        assert_eq!(
            (answer.status, answer.kind),
            (StatusCode::BAD_REQUEST, Some(RejectionKind::AmbiguousHost)),
            "{name}: {answer:?}"
        );
        assert_eq!(answer.set_cookie, None, "{name}");
    }
    // One of them is fine.
    let answer = send(&app, get("/private/v/b.txt", &[THIS_HOST], Some(&cookie))).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
}

#[tokio::test]
async fn a_request_without_a_usable_host_gets_the_file_but_no_cookie() {
    let root = tree();
    let layer = layer();
    let app = app(&layer, root.path());
    let link = format!("{}a.txt", session_link(&layer));
    let unusable: [(&str, Option<HeaderValue>); 5] = [
        ("no Host (HTTP/1.0)", None),
        ("an empty Host", Some(HeaderValue::from_static(""))),
        (
            "a Host that is not ASCII",
            Some(HeaderValue::from_bytes(b"f\xc3\xa9.example").unwrap()),
        ),
        (
            "a Host with userinfo",
            Some(HeaderValue::from_static("user@files.example")),
        ),
        (
            "a Host with a path",
            Some(HeaderValue::from_static("files.example/private/v/")),
        ),
    ];
    for (name, host) in &unusable {
        let mut request = Request::get(&link);
        if let Some(host) = host {
            request = request.header(HOST, host);
        }
        let answer = send(&app, request).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {answer:?}");
        assert_eq!(answer.body, "content of /private/v/a.txt", "{name}");
        assert_eq!(answer.set_cookie, None, "{name}: a cookie bound to no host");
    }
    // And a session cookie never admits such a request, whichever host it was set for.
    let cookie = session_cookie(&app, &layer).await;
    for (name, host) in &unusable {
        let mut request = Request::get("/private/v/b.txt").header(COOKIE, &cookie);
        if let Some(host) = host {
            request = request.header(HOST, host);
        }
        let answer = send(&app, request).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{name}: {answer:?}");
    }
}

#[tokio::test]
async fn targets_without_a_path_get_400_not_500() {
    let root = tree();
    let layer = layer();
    let app = app(&layer, root.path());
    let cases = [
        (Method::GET, "127.0.0.1:8080"),
        (Method::HEAD, "a:1"),
        (Method::GET, "files.example"),
        (Method::CONNECT, "files.example:443"),
    ];
    for (method, target) in cases {
        let request = Request::builder()
            .method(method.clone())
            .uri(target)
            .header(HOST, THIS_HOST);
        let answer = send(&app, request).await;
        assert_eq!(
            (answer.status, answer.kind),
            (
                StatusCode::BAD_REQUEST,
                Some(RejectionKind::MalformedTarget)
            ),
            "{method} {target}: {answer:?}"
        );
    }
    // `*` is a target of its own (OPTIONS): the layer lets the router answer it.
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("*")
        .header(HOST, THIS_HOST);
    let answer = send(&app, request).await;
    assert_eq!(answer.kind, None, "{answer:?}");
    assert!(!answer.status.is_server_error(), "{answer:?}");
}

/// Over raw sockets to the `serve` process: HTTP/1.0 without `Host`, two `Host` lines, an
/// absolute target, and authority-form targets.
#[test]
fn serve_reads_hosts_the_http_way_on_the_wire() {
    let root = tree();
    let server = support::Serve::start(&["--root", root.path().to_str().unwrap()], &[SECRET]);
    let addr = &server.addr;
    let base = support::cli_sign(
        &["--folder", "--cookie-session", "600", "/private/v/"],
        &[SECRET],
    );
    let reason = |response: &support::RawResponse, kind: &str| {
        response
            .body_text()
            .contains(&format!("<code>{kind}</code>"))
    };

    // HTTP/1.0 without Host: the file, and no cookie bound to no host.
    let response = support::raw_bytes(addr, format!("GET {base}a.txt HTTP/1.0\r\n\r\n").as_bytes());
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(response.body_text(), "content of /private/v/a.txt");
    assert_eq!(response.header("set-cookie"), None, "{}", response.head);

    // Over HTTP/1.1 with this server's host, the cookie is set and admits the folder...
    let response = support::get(addr, &format!("{base}a.txt"));
    let cookie = cookie_pair(response.header("set-cookie").expect("a session cookie"));
    let with = |head: &str| {
        format!("{head}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let own = with(&format!("GET /private/v/b.txt HTTP/1.1\r\nHost: {addr}"));
    assert_eq!(support::raw_bytes(addr, &own).status, 200);
    // ...but not with a second Host, nor for an absolute target naming another host.
    let attacks = [
        format!("GET /private/v/b.txt HTTP/1.1\r\nHost: {addr}\r\nHost: evil.example"),
        format!("GET /private/v/b.txt HTTP/1.1\r\nHost: evil.example\r\nHost: {addr}"),
        format!("GET http://evil.example/private/v/b.txt HTTP/1.1\r\nHost: {addr}"),
    ];
    for attack in &attacks {
        let response = support::raw_bytes(addr, &with(attack));
        assert_eq!(response.status, 400, "{attack}: {}", response.head);
        assert!(
            reason(&response, "ambiguous_host"),
            "{attack}: {}",
            response.body_text()
        );
    }
    // Nor without any Host over HTTP/1.0.
    let hostless = with("GET /private/v/b.txt HTTP/1.0");
    assert_eq!(support::raw_bytes(addr, &hostless).status, 403);

    // Authority-form targets: a 400 that says why, never a 500.
    for (method, target) in [
        ("GET", addr.as_str()),
        ("GET", "127.0.0.1:8080"),
        ("HEAD", "a:1"),
    ] {
        let response = support::raw_request(addr, method, target.as_bytes());
        assert_eq!(response.status, 400, "{method} {target}: {}", response.head);
        if method == "GET" {
            assert!(
                reason(&response, "malformed_target"),
                "{}",
                response.body_text()
            );
        }
    }
}

/// Over HTTP/2 (hyper's client, prior knowledge) to the `serve` process: a `host` header that
/// differs from `:authority` is malformed (RFC 9113 8.3.1), and `:authority` is the host.
#[test]
fn http2_host_must_agree_with_the_authority() {
    let root = tree();
    let server = support::Serve::start(&["--root", root.path().to_str().unwrap()], &[SECRET]);
    let addr = server.addr.clone();
    let base = support::cli_sign(
        &["--folder", "--cookie-session", "600", "/private/v/"],
        &[SECRET],
    );
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
        let mut send = |target: String, host: Option<&str>, cookie: Option<&str>| {
            let mut request = Request::get(target).version(http::Version::HTTP_2);
            if let Some(host) = host {
                request = request.header(HOST, host);
            }
            if let Some(cookie) = cookie {
                request = request.header(COOKIE, cookie);
            }
            let request = request
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap();
            let response = sender.send_request(request);
            async move {
                let response = response.await.unwrap();
                let set_cookie = response
                    .headers()
                    .get(SET_COOKIE)
                    .map(|value| value.to_str().unwrap().to_owned());
                (response.status(), set_cookie)
            }
        };
        // `:authority` alone names the host the cookie is bound to.
        let (status, set_cookie) = send(format!("http://{addr}{base}a.txt"), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let cookie = cookie_pair(&set_cookie.expect("a session cookie"));
        let b = "/private/v/b.txt";
        let (status, _) = send(format!("http://{addr}{b}"), None, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "the cookie over HTTP/2");
        let (status, _) = send(format!("http://{addr}{b}"), Some(&addr), Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "a host that agrees");
        // The attack: `:authority` names another host, `host` names this one.
        let evil = format!("http://evil.example{b}");
        let (status, _) = send(evil.clone(), Some(&addr), Some(&cookie)).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "host differing from :authority"
        );
        let (status, _) = send(evil, None, Some(&cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, ":authority is the host");
    });
}
