//! The layer over a real axum router, driven with `oneshot`: statuses, headers, extensions and
//! what the inner service sees.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request as AxumRequest;
use axum::routing::any;
use axum::{Extension, Router};
use http::{header, Method, Request, Response, StatusCode};
use tower_secure_link::{
    Key, Keyring, ManualClock, Rejection, RejectionKind, SecureLinkLayer, UrlSigner,
};

const NOW: u64 = 1_767_222_000;

fn key(id: &str) -> Key {
    Key::new(id, format!("secret for key {id:<20}!")).unwrap()
}

fn layer(clock: &ManualClock) -> SecureLinkLayer {
    SecureLinkLayer::new(key("1"))
        .with_private_prefix("/private/")
        .unwrap()
        .with_public_exception("/private/public/")
        .unwrap()
        .with_clock(clock.clone())
}

/// Echoes the path and query the handler saw.
fn app(layer: SecureLinkLayer) -> Router {
    support::echo_app().layer(layer)
}

/// `METHOD target` through `app`, with the headers of the reply kept.
async fn send(app: &Router, method: Method, target: &str) -> support::Reply {
    let request = Request::builder().method(method).uri(target);
    support::send_request(app, request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn statuses_follow_the_design_table() {
    let clock = ManualClock::new(NOW);
    let layer = layer(&clock);
    let signer = layer.signer();
    let app = app(layer.clone());
    let link = signer.sign("/private/a.pdf").unwrap();
    let expired = signer
        .link("/private/a.pdf")
        .expires_at(NOW - 60)
        .to_target()
        .unwrap();
    let later = signer
        .link("/private/a.pdf")
        .not_before(NOW + 60)
        .expires_in(Duration::from_secs(600))
        .to_target()
        .unwrap();
    let put = signer
        .link("/private/a.pdf")
        .method(Method::PUT)
        .to_target()
        .unwrap();
    let other_key = SecureLinkLayer::new(key("9"))
        .with_clock(clock.clone())
        .signer();
    let unknown_key = other_key.sign("/private/a.pdf").unwrap();
    let mut forged = link.clone().into_bytes();
    let sig_start = link.find("sl_sig=").unwrap() + "sl_sig=".len();
    forged[sig_start + 3] = if forged[sig_start + 3] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let forged = String::from_utf8(forged).unwrap();

    struct Case {
        name: &'static str,
        method: Method,
        target: String,
        status: StatusCode,
        kind: Option<RejectionKind>,
    }
    let case = |name, method, target: &str, status, kind| Case {
        name,
        method,
        target: target.to_owned(),
        status,
        kind,
    };
    use RejectionKind::*;
    #[rustfmt::skip]
    let cases = [
        case("valid link", Method::GET, &link, StatusCode::OK, None),
        case("HEAD on a GET link", Method::HEAD, &link, StatusCode::OK, None),
        case("public path", Method::GET, "/index.html", StatusCode::OK, None),
        case("public exception", Method::GET, "/private/public/logo.png", StatusCode::OK, None),
        case("no token", Method::GET, "/private/a.pdf", StatusCode::FORBIDDEN, Some(MissingToken)),
        case("forged signature", Method::GET, &forged, StatusCode::FORBIDDEN, Some(BadSignature)),
        case("unknown key", Method::GET, &unknown_key, StatusCode::FORBIDDEN, Some(UnknownKey)),
        case("other path", Method::GET, &link.replace("a.pdf", "b.pdf"), StatusCode::FORBIDDEN, Some(BadSignature)),
        case("POST on a GET link", Method::POST, &link, StatusCode::FORBIDDEN, Some(MethodNotAllowed)),
        case("DELETE on a GET link", Method::DELETE, &link, StatusCode::FORBIDDEN, Some(MethodNotAllowed)),
        case("PUT link", Method::PUT, &put, StatusCode::OK, None),
        case("GET on a PUT link", Method::GET, &put, StatusCode::FORBIDDEN, Some(MethodNotAllowed)),
        case("expired", Method::GET, &expired, StatusCode::GONE, Some(Expired)),
        case("not yet valid", Method::GET, &later, StatusCode::GONE, Some(NotYetValid)),
        case("added parameter", Method::GET, &format!("{link}&x=1"), StatusCode::FORBIDDEN, Some(BadSignature)),
        case("ambiguous path", Method::GET, "/private%2fa.pdf", StatusCode::BAD_REQUEST, Some(AmbiguousPath)),
        case("malformed path", Method::GET, "/private/%ff", StatusCode::BAD_REQUEST, Some(MalformedPath)),
    ];
    for case in cases {
        let response = send(&app, case.method, &case.target).await;
        assert_eq!(response.status, case.status, "{}", case.name);
        assert_eq!(response.kind, case.kind, "{}", case.name);
        let cache_control = response.headers.get(header::CACHE_CONTROL);
        if case.kind.is_some() {
            assert_eq!(cache_control.unwrap(), "no-store", "{}", case.name);
            assert!(response.body.is_empty(), "{}", case.name);
        } else if case.target.contains("sl_sig") {
            assert_eq!(cache_control.unwrap(), "private", "{}", case.name);
            let referrer = response.headers.get(header::REFERRER_POLICY).unwrap();
            assert_eq!(referrer, "no-referrer", "{}", case.name);
        } else {
            assert!(
                cache_control.is_none(),
                "{}: public responses are left alone",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn leeway_and_lifetime_are_enforced_when_verifying() {
    let clock = ManualClock::new(NOW);
    let layer = layer(&clock);
    let signer = layer.signer();
    let app = app(layer.clone());
    let link = signer
        .link("/private/a")
        .expires_at(NOW + 10)
        .to_target()
        .unwrap();
    clock.set(NOW + 15);
    assert_eq!(
        send(&app, Method::GET, &link).await.status,
        StatusCode::OK,
        "within leeway"
    );
    clock.set(NOW + 16);
    assert_eq!(
        send(&app, Method::GET, &link).await.status,
        StatusCode::GONE,
        "past leeway"
    );

    // A link minted by a signer with a longer maximum lifetime is refused by this layer.
    clock.set(NOW);
    let generous = layer
        .clone()
        .with_max_lifetime(Duration::from_secs(30 * 86_400))
        .unwrap()
        .signer();
    let long = generous
        .link("/private/a")
        .expires_in(Duration::from_secs(8 * 86_400))
        .to_target()
        .unwrap();
    let response = send(&app, Method::GET, &long).await;
    assert_eq!(response.kind, Some(RejectionKind::LifetimeTooLong));
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_inner_service_sees_the_verified_path_without_signing_parameters() {
    let clock = ManualClock::new(NOW);
    let layer = layer(&clock);
    let app = app(layer.clone());
    let link = layer
        .signer()
        .sign("/private/./dir/../a b.pdf?v=2&w")
        .unwrap();
    assert!(
        link.starts_with("/private/a%20b.pdf?v=2&w&sl_kid=1&"),
        "{link}"
    );
    let response = send(&app, Method::GET, &link).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, "/private/a%20b.pdf?v=2&w");

    // A request that escapes the same path differently is verified against, and passed on as,
    // the canonical path.
    let respelled = link.replace("/private/a%20b.pdf", "/private/%61%20b.pdf");
    let response = send(&app, Method::GET, &respelled).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, "/private/a%20b.pdf?v=2&w");

    // One that changes its shape (dot segments, `//`) is refused: a router in front of the
    // layer may already have acted on the raw path.
    for shape in [
        "/private//x/../a%20b.pdf",
        "/private/./a%20b.pdf",
        "//private/a%20b.pdf",
    ] {
        let respelled = link.replace("/private/a%20b.pdf", shape);
        let response = send(&app, Method::GET, &respelled).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{shape}");
    }

    // Public paths are passed on normalised, query untouched.
    let response = send(&app, Method::GET, "/static/./x/../app.js?sl_sig=1").await;
    assert_eq!(response.body, "/static/app.js?sl_sig=1");
}

#[tokio::test]
async fn stealth_mode_answers_404_and_keeps_the_reason() {
    let clock = ManualClock::new(NOW);
    let layer = layer(&clock).with_stealth_404(true);
    let app = app(layer.clone());
    let expired = layer
        .signer()
        .link("/private/a")
        .expires_at(NOW - 60)
        .to_target()
        .unwrap();
    for (target, reason) in [
        ("/private/a".to_owned(), RejectionKind::MissingToken),
        (expired, RejectionKind::Expired),
        ("/private%2fa".to_owned(), RejectionKind::AmbiguousPath),
    ] {
        let response = send(&app, Method::GET, &target).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{target}");
        assert_eq!(response.kind, Some(reason), "{target}");
    }
}

#[tokio::test]
async fn custom_rejection_responses_still_carry_the_reason_and_no_store() {
    let clock = ManualClock::new(NOW);
    let layer = layer(&clock).with_rejection_response(|rejection: &Rejection| {
        let mut response = Response::new(Body::from("this link cannot be used"));
        *response.status_mut() = rejection.status();
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            "public, max-age=3600".parse().unwrap(),
        );
        response
    });
    let app = Router::new()
        .fallback(any(|| async { "private bytes" }))
        .layer(layer);
    let response = send(&app, Method::GET, "/private/a").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(response.kind, Some(RejectionKind::MissingToken));
    assert_eq!(response.body, "this link cannot be used");
}

#[tokio::test]
async fn handlers_find_the_signer_in_extensions() {
    let clock = ManualClock::new(NOW);
    let layer = layer(&clock);
    let app = Router::new()
        .fallback(any(|Extension(signer): Extension<UrlSigner>| async move {
            signer.sign("/private/from-handler.txt").unwrap()
        }))
        .layer(layer.clone());
    let link = send(&app, Method::GET, "/page").await.body;
    let check = layer.check(&Method::GET, &link.parse().unwrap());
    assert_eq!(check, Ok(tower_secure_link::Access::Signed));

    let without = Router::new()
        .fallback(any(|request: AxumRequest| async move {
            request
                .extensions()
                .get::<UrlSigner>()
                .is_some()
                .to_string()
        }))
        .layer(layer.with_signer_extension(false));
    assert_eq!(send(&without, Method::GET, "/page").await.body, "false");
}

#[tokio::test]
async fn rotated_keys_keep_old_links_working_until_dropped() {
    let clock = ManualClock::new(NOW);
    let old_layer = layer(&clock);
    let old_link = old_layer.signer().sign("/private/a").unwrap();

    let rotated = old_layer
        .clone()
        .with_keyring(Keyring::new(key("2")).with_verify_only(key("1")).unwrap());
    let new_link = rotated.signer().sign("/private/a").unwrap();
    assert!(new_link.contains("sl_kid=2&"));
    let app_rotated = app(rotated.clone());
    assert_eq!(
        send(&app_rotated, Method::GET, &old_link).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app_rotated, Method::GET, &new_link).await.status,
        StatusCode::OK
    );

    let dropped = app(rotated.with_keyring(key("2")));
    let response = send(&dropped, Method::GET, &old_link).await;
    assert_eq!(response.kind, Some(RejectionKind::UnknownKey));
    assert_eq!(
        send(&dropped, Method::GET, &new_link).await.status,
        StatusCode::OK
    );

    // A link whose key id was swapped for the current key's is a forgery, not a rotation.
    let swapped = old_link.replace("sl_kid=1", "sl_kid=2");
    let response = send(&dropped, Method::GET, &swapped).await;
    assert_eq!(response.kind, Some(RejectionKind::BadSignature));
}

#[test]
fn configuration_errors_surface_when_building() {
    let base = || SecureLinkLayer::new(key("1"));
    assert!(base().with_private_prefix("private").is_err());
    assert!(base().with_private_prefix("/a/../b").is_err());
    assert!(base()
        .with_private_prefix("/p/")
        .unwrap()
        .with_public_exception("/q/")
        .is_err());
    assert!(base().with_leeway(Duration::from_secs(3600)).is_err());
    assert!(base().with_default_lifetime(Duration::ZERO).is_err());
    assert!(base()
        .with_default_lifetime(Duration::from_secs(8 * 86_400))
        .is_err());
    assert!(base().with_max_lifetime(Duration::from_secs(60)).is_err());
    assert!(base().with_param_prefix("").is_err());
    assert!(base().with_param_prefix("a&b").is_err());
    assert!(base().with_param_prefix("link_").is_ok());
}

#[test]
fn minting_errors_are_typed() {
    use tower_secure_link::SignErrorKind::*;
    let clock = ManualClock::new(NOW);
    let signer = layer(&clock).signer();
    let kind = |result: Result<String, tower_secure_link::SignError>| result.unwrap_err().kind();
    assert_eq!(kind(signer.sign("/private/a?sl_exp=1")), ReservedParameter);
    assert_eq!(kind(signer.sign("/private/a?SL_SIG=1")), ReservedParameter);
    assert_eq!(
        kind(signer.sign("/private/a?sl%5Fsig=1")),
        ReservedParameter
    );
    assert_eq!(kind(signer.sign("private/a")), InvalidTarget);
    assert_eq!(
        kind(signer.sign("/private/%2e%2e/%2e%2e/etc")),
        InvalidTarget
    );
    assert_eq!(kind(signer.sign("/private/a%2Fb")), InvalidTarget);
    let too_long = signer
        .link("/private/a")
        .expires_in(Duration::from_secs(8 * 86_400));
    assert_eq!(kind(too_long.to_target()), LifetimeTooLong);
    let backwards = signer.link("/private/a").not_before(NOW + 7200);
    assert_eq!(kind(backwards.to_target()), InvalidTimes);
    let lower = signer
        .link("/private/a")
        .method(Method::from_bytes(b"get").unwrap());
    assert_eq!(kind(lower.to_target()), InvalidMethod);
    assert_eq!(
        kind(signer.link("/private/a").to_url("ftp://x")),
        InvalidBaseUrl
    );
    assert_eq!(
        kind(signer.link("/private/a").to_url("https://x/app")),
        InvalidBaseUrl
    );
    let url = signer
        .link("/private/a")
        .to_url("https://files.example.com/")
        .unwrap();
    assert!(
        url.starts_with("https://files.example.com/private/a?sl_kid=1&"),
        "{url}"
    );
}

#[tokio::test]
async fn url_gives_plain_paths_for_public_files_and_links_for_private_ones() {
    struct Case {
        name: &'static str,
        target: &'static str,
        /// `Some(path)`: returned plain; `None`: signed.
        plain: Option<&'static str>,
    }
    #[rustfmt::skip]
    let cases = [
        Case { name: "public file", target: "/static/app.js", plain: Some("/static/app.js") },
        Case { name: "public file with a space and a query", target: "/static/a b.css?v=2", plain: Some("/static/a%20b.css?v=2") },
        Case { name: "public exception", target: "/private/public/logo.png", plain: Some("/private/public/logo.png") },
        Case { name: "private file", target: "/private/a.pdf", plain: None },
        Case { name: "private file with a query", target: "/private/a.pdf?v=2", plain: None },
        Case { name: "climbs out of the exception into private", target: "/private/public/../a.pdf", plain: None },
    ];
    let clock = ManualClock::new(NOW);
    let layer = layer(&clock);
    let signer = layer.signer();
    let app = app(layer);
    for case in cases {
        let url = signer.url(case.target).unwrap();
        match case.plain {
            Some(plain) => assert_eq!(url, plain, "{}", case.name),
            None => assert!(url.contains("sl_sig="), "{}: {url}", case.name),
        }
        let response = send(&app, Method::GET, &url).await;
        assert_eq!(response.status, StatusCode::OK, "{}: {url}", case.name);
    }
    assert!(signer.url("/private/a%2Fb").is_err(), "ambiguous");
    assert!(signer.url("relative/path").is_err());
}

#[tokio::test]
async fn private_caching_never_reaches_past_the_links_expiry() {
    struct Case {
        name: &'static str,
        max_age: Option<u64>,
        link: fn(&tower_secure_link::UrlSigner) -> String,
        expect: &'static str,
    }
    #[rustfmt::skip]
    let cases = [
        Case { name: "off", max_age: None, link: |s| s.link("/private/a").expires_in(Duration::from_secs(100)).to_target().unwrap(), expect: "private" },
        Case { name: "bounded by the expiry", max_age: Some(3600), link: |s| s.link("/private/a").expires_in(Duration::from_secs(100)).to_target().unwrap(), expect: "private, max-age=100" },
        Case { name: "bounded by the setting", max_age: Some(60), link: |s| s.link("/private/a").expires_in(Duration::from_secs(3600)).to_target().unwrap(), expect: "private, max-age=60" },
        Case { name: "one-time links are not for caches", max_age: Some(60), link: |s| s.link("/private/a").one_time().to_target().unwrap(), expect: "private" },
        Case { name: "folder links too", max_age: Some(3600), link: |s| format!("{}a", s.folder_link("/private/").expires_in(Duration::from_secs(30)).to_path_base().unwrap()), expect: "private, max-age=30" },
    ];
    for case in cases {
        let clock = ManualClock::new(NOW);
        let mut layer = layer(&clock);
        if let Some(max_age) = case.max_age {
            layer = layer.with_private_caching(Duration::from_secs(max_age));
        }
        let signer = layer.signer();
        let app = app(layer);
        let response = send(&app, Method::GET, &(case.link)(&signer)).await;
        assert_eq!(response.status, StatusCode::OK, "{}", case.name);
        assert_eq!(
            response.headers[header::CACHE_CONTROL],
            case.expect,
            "{}",
            case.name
        );
    }
}

#[test]
fn links_minted_within_a_window_are_the_same_bytes() {
    // 1_800_000_000 is a multiple of 3600: ten seconds into a window.
    let clock = ManualClock::new(1_800_000_000 + 10);
    let signer = layer(&clock).signer();
    let mint = || {
        signer
            .link("/private/avatar.png")
            .window(Duration::from_secs(3600))
            .to_target()
            .unwrap()
    };
    let first = mint();
    clock.advance(1800);
    assert_eq!(mint(), first, "same window");
    clock.advance(1800);
    assert_ne!(mint(), first, "the next window");
    let expires: u64 = first
        .split("sl_exp=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires % 3600, 0, "on a window boundary");
    // A window that would push the expiry past the maximum lifetime is refused.
    let too_far = signer
        .link("/private/a")
        .expires_in(Duration::from_secs(7 * 24 * 3600 - 5))
        .window(Duration::from_secs(86_400))
        .to_target();
    assert!(too_far.is_err());
}
