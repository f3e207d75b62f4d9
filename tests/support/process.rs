//! Processes a test starts: a guard that stops a child and everything it started when the guard
//! is dropped (so a failing test leaves nothing running), and the servers built on it
//! (`secure-link serve`, nginx, redis-server).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::example_binary;

/// How long a stopped process gets to exit on SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// A child process that is stopped, with every process it started, when the guard is dropped,
/// whether the test passed or panicked.
///
/// Stopping only the child is not enough: a wrapper such as `faketime` forks the real program
/// and does not pass SIGTERM on, so the program outlived every test that ran it behind one.
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    /// Spawns `command` under a guard.
    pub fn spawn(command: &mut Command) -> Self {
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        Self { child }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child itself, to take its pipes or poll it.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The child's exit status, if it exits within `limit`; it keeps running otherwise.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_for_exit(&mut self.child, limit)
    }

    /// Sends `signal` (a `kill` argument such as `-STOP`) to the child alone.
    pub fn signal(&self, signal: &str) {
        let pid = self.id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Stops the child and what it started: SIGTERM first (nginx takes its workers along), then
    /// SIGKILL for whatever is left after the grace period; waits for the child.
    pub fn stop(&mut self) {
        // Once reaped, the child's id may belong to a stranger, whose children are not ours.
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Found before the child goes: once it has exited, its children belong to init and no
        // longer show whose they were.
        let descendants = descendants(self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if wait_for_exit(&mut self.child, GRACE).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for process in &descendants {
            process.signal("-TERM");
        }
        let deadline = Instant::now() + GRACE;
        while descendants.iter().any(Process::alive) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for process in &descendants {
            process.signal("-KILL");
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A process that is not our child, named by its id and its start time, so that a recycled id
/// is never signalled by mistake.
struct Process {
    pid: u32,
    started: u64,
}

impl Process {
    fn alive(&self) -> bool {
        matches!(stat(self.pid), Some(stat) if stat.started == self.started && !stat.zombie)
    }

    fn signal(&self, signal: &str) {
        if self.alive() {
            let _ = Command::new("kill")
                .args([signal, &self.pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Whether process `pid` exists and has not exited (a zombie has); `false` without `/proc`.
pub fn running(pid: u32) -> bool {
    stat(pid).is_some_and(|stat| !stat.zombie)
}

/// What `/proc/PID/stat` says of a process.
struct Stat {
    parent: u32,
    started: u64,
    zombie: bool,
}

/// `/proc/PID/stat`, or `None` when the process is gone (or there is no `/proc`).
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces or parentheses itself.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    Some(Stat {
        zombie: fields.first()? == &"Z",
        parent: fields.get(1)?.parse().ok()?,
        // Field 22 of the whole line; the slice starts at field 3.
        started: fields.get(19)?.parse().ok()?,
    })
}

/// Every live process below `root`, found through `/proc` (empty where there is none).
fn descendants(root: u32) -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let table: Vec<(u32, Stat)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect();
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for (pid, stat) in &table {
            if stat.parent == parent && !stat.zombie {
                parents.push(*pid);
                found.push(Process {
                    pid: *pid,
                    started: stat.started,
                });
            }
        }
    }
    found
}

/// The child's exit status, if it exits within `limit`.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `addr`; fails the test if `child` exits first or nothing
/// listens within 15 seconds.
fn wait_for_port(addr: &str, child: &mut ChildGuard) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.child_mut().try_wait() {
            panic!("the server exited early with {status}");
        }
        assert!(Instant::now() < deadline, "nothing listened on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An nginx process on a free loopback port with the given `server { }` body.
pub struct Nginx {
    process: ChildGuard,
    pub addr: String,
    pub prefix: tempfile::TempDir,
}

impl Nginx {
    /// `nginx -t` on a config with this server body; returns whether it passed and the output.
    pub fn test_config(binary: &Path, server_body: &str) -> (bool, String) {
        let (prefix, _) = Self::write_config(server_body, free_port());
        let output = Command::new(binary)
            .arg("-t")
            .args(Self::args(prefix.path()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), text)
    }

    /// Starts nginx with this `server { }` body.
    pub fn start(binary: &Path, server_body: &str) -> Self {
        Self::start_with_http(binary, "", server_body)
    }

    /// Starts nginx with `http_body` in the `http { }` context as well.
    pub fn start_with_http(binary: &Path, http_body: &str, server_body: &str) -> Self {
        let port = free_port();
        let (prefix, addr) = Self::write_config_with_http(http_body, server_body, port);
        let mut process = ChildGuard::spawn(
            Command::new(binary)
                .args(Self::args(prefix.path()))
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        wait_for_port(&addr, &mut process);
        Self {
            process,
            addr,
            prefix,
        }
    }

    fn args(prefix: &Path) -> Vec<String> {
        let p = prefix.display().to_string();
        vec![
            "-p".into(),
            format!("{p}/"),
            "-e".into(),
            format!("{p}/logs/error.log"),
            "-c".into(),
            format!("{p}/conf/nginx.conf"),
        ]
    }

    fn write_config(server_body: &str, port: u16) -> (tempfile::TempDir, String) {
        Self::write_config_with_http("", server_body, port)
    }

    fn write_config_with_http(
        http_body: &str,
        server_body: &str,
        port: u16,
    ) -> (tempfile::TempDir, String) {
        let prefix = tempfile::tempdir().unwrap();
        let p = prefix.path();
        for dir in ["conf", "logs", "tmp"] {
            std::fs::create_dir_all(p.join(dir)).unwrap();
        }
        let addr = format!("127.0.0.1:{port}");
        let config = format!(
            "daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/logs/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n    access_log off;\n    default_type application/octet-stream;\n    \
             client_body_temp_path {p}/tmp/body;\n    proxy_temp_path {p}/tmp/proxy;\n    \
             fastcgi_temp_path {p}/tmp/fastcgi;\n    uwsgi_temp_path {p}/tmp/uwsgi;\n    \
             scgi_temp_path {p}/tmp/scgi;\n{http_body}\n    \
             server {{\n        listen {addr};\n{server_body}\n    }}\n}}\n",
            p = p.display()
        );
        std::fs::write(p.join("conf/nginx.conf"), config).unwrap();
        (prefix, addr)
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix.path().join("logs/error.log")).unwrap_or_default()
    }

    /// The master process's id.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }
}

/// `secure-link serve` as a separate process, stopped when dropped.
pub struct Serve {
    process: ChildGuard,
    pub addr: String,
    pub sample_link: String,
}

impl Serve {
    /// Starts `serve --addr 127.0.0.1:0 ARGS` with `env`, and reads the address it prints.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_behind(&[], args, env)
    }

    /// Starts `serve` behind `wrapper` (for example `faketime -f +4s`).
    pub fn start_behind(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(example_binary());
                command
            }
            None => Command::new(example_binary()),
        };
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env_remove("SECURE_LINK_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut process = ChildGuard::spawn(&mut command);
        let stdout = process.child_mut().stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().unwrap().unwrap();
        let addr = first
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        let sample_link = lines.next().unwrap().unwrap();
        Self {
            process,
            addr,
            sample_link,
        }
    }

    /// The process id of what was started (the wrapper, when there is one).
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Sends SIGTERM and returns whether the server exited successfully within 10 seconds.
    pub fn stop(&mut self) -> bool {
        self.process.signal("-TERM");
        self.process
            .wait_for_exit(Duration::from_secs(10))
            .is_some_and(|status| status.success())
    }
}

/// Makes a folder and everything in it readable by nginx's workers (which drop to `nobody`
/// when nginx starts as root).
pub fn open_up(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                open_up(&entry.unwrap().path());
            }
        }
    }
}

/// A redis-server on a loopback port, without persistence unless asked.
pub struct RedisServer {
    process: Option<ChildGuard>,
    binary: PathBuf,
    pub port: u16,
    dir: tempfile::TempDir,
    /// A command in front of redis-server (`faketime -f +60s`).
    wrapper: Vec<String>,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts redis-server without persistence.
    pub fn start(binary: &Path) -> Self {
        Self::start_with(binary, &[], &[])
    }

    /// Starts redis-server behind `wrapper` (for example faketime) with `extra` arguments,
    /// which override the defaults (no persistence).
    pub fn start_with(binary: &Path, wrapper: &[&str], extra: &[&str]) -> Self {
        let mut server = Self {
            process: None,
            binary: binary.to_owned(),
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            wrapper: wrapper.iter().map(|s| s.to_string()).collect(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.restart();
        server
    }

    /// Stops the process without ending it (SIGSTOP): a stalled server, not a dead one.
    pub fn pause(&self) {
        self.running().signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.running().signal("-CONT");
    }

    fn running(&self) -> &ChildGuard {
        self.process.as_ref().expect("running")
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts it (again) on the same port.
    pub fn restart(&mut self) {
        let mut command = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&self.binary);
                command
            }
            None => Command::new(&self.binary),
        };
        command
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut process = ChildGuard::spawn(&mut command);
        wait_for_port(&format!("127.0.0.1:{}", self.port), &mut process);
        self.process = Some(process);
    }

    /// Stops it (a shutdown on SIGTERM) and waits until its port no longer answers.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
        let addr = format!("127.0.0.1:{}", self.port);
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(&addr).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
