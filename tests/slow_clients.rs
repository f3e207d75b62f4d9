//! `secure-link serve` under slow and idle clients, as a real process: partial HTTP/1 request
//! heads and half-opened HTTP/2 connections are closed within the timeouts while valid links
//! keep being answered, and a flood larger than the process's descriptor limit cannot stop it
//! from accepting valid clients.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tower_secure_link::{Key, SecureLinkLayer};

const KEY: &str = "slow client test secret, 32 bytes!";

fn served_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/doc.txt"), "private document").unwrap();
    root
}

fn link() -> String {
    SecureLinkLayer::new(Key::new("1", KEY).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .signer()
        .sign("/private/doc.txt")
        .unwrap()
}

/// A connection that sends the start of a request and then nothing.
fn partial(addr: &str, http2: bool) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let start: &[u8] = if http2 {
        // The HTTP/2 preface without the SETTINGS frame that must follow it.
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    } else {
        b"GET /private/doc.txt HTTP/1.1\r\nHost: x\r\n"
    };
    stream.write_all(start).unwrap();
    stream
}

/// Whether the server closed `stream` by `deadline` (reads EOF or a reset).
fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // The HTTP/2 server's own SETTINGS, or a 408: keep reading until it closes.
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn partial_requests_are_closed_while_valid_links_are_answered() {
    let root = served_folder();
    let root_arg = root.path().display().to_string();
    let server = support::Serve::start(
        &[
            "--root",
            &root_arg,
            "--header-timeout",
            "2",
            "--idle-timeout",
            "3",
        ],
        &[("SECURE_LINK_KEY", KEY)],
    );
    let opened = Instant::now();
    let mut slow: Vec<TcpStream> = (0..100)
        .map(|i| partial(&server.addr, i % 2 == 1))
        .collect();
    // Valid links keep working while the slow clients hang on.
    let link = link();
    for _ in 0..10 {
        let started = Instant::now();
        let response = support::get(&server.addr, &link);
        assert_eq!(response.status, 200);
        assert_eq!(response.body_text(), "private document");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "answered at once"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every slow connection is closed within the idle timeout and a margin.
    let deadline = opened + Duration::from_secs(3 + 3);
    let mut still_open = Vec::new();
    for (i, stream) in slow.iter_mut().enumerate() {
        if !closed_by(stream, deadline) {
            still_open.push(if i % 2 == 1 { "HTTP/2" } else { "HTTP/1" });
        }
    }
    assert!(
        still_open.is_empty(),
        "still open after 6 s: {still_open:?}"
    );
    assert_eq!(support::get(&server.addr, &link).status, 200);
}

#[test]
fn a_flood_past_the_descriptor_limit_does_not_lock_out_valid_clients() {
    let root = served_folder();
    let root_arg = root.path().display().to_string();
    // 128 descriptors for the whole process, at most 64 connections at once.
    let server = support::Serve::start_behind(
        &["sh", "-c", "ulimit -n 128 && exec \"$0\" \"$@\""],
        &[
            "--root",
            &root_arg,
            "--header-timeout",
            "2",
            "--idle-timeout",
            "2",
            "--max-connections",
            "64",
        ],
        &[("SECURE_LINK_KEY", KEY)],
    );
    let flood: Vec<TcpStream> = (0..300)
        .map(|i| partial(&server.addr, i % 3 == 0))
        .collect();
    let link = link();
    let started = Instant::now();
    let response = support::get(&server.addr, &link);
    assert_eq!(
        response.status, 200,
        "a valid link behind 300 stalled connections"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered once the stalled ones timed out: {:?}",
        started.elapsed()
    );
    drop(flood);
    // And it goes on serving at once.
    let started = Instant::now();
    assert_eq!(support::get(&server.addr, &link).status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
}
