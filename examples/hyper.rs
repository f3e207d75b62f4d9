//! The layer on a plain hyper 1.x server, with hyper-util bridging tower and hyper.
//!
//! ```text
//! cargo run --example hyper
//! ```
//!
//! It serves on loopback, then sends itself one request with a signed link and one without,
//! and prints both statuses.

use std::convert::Infallible;

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{service_fn, Layer};
use tower_secure_link::{Key, SecureLinkLayer};

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("you reached {}", request.uri().path());
    // The body is not needed here; drain it so the connection can be reused.
    let _ = request.into_body().collect().await;
    Ok(Response::new(Full::new(Bytes::from(body))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let layer = SecureLinkLayer::new(Key::new("1", [9u8; 32])?).with_private_prefix("/private/")?;
    let link = layer.signer().sign("/private/report.pdf")?;
    // SecureLink<S> is a tower Service; TowerToHyperService makes it a hyper Service.
    let service = layer.layer(service_fn(handle));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });

    for target in [link.as_str(), "/private/report.pdf"] {
        let status = get(&addr.to_string(), target).await?;
        println!("GET {target} -> {status}");
    }
    Ok(())
}

async fn get(addr: &str, target: &str) -> std::io::Result<StatusCode> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    Ok(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
}
