//! `serve`: a folder over HTTP with the layer in front, and the demo page.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tower_http::services::ServeDir;
use tower_secure_link::{SecureLinkLayer, UrlSigner};

use crate::args::{Format, ServeArgs};
use crate::failure::{runtime_failure, usage, Failure};
use crate::keys::{layer_for, random_secret, secret_from_env};
use crate::store::redis_store;
use crate::{demo, server};

pub fn serve(args: ServeArgs) -> Result<(), Failure> {
    let limits = args.limits.limits()?;
    // Without --root, the demo: its folder and a page of live links at `/`.
    let demo_page = args.demo || args.root.is_none();
    let root = args
        .root
        .clone()
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo")));
    if !root.is_dir() {
        return Err(usage(format!("--root {}: not a folder", root.display())));
    }
    let random_key = secret_from_env()?.is_none() && args.scheme.format != Format::Ed25519;
    let private = if args.private.is_empty() {
        vec!["/private/".to_owned()]
    } else {
        args.private.clone()
    };
    let mut layer = serve_layer(&args, &private)?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| runtime_failure(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        if let Some(url) = &args.redis {
            let store = redis_store(url, args.redis_require_persistence).await?;
            #[cfg(feature = "redis")]
            crate::store::say_if_revocations_would_be_forgotten(&store);
            layer = layer.with_nonce_store(store);
        }
        let signer = layer.signer();
        let demo = demo_page.then_some(demo::Setup {
            resume_window: args.resume_window,
            random_key,
        });
        let app = app(layer, &root, demo);
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(|e| runtime_failure(format!("cannot listen on {}: {e}", args.addr)))?;
        let local = listener
            .local_addr()
            .map_err(|e| runtime_failure(e.to_string()))?;
        announce(&local, &signer, &root, &private, demo_page);
        server::run(listener, app, limits, shutdown_signal())
            .await
            .map_err(|e| runtime_failure(format!("server error: {e}")))
    })
}

/// The layer `serve`'s options describe. Without SECURE_LINK_KEY, a random key for this run.
fn serve_layer(args: &ServeArgs, private: &[String]) -> Result<SecureLinkLayer, Failure> {
    let secret = match secret_from_env()? {
        Some(secret) => Some(secret),
        // Public keys are enough to verify Ed25519 links.
        None if args.scheme.format == Format::Ed25519 => None,
        None => {
            eprintln!(
                "secure-link: SECURE_LINK_KEY is not set; using a random key for this run \
                 (links stop working when the server stops)"
            );
            Some(random_secret()?)
        }
    };
    let mut layer = layer_for(&args.scheme, secret.as_deref())?;
    for prefix in private {
        layer = layer
            .with_private_prefix(prefix.as_str())
            .map_err(|e| usage(format!("--private: {e}")))?;
    }
    for prefix in &args.public {
        layer = layer
            .with_public_exception(prefix.as_str())
            .map_err(|e| usage(format!("--public: {e}")))?;
    }
    if let Some(window) = args.resume_window {
        layer = layer.with_one_time_resume_window(Duration::from_secs(window));
    }
    if let Some(max_age) = args.private_cache {
        layer = layer.with_private_caching(Duration::from_secs(max_age));
    }
    if !args.trusted_proxy.is_empty() {
        layer = layer
            .with_trusted_proxies(&args.trusted_proxy)
            .map_err(|e| usage(format!("--trusted-proxy: {e}")))?;
    }
    // The server puts each connection's peer into its requests as axum's `ConnectInfo`.
    layer = layer.with_client_addr(|extensions| {
        extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip())
    });
    if !args.ignore_param.is_empty() {
        layer = layer
            .with_ignored_params(&args.ignore_param)
            .map_err(|e| usage(format!("--ignore-param: {e}")))?;
    }
    Ok(layer)
}

/// What refusals answer: a page that says why (the library's default is an empty body).
type RefusalPage = fn(&tower_secure_link::Rejection) -> http::Response<axum::body::Body>;

/// The files under `root` (and the demo page at `/`), with the layer outside the whole router.
fn app(
    layer: SecureLinkLayer,
    root: &Path,
    demo: Option<demo::Setup>,
) -> tower_secure_link::SecureLink<Router, RefusalPage> {
    let mut files = Router::new().fallback_service(ServeDir::new(root));
    if let Some(setup) = demo {
        let setup = Arc::new(setup);
        let page_signer = layer.signer();
        files = files.route(
            "/",
            axum::routing::get(move |request: axum::extract::Request| {
                // The server puts each connection's peer into its requests.
                let client = request
                    .extensions()
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|info| info.0.ip());
                let html = demo::page(&page_signer, &setup, client);
                async move { axum::response::Html(html) }
            }),
        );
    }
    let layer = layer.with_rejection_response(demo::refusal_page as RefusalPage);
    // With no router in front of the layer, it sees every path as the client sent it, and
    // opaque links are routed afresh to their hidden target.
    tower::Layer::layer(&layer, files)
}

/// Where the server listens and a link to open, on stdout; what it serves, on stderr.
fn announce(
    local: &std::net::SocketAddr,
    signer: &UrlSigner,
    root: &Path,
    private: &[String],
    demo: bool,
) {
    // A reader that went away must not take the server down with it: ignore write errors.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{local}");
    let _ = writeln!(
        stdout,
        "http://{local}{}",
        sample_link(signer, root, &private[0])
    );
    let _ = stdout.flush();
    eprintln!(
        "secure-link: serving {} (private: {})",
        root.display(),
        private.join(", ")
    );
    if demo {
        eprintln!("secure-link: open http://{local}/ in a browser for the demo page");
    }
}

/// A signed link to the first file under the first private prefix, so a person has something
/// to open.
fn sample_link(signer: &UrlSigner, root: &Path, prefix: &str) -> String {
    let folder = root.join(prefix.trim_start_matches('/'));
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    let target = format!(
        "{}/{}",
        prefix.trim_end_matches('/'),
        names.first().map_or("example.txt", String::as_str)
    );
    signer
        .sign(&target)
        .unwrap_or_else(|_| signer.sign(prefix).unwrap_or_default())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
