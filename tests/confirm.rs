//! Single use that survives scanners: a confirm link answers GET and HEAD with a page whose one
//! button POSTs back, and only that POST uses it; a prefetch of any one-time link uses nothing.
//! Over real TCP through `secure-link serve` (which writes the library's page), and in
//! process for the library's own responder.

mod support;

use support::{get, raw_bytes, raw_request, Serve};

use http::Method;
use tower_secure_link::{Key, PageResponse, RejectionKind, SecureLinkLayer};

const KEY: &str = "confirm test secret, 32 bytes or more";

fn sign(args: &[&str]) -> String {
    support::cli_sign(args, &[("SECURE_LINK_KEY", KEY)])
}

fn server() -> (Serve, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/reset.txt"), "reset token 42").unwrap();
    let root_arg = root.path().display().to_string();
    let server = Serve::start(&["--root", &root_arg], &[("SECURE_LINK_KEY", KEY)]);
    (server, root)
}

fn post(addr: &str, target: &str, body: &str) -> support::RawResponse {
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    raw_bytes(addr, request.as_bytes())
}

fn get_with(addr: &str, target: &str, header: &str) -> support::RawResponse {
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{header}\r\nConnection: close\r\n\r\n");
    raw_bytes(addr, request.as_bytes())
}

#[test]
fn scanners_see_the_page_and_only_the_button_uses_the_link() {
    let (server, _root) = server();
    let addr = &server.addr;
    let link = sign(&["--confirm", "/private/reset.txt"]);
    #[rustfmt::skip]
    let scanners = [
        ("a mail scanner's GET", get(addr, &link)),
        ("an unfurler's HEAD", raw_request(addr, "HEAD", link.as_bytes())),
        ("a prefetch", get_with(addr, &link, "Sec-Purpose: prefetch")),
        ("an old-style prefetch", get_with(addr, &link, "Purpose: prefetch")),
        ("a second GET", get(addr, &link)),
    ];
    for (name, response) in scanners {
        assert_eq!(response.status, 200, "{name}");
        assert!(!response.body_text().contains("reset token"), "{name}");
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{name}"
        );
        assert_eq!(response.header("cache-control"), Some("no-store"), "{name}");
        assert_eq!(
            response.header("referrer-policy"),
            Some("no-referrer"),
            "{name}"
        );
        assert!(response
            .header("content-security-policy")
            .unwrap()
            .contains("form-action 'self'"));
    }
    let page = get(addr, &link).body_text();
    assert!(page.contains("<form method=\"post\">"), "{page}");
    assert!(!page.contains("<script"), "no script needed: {page}");

    let used = post(addr, &link, "");
    assert_eq!(used.status, 200);
    assert_eq!(used.body_text(), "reset token 42");
    assert_eq!(post(addr, &link, "").status, 410, "used once");
    // Tampered or other methods: no page, no file.
    let forged = link.replace("sl_confirm=1", "sl_confirm=2");
    assert_eq!(get(addr, &forged).status, 403);
    let unsigned = link.replace("&sl_confirm=1", "");
    assert_eq!(
        post(addr, &unsigned, "").status,
        403,
        "the confirmation is signed"
    );
    let fresh = sign(&["--confirm", "/private/reset.txt"]);
    let put = raw_bytes(
        addr,
        format!("PUT {fresh} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(put.status, 403);
    assert_eq!(post(addr, &fresh, "x=1").body_text(), "reset token 42");
}

#[test]
fn a_prefetch_never_uses_a_one_time_link() {
    let (server, _root) = server();
    let addr = &server.addr;
    let link = sign(&["--one-time", "/private/reset.txt"]);
    for header in [
        "Sec-Purpose: prefetch",
        "Sec-Purpose: prefetch;prerender",
        "Purpose: prefetch",
        "X-Moz: prefetch",
    ] {
        let response = get_with(addr, &link, header);
        assert_eq!(response.status, 503, "{header}");
        assert_eq!(
            response.header("cache-control"),
            Some("no-store"),
            "{header}"
        );
        assert!(!response.body_text().contains("reset token"), "{header}");
    }
    assert_eq!(get(addr, &link).body_text(), "reset token 42");
    assert_eq!(get(addr, &link).status, 410);
    // Links that are not one-time lose nothing to a prefetch: it is served.
    let plain = sign(&["/private/reset.txt"]);
    assert_eq!(get_with(addr, &plain, "Sec-Purpose: prefetch").status, 200);
}

#[test]
fn confirm_links_combine_with_uses_opaque_and_stealth() {
    let layer = SecureLinkLayer::new(Key::new("1", KEY).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_opaque_prefix("/s/")
        .unwrap()
        .with_stealth_404(true);
    let signer = layer.signer();
    let check = |method: Method, target: &str| {
        layer
            .check(&method, &target.parse().unwrap())
            .map(|_| ())
            .map_err(|r| (r.kind(), r.status().as_u16()))
    };
    let twice = signer
        .link("/private/a.pdf")
        .uses(2)
        .confirm()
        .to_target()
        .unwrap();
    assert!(
        twice.contains("sl_uses=2") && twice.contains("sl_confirm=1"),
        "{twice}"
    );
    let opaque = signer
        .link("/private/a.pdf")
        .confirm()
        .opaque()
        .to_target()
        .unwrap();
    for link in [&twice, &opaque] {
        // Stealth hides refusals, never the page.
        assert_eq!(
            check(Method::GET, link),
            Err((RejectionKind::ConfirmationRequired, 200))
        );
        assert_eq!(check(Method::POST, link), Ok(()));
        assert_eq!(
            check(Method::DELETE, link),
            Err((RejectionKind::MethodNotAllowed, 404))
        );
    }
    let error = signer
        .link("/private/a.pdf")
        .method(Method::PUT)
        .confirm()
        .to_target()
        .unwrap_err();
    assert_eq!(
        error.kind(),
        tower_secure_link::SignErrorKind::ConfirmNeedsGet
    );
    // The library's responder writes the page for any body built from a String.
    let rejection = layer
        .check(&Method::GET, &twice.parse().unwrap())
        .unwrap_err();
    let page: http::Response<String> =
        tower_secure_link::RejectionResponse::response(&PageResponse, &rejection);
    assert!(page.body().contains("<form method=\"post\">"));
}

/// Through a service in process: what the inner service saw for each request.
#[tokio::test]
async fn the_post_reaches_the_service_as_a_clean_get_and_resumes_reuse_a_use() {
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;
    let layer = SecureLinkLayer::new(Key::new("1", KEY).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_one_time_resume_window(std::time::Duration::from_secs(60))
        .with_rejection_response(PageResponse);
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let inner = {
        let seen = seen.clone();
        tower::service_fn(move |request: http::Request<String>| {
            let headers: Vec<&str> = ["content-type", "content-length", "transfer-encoding"]
                .into_iter()
                .filter(|name| request.headers().contains_key(*name))
                .collect();
            seen.lock()
                .unwrap()
                .push(format!("{} {headers:?}", request.method()));
            async { Ok::<_, std::convert::Infallible>(http::Response::new(String::from("file"))) }
        })
    };
    let service = tower::Layer::layer(&layer, inner);
    let send = |request: http::Request<String>| {
        let service = service.clone();
        async move { service.oneshot(request).await.unwrap().status().as_u16() }
    };
    let link = layer
        .signer()
        .link("/private/v.mp4")
        .uses(3)
        .confirm()
        .to_target()
        .unwrap();
    let post = |extra: Option<(&str, &str)>| {
        let mut builder = http::Request::post(link.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("transfer-encoding", "chunked");
        if let Some((name, value)) = extra {
            builder = builder.header(name, value);
        }
        builder.body(String::from("x=1")).unwrap()
    };
    let mut statuses = vec![send(post(Some(("sec-fetch-site", "cross-site")))).await];
    statuses.push(send(post(None)).await);
    // A player's resumed range request inside the window reuses the first use.
    statuses.push(send(post(Some(("range", "bytes=100-")))).await);
    for _ in 0..3 {
        statuses.push(send(post(None)).await);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 410]);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "the cross-site POST got the page: {seen:?}");
    assert!(seen.iter().all(|line| line == "GET []"), "{seen:?}");
}
