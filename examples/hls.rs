//! One link for a whole video: an HLS-style folder (a playlist and its segments) behind the
//! layer, opened through a single folder link whose token sits in a path segment, so the
//! player's relative segment URLs carry it too.
//!
//! ```text
//! cargo run --example hls
//! ```
//!
//! It serves a generated folder on loopback, prints the playlist link, and plays the part of a
//! player: it fetches the playlist, resolves every segment URL against it, and fetches those.

use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_http::services::ServeDir;
use tower_secure_link::{Key, SecureLinkLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join(format!("secure-link-hls-{}", std::process::id()));
    let video = root.join("private/videos/42");
    std::fs::create_dir_all(&video)?;
    let mut playlist = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n");
    for n in 0..3 {
        std::fs::write(video.join(format!("seg-{n}.ts")), format!("segment {n}"))?;
        playlist.push_str(&format!("#EXTINF:4.0,\nseg-{n}.ts\n"));
    }
    playlist.push_str("#EXT-X-ENDLIST\n");
    std::fs::write(video.join("index.m3u8"), playlist)?;

    let secret = std::env::var("SECURE_LINK_KEY")
        .unwrap_or_else(|_| "demo secret: set SECURE_LINK_KEY in production".to_owned());
    let layer = SecureLinkLayer::new(Key::new("1", secret)?).with_private_prefix("/private/")?;
    let base = layer
        .signer()
        .folder_link("/private/videos/42/")
        .expires_in(Duration::from_secs(3600))
        .to_path_base()?;
    let app = Router::new()
        .fallback_service(ServeDir::new(&root))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let playlist_url = format!("{base}index.m3u8");
    println!("playlist: http://{addr}{playlist_url}");
    let (status, playlist) = get(&addr, &playlist_url).await?;
    println!("GET index.m3u8: {status}");
    for line in playlist
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
    {
        // A relative URL resolves against the playlist's folder, token segment included.
        let segment = format!("{base}{line}");
        let (status, body) = get(&addr, &segment).await?;
        println!("GET {line}: {status} ({body})");
    }
    let (status, _) = get(&addr, "/private/videos/42/seg-0.ts").await?;
    println!("GET seg-0.ts without the token: {status}");
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

async fn get(addr: &str, target: &str) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
