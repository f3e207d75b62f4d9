//! The layer around a warp application: warp's filters become a tower service with
//! `warp::service`, and the layer wraps that service like any other.
//!
//! ```text
//! cargo run --example warp
//! ```
//!
//! It sends the service one request with a signed link and one without, and prints both
//! statuses (no socket needed: a tower service can be called directly).

use tower::{Layer, ServiceExt};
use tower_secure_link::{Key, SecureLinkLayer};
use warp::Filter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let routes = warp::path!("private" / String).map(|name: String| format!("the file {name}"));
    let layer = SecureLinkLayer::new(Key::new("1", [6u8; 32])?).with_private_prefix("/private/")?;
    let link = layer.signer().sign("/private/report.pdf")?;
    let service = layer.layer(warp::service(routes));

    for target in [link.as_str(), "/private/report.pdf"] {
        let request = http::Request::get(target).body(String::new())?;
        let response = service.clone().oneshot(request).await?;
        println!("GET {target} -> {}", response.status());
    }
    Ok(())
}
