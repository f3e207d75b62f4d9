//! Helpers shared by the integration tests that drive real processes: the `secure-link` example
//! binary, nginx, and a raw HTTP/1.1 client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

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

/// A response read off the wire.
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `METHOD target HTTP/1.1` with the target byte for byte; reads the whole response.
pub fn raw_request(addr: &str, method: &str, target: &[u8]) -> RawResponse {
    let mut request = format!("{method} ").into_bytes();
    request.extend_from_slice(target);
    request.extend_from_slice(
        format!(" HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    raw_bytes(addr, &request)
}

pub fn get(addr: &str, target: &str) -> RawResponse {
    raw_request(addr, "GET", target.as_bytes())
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16)
                .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[line_end + 2 + size + 2..];
    }
    out
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(addr: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited early with {status}");
        }
        assert!(Instant::now() < deadline, "nothing listened on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops a child with SIGTERM (so nginx takes its workers along), then waits.
fn terminate(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    send_sigterm(child);
    if wait_for_exit(child, Duration::from_secs(5)).is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn send_sigterm(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// The child's exit status, if it exits within `limit`.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
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

/// An nginx process on a free loopback port with the given `server { }` body.
pub struct Nginx {
    child: Child,
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

    pub fn start(binary: &Path, server_body: &str) -> Self {
        Self::start_with_http(binary, "", server_body)
    }

    /// Starts nginx with `http_body` in the `http { }` context as well.
    pub fn start_with_http(binary: &Path, http_body: &str, server_body: &str) -> Self {
        let port = free_port();
        let (prefix, addr) = Self::write_config_with_http(http_body, server_body, port);
        let mut child = Command::new(binary)
            .args(Self::args(prefix.path()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_port(&addr, &mut child);
        Self {
            child,
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

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix.path().join("logs/error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// `secure-link serve` as a separate process.
pub struct Serve {
    child: Child,
    pub addr: String,
    pub sample_link: String,
}

impl Serve {
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
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let addr = first
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        let sample_link = lines.next().unwrap().unwrap();
        Self {
            child,
            addr,
            sample_link,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and returns whether the server exited successfully within 10 seconds.
    pub fn stop(&mut self) -> bool {
        send_sigterm(&self.child);
        wait_for_exit(&mut self.child, Duration::from_secs(10))
            .is_some_and(|status| status.success())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        terminate(&mut self.child);
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
    child: Option<Child>,
    binary: PathBuf,
    pub port: u16,
    dir: tempfile::TempDir,
    /// A command in front of redis-server (`faketime -f +60s`).
    wrapper: Vec<String>,
    extra: Vec<String>,
}

impl RedisServer {
    pub fn start(binary: &Path) -> Self {
        Self::start_with(binary, &[], &[])
    }

    /// Starts redis-server behind `wrapper` (for example faketime) with `extra` arguments,
    /// which override the defaults (no persistence).
    pub fn start_with(binary: &Path, wrapper: &[&str], extra: &[&str]) -> Self {
        let mut server = Self {
            child: None,
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
        self.signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

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
        let mut child = command
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
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(&format!("127.0.0.1:{}", self.port), &mut child);
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
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

/// Sends the same request from `count` threads at once; returns how many got each status.
pub fn fire(addrs: &[String], method: &str, target: &str, count: usize) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(count));
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let addr = addrs[i % addrs.len()].clone();
            let (method, target, barrier) = (method.to_owned(), target.to_owned(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                raw_request(&addr, &method, target.as_bytes()).status
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

pub fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Sends `bytes` exactly as given (a whole request, head and body) and reads the response,
/// with a chunked body decoded.
pub fn raw_bytes(addr: &str, bytes: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A server may answer and close before reading everything; that is an answer too.
    let _ = stream.write_all(bytes);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |at| at + 4);
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = response[split..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    RawResponse { status, head, body }
}

/// Serves an axum app on a loopback port from its own thread and runtime; returns the address.
pub fn serve_app(app: axum::Router) -> String {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender
                .send(listener.local_addr().unwrap().to_string())
                .unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    receiver.recv().unwrap()
}

/// Sends one request through a service in process; returns the status, the rejection's kind
/// (if the layer refused) and the body as text.
pub async fn send<S>(
    service: &S,
    method: http::Method,
    target: &str,
) -> (
    http::StatusCode,
    Option<tower_secure_link::RejectionKind>,
    String,
)
where
    S: tower::Service<http::Request<axum::body::Body>, Response = http::Response<axum::body::Body>>
        + Clone,
    S::Error: std::fmt::Debug,
{
    use tower::ServiceExt as _;
    let request = http::Request::builder()
        .method(method)
        .uri(target)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .extensions()
        .get::<tower_secure_link::Rejection>()
        .map(tower_secure_link::Rejection::kind);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, kind, String::from_utf8_lossy(&body).into_owned())
}
