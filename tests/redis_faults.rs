//! One-time links under the faults every fleet has, against real processes: a Redis whose clock
//! runs ahead of the app server (libfaketime), two app servers whose clocks differ, a Redis
//! paused with SIGSTOP past the timeout (a stall, not a death), and a Redis without persistence.
//! In every case a one-time link is served exactly once, and a 503 never uses it up.
#![cfg(feature = "redis")]

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tower_secure_link::one_time::{Persistence, RedisNonceStore};
use tower_secure_link::{Key, SecureLinkLayer, UrlSigner};

const KEY: &str = "redis fault test secret, 32 bytes!";
/// The layer's default leeway, which `serve` keeps.
const LEEWAY: u64 = 5;

fn signer() -> UrlSigner {
    SecureLinkLayer::new(Key::new("1", KEY).unwrap()).signer()
}

/// A one-time link to the served file, expiring at `expires` (default lifetime without one).
fn one_time_link(expires: Option<u64>) -> String {
    let signer = signer();
    let mut link = signer.link("/private/once.txt").one_time();
    if let Some(expires) = expires {
        link = link.expires_at(expires);
    }
    link.to_target().unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn served_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/once.txt"), "the private bytes").unwrap();
    root
}

fn serve(wrapper: &[&str], root: &tempfile::TempDir, redis: &str) -> support::Serve {
    let root = root.path().display().to_string();
    support::Serve::start_behind(
        wrapper,
        &["--root", &root, "--redis", redis],
        &[("SECURE_LINK_KEY", KEY)],
    )
}

/// Tries `link` on `addr` every 200 ms until the real clock passes `until` (Unix seconds);
/// returns the statuses.
fn keep_trying(addr: &str, link: &str, until: u64) -> Vec<u16> {
    let mut statuses = Vec::new();
    while now() <= until {
        statuses.push(support::get(addr, link).status);
        std::thread::sleep(Duration::from_millis(200));
    }
    statuses
}

/// Counts of each status, for readable failures.
fn summary(statuses: &[u16]) -> String {
    let mut seen: Vec<(u16, usize)> = Vec::new();
    for status in statuses {
        match seen.iter_mut().find(|(s, _)| s == status) {
            Some((_, count)) => *count += 1,
            None => seen.push((*status, 1)),
        }
    }
    let first = statuses.first().copied().unwrap_or(0);
    format!("first {first}, counts {seen:?}")
}

// libfaketime cannot run redis-server (its jemalloc calls clock_gettime before libfaketime is
// ready), so the app servers' clocks move instead: an app server N seconds behind Redis is the
// same skew as a Redis N seconds ahead.
#[test]
fn app_servers_behind_the_redis_clock_never_let_a_link_replay() {
    let (Some(redis_binary), Some(faketime)) =
        (support::redis_binary(), support::faketime_binary())
    else {
        return;
    };
    let faketime = faketime.display().to_string();
    let redis = support::RedisServer::start(&redis_binary);
    let root = served_folder();
    let runs: Vec<_> = [3u64, 60]
        .into_iter()
        .map(|behind| {
            let offset = format!("-{behind}s");
            let server = serve(&[&faketime, "-f", &offset], &root, &redis.url());
            (behind, server)
        })
        .collect();
    let threads: Vec<_> = runs
        .iter()
        .map(|(behind, server)| {
            let (addr, behind) = (server.addr.clone(), *behind);
            // Minted on the app server's clock, one second ahead of it.
            let expires = now() - behind + 1;
            let link = one_time_link(Some(expires));
            std::thread::spawn(move || {
                // Until the app server's clock has passed the link's expiry and the leeway.
                (
                    behind,
                    keep_trying(&addr, &link, expires + behind + LEEWAY + 1),
                )
            })
        })
        .collect();
    for thread in threads {
        let (behind, statuses) = thread.join().unwrap();
        let seen = summary(&statuses);
        assert_eq!(statuses[0], 200, "{behind} s behind: {seen}");
        assert_eq!(
            support::count(&statuses, 200),
            1,
            "{behind} s behind: {seen}"
        );
        assert_eq!(
            support::count(&statuses, 410),
            statuses.len() - 1,
            "{behind} s behind: {seen}"
        );
    }
    drop(runs);
}

#[test]
fn two_app_servers_four_seconds_apart_admit_a_link_once() {
    let (Some(redis_binary), Some(faketime)) =
        (support::redis_binary(), support::faketime_binary())
    else {
        return;
    };
    let faketime = faketime.display().to_string();
    let root = served_folder();
    let redis = support::RedisServer::start(&redis_binary);
    let fast = serve(&[], &root, &redis.url());
    let slow = serve(&[&faketime, "-f", "-4s"], &root, &redis.url());
    let expires = now() + 1;
    let link = one_time_link(Some(expires));
    assert_eq!(
        support::get(&fast.addr, &link).status,
        200,
        "first use, on the fast server"
    );
    // Past the fast server's view of the link's end...
    while now() <= expires + LEEWAY {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        support::get(&fast.addr, &link).status,
        410,
        "expired for the fast server"
    );
    // ...the slow server, 4 s behind, still accepts its signature and time: the nonce must be
    // there until the slow server's clock passes the expiry too.
    let statuses = keep_trying(&slow.addr, &link, expires + LEEWAY + 4);
    assert!(statuses.len() > 5, "{}", summary(&statuses));
    assert_eq!(
        support::count(&statuses, 410),
        statuses.len(),
        "{}",
        summary(&statuses)
    );
}

#[test]
fn a_stalled_redis_gives_503_and_the_link_still_works_once() {
    let Some(redis_binary) = support::redis_binary() else {
        return;
    };
    let redis = support::RedisServer::start(&redis_binary);
    let root = served_folder();
    let server = serve(&[], &root, &redis.url());
    for round in 0..3 {
        let link = one_time_link(None);
        redis.pause();
        let started = Instant::now();
        let stalled = support::get(&server.addr, &link).status;
        assert_eq!(
            stalled, 503,
            "round {round}: Redis is stalled past the 500 ms timeout"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "round {round}: fails fast"
        );
        // Let the write that timed out land now.
        std::thread::sleep(Duration::from_millis(200));
        redis.resume();
        // Retries right away: 503 while the take-back is pending, then exactly one 200.
        let mut statuses = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while statuses.last() != Some(&200) && Instant::now() < deadline {
            statuses.push(support::get(&server.addr, &link).status);
        }
        let seen = summary(&statuses);
        assert_eq!(statuses.last(), Some(&200), "round {round}: {seen}");
        assert_eq!(
            support::count(&statuses, 503),
            statuses.len() - 1,
            "round {round}: never 410 before the first success: {seen}"
        );
        // And now it is used: a 200-way storm gets nothing more.
        let storm = support::fire(std::slice::from_ref(&server.addr), "GET", &link, 200);
        assert_eq!(
            support::count(&storm, 410),
            200,
            "round {round}: {}",
            summary(&storm)
        );
    }
}

#[test]
fn a_storm_after_a_stall_has_exactly_one_winner() {
    let Some(redis_binary) = support::redis_binary() else {
        return;
    };
    let redis = support::RedisServer::start(&redis_binary);
    let root = served_folder();
    let first = serve(&[], &root, &redis.url());
    let second = serve(&[], &root, &redis.url());
    let addrs = [first.addr.clone(), second.addr.clone()];
    let link = one_time_link(None);
    redis.pause();
    let stalled = support::fire(&addrs, "GET", &link, 20);
    assert_eq!(support::count(&stalled, 503), 20, "{}", summary(&stalled));
    redis.resume();
    std::thread::sleep(Duration::from_secs(1));
    let storm = support::fire(&addrs, "GET", &link, 200);
    assert_eq!(support::count(&storm, 200), 1, "{}", summary(&storm));
    assert_eq!(support::count(&storm, 410), 199, "{}", summary(&storm));
}

#[tokio::test]
async fn the_store_reports_what_redis_keeps_across_a_restart() {
    let Some(redis_binary) = support::redis_binary() else {
        return;
    };
    struct Case {
        name: &'static str,
        args: &'static [&'static str],
        persistence: Persistence,
    }
    #[rustfmt::skip]
    let cases = [
        Case { name: "nothing", args: &[], persistence: Persistence::None },
        Case { name: "append-only file", args: &["--appendonly", "yes"], persistence: Persistence::AppendOnly },
        Case { name: "snapshots", args: &["--save", "3600 1"], persistence: Persistence::Snapshots },
    ];
    for case in cases {
        let redis = support::RedisServer::start_with(&redis_binary, &[], case.args);
        let store = RedisNonceStore::connect(&redis.url()).await.unwrap();
        assert_eq!(store.persistence(), case.persistence, "{}", case.name);
        let strict = RedisNonceStore::builder(&redis.url())
            .require_persistence(true)
            .connect()
            .await;
        assert_eq!(
            strict.is_ok(),
            case.persistence != Persistence::None,
            "{}: {:?}",
            case.name,
            strict.err()
        );
    }
}
