//! Check links in Rust, let nginx send the bytes: a backend that answers verified requests with
//! `X-Accel-Redirect`.
//!
//! ```text
//! cargo run --all-features --example accel
//! ```
//!
//! It prints the nginx configuration to put in a `server { }` block (nginx serves the files
//! from `internal` location `/protected/`, and proxies `/private/` here) and a signed link to
//! try through nginx. The backend never opens a file.

use axum::body::Body;
use axum::Router;
use tower_secure_link::accel::XAccelRedirect;
use tower_secure_link::{Key, SecureLinkLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("SECURE_LINK_KEY")
        .unwrap_or_else(|_| "demo secret: set SECURE_LINK_KEY in production".to_owned());
    let layer = SecureLinkLayer::new(Key::new("1", secret)?).with_private_prefix("/private/")?;
    let signer = layer.signer();
    let app = Router::new()
        .route_service(
            "/private/{*file}",
            XAccelRedirect::<Body>::new("/private/", "/protected/")?,
        )
        .layer(layer);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    let backend = listener.local_addr()?;
    #[cfg(feature = "nginx")]
    print!(
        "{}",
        tower_secure_link::nginx::accel_config(
            "/private/",
            "/protected/",
            "/srv/private-files/",
            &backend.to_string()
        )?
    );
    println!("backend on http://{backend}");
    println!("through nginx: {}", signer.sign("/private/report.pdf")?);
    axum::serve(listener, app).await?;
    Ok(())
}
