//! Helpers shared by the integration tests: the `secure-link` example binary and the tools a
//! test needs (here), processes that are stopped when a test ends (`process`), and HTTP clients
//! and apps (`http`).
#![allow(dead_code, unused_imports)]

mod http;
mod process;

pub use self::http::*;
pub use self::process::*;

use std::path::PathBuf;
use std::process::Command;

/// The `secure-link` example binary that `cargo test` builds next to the test binaries.
pub fn example_binary() -> PathBuf {
    example("secure-link")
}

/// `secure-link ARGS`, with the test runner's own `SECURE_LINK_*` variables cleared and `env`
/// set (a later pair wins over an earlier one of the same name).
pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(example_binary());
    command.args(args);
    for name in [
        "SECURE_LINK_KEY",
        "SECURE_LINK_KEY_ID",
        "SECURE_LINK_OLD_KEYS",
        "SECURE_LINK_PUBLIC_KEYS",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

/// `secure-link sign ARGS`: the signed target it prints. Fails the test if signing fails.
pub fn cli_sign(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = run_cli(&[&["sign"], args].concat(), env);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// An example binary that `cargo test` builds next to the test binaries.
pub fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test`, which builds examples",
        path.display()
    );
    path
}

/// The nginx binary, or `None` (then the test is skipped, except under CI, where nginx must be
/// there because `.ci/run` installs it).
pub fn nginx_binary() -> Option<PathBuf> {
    installed(
        &["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"],
        "nginx-light",
    )
}

/// The redis-server binary, or `None` (skipped outside CI, as for nginx).
pub fn redis_binary() -> Option<PathBuf> {
    installed(
        &[
            "/usr/bin/redis-server",
            "/usr/local/bin/redis-server",
            "/usr/sbin/redis-server",
        ],
        "redis-server",
    )
}

/// The faketime wrapper (libfaketime), or `None` (skipped outside CI, as for nginx).
pub fn faketime_binary() -> Option<PathBuf> {
    installed(
        &["/usr/bin/faketime", "/usr/local/bin/faketime"],
        "faketime",
    )
}

/// redis-cli, or `None` (skipped outside CI; Debian's redis-server brings it).
pub fn redis_cli_binary() -> Option<PathBuf> {
    installed(
        &["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"],
        "redis-tools",
    )
}

/// The first of `candidates` that exists, or `None` (the test is then skipped). Missing under
/// CI is a failure: `.ci/run` installs it.
pub fn installed(candidates: &[&str], package: &str) -> Option<PathBuf> {
    let found = candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{package} is missing under CI: .ci/run should have installed it"
        );
        eprintln!("skipped: {package} is not installed (apt-get install {package})");
    }
    found
}
