//! The integration examples run as programs: each serves (or calls) a real framework stack
//! behind the layer and prints what a signed and an unsigned request got.

mod support;

use std::process::Command;
use std::time::Duration;

/// Runs the example `name` (built by `cargo test` beside the test binaries) and returns stdout.
fn run_example(name: &str) -> String {
    let mut process = support::ChildGuard::spawn(
        Command::new(support::example(name))
            .env_remove("SECURE_LINK_KEY")
            .stdout(std::process::Stdio::piped()),
    );
    let status = process.wait_for_exit(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "{name} failed or did not finish"
    );
    let mut out = String::new();
    let mut stdout = process.child_mut().stdout.take().unwrap();
    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    out
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
