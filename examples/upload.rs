//! Upload slots: a server hands out a link that lets a client PUT one file, once, up to a size
//! limit, and streams the upload to disk; a client uses it.
//!
//! ```text
//! cargo run --example upload
//! ```
//!
//! The program runs both sides on loopback: it asks the server for a slot, uploads a file
//! through it, then shows that the slot cannot be used again and that an oversized body is
//! refused with 413 before it is read.

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, put};
use axum::{Extension, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_secure_link::{Key, SecureLinkLayer, UrlSigner};

/// The largest upload a slot allows.
const MAX_UPLOAD: u64 = 64 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uploads = tempfile_dir()?;
    let secret = std::env::var("SECURE_LINK_KEY")
        .unwrap_or_else(|_| "demo secret: set SECURE_LINK_KEY in production".to_owned());
    let layer = SecureLinkLayer::new(Key::new("1", secret)?).with_private_prefix("/uploads/")?;
    let app = Router::new()
        .route("/slot/{name}", get(new_slot))
        .route("/uploads/{name}", put(receive))
        .with_state(uploads.clone())
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The client: ask for a slot, then upload through it.
    let (_, slot) = request(&addr, "GET", "/slot/report.csv", b"").await?;
    println!("slot: {slot}");
    let file = b"date,amount\n2026-11-23,42\n".repeat(100);
    let (status, body) = request(&addr, "PUT", &slot, &file).await?;
    println!("upload: {status} {body}");
    let (status, _) = request(&addr, "PUT", &slot, &file).await?;
    println!("the same slot again: {status}");
    let (_, slot) = request(&addr, "GET", "/slot/huge.bin", b"").await?;
    let (status, _) = request(&addr, "PUT", &slot, &vec![0u8; MAX_UPLOAD as usize + 1]).await?;
    println!("an upload over the limit: {status}");
    println!(
        "stored: {:?}",
        std::fs::read_dir(&uploads)?
            .flatten()
            .map(|e| e.file_name())
            .collect::<Vec<_>>()
    );
    Ok(())
}

/// Mints a slot for one file: PUT only, once, 10 minutes, at most `MAX_UPLOAD` bytes.
async fn new_slot(
    Path(name): Path<String>,
    Extension(signer): Extension<UrlSigner>,
) -> Result<String, StatusCode> {
    signer
        .link(&format!("/uploads/{name}"))
        .method(Method::PUT)
        .one_time()
        .max_body_size(MAX_UPLOAD)
        .expires_in(Duration::from_secs(600))
        .to_target()
        .map_err(|_| StatusCode::BAD_REQUEST)
}

/// Streams the body to a file; the layer has already checked the slot and the size.
async fn receive(
    State(dir): State<PathBuf>,
    Path(name): Path<String>,
    body: Body,
) -> Result<String, StatusCode> {
    use http_body_util::BodyExt;
    let path = dir.join(name.replace(['/', '\\'], "_"));
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let mut body = body;
    let mut written = 0;
    while let Some(chunk) = body.frame().await {
        let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
        if let Ok(data) = chunk.into_data() {
            written += data.len();
            file.write_all(&data)
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        }
    }
    Ok(format!("stored {written} bytes"))
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("secure-link-uploads-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A minimal HTTP/1.1 client, enough for the demo.
async fn request(
    addr: &str,
    method: &str,
    target: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    // The server may refuse before reading the body; a failed write is then expected.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
