//! Links with N uses (`uses(n)`, `sign --uses N`), admitted exactly N times across a fleet:
//! one `serve` process on its memory store, two sharing a real Redis (with clocks four seconds
//! apart, through a stall and across a restart with an append-only file), and a service that
//! fails once, whose use comes back.

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};
use tower::{service_fn, ServiceExt};
use tower_secure_link::{Key, RejectionKind, SecureLinkLayer};

const KEY: &str = "n-use test secret, at least 32 bytes";

fn cli_sign(args: &[&str]) -> String {
    support::cli_sign(args, &[("SECURE_LINK_KEY", KEY)])
}

fn served_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/file.txt"), "the private bytes").unwrap();
    root
}

fn serve(wrapper: &[&str], root: &tempfile::TempDir, redis: Option<&str>) -> support::Serve {
    let root = root.path().display().to_string();
    let mut args = vec!["--root", root.as_str()];
    if let Some(redis) = redis {
        args.extend(["--redis", redis]);
    }
    support::Serve::start_behind(wrapper, &args, &[("SECURE_LINK_KEY", KEY)])
}

#[test]
fn a_storm_on_one_server_gets_exactly_n() {
    let root = served_folder();
    let server = serve(&[], &root, None);
    for uses in [2, 3, 7] {
        let link = cli_sign(&["--uses", &uses.to_string(), "/private/file.txt"]);
        let statuses = support::fire(std::slice::from_ref(&server.addr), "GET", &link, 60);
        assert_eq!(support::count(&statuses, 200), uses, "{uses}: {statuses:?}");
        assert_eq!(
            support::count(&statuses, 410),
            60 - uses,
            "{uses}: {statuses:?}"
        );
    }
    // HEAD looks without using anything up.
    let link = cli_sign(&["--uses", "2", "/private/file.txt"]);
    for _ in 0..5 {
        let head = support::raw_request(&server.addr, "HEAD", link.as_bytes());
        assert_eq!(head.status, 200);
    }
    let statuses: Vec<u16> = (0..3)
        .map(|_| support::get(&server.addr, &link).status)
        .collect();
    assert_eq!(statuses, [200, 200, 410]);
}

#[test]
fn two_servers_sharing_redis_admit_exactly_n_even_with_skewed_clocks() {
    let (Some(redis_binary), Some(faketime)) =
        (support::redis_binary(), support::faketime_binary())
    else {
        return;
    };
    let faketime = faketime.display().to_string();
    let redis = support::RedisServer::start(&redis_binary);
    let root = served_folder();
    let url = redis.url();
    let first = serve(&[], &root, Some(&url));
    let behind = serve(&[&faketime, "-f", "-4s"], &root, Some(&url));
    let addrs = [first.addr.clone(), behind.addr.clone()];
    for uses in [1, 5, 20] {
        let link = cli_sign(&["--uses", &uses.to_string(), "/private/file.txt"]);
        let statuses = support::fire(&addrs, "GET", &link, 120);
        assert_eq!(support::count(&statuses, 200), uses, "{uses}: {statuses:?}");
        assert_eq!(
            support::count(&statuses, 410),
            120 - uses,
            "{uses}: {statuses:?}"
        );
    }
}

#[test]
fn a_stalled_redis_burns_no_use_and_a_restart_forgets_none() {
    let Some(redis_binary) = support::redis_binary() else {
        return;
    };
    let mut redis = support::RedisServer::start_with(
        &redis_binary,
        &[],
        &["--appendonly", "yes", "--appendfsync", "always"],
    );
    let root = served_folder();
    let url = redis.url();
    let server = serve(&[], &root, Some(&url));
    let link = cli_sign(&["--uses", "3", "/private/file.txt"]);
    assert_eq!(support::get(&server.addr, &link).status, 200, "use 1");

    redis.pause();
    let stalled = support::fire(std::slice::from_ref(&server.addr), "GET", &link, 10);
    assert_eq!(support::count(&stalled, 503), 10, "{stalled:?}");
    std::thread::sleep(Duration::from_millis(200));
    redis.resume();
    // The timed-out writes are taken back: 503 until then, then the two uses left.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut statuses = Vec::new();
    while support::count(&statuses, 200) < 1 && Instant::now() < deadline {
        statuses.push(support::get(&server.addr, &link).status);
    }
    assert_eq!(
        support::count(&statuses, 410),
        0,
        "no use was burned: {statuses:?}"
    );
    assert_eq!(support::count(&statuses, 200), 1, "use 2: {statuses:?}");

    // Redis restarts from its append-only file: uses 1 and 2 stay used.
    redis.stop();
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = Vec::new();
    while !after.contains(&410) && Instant::now() < deadline {
        let status = support::get(&server.addr, &link).status;
        after.push(status);
        if status == 503 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert_eq!(
        support::count(&after, 200),
        1,
        "only use 3 was left: {after:?}"
    );
    assert_eq!(after.last(), Some(&410), "{after:?}");
}

#[tokio::test]
async fn a_use_the_application_failed_comes_back() {
    let layer = SecureLinkLayer::new(Key::new("1", KEY).unwrap());
    let link = layer
        .signer()
        .link("/report.pdf")
        .uses(2)
        .to_target()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = {
        let calls = calls.clone();
        service_fn(move |_: Request<String>| {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let mut response = Response::new(());
                if call == 0 {
                    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                }
                Ok::<_, Infallible>(response)
            }
        })
    };
    let service = tower::Layer::layer(&layer, inner);
    let mut statuses = Vec::new();
    let mut reasons = Vec::new();
    for _ in 0..4 {
        let request = Request::get(link.as_str()).body(String::new()).unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        statuses.push(response.status().as_u16());
        reasons.push(
            response
                .extensions()
                .get::<tower_secure_link::Rejection>()
                .map(|r| r.kind()),
        );
    }
    assert_eq!(statuses, [500, 200, 200, 410]);
    assert_eq!(reasons[3], Some(RejectionKind::AlreadyUsed));
}

#[test]
fn the_count_is_signed() {
    let layer = SecureLinkLayer::new(Key::new("1", KEY).unwrap());
    let link = layer
        .signer()
        .link("/report.pdf")
        .uses(3)
        .to_target()
        .unwrap();
    assert!(link.contains("&sl_uses=3&"), "{link}");
    let check = |target: &str| {
        layer
            .check(&http::Method::GET, &target.parse().unwrap())
            .map(|_| ())
            .map_err(|r| r.kind())
    };
    assert_eq!(check(&link), Ok(()));
    assert_eq!(
        check(&link.replace("sl_uses=3", "sl_uses=99")),
        Err(RejectionKind::BadSignature)
    );
    assert_eq!(
        check(&link.replace("&sl_uses=3", "")),
        Err(RejectionKind::BadSignature)
    );
    for malformed in ["sl_uses=1", "sl_uses=03", "sl_uses=101"] {
        assert_eq!(
            check(&link.replace("sl_uses=3", malformed)),
            Err(RejectionKind::MalformedToken),
            "{malformed}"
        );
    }
    let one = layer
        .signer()
        .link("/report.pdf")
        .uses(1)
        .to_target()
        .unwrap();
    assert!(
        !one.contains("sl_uses") && one.contains("sl_nonce="),
        "{one}"
    );
    for refused in [0, 101] {
        let error = layer
            .signer()
            .link("/r")
            .uses(refused)
            .to_target()
            .unwrap_err();
        assert_eq!(error.kind(), tower_secure_link::SignErrorKind::InvalidUses);
    }
}
