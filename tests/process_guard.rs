//! The guard every test process runs under: when a test ends, passed or panicked, the process
//! and whatever it started are gone, even behind a wrapper that forks the real program and does
//! not pass SIGTERM on (`faketime` did exactly that, and each `cargo test` left three
//! `serve --redis` processes behind).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `wrapper` running a long `sleep` under a guard, then panics while holding the guard;
/// returns the sleeper's id, read from the sleeper's own output.
fn panic_holding(wrapper: &[&str]) -> u32 {
    let (sender, receiver) = std::sync::mpsc::channel();
    let wrapper: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
    let test = std::thread::spawn(move || {
        let mut command = Command::new(&wrapper[0]);
        command
            .args(&wrapper[1..])
            .args(["sh", "-c", "echo $$; exec sleep 600"])
            .stdout(Stdio::piped());
        let mut guard = support::ChildGuard::spawn(&mut command);
        let stdout = guard.child_mut().stdout.take().unwrap();
        let line = BufReader::new(stdout).lines().next().unwrap().unwrap();
        let sleeper: u32 = line.trim().parse().unwrap();
        assert_ne!(sleeper, guard.id(), "the wrapper forks");
        sender.send(sleeper).unwrap();
        panic!("a failing test");
    });
    assert!(test.join().is_err(), "the test thread panicked");
    receiver.recv().unwrap()
}

#[test]
fn a_failing_test_leaves_no_process_behind_a_forking_wrapper() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        eprintln!("skipped: no /proc to look processes up in");
        return;
    }
    let faketime = support::faketime_binary().map(|path| path.display().to_string());
    // `sh -c 'CMD & wait'` forks like faketime does, and ends on SIGTERM without its child.
    let mut wrappers = vec![vec![
        "sh".to_owned(),
        "-c".to_owned(),
        r#""$@" & wait"#.to_owned(),
        "wrapper".to_owned(),
    ]];
    if let Some(faketime) = faketime {
        wrappers.push(vec![faketime, "-f".into(), "-3s".into()]);
    }
    for wrapper in wrappers {
        let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
        let sleeper = panic_holding(&wrapper);
        // Stopped within the guard's drop; a moment more for the kernel to finish it off.
        let deadline = Instant::now() + Duration::from_secs(2);
        while support::running(sleeper) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !support::running(sleeper),
            "{wrapper:?}: the process it started (pid {sleeper}) outlived the test"
        );
    }
}
