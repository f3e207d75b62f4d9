//! Revocation groups: a link may carry a signed group; revoking the group refuses all its links
//! at once (410 `revoked`) without rotating keys, in one process (memory store) and across two
//! `serve` processes sharing a real Redis. Links without a group never ask the store, so a Redis
//! outage only fails group links (503). A revocation that the store would forget when it
//! restarts (the memory store, Redis without persistence) is refused unless allowed as volatile,
//! and one in a persistent Redis outlives its restart.
#![cfg(feature = "redis")]

mod support;

use std::time::Duration;

use axum::routing::any;
use axum::Router;
use http::StatusCode;
use tower_secure_link::one_time::{RedisNonceStore, StoreErrorKind};
use tower_secure_link::{Key, ManualClock, RejectionKind, SecureLinkLayer, SignErrorKind};

const NOW: u64 = 1_767_222_000;
const KEY: &str = "revocation test secret, 32 bytes!!";

async fn status(app: &Router, target: &str) -> (StatusCode, Option<RejectionKind>) {
    let (status, kind, _) = support::send(app, http::Method::GET, target).await;
    (status, kind)
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

    // The memory store forgets with its process: refused unless the caller accepts that.
    let refused = layer.revoke_group("team-a", NOW + 3600).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        StoreErrorKind::WouldBeForgotten,
        "{refused}"
    );
    assert_eq!(status(&app, &grouped).await, (StatusCode::OK, None));
    layer
        .revoke_group("team-a", NOW + 3600)
        .allow_volatile()
        .await
        .unwrap();
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
    let bad = layer
        .revoke_group("", NOW)
        .allow_volatile()
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), StoreErrorKind::Failed);
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
    let mut redis = support::RedisServer::start_with(&binary, &[], &["--appendonly", "yes"]);
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

/// A folder for `serve --root` with one private file.
fn deck_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/deck.pdf"), "the deck").unwrap();
    root
}

/// What `serve --redis URL` says on stderr before it listens.
fn serve_start_messages(root: &str, redis: &str) -> String {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    let mut process = support::ChildGuard::spawn(
        Command::new(support::example_binary())
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--root",
                root,
                "--redis",
                redis,
            ])
            .env("SECURE_LINK_KEY", KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let child = process.child_mut();
    let first = BufReader::new(child.stdout.take().unwrap()).lines().next();
    let _ = child.kill();
    let _ = child.wait();
    let mut messages = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut messages)
        .unwrap();
    let first = first.and_then(Result::ok).unwrap_or_default();
    assert!(first.starts_with("listening on "), "{first}: {messages}");
    messages
}

/// The status of `target` once the server has reconnected to a restarted Redis (503 until then).
fn settled_status(addr: &str, target: &str) -> u16 {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = support::get(addr, target).status;
        if status != 503 || std::time::Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_revocation_is_refused_where_a_redis_restart_would_undo_it() {
    let Some(binary) = support::redis_binary() else {
        return;
    };
    struct Case {
        name: &'static str,
        redis_args: &'static [&'static str],
        /// Whether Redis keeps a revocation across a restart (so `revoke` needs no --volatile).
        kept: bool,
    }
    #[rustfmt::skip]
    let cases = [
        Case { name: "no persistence", redis_args: &["--save", "", "--appendonly", "no"], kept: false },
        Case { name: "append-only file", redis_args: &["--appendonly", "yes"], kept: true },
        Case { name: "RDB snapshots, restarted by a shutdown", redis_args: &["--save", "3600 1"], kept: true },
        Case { name: "CONFIG renamed away, append-only file", redis_args: &["--appendonly", "yes", "--rename-command", "CONFIG", ""], kept: true },
        Case { name: "CONFIG renamed away, no persistence", redis_args: &["--rename-command", "CONFIG", ""], kept: false },
    ];
    let root = deck_root();
    let root_arg = root.path().display().to_string();
    let grouped = support::cli_sign(
        &["--group", "board", "/private/deck.pdf"],
        &[("SECURE_LINK_KEY", KEY)],
    );
    for case in cases {
        let name = case.name;
        let mut redis = support::RedisServer::start_with(&binary, &[], case.redis_args);
        let url = redis.url();
        let messages = serve_start_messages(&root_arg, &url);
        assert_eq!(
            messages.contains("revocations") && messages.contains("--volatile"),
            !case.kept,
            "{name}: serve says at start whether revocations are kept: {messages}"
        );
        let server = support::Serve::start(
            &["--root", &root_arg, "--redis", &url],
            &[("SECURE_LINK_KEY", KEY)],
        );
        assert_eq!(support::get(&server.addr, &grouped).status, 200, "{name}");

        let (code, out, err) = cli(&["revoke", "--group", "board", "--redis", &url]);
        if case.kept {
            assert_eq!(code, 0, "{name}: {err}");
        } else {
            assert_eq!(code, 2, "{name}: {out}");
            assert!(out.is_empty(), "{name}: {out}");
            assert!(
                err.contains("revocation refused") && err.contains("--volatile"),
                "{name}: {err}"
            );
            assert_eq!(
                support::get(&server.addr, &grouped).status,
                200,
                "{name}: a refused revocation revokes nothing"
            );
            let (code, volatile_out, err) =
                cli(&["revoke", "--group", "board", "--redis", &url, "--volatile"]);
            assert_eq!(code, 0, "{name}: {err}");
            assert!(
                volatile_out.starts_with("revoked board until "),
                "{volatile_out}"
            );
        }
        assert_eq!(support::get(&server.addr, &grouped).status, 410, "{name}");

        // The fault: Redis stops and starts again on its own folder; the server reconnects.
        redis.stop();
        redis.restart();
        let after = settled_status(&server.addr, &grouped);
        let expected = if case.kept { 410 } else { 200 };
        assert_eq!(after, expected, "{name}: after Redis restarted");
        let fresh = support::Serve::start(
            &["--root", &root_arg, "--redis", &url],
            &[("SECURE_LINK_KEY", KEY)],
        );
        assert_eq!(
            support::get(&fresh.addr, &grouped).status,
            expected,
            "{name}: a server started after the restart"
        );
    }
}

#[test]
fn the_library_asks_redis_at_each_revocation_and_volatile_is_explicit() {
    let Some(binary) = support::redis_binary() else {
        return;
    };
    let redis = support::RedisServer::start_with(&binary, &[], &["--appendonly", "yes"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = RedisNonceStore::connect(&redis.url()).await.unwrap();
        let layer = SecureLinkLayer::new(Key::new("1", KEY).unwrap()).with_nonce_store(store);
        let until = NOW + 3600;
        layer.revoke_group("kept", until).await.unwrap();

        // Persistence switched off after the store connected: the next revocation sees it.
        let client = redis::Client::open(redis.url()).unwrap();
        let mut admin = client.get_multiplexed_async_connection().await.unwrap();
        for (name, value) in [("appendonly", "no"), ("save", "")] {
            redis::cmd("CONFIG")
                .arg("SET")
                .arg(name)
                .arg(value)
                .query_async::<()>(&mut admin)
                .await
                .unwrap();
        }
        let refused = layer.revoke_group("late", until).await.unwrap_err();
        assert_eq!(refused.kind(), StoreErrorKind::WouldBeForgotten);
        assert!(refused.to_string().contains("restarts"), "{refused}");
        let found: bool = redis::cmd("EXISTS")
            .arg("secure-link:nonce:group:late")
            .query_async(&mut admin)
            .await
            .unwrap();
        assert!(!found, "a refused revocation writes nothing");
        layer
            .revoke_group("late", until)
            .allow_volatile()
            .await
            .unwrap();
        let found: bool = redis::cmd("EXISTS")
            .arg("secure-link:nonce:group:late")
            .query_async(&mut admin)
            .await
            .unwrap();
        assert!(found);
    });
}
