//! A load and fault run against `secure-link serve`: many keep-alive clients for a fixed time,
//! mixing valid, tampered, expired, one-time and public requests. It counts wrong answers (there
//! must be none), reports throughput and the server's memory before and after, and compares,
//! in the same run, one file fetched through a valid link with the same file served publicly.
//!
//! ```text
//! cargo build --release --all-features --examples
//! target/release/examples/load --seconds 60 --clients 32
//! ```
//!
//! It starts the `secure-link` binary built beside it (and a redis-server for the one-time
//! links when one is installed), on loopback only, and stops them when done.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_secure_link::{Key, SecureLinkLayer, UrlSigner};

const KEY: &str = "load test secret, at least thirty-two bytes";
const FILE_SIZE: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Valid,
    Tampered,
    Expired,
    OneTime,
    Public,
}

const KINDS: [Kind; 5] = [
    Kind::Valid,
    Kind::Tampered,
    Kind::Expired,
    Kind::OneTime,
    Kind::Public,
];

impl Kind {
    fn expected(self) -> u16 {
        match self {
            Kind::Valid | Kind::OneTime | Kind::Public => 200,
            Kind::Tampered => 403,
            Kind::Expired => 410,
        }
    }
}

#[derive(Default)]
struct Counters {
    sent: [AtomicU64; 5],
    wrong: [AtomicU64; 5],
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seconds = arg("--seconds", 60);
    let clients = arg("--clients", 32) as usize;
    let root = std::env::temp_dir().join(format!("secure-link-load-{}", std::process::id()));
    for dir in ["private", "public"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join("file.bin"), vec![b'x'; FILE_SIZE]).unwrap();
    }
    let mut redis = start_redis();
    let mut server = start_server(&root, redis.as_ref().map(|(_, port)| *port));
    let server_pid = server.0.id();
    let rss_before = rss_kib(server_pid);
    let addr = server.1.clone();
    let signer = SecureLinkLayer::new(Key::new("1", KEY).unwrap()).signer();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "mixed load: {clients} clients for {seconds} s against {addr} (one-time store: {})",
            if redis.is_some() { "redis" } else { "memory" }
        );
        let counters = Arc::new(Counters::default());
        let started = Instant::now();
        // A sixth of the run warms the server up; memory is compared from there to the end.
        let warm_up = Duration::from_secs(seconds / 6);
        mixed(&addr, &signer, clients, warm_up, counters.clone()).await;
        let rss_warm = rss_kib(server_pid);
        mixed(&addr, &signer, clients, Duration::from_secs(seconds) - warm_up, counters.clone()).await;
        let elapsed = started.elapsed().as_secs_f64();
        let mut total = 0;
        let mut wrong_total = 0;
        for (i, kind) in KINDS.iter().enumerate() {
            let sent = counters.sent[i].load(Ordering::Relaxed);
            let wrong = counters.wrong[i].load(Ordering::Relaxed);
            total += sent;
            wrong_total += wrong;
            println!("  {:<9} {sent:>8} requests, {wrong} wrong answers", format!("{kind:?}"));
        }
        println!("  total     {total:>8} requests, {:.0} req/s, {wrong_total} wrong answers", total as f64 / elapsed);
        let rss_after = rss_kib(server_pid);
        println!(
            "  server memory (VmRSS): {rss_before} KiB cold, {rss_warm} KiB after warm-up, {rss_after} KiB at the end"
        );

        let link = signer.sign("/private/file.bin").unwrap();
        // Alternate short rounds so both see the same machine (two cores, shared with clients).
        let rounds = 6;
        let round = Duration::from_secs((seconds / 12).clamp(2, 5));
        let (mut signed, mut public) = (0.0, 0.0);
        for _ in 0..rounds {
            signed += same_file(&addr, &link, clients, round).await / rounds as f64;
            public += same_file(&addr, "/public/file.bin", clients, round).await / rounds as f64;
        }
        println!(
            "same {FILE_SIZE}-byte file, {rounds} alternating rounds of {} s: valid link {signed:.0} req/s, public {public:.0} req/s, ratio {:.3}",
            round.as_secs(),
            signed / public
        );
        if wrong_total > 0 {
            std::process::exit(1);
        }
    });
    stop(&mut server.0);
    if let Some((child, _)) = redis.as_mut() {
        stop(child);
    }
    let _ = std::fs::remove_dir_all(&root);
}

async fn mixed(
    addr: &str,
    signer: &UrlSigner,
    clients: usize,
    duration: Duration,
    counters: Arc<Counters>,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let http = pooled_client();
    let valid = signer.sign("/private/file.bin").unwrap();
    let tampered = valid.replace("file.bin", "file.bim");
    let expired = signer
        .link("/private/file.bin")
        .expires_at(1_000_000_000)
        .to_target()
        .unwrap();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (addr, signer, counters, stop, http) = (
                addr.to_owned(),
                signer.clone(),
                counters.clone(),
                stop.clone(),
                http.clone(),
            );
            let (valid, tampered, expired) = (valid.clone(), tampered.clone(), expired.clone());
            tokio::spawn(async move {
                let mut turn = client;
                while !stop.load(Ordering::Relaxed) {
                    let index = turn % KINDS.len();
                    turn += 1;
                    let kind = KINDS[index];
                    let target = match kind {
                        Kind::Valid => valid.clone(),
                        Kind::Tampered => tampered.clone(),
                        Kind::Expired => expired.clone(),
                        Kind::OneTime => signer
                            .link("/private/file.bin")
                            .one_time()
                            .to_target()
                            .unwrap(),
                        Kind::Public => "/public/file.bin".to_owned(),
                    };
                    let (status, length) = fetch(&http, &addr, &target).await;
                    let right = status == kind.expected() && (status != 200 || length == FILE_SIZE);
                    counters.sent[index].fetch_add(1, Ordering::Relaxed);
                    if !right {
                        counters.wrong[index].fetch_add(1, Ordering::Relaxed);
                    }
                    // Used one-time links must stay used.
                    if kind == Kind::OneTime && status == 200 {
                        let (again, _) = fetch(&http, &addr, &target).await;
                        counters.sent[index].fetch_add(1, Ordering::Relaxed);
                        if again != 410 {
                            counters.wrong[index].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
}

async fn same_file(addr: &str, target: &str, clients: usize, duration: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let http = pooled_client();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (addr, target, stop, done, http) = (
                addr.to_owned(),
                target.to_owned(),
                stop.clone(),
                done.clone(),
                http.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let (status, _) = fetch(&http, &addr, &target).await;
                    assert_eq!(status, 200);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / elapsed
}

type Http = Client<HttpConnector, Empty<Bytes>>;

/// Keep-alive connections shared by a phase's clients: each opens one on its first request
/// and the pool hands it back for the next.
fn pooled_client() -> Http {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// One request; returns the status and the body length.
async fn fetch(http: &Http, addr: &str, target: &str) -> (u16, usize) {
    let uri = format!("http://{addr}{target}").parse().unwrap();
    let response = http.get(uri).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.len())
}

fn start_server(root: &std::path::Path, redis_port: Option<u16>) -> (Child, String) {
    let binary = sibling("secure-link");
    let mut command = Command::new(&binary);
    command
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--private",
            "/private/",
            "--root",
        ])
        .arg(root)
        .env("SECURE_LINK_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(port) = redis_port {
        command.args(["--redis", &format!("redis://127.0.0.1:{port}/")]);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (build it with --examples)", binary.display()));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let first = lines.next().expect("serve printed its address").unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .expect("serve started")
        .to_owned();
    // Keep reading what it prints, so its stdout never fills or breaks.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

fn start_redis() -> Option<(Child, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((child, port))
}

fn sibling(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.set_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    path
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}
