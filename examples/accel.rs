//! Check links in Rust, let nginx send the bytes: a backend that answers verified requests with
//! `X-Accel-Redirect`.
//!
//! ```text
//! cargo run --all-features --example accel -- [--addr 127.0.0.1:3000] [--alias /srv/private-files/]
//! ```
//!
//! It prints the nginx configuration to put in a `server { }` block (nginx serves the files
//! from `internal` location `/protected/`, and proxies `/private/` here) and a signed link to
//! try through nginx. The backend never opens a file.

use axum::body::Body;
use axum::Router;
use tower_secure_link::accel::XAccelRedirect;
use tower_secure_link::{Key, SecureLinkLayer};

/// The value after `--name` on the command line, or `default`.
fn option(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = option("--addr", "127.0.0.1:3000");
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

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let backend = listener.local_addr()?;
    // Without TCP_NODELAY a response written in two parts waits for a delayed ACK (~40 ms).
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        let _ = stream.set_nodelay(true);
    });
    #[cfg(feature = "nginx")]
    print!(
        "{}",
        tower_secure_link::nginx::accel_config(
            "/private/",
            "/protected/",
            &option("--alias", "/srv/private-files/"),
            &backend.to_string()
        )?
    );
    println!("backend on http://{backend}");
    println!("through nginx: {}", signer.sign("/private/report.pdf")?);
    axum::serve(listener, app).await?;
    Ok(())
}
