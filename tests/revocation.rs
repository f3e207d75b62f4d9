//! Revocation groups: a link may carry a signed group; revoking the group refuses all its links
//! at once (410 `revoked`) without rotating keys, in one process (memory store) and across two
//! `serve` processes sharing a real Redis. Links without a group never ask the store, so a Redis
//! outage only fails group links (503).
#![cfg(feature = "redis")]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::routing::any;
use axum::Router;
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_secure_link::{
    Key, ManualClock, Rejection, RejectionKind, SecureLinkLayer, SignErrorKind,
};

const NOW: u64 = 1_767_222_000;
const KEY: &str = "revocation test secret, 32 bytes!!";

async fn status(app: &Router, target: &str) -> (StatusCode, Option<RejectionKind>) {
    let response = app
        .clone()
        .oneshot(Request::get(target).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let kind = response
        .extensions()
        .get::<Rejection>()
        .map(Rejection::kind);
    (response.status(), kind)
}

#[tokio::test]
async fn revoking_a_group_refuses_its_links_and_nothing_else() {
    let clock = ManualClock::new(NOW);
    let layer = SecureLinkLayer::new(Key::new("1", KEY).unwrap()).with_clock(clock.clone());
    let signer = layer.signer();
    let app = Router::new()
        .fallback(any(|| async { "ok" }))
        .layer(layer.clone());
    let grouped = signer
        .link("/deck.pdf")
        .group("team-a")
        .to_target()
        .unwrap();
    let once = signer
        .link("/deck.pdf")
        .group("team-a")
        .one_time()
        .to_target()
        .unwrap();
    let other = signer
        .link("/deck.pdf")
        .group("team-b")
        .to_target()
        .unwrap();
    let plain = signer.sign("/deck.pdf").unwrap();
    assert!(grouped.contains("sl_grp=team-a"), "{grouped}");
    assert_eq!(status(&app, &grouped).await, (StatusCode::OK, None));

    layer.revoke_group("team-a", NOW + 3600).await.unwrap();
    let revoked = (StatusCode::GONE, Some(RejectionKind::Revoked));
    assert_eq!(status(&app, &grouped).await, revoked);
    assert_eq!(
        status(&app, &once).await,
        revoked,
        "one-time links of the group too"
    );
    assert_eq!(
        status(&app, &other).await.0,
        StatusCode::OK,
        "another group"
    );
    assert_eq!(status(&app, &plain).await.0, StatusCode::OK, "no group");
    // The unused one-time link was not used up by its refusal: it is the group that is revoked.

    // The group is signed: moving a link to another group breaks it.
    let moved = grouped.replace("team-a", "team-b");
    assert_eq!(status(&app, &moved).await.0, StatusCode::FORBIDDEN);
    // A clock stepped back does not bring the group back.
    clock.set(NOW - 86_400);
    assert_eq!(status(&app, &grouped).await, revoked);

    let bad = signer
        .link("/x")
        .group("no spaces")
        .to_target()
        .unwrap_err();
    assert_eq!(bad.kind(), SignErrorKind::InvalidGroup);
    assert!(layer.revoke_group("", NOW).await.is_err());
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let output = support::run_cli(args, &[("SECURE_LINK_KEY", KEY)]);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_revocation_reaches_every_server_sharing_redis() {
    let Some(binary) = support::redis_binary() else {
        return;
    };
    let mut redis = support::RedisServer::start(&binary);
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/deck.pdf"), "the deck").unwrap();
    let root_arg = root.path().display().to_string();
    let args = ["--root", root_arg.as_str(), "--redis", &redis.url()];
    let first = support::Serve::start(&args, &[("SECURE_LINK_KEY", KEY)]);
    let second = support::Serve::start(&args, &[("SECURE_LINK_KEY", KEY)]);
    let (_, grouped, _) = cli(&["sign", "--group", "board", "/private/deck.pdf"]);
    let (_, plain, _) = cli(&["sign", "/private/deck.pdf"]);
    for server in [&first, &second] {
        assert_eq!(support::get(&server.addr, &grouped).status, 200);
    }
    let (code, out, err) = cli(&["revoke", "--group", "board", "--redis", &redis.url()]);
    assert_eq!(code, 0, "{err}");
    let until: u64 = out
        .strip_prefix("revoked board until ")
        .unwrap_or_else(|| panic!("{out}"))
        .parse()
        .unwrap();
    assert!(until > NOW);
    for server in [&first, &second] {
        assert_eq!(support::get(&server.addr, &grouped).status, 410);
        assert_eq!(support::get(&server.addr, &plain).status, 200);
    }
    // A Redis outage fails group links closed, and only them.
    redis.stop();
    std::thread::sleep(Duration::from_millis(200));
    for server in [&first, &second] {
        assert_eq!(support::get(&server.addr, &grouped).status, 503);
        assert_eq!(support::get(&server.addr, &plain).status, 200);
    }
    let (code, _, err) = cli(&[
        "revoke",
        "--group",
        "bad group",
        "--redis",
        "redis://127.0.0.1:1/",
    ]);
    assert_eq!(code, 2, "{err}");
}
