//! Requests per second for one-time links with the Redis store against ordinary links, in one
//! run, over real HTTP on loopback: the `secure-link serve` stack (axum, tower-http `ServeDir`,
//! the layer, `RedisNonceStore`) in this process, a real redis-server, and keep-alive clients.
//!
//! ```text
//! cargo bench --features redis --bench one_time_load
//! ```
//!
//! Needs redis-server on the PATH (`apt-get install redis-server`). Bounded: a fixed number of
//! requests per mode, loopback only.

use std::time::{Duration, Instant};

use axum::serve::ListenerExt as _;
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_http::services::ServeDir;
use tower_secure_link::one_time::RedisNonceStore;
use tower_secure_link::{Key, SecureLinkLayer};

const REQUESTS: usize = 20_000;
const CONNECTIONS: usize = 16;

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let Some(port) = start_redis() else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(port));
    let _ = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "shutdown", "nosave"])
        .status();
}

fn start_redis() -> Option<u16> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    std::process::Command::new("redis-server")
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
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(port)
}

async fn run(redis_port: u16) {
    let root = std::env::temp_dir().join(format!("secure-link-load-{}", std::process::id()));
    std::fs::create_dir_all(root.join("private")).unwrap();
    std::fs::write(root.join("private/file.txt"), "x".repeat(1024)).unwrap();
    let store = RedisNonceStore::connect(&format!("redis://127.0.0.1:{redis_port}/"))
        .await
        .unwrap();
    let layer = SecureLinkLayer::new(Key::new("1", [1u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_nonce_store(store);
    let signer = layer.signer();
    let app = Router::new()
        .fallback_service(ServeDir::new(&root))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // As `secure-link serve` does: no Nagle delay on responses written in parts.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ordinary = signer.sign("/private/file.txt").unwrap();
    let ordinary: Vec<String> = vec![ordinary; REQUESTS];
    let one_time: Vec<String> = (0..REQUESTS)
        .map(|_| {
            signer
                .link("/private/file.txt")
                .one_time()
                .to_target()
                .unwrap()
        })
        .collect();

    // Warm up, then alternate so both modes see the same machine.
    load(&addr, ordinary[..1000].to_vec()).await;
    let mut results = Vec::new();
    for (name, targets) in [
        ("ordinary links", ordinary),
        ("one-time links (Redis)", one_time),
    ] {
        let (elapsed, statuses) = load(&addr, targets).await;
        let ok = statuses.iter().filter(|s| **s == 200).count();
        assert_eq!(
            ok, REQUESTS,
            "{name}: every request must succeed exactly once"
        );
        let rate = REQUESTS as f64 / elapsed.as_secs_f64();
        println!("{name:<24} {REQUESTS} requests in {elapsed:.2?}: {rate:.0} req/s");
        results.push(rate);
    }
    println!("one-time / ordinary: {:.2}", results[1] / results[0]);
    let _ = std::fs::remove_dir_all(&root);
}

/// Sends every target once from `CONNECTIONS` tasks in turn, so the pool holds that many
/// keep-alive connections.
async fn load(addr: &str, targets: Vec<String>) -> (Duration, Vec<u16>) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let http: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let chunk = targets.len().div_ceil(CONNECTIONS);
    let start = Instant::now();
    let tasks: Vec<_> = targets
        .chunks(chunk)
        .map(|part| {
            let (addr, part, http) = (addr.to_owned(), part.to_vec(), http.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::with_capacity(part.len());
                for target in part {
                    let uri = format!("http://{addr}{target}").parse().unwrap();
                    let response = http.get(uri).await.unwrap();
                    statuses.push(response.status().as_u16());
                    // Read to the end, so the connection goes back to the pool.
                    response.into_body().collect().await.unwrap();
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.extend(task.await.unwrap());
    }
    (start.elapsed(), statuses)
}
