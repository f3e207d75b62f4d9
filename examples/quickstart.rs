//! The README's quick start, as a whole program: private files under `/files/`, a public page
//! that hands out a link, and a test that runs the wiring audit against the real router.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use axum::{extract::Request, routing::get, Extension, Router, ServiceExt};
use tower::Layer;
use tower_http::services::ServeDir;
use tower_secure_link::{Key, SecureLink, SecureLinkLayer, UrlSigner};

type App = SecureLink<Router>;

/// The whole app: the layer wraps the whole router, so it sees every path as the client sent
/// it, before any routing.
fn app(files: &str, secret: &[u8]) -> Result<(App, SecureLinkLayer), Box<dyn std::error::Error>> {
    let layer = SecureLinkLayer::new(Key::new("2026-11", secret)?) // 32+ random bytes
        .with_private_prefix("/files/")?;
    let router = Router::new()
        .route(
            "/",
            get(|Extension(signer): Extension<UrlSigner>| async move {
                // Valid for an hour (the default), GET and HEAD only.
                let link = signer.sign("/files/invoice-42.pdf").unwrap();
                format!("Your invoice: {link}\n")
            }),
        )
        .nest_service("/files", ServeDir::new(files));
    Ok((layer.layer(router), layer))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all("private-files")?;
    std::fs::write("private-files/invoice-42.pdf", "%PDF-1.7 a private invoice")?;
    // In production the secret comes from your secret store.
    let (app, _) = app("private-files", b"a secret of at least thirty-two bytes!")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("open http://127.0.0.1:3000/ for a link to the invoice");
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tower_secure_link::audit::Audit;

    #[tokio::test]
    async fn no_private_file_without_a_valid_link() {
        let dir = std::env::temp_dir().join(format!("quickstart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("invoice-42.pdf"), "%PDF-1.7 private").unwrap();
        let (app, layer) = super::app(dir.to_str().unwrap(), &[7u8; 32]).unwrap();

        let report = Audit::new(layer.signer())
            .target("/files/invoice-42.pdf")
            .run(app)
            .await;
        assert!(report.is_clean(), "{report}");
    }
}
