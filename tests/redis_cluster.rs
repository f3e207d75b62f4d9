//! One-time links on a real three-node Redis Cluster that the test starts on loopback
//! (`redis-server --cluster-enabled yes`, `redis-cli --cluster create`): the store finds the
//! cluster by itself, nonces land on every node's slots (and are given back there after a
//! failed request), and two `serve` processes sharing the cluster admit each link exactly once.
#![cfg(feature = "redis")]

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tower_secure_link::one_time::{Attempt, NonceStore, RedisNonceStore, Use};
use tower_secure_link::{Key, SecureLinkLayer};

const KEY: &str = "redis cluster test secret, 32 bytes";

/// A cluster node, stopped when dropped; its bus port is the client port + 10000.
type Node = support::ChildGuard;

/// A port that is free, and whose bus port (+10000) is free too.
fn cluster_port(taken: &[u16]) -> u16 {
    for attempt in 0..1000u16 {
        let port = 20000 + (std::process::id() as u16 % 997) * 10 + attempt * 7 % 9000;
        let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
        if !taken.contains(&port) && free(port) && free(port + 10000) {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

fn start_cluster(binary: &Path, cli: &Path, dir: &Path) -> (Vec<Node>, Vec<u16>) {
    let mut ports = Vec::new();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let port = cluster_port(&ports);
        nodes.push(Node::spawn(
            Command::new(binary)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--cluster-config-file")
                .arg(dir.join(format!("nodes-{port}.conf")))
                .arg("--dir")
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        ));
        ports.push(port);
    }
    for port in &ports {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            assert!(Instant::now() < deadline, "node {port} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let created = Command::new(cli)
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stdout)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    for port in &ports {
        loop {
            let info = Command::new(cli)
                .args(["-p", &port.to_string(), "cluster", "info"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    (nodes, ports)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_links_hold_on_a_three_node_cluster() {
    let (Some(binary), Some(cli)) = (support::redis_binary(), support::redis_cli_binary()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (nodes, ports) = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || start_cluster(&binary, &cli, &dir)
    })
    .await
    .unwrap();
    let url = format!("redis://127.0.0.1:{}/", ports[0]);

    // The library finds the cluster from one node, and its nonces reach every node's slots.
    let store = RedisNonceStore::connect(&url).await.unwrap();
    assert!(store.is_cluster());
    let keep = Duration::from_secs(60);
    for i in 0u32..64 {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        let nonce = base64_nonce(&bytes);
        assert_eq!(
            store.consume(&nonce, 100, keep).await,
            Ok(Use::First),
            "nonce {i}"
        );
        assert_eq!(
            store.consume(&nonce, 101, keep).await,
            Ok(Use::Repeated { first_used_at: 100 }),
            "nonce {i}"
        );
    }

    // A use given back on any node's slots: only by its own attempt, never a later use.
    for i in 64u32..128 {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        let nonce = base64_nonce(&bytes);
        let (failed, later) = (Attempt::fresh(), Attempt::fresh());
        let first = store.consume_attempt(&nonce, 100, keep, failed).await;
        assert_eq!(first, Ok(Use::First), "nonce {i}");
        store.release(&nonce, later).await.unwrap();
        let kept = store.consume(&nonce, 101, keep).await;
        assert_eq!(kept, Ok(Use::Repeated { first_used_at: 100 }), "nonce {i}");
        store.release(&nonce, failed).await.unwrap();
        let again = store.consume_attempt(&nonce, 102, keep, later).await;
        assert_eq!(again, Ok(Use::First), "nonce {i}");
        store.release(&nonce, failed).await.unwrap();
        let stays = store.consume(&nonce, 103, keep).await;
        assert_eq!(stays, Ok(Use::Repeated { first_used_at: 102 }), "nonce {i}");
    }
    fails_once_then_serves(store).await;

    // Two serve processes on the cluster: exactly one winner per link.
    let outcome = tokio::task::spawn_blocking(move || {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("private")).unwrap();
        std::fs::write(root.path().join("private/once.txt"), "the private bytes").unwrap();
        let root_arg = root.path().display().to_string();
        let args = ["--root", root_arg.as_str(), "--redis", url.as_str()];
        let first = support::Serve::start(&args, &[("SECURE_LINK_KEY", KEY)]);
        let second = support::Serve::start(&args, &[("SECURE_LINK_KEY", KEY)]);
        let signer = SecureLinkLayer::new(Key::new("1", KEY).unwrap()).signer();
        let addrs = [first.addr.clone(), second.addr.clone()];
        // One-time links, then links of 6 uses: their uses' nonces land on every node.
        [1, 1, 1, 1, 6, 6]
            .into_iter()
            .map(|uses| {
                let link = signer
                    .link("/private/once.txt")
                    .uses(uses)
                    .to_target()
                    .unwrap();
                let statuses = support::fire(&addrs, "GET", &link, 100);
                (
                    uses as usize,
                    support::count(&statuses, 200),
                    support::count(&statuses, 410),
                )
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (round, (uses, ok, gone)) in outcome.into_iter().enumerate() {
        assert_eq!((ok, gone), (uses, 100 - uses), "round {round}");
    }
    drop(nodes);
}

/// Through a layer on the cluster: a request the application fails with 500 gives its use back,
/// the next one is served, and the one after that gets 410 (links on several nodes' slots).
async fn fails_once_then_serves(store: RedisNonceStore) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tower::{Layer, ServiceExt};

    let layer = SecureLinkLayer::new(Key::new("1", KEY).unwrap()).with_nonce_store(store);
    let calls = Arc::new(AtomicUsize::new(0));
    let app = layer.layer(tower::service_fn(move |_: http::Request<String>| {
        // Each link's first request fails and its second is served (the third is refused).
        let status = match calls.fetch_add(1, Ordering::SeqCst) % 2 {
            0 => 500,
            _ => 200,
        };
        async move {
            let response = http::Response::builder().status(status).body(String::new());
            Ok::<_, std::convert::Infallible>(response.unwrap())
        }
    }));
    for _ in 0..8 {
        let link = layer
            .signer()
            .link("/private/once.txt")
            .one_time()
            .to_target()
            .unwrap();
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let request = http::Request::get(&link).body(String::new()).unwrap();
            statuses.push(
                app.clone()
                    .oneshot(request)
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(statuses, [500, 200, 410]);
    }
}

fn base64_nonce(bytes: &[u8; 16]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
