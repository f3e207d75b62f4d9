//! The integration examples run as programs: each serves (or calls) a real framework stack
//! behind the layer and prints what a signed and an unsigned request got.

mod support;

use std::process::Command;
use std::time::Duration;

/// Runs the example `name` (built by `cargo test` beside the test binaries) and returns stdout.
fn run_example(name: &str) -> String {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let binary = path
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test`",
        binary.display()
    );
    let mut child = Command::new(&binary)
        .env_remove("SECURE_LINK_KEY")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "{name} did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{name} failed");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn plain_hyper() {
    let out = run_example("hyper");
    assert!(
        out.contains("sl_sig=") && out.contains("-> 200 OK"),
        "{out}"
    );
    assert!(
        out.contains("GET /private/report.pdf -> 403 Forbidden"),
        "{out}"
    );
}

#[test]
fn warp_filters_as_a_tower_service() {
    let out = run_example("warp");
    assert!(out.contains("-> 200 OK"), "{out}");
    assert!(
        out.contains("GET /private/report.pdf -> 403 Forbidden"),
        "{out}"
    );
}

#[test]
fn tonic_unary_call() {
    let out = run_example("tonic");
    assert!(
        out.contains("with the link: contents of report.pdf"),
        "{out}"
    );
    assert!(
        out.contains("without a link: refused (PermissionDenied)"),
        "{out}"
    );
}

#[test]
fn hls_folder_through_one_link() {
    let out = run_example("hls");
    for n in 0..3 {
        assert!(
            out.contains(&format!("GET seg-{n}.ts: 200 (segment {n})")),
            "{out}"
        );
    }
    assert!(out.contains("GET seg-0.ts without the token: 403"), "{out}");
}

#[test]
fn upload_through_a_slot() {
    let out = run_example("upload");
    assert!(out.contains("upload: 200 stored 2600 bytes"), "{out}");
    assert!(out.contains("the same slot again: 410"), "{out}");
    assert!(out.contains("an upload over the limit: 413"), "{out}");
}
