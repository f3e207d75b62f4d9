//! Ignored tracking parameters (`with_ignored_params`): a link that gains `utm_*` or `fbclid`
//! on its way still works, the inner service never sees them, and nothing else can ride along:
//! not a changed signed value, not another spelling, not a signing parameter.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use axum::body::Body;
use http::header::{COOKIE, HOST, SET_COOKIE};
use http::{Method, Request, StatusCode};
use tower::Layer;
use tower_secure_link::{
    ConfigError, Key, ManualClock, RejectionKind, SecureLinkLayer, SignErrorKind,
};

const NOW: u64 = 1_767_222_000;

fn plain_layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", [5u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_opaque_prefix("/s/")
        .unwrap()
        .with_clock(ManualClock::new(NOW))
}

fn layer() -> SecureLinkLayer {
    plain_layer()
        .with_ignored_params(["utm_*", "fbclid"])
        .unwrap()
}

/// The layer in front of an axum router that echoes the target it was handed.
fn app(layer: &SecureLinkLayer) -> tower_secure_link::SecureLink<axum::Router> {
    layer.layer(support::echo_app())
}

/// Where the signing parameters start in a minted link (`?` or `&` before `sl_kid`).
fn split_signing(link: &str) -> (&str, &str) {
    let at = link.find("sl_kid=").unwrap();
    (&link[..at - 1], &link[at..])
}

#[tokio::test]
async fn named_cases_through_a_router() {
    let layer = layer();
    let app = app(&layer);
    let link = layer.signer().sign("/private/report.pdf?page=2").unwrap();
    let (head, signing) = split_signing(&link);
    let (kid, rest) = signing.split_once('&').unwrap();
    let seen = "/private/report.pdf?page=2";
    let bad = |kind| Err(kind);
    // (case, target, what the inner service sees or why the layer refuses)
    let cases: Vec<(&str, String, Result<&str, RejectionKind>)> = vec![
        ("as minted", link.clone(), Ok(seen)),
        (
            "appended at the end",
            format!("{link}&utm_source=x&fbclid=y"),
            Ok(seen),
        ),
        (
            "before the signing parameters",
            format!("{head}&utm_source=x&fbclid=y&{signing}"),
            Ok(seen),
        ),
        (
            "between signing parameters",
            format!("{head}&{kid}&fbclid=y&utm_medium=mail&{rest}"),
            Ok(seen),
        ),
        (
            "first in the query",
            format!("/private/report.pdf?utm_source=x&page=2&{signing}"),
            Ok(seen),
        ),
        ("without a value", format!("{link}&fbclid"), Ok(seen)),
        (
            "with an empty value",
            format!("{link}&utm_source="),
            Ok(seen),
        ),
        (
            "its value spelling a signed parameter",
            format!("{link}&utm_source=x%26page%3D3"),
            Ok(seen),
        ),
        (
            "its value running on after a semicolon",
            format!("{link}&utm_source=x;page=3"),
            Ok(seen),
        ),
        (
            "a tampered signed value",
            format!("{link}&utm_source=x").replace("page=2", "page=3"),
            bad(RejectionKind::BadSignature),
        ),
        (
            "a signed parameter added",
            format!("{link}&utm_source=x&page=3"),
            bad(RejectionKind::BadSignature),
        ),
        (
            "a signed parameter added under an escaped name",
            format!("{link}&%70age=3"),
            bad(RejectionKind::BadSignature),
        ),
        (
            "an ignored name in another case",
            format!("{link}&UTM_SOURCE=x"),
            bad(RejectionKind::BadSignature),
        ),
        (
            "an ignored name escaped",
            format!("{link}&utm%5Fsource=x"),
            bad(RejectionKind::BadSignature),
        ),
        (
            "a signing parameter duplicated behind an ignored one",
            format!("{link}&utm_source=x&sl_exp=1"),
            bad(RejectionKind::MalformedToken),
        ),
        (
            "a signing parameter in capitals",
            format!("{link}&fbclid=y&SL_SIG=x"),
            bad(RejectionKind::MalformedToken),
        ),
        (
            "no link, only tracking",
            "/private/report.pdf?page=2&utm_source=x".to_owned(),
            bad(RejectionKind::MissingToken),
        ),
        (
            "a public request keeps its query",
            "/public/page?utm_source=x&a=1".to_owned(),
            Ok("/public/page?utm_source=x&a=1"),
        ),
    ];
    for (name, target, expect) in cases {
        let (status, kind, body) = support::send(&app, Method::GET, &target).await;
        match expect {
            Ok(seen) => {
                assert_eq!(status, StatusCode::OK, "{name}: {target} ({kind:?})");
                assert_eq!(body, seen, "{name}");
            }
            Err(expected) => assert_eq!(kind, Some(expected), "{name}: {target}"),
        }
    }
}

#[tokio::test]
async fn without_the_setting_tracking_parameters_break_the_link() {
    let layer = plain_layer();
    let link = layer.signer().sign("/private/report.pdf?page=2").unwrap();
    let (_, kind, _) = support::send(&app(&layer), Method::GET, &format!("{link}&fbclid=y")).await;
    assert_eq!(kind, Some(RejectionKind::BadSignature));
}

#[tokio::test]
async fn folder_links_in_either_form_drop_them() {
    let layer = layer();
    let app = app(&layer);
    let signer = layer.signer();
    let base = signer.folder_link("/private/v/").to_path_base().unwrap();
    let query = signer.folder_link("/private/v/").to_query().unwrap();
    let cases = [
        (
            "path token",
            format!("{base}seg.ts?utm_source=x&q=1&fbclid=2"),
            "/private/v/seg.ts?q=1",
        ),
        (
            "path token, only tracking",
            format!("{base}seg.ts?fbclid=2"),
            "/private/v/seg.ts",
        ),
        (
            "query token",
            format!("/private/v/seg.ts?q=1&{query}&utm_source=x"),
            "/private/v/seg.ts?q=1",
        ),
        (
            "query token, tracking between its parameters",
            format!("/private/v/seg.ts?{}", query.replacen('&', "&fbclid=2&", 1)),
            "/private/v/seg.ts",
        ),
    ];
    for (name, target, seen) in cases {
        let (status, kind, body) = support::send(&app, Method::GET, &target).await;
        assert_eq!(status, StatusCode::OK, "{name}: {target} ({kind:?})");
        assert_eq!(body, seen, "{name}");
    }
}

#[tokio::test]
async fn a_folder_session_cookie_drops_them_too() {
    let layer = layer();
    let app = app(&layer);
    let base = layer
        .signer()
        .folder_link("/private/v/")
        .cookie_session(Duration::from_secs(600))
        .to_path_base()
        .unwrap();
    let request = |target: &str, cookie: Option<&str>| {
        let mut request = Request::get(target).header(HOST, "localhost");
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.body(Body::empty()).unwrap()
    };
    let first = support::send_request(&app, request(&format!("{base}a.ts"), None)).await;
    let cookie = first.header(SET_COOKIE).unwrap().split(';').next().unwrap();
    let target = "/private/v/b.ts?utm_source=x&q=1";
    let reply = support::send_request(&app, request(target, Some(cookie))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "/private/v/b.ts?q=1");
}

#[tokio::test]
async fn opaque_links_accept_a_query_of_ignored_parameters_only() {
    let layer = layer();
    let app = app(&layer);
    let link = layer
        .signer()
        .link("/private/invoice.pdf?copy=2")
        .opaque()
        .to_target()
        .unwrap();
    let seen = "/private/invoice.pdf?copy=2";
    let cases = [
        ("as minted", link.clone(), Ok(seen)),
        (
            "tracking",
            format!("{link}?fbclid=1&utm_source=x"),
            Ok(seen),
        ),
        (
            "tracking and more",
            format!("{link}?fbclid=1&copy=3"),
            Err(RejectionKind::MalformedToken),
        ),
        (
            "another case",
            format!("{link}?FBCLID=1"),
            Err(RejectionKind::MalformedToken),
        ),
        (
            "an empty part",
            format!("{link}?fbclid=1&"),
            Err(RejectionKind::MalformedToken),
        ),
    ];
    for (name, target, expect) in cases {
        let (status, kind, body) = support::send(&app, Method::GET, &target).await;
        match expect {
            Ok(seen) => {
                assert_eq!(status, StatusCode::OK, "{name} ({kind:?})");
                assert_eq!(body, seen, "{name}");
            }
            Err(expected) => assert_eq!(kind, Some(expected), "{name}"),
        }
    }
    let plain = plain_layer();
    let link = plain.signer().link("/private/a.pdf").opaque().to_target();
    let target = format!("{}?fbclid=1", link.unwrap());
    let (_, kind, _) = support::send(&plain.layer(support::echo_app()), Method::GET, &target).await;
    assert_eq!(kind, Some(RejectionKind::MalformedToken), "not configured");
}

#[cfg(feature = "ed25519")]
#[tokio::test]
async fn ed25519_links_drop_them() {
    let key = Key::ed25519("ed1", [3u8; 32]).unwrap();
    let with = |key: Key| {
        SecureLinkLayer::new(key)
            .with_private_prefix("/private/")
            .unwrap()
            .with_clock(ManualClock::new(NOW))
            .with_ignored_params(["utm_*"])
            .unwrap()
    };
    let link = with(key.clone())
        .signer()
        .sign("/private/a.pdf?x=1")
        .unwrap();
    let verifier = with(key.to_public().unwrap());
    let app = app(&verifier);
    let (status, _, body) = support::send(&app, Method::GET, &format!("{link}&utm_id=9")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "/private/a.pdf?x=1")
    );
    let tampered = format!("{link}&utm_id=9").replace("x=1", "x=2");
    let (_, kind, _) = support::send(&app, Method::GET, &tampered).await;
    assert_eq!(kind, Some(RejectionKind::BadSignature));
}

#[test]
fn names_that_could_match_a_signing_parameter_are_refused_at_build() {
    let signing = |name: &str| ConfigError::IgnoredSigningParam {
        name: name.to_owned(),
    };
    let invalid = |name: &str| ConfigError::InvalidIgnoredParam {
        name: name.to_owned(),
    };
    let cases = [
        ("sl_*", signing("sl_*")),
        ("sl_kid", signing("sl_kid")),
        ("SL_Sig", signing("SL_Sig")),
        ("s*", signing("s*")),
        ("*", signing("*")),
        ("", invalid("")),
        ("utm_*x", invalid("utm_*x")),
        ("utm%5F*", invalid("utm%5F*")),
        ("a b", invalid("a b")),
    ];
    for (name, expect) in cases {
        let error = plain_layer()
            .with_ignored_params(["fbclid", name])
            .unwrap_err();
        assert_eq!(error, expect, "{name:?}");
    }
    // Under another prefix, that prefix is the one protected.
    let custom = plain_layer().with_param_prefix("tok_").unwrap();
    assert!(custom.clone().with_ignored_params(["sl_*"]).is_ok());
    assert_eq!(
        custom.with_ignored_params(["tok*"]).unwrap_err(),
        signing("tok*")
    );
    // And a prefix chosen later may not fall under a pattern given before.
    assert_eq!(
        layer().with_param_prefix("utm_x").unwrap_err(),
        signing("utm_*")
    );
    assert!(layer().with_param_prefix("tok_").is_ok());
}

#[test]
fn minting_refuses_a_link_that_carries_an_ignored_parameter() {
    let signer = layer().signer();
    for (target, name) in [
        ("/private/a.pdf?utm_source=x", "utm_source"),
        ("/private/a.pdf?page=2&fbclid", "fbclid"),
    ] {
        let error = signer.sign(target).unwrap_err();
        assert_eq!(error.kind(), SignErrorKind::IgnoredParameter, "{target}");
        assert_eq!(error.parameter(), Some(name), "{target}");
        assert!(error.to_string().contains(name), "{error}");
        let opaque = signer.link(target).opaque().to_target().unwrap_err();
        assert_eq!(opaque.kind(), SignErrorKind::IgnoredParameter, "{target}");
    }
    // Not ignored, so signed like any parameter, and binding.
    let layer = layer();
    let link = layer.signer().sign("/private/a.pdf?UTM_source=x").unwrap();
    assert!(layer.check(&Method::GET, &link.parse().unwrap()).is_ok());
    let changed = link.replace("UTM_source=x", "UTM_source=y");
    assert!(layer
        .check(&Method::GET, &changed.parse().unwrap())
        .is_err());
}

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn checking_allocates_only_when_an_ignored_parameter_must_be_cut_out() {
    let layer = layer();
    let link = layer.signer().sign("/private/report.pdf?page=2").unwrap();
    let (head, signing) = split_signing(&link);
    // The first read of the keyring on a thread registers it with arc-swap, once.
    layer.check(&Method::GET, &link.parse().unwrap()).unwrap();
    let cases = [
        ("none there", link.clone(), 0),
        ("appended", format!("{link}&utm_source=x"), 0),
        (
            "before the signing ones",
            format!("{head}&fbclid=1&{signing}"),
            0,
        ),
        (
            "amid the application's",
            format!("/private/report.pdf?fbclid=1&page=2&{signing}"),
            1,
        ),
    ];
    for (name, target, most) in cases {
        let uri: http::Uri = target.parse().unwrap();
        let (result, count) = allocations_during(|| layer.check(&Method::GET, &uri));
        assert!(result.is_ok(), "{name}");
        assert!(count <= most, "{name}: {count} allocations");
    }
}

#[cfg(feature = "nginx")]
#[test]
fn nginx_links_are_out_of_scope() {
    use tower_secure_link::nginx::NginxScheme;
    let layer = SecureLinkLayer::nginx(NginxScheme::new("nginx secret")).unwrap();
    assert_eq!(
        layer.with_ignored_params(["utm_*"]).unwrap_err(),
        ConfigError::IgnoredParamsUnsupported
    );
}
