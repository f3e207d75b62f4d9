//! One-time links across processes: two `secure-link serve` processes sharing one real
//! redis-server admit a one-time link exactly once, and a Redis outage fails closed and heals
//! without a restart.
#![cfg(feature = "redis")]

mod support;

use std::time::{Duration, Instant};

const KEY: &str = "one-time test secret, 32 bytes long";

fn cli_sign(args: &[&str]) -> String {
    support::cli_sign(args, &[("SECURE_LINK_KEY", KEY)])
}

fn served_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/once.txt"), "the private bytes").unwrap();
    root
}

#[test]
fn exactly_one_wins_across_two_server_processes_sharing_redis() {
    let Some(binary) = support::redis_binary() else {
        return;
    };
    let redis = support::RedisServer::start(&binary);
    let root = served_folder();
    let root_arg = root.path().display().to_string();
    let args = ["--root", &root_arg, "--redis", &redis.url()];
    let first = support::Serve::start(&args, &[("SECURE_LINK_KEY", KEY)]);
    let second = support::Serve::start(&args, &[("SECURE_LINK_KEY", KEY)]);
    for _ in 0..3 {
        let link = cli_sign(&["--one-time", "/private/once.txt"]);
        let statuses = support::fire(
            &[first.addr.clone(), second.addr.clone()],
            "GET",
            &link,
            200,
        );
        assert_eq!(support::count(&statuses, 200), 1, "{statuses:?}");
        assert_eq!(support::count(&statuses, 410), 199, "{statuses:?}");
    }
}

#[test]
fn a_redis_outage_fails_closed_and_the_layer_recovers_without_a_restart() {
    let Some(binary) = support::redis_binary() else {
        return;
    };
    let mut redis = support::RedisServer::start(&binary);
    let root = served_folder();
    let root_arg = root.path().display().to_string();
    let server = support::Serve::start(
        &["--root", &root_arg, "--redis", &redis.url()],
        &[("SECURE_LINK_KEY", KEY)],
    );
    let before = cli_sign(&["--one-time", "/private/once.txt"]);
    assert_eq!(support::get(&server.addr, &before).status, 200);

    redis.stop();
    let once = cli_sign(&["--one-time", "/private/once.txt"]);
    let ordinary = cli_sign(&["/private/once.txt"]);
    let down = support::get(&server.addr, &once);
    assert_eq!(down.status, 503, "one-time links fail closed");
    assert_ne!(down.body_text(), "the private bytes");
    assert_eq!(
        support::get(&server.addr, &ordinary).status,
        200,
        "ordinary links keep working"
    );
    assert_eq!(
        support::get(&server.addr, &before).status,
        503,
        "not even a used link is served"
    );

    redis.restart();
    // A refusal with 503 recorded nothing, so the same link works once Redis is back.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = support::get(&server.addr, &once).status;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "while reconnecting");
        assert!(Instant::now() < deadline, "the layer did not recover");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        support::get(&server.addr, &once).status,
        410,
        "and only once"
    );
}
