//! The `secure-link` example binary, run as a separate process, against the contract in the
//! README (sign, verify, serve): output lines, exit codes and statuses over real TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "cli test secret of thirty-two bytes or so";

/// The example binary that `cargo test` builds next to the test binaries.
fn binary() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir
        .join("examples")
        .join(format!("secure-link{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test`, which builds examples",
        path.display()
    );
    path
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command
        .args(args)
        .env_remove("SECURE_LINK_KEY")
        .env_remove("SECURE_LINK_OLD_KEYS");
    command.env_remove("SECURE_LINK_KEY_ID");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .trim_end()
        .to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn sign(args: &[&str]) -> String {
    let mut all = vec!["sign"];
    all.extend_from_slice(args);
    let output = run(&all, &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let link = stdout(&output);
    assert_eq!(link.lines().count(), 1, "sign prints one line");
    link
}

#[test]
fn sign_then_verify_round_trips() {
    let link = sign(&["/private/a b.pdf?v=2"]);
    assert!(link.starts_with("/private/a%20b.pdf?v=2&"), "{link}");
    let output = run(&["verify", &link], &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "valid");

    let put = sign(&["--method", "PUT", "--ttl", "60", "/private/upload.bin"]);
    let as_get = run(&["verify", &put], &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(as_get.status.code(), Some(1));
    let as_put = run(
        &["verify", "--method", "PUT", &put],
        &[("SECURE_LINK_KEY", KEY)],
    );
    assert_eq!(as_put.status.code(), Some(0));
}

#[test]
fn verify_names_the_reason() {
    let link = sign(&["/private/a.pdf"]);
    let expired = sign(&["--expires", "1000000000", "/private/a.pdf"]);
    struct Case {
        name: &'static str,
        target: String,
        key: &'static str,
        reason: &'static str,
    }
    #[rustfmt::skip]
    let cases = [
        Case { name: "tampered path", target: link.replace("a.pdf", "b.pdf"), key: KEY, reason: "invalid" },
        Case { name: "other key", target: link.clone(), key: "another secret of thirty-two bytes!!", reason: "invalid" },
        Case { name: "no token", target: "/private/a.pdf".into(), key: KEY, reason: "invalid" },
        Case { name: "expired", target: expired, key: KEY, reason: "expired" },
    ];
    for case in cases {
        let output = run(&["verify", &case.target], &[("SECURE_LINK_KEY", case.key)]);
        assert_eq!(output.status.code(), Some(1), "{}", case.name);
        assert_eq!(stderr(&output).trim(), case.reason, "{}", case.name);
        assert!(stdout(&output).is_empty(), "{}", case.name);
    }
}

#[test]
fn old_keys_verify_but_do_not_sign() {
    let old_link = sign(&["/private/a.pdf"]);
    let rotated = [
        ("SECURE_LINK_KEY", "the new secret, also thirty-two bytes"),
        ("SECURE_LINK_KEY_ID", "2"),
        ("SECURE_LINK_OLD_KEYS", &*format!("1:{KEY}")),
    ];
    let output = run(&["verify", &old_link], &rotated);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = run(&["sign", "/private/a.pdf"], &rotated);
    assert!(stdout(&output).contains("sl_kid=2&"));
}

#[test]
fn usage_errors_exit_with_2_and_a_message() {
    #[rustfmt::skip]
    let cases: [(&str, &[&str], Option<&str>, &str); 7] = [
        ("short key", &["sign", "/x"], Some("short"), "at least 32"),
        ("no key for sign", &["sign", "/x"], None, "SECURE_LINK_KEY"),
        ("no key for verify", &["verify", "/x"], None, "SECURE_LINK_KEY"),
        ("reserved parameter", &["sign", "/x?sl_sig=1"], Some(KEY), "reserved"),
        ("lifetime over the maximum", &["sign", "--ttl", "99999999", "/x"], Some(KEY), "maximum lifetime"),
        ("unknown option", &["sign", "--bogus", "/x"], Some(KEY), "--bogus"),
        ("bad path", &["sign", "/../x"], Some(KEY), "target path"),
    ];
    for (name, args, key, needle) in cases {
        let env: Vec<(&str, &str)> = key.map(|k| ("SECURE_LINK_KEY", k)).into_iter().collect();
        let output = run(args, &env);
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            stderr(&output).contains(needle),
            "{name}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains(KEY),
            "{name}: the secret was printed"
        );
    }
}

struct Server {
    child: Child,
    base: String,
    sample_link: String,
}

impl Server {
    fn start(root: &std::path::Path) -> Self {
        let mut child = Command::new(binary())
            .args(["serve", "--addr", "127.0.0.1:0", "--root"])
            .arg(root)
            .args(["--private", "/private/", "--public", "/private/open/"])
            .env("SECURE_LINK_KEY", KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let base = first
            .strip_prefix("listening on ")
            .expect(&first)
            .to_owned();
        let sample_link = lines.next().unwrap().unwrap();
        Self {
            child,
            base,
            sample_link,
        }
    }

    fn get(&self, target: &str) -> (u16, String) {
        let addr = self.base.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).unwrap().parse().unwrap();
        (status, response)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_guards_the_private_prefix_and_stops_on_sigterm() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private/open")).unwrap();
    std::fs::write(root.path().join("index.html"), "hello").unwrap();
    std::fs::write(root.path().join("private/doc.txt"), "private document").unwrap();
    std::fs::write(root.path().join("private/open/note.txt"), "open note").unwrap();
    let mut server = Server::start(root.path());

    assert!(server
        .sample_link
        .starts_with(&format!("{}/private/doc.txt?", server.base)));
    let sample_target = server
        .sample_link
        .strip_prefix(&server.base)
        .unwrap()
        .to_owned();
    let expired = sign(&["--expires", "1000000000", "/private/doc.txt"]);
    #[rustfmt::skip]
    let cases = [
        ("sample link", sample_target.as_str(), 200, Some("private document")),
        ("public file", "/index.html", 200, Some("hello")),
        ("public exception", "/private/open/note.txt", 200, Some("open note")),
        ("no link", "/private/doc.txt", 403, None),
        ("expired link", expired.as_str(), 410, None),
        ("ambiguous path", "/private%2fdoc.txt", 400, None),
        ("escape from the exception", "/private/open/%2e%2e/doc.txt", 403, None),
    ];
    for (name, target, status, body) in cases {
        let (got, response) = server.get(target);
        assert_eq!(got, status, "{name}");
        if let Some(body) = body {
            assert!(response.ends_with(body), "{name}: {response}");
        } else {
            assert!(!response.contains("private document"), "{name}");
        }
    }

    #[cfg(unix)]
    {
        let pid = server.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                assert!(status.success(), "serve exited with {status}");
                break;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
