//! Links bound to client networks, over real TCP: the client address comes from the connection
//! (axum's `ConnectInfo`), or from `X-Forwarded-For` only when a trusted proxy (a real nginx)
//! sent it. Clients connect from chosen loopback addresses (127.0.0.0/8 is all loopback), so
//! one machine plays several networks.

mod support;

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tower_secure_link::{Key, SecureLinkLayer};

const SECRET: [u8; 32] = [9u8; 32];

fn layer(trusted: &[&str]) -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", SECRET).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_opaque_prefix("/s/")
        .unwrap()
        .with_trusted_proxies(trusted)
        .unwrap()
        .with_client_addr(|extensions| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        })
}

/// The layer in front of an app that answers "private file" for everything, listening on
/// `bind` with the peer address in each request's extensions.
fn serve(layer: SecureLinkLayer, bind: &str) -> String {
    // In front of all routing, as opaque links need.
    let app = tower::Layer::layer(&layer, Router::new().fallback(|| async { "private file" }));
    let (sender, receiver) = std::sync::mpsc::channel();
    let bind = bind.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            let app =
                axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                    SocketAddr,
                >(app);
            axum::serve(listener, app).await.unwrap();
        });
    });
    receiver.recv().unwrap().to_string()
}

/// GET `target` from the local address `from` (port chosen by the system) with extra header
/// lines; the status and body.
async fn get_from(from: &str, to: &str, target: &str, headers: &str) -> (u16, String) {
    let to: SocketAddr = to.parse().unwrap();
    let from: SocketAddr = format!("{from}:0")
        .replace("::1:0", "[::1]:0")
        .parse()
        .unwrap();
    let socket = if to.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .unwrap();
    socket.bind(from).unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: files.test\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[tokio::test]
async fn the_connection_decides_and_forwarding_headers_from_clients_are_ignored() {
    let layer = layer(&[]);
    let signer = layer.signer();
    let link = |networks: &[&str]| {
        let mut builder = signer.link("/private/report.pdf");
        for network in networks {
            builder = builder.client_ip(network);
        }
        builder.to_target().unwrap()
    };
    let opaque = signer
        .link("/private/report.pdf")
        .client_ip("127.0.0.9")
        .opaque()
        .to_target()
        .unwrap();
    let v4 = serve(layer.clone(), "127.0.0.1:0");
    let v6 = serve(layer, "[::1]:0");
    let one_host = link(&["127.0.0.9"]);
    let block = link(&["127.0.0.0/29"]);
    let both = link(&["2001:db8::/32", "::1"]);
    let elsewhere = link(&["198.51.100.0/24"]);
    let spoof = "X-Forwarded-For: 127.0.0.9\r\nForwarded: for=127.0.0.9\r\n";
    #[rustfmt::skip]
    let cases = [
        ("the bound host", "127.0.0.9", &v4, one_host.as_str(), "", 200),
        ("its neighbour", "127.0.0.10", &v4, one_host.as_str(), "", 403),
        ("a neighbour claiming the host's address", "127.0.0.10", &v4, one_host.as_str(), spoof, 403),
        ("inside the block", "127.0.0.5", &v4, block.as_str(), "", 200),
        ("past the block", "127.0.0.8", &v4, block.as_str(), "", 403),
        ("IPv6, the second network", "::1", &v6, both.as_str(), "", 200),
        ("IPv6, not in the IPv6 list", "::1", &v6, block.as_str(), "", 403),
        ("another network entirely", "127.0.0.9", &v4, elsewhere.as_str(), "", 403),
        ("an opaque link from its host", "127.0.0.9", &v4, opaque.as_str(), "", 200),
        ("an opaque link from another", "127.0.0.10", &v4, opaque.as_str(), spoof, 403),
        ("networks taken out", "127.0.0.10", &v4, &one_host.replace("&sl_ip=127.0.0.9/32", ""), "", 403),
    ];
    for (name, from, to, target, headers, status) in cases {
        let (got, body) = get_from(from, to, target, headers).await;
        assert_eq!(got, status, "{name}: {target}");
        assert_eq!(body.contains("private file"), status == 200, "{name}");
    }
    assert!(one_host.contains("sl_ip=127.0.0.9/32&"), "{one_host}");
    let tampered = one_host.replace("127.0.0.9/32", "127.0.0.10/32");
    let (got, _) = get_from("127.0.0.10", &v4, &tampered, "").await;
    assert_eq!(got, 403, "the networks are signed");
}

#[tokio::test]
async fn behind_a_real_nginx_the_right_most_untrusted_hop_is_the_client() {
    let Some(nginx) = support::nginx_binary() else {
        return;
    };
    // The app believes only nginx (which connects from 127.0.0.1).
    let layer = layer(&["127.0.0.1"]);
    let link = layer
        .signer()
        .link("/private/report.pdf")
        .client_ip("127.0.0.9")
        .to_target()
        .unwrap();
    let app = serve(layer, "127.0.0.1:0");
    let proxy = support::Nginx::start(
        &nginx,
        &format!(
            "location / {{ proxy_pass http://{app}; \
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }}"
        ),
    );
    #[rustfmt::skip]
    let cases = [
        ("through nginx from the bound host", "127.0.0.9", &proxy.addr, "", 200),
        ("through nginx from another", "127.0.0.10", &proxy.addr, "", 403),
        ("another claiming the host through nginx", "127.0.0.10", &proxy.addr, "X-Forwarded-For: 127.0.0.9\r\n", 403),
        ("the host, having sent a made-up chain", "127.0.0.9", &proxy.addr, "X-Forwarded-For: 198.51.100.1, 10.0.0.1\r\n", 200),
        ("straight to the app, claiming the host", "127.0.0.10", &app, "X-Forwarded-For: 127.0.0.9\r\n", 403),
        ("straight to the app from the host", "127.0.0.9", &app, "", 200),
    ];
    for (name, from, to, headers, status) in cases {
        let (got, _) = get_from(from, to, &link, headers).await;
        assert_eq!(got, status, "{name}");
    }
}
