//! `secure-link`: mint and check signed links, serve a folder behind the layer.
//!
//! ```text
//! SECURE_LINK_KEY=... cargo run --example secure-link -- sign /private/report.pdf
//! SECURE_LINK_KEY=... cargo run --example secure-link -- verify '/private/report.pdf?sl_kid=...'
//! cargo run --example secure-link -- serve
//! ```
//!
//! Exit codes: 0 success, 1 a link that is not valid (`verify`) or a server failure, 2 a usage
//! or configuration problem.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use clap::{Parser, Subcommand, ValueEnum};
use http::{Method, Uri};
use tower_http::services::ServeDir;
use tower_secure_link::{Key, Keyring, RejectionKind, SecureLinkLayer, UrlSigner, MIN_SECRET_LEN};

#[derive(Parser)]
#[command(
    name = "secure-link",
    version,
    about = "Signed, expiring links for private files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a signed request target for TARGET (a path with an optional query).
    Sign {
        /// Lifetime from now, in seconds (default: the layer's default lifetime).
        #[arg(long, value_name = "SECONDS", conflicts_with = "expires")]
        ttl: Option<u64>,
        /// Absolute expiry in Unix seconds; a time in the past mints an expired link.
        #[arg(long, value_name = "UNIX")]
        expires: Option<u64>,
        /// The HTTP method the link is for (a GET link also allows HEAD).
        #[arg(long, default_value = "GET")]
        method: String,
        /// The link can be used once.
        #[arg(long)]
        one_time: bool,
        /// The link format.
        #[arg(long, value_enum, default_value_t = Format::Hmac)]
        format: Format,
        /// The target to sign.
        target: String,
    },
    /// Check a signed request target as the layer would.
    Verify {
        /// The method the request would use.
        #[arg(long, default_value = "GET")]
        method: String,
        /// The link format.
        #[arg(long, value_enum, default_value_t = Format::Hmac)]
        format: Format,
        /// Treat only paths under this prefix as private (repeatable; default: every path).
        #[arg(long, value_name = "PREFIX")]
        private: Vec<String>,
        /// The signed target to check.
        target: String,
    },
    /// Serve a folder over HTTP with the layer in front.
    Serve {
        /// The folder to serve (default: the demo folder shipped with the example).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Where to listen; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// A private prefix (repeatable; default /private/).
        #[arg(long, value_name = "PREFIX")]
        private: Vec<String>,
        /// A public exception inside a private prefix (repeatable).
        #[arg(long, value_name = "PREFIX")]
        public: Vec<String>,
        /// Which links it accepts.
        #[arg(long, value_enum, default_value_t = Format::Hmac)]
        format: Format,
        /// Keep one-time link state in Redis at this URL.
        #[arg(long, value_name = "URL")]
        redis: Option<String>,
    },
    /// Print an nginx location block that verifies nginx-format links.
    NginxConfig {
        /// The location prefix.
        #[arg(long, default_value = "/private/")]
        location: String,
        /// The folder nginx serves the location from.
        #[arg(long)]
        alias: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The native HMAC-SHA256 scheme.
    Hmac,
    /// nginx `secure_link_md5` compatible.
    Nginx,
}

/// A failure with the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign {
            ttl,
            expires,
            method,
            one_time,
            format,
            target,
        } => sign(ttl, expires, &method, one_time, format, &target),
        Command::Verify {
            method,
            format,
            private,
            target,
        } => verify(&method, format, &private, &target),
        Command::Serve {
            root,
            addr,
            private,
            public,
            format,
            redis,
        } => serve(root, addr, private, public, format, redis),
        Command::NginxConfig { .. } => Err(not_supported("nginx-config")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("secure-link: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

fn not_supported(what: &str) -> Failure {
    usage(format!("{what} is not supported yet"))
}

fn check_format(format: Format) -> Result<(), Failure> {
    match format {
        Format::Hmac => Ok(()),
        Format::Nginx => Err(not_supported("--format nginx")),
    }
}

/// The keyring from `SECURE_LINK_KEY`, `SECURE_LINK_KEY_ID` and `SECURE_LINK_OLD_KEYS`, or
/// `None` when no key is set.
fn keyring_from_env() -> Result<Option<Keyring>, Failure> {
    let Some(secret) = std::env::var_os("SECURE_LINK_KEY") else {
        return Ok(None);
    };
    let secret = secret
        .into_string()
        .map_err(|_| usage("SECURE_LINK_KEY is not valid UTF-8"))?;
    let id = std::env::var("SECURE_LINK_KEY_ID").unwrap_or_else(|_| "1".to_owned());
    let key =
        Key::new(id, secret.as_bytes()).map_err(|e| usage(format!("SECURE_LINK_KEY: {e}")))?;
    let mut keyring = Keyring::new(key);
    let old_keys = std::env::var("SECURE_LINK_OLD_KEYS").unwrap_or_default();
    for pair in old_keys.split(',').filter(|pair| !pair.is_empty()) {
        let (id, secret) = pair.split_once(':').ok_or_else(|| {
            usage("SECURE_LINK_OLD_KEYS must be id:secret pairs separated by commas")
        })?;
        let key = Key::new(id, secret.as_bytes())
            .map_err(|e| usage(format!("SECURE_LINK_OLD_KEYS, key {id:?}: {e}")))?;
        keyring = keyring
            .with_verify_only(key)
            .map_err(|e| usage(format!("SECURE_LINK_OLD_KEYS, key {id:?}: {e}")))?;
    }
    Ok(Some(keyring))
}

fn required_keyring() -> Result<Keyring, Failure> {
    keyring_from_env()?.ok_or_else(|| {
        usage(format!(
            "set SECURE_LINK_KEY to the signing secret ({MIN_SECRET_LEN} bytes or more)"
        ))
    })
}

fn parse_method(method: &str) -> Result<Method, Failure> {
    Method::from_bytes(method.as_bytes()).map_err(|_| usage(format!("invalid method {method:?}")))
}

fn sign(
    ttl: Option<u64>,
    expires: Option<u64>,
    method: &str,
    one_time: bool,
    format: Format,
    target: &str,
) -> Result<(), Failure> {
    check_format(format)?;
    if one_time {
        return Err(not_supported("--one-time"));
    }
    let signer = SecureLinkLayer::new(required_keyring()?).signer();
    let mut link = signer.link(target).method(parse_method(method)?);
    if let Some(ttl) = ttl {
        link = link.expires_in(Duration::from_secs(ttl));
    }
    if let Some(expires) = expires {
        link = link.expires_at(expires);
    }
    let signed = link
        .to_target()
        .map_err(|e| usage(format!("cannot sign {target:?}: {e}")))?;
    println!("{signed}");
    Ok(())
}

fn verify(method: &str, format: Format, private: &[String], target: &str) -> Result<(), Failure> {
    check_format(format)?;
    let mut layer = SecureLinkLayer::new(required_keyring()?);
    for prefix in private {
        layer = layer
            .with_private_prefix(prefix.as_str())
            .map_err(|e| usage(e.to_string()))?;
    }
    let method = parse_method(method)?;
    // The reason alone on stderr, so scripts can match it.
    let not_valid = |reason: &str| {
        eprintln!("{reason}");
        Failure {
            code: 1,
            message: String::new(),
        }
    };
    let uri: Uri = target.parse().map_err(|_| not_valid("invalid"))?;
    match layer.check(&method, &uri) {
        Ok(_) => {
            println!("valid");
            Ok(())
        }
        Err(rejection) => Err(not_valid(match rejection.kind() {
            RejectionKind::Expired => "expired",
            RejectionKind::NotYetValid => "not yet valid",
            RejectionKind::AlreadyUsed => "used",
            RejectionKind::AmbiguousPath | RejectionKind::MalformedPath => "bad path",
            RejectionKind::StoreUnavailable => "store unavailable",
            _ => "invalid",
        })),
    }
}

fn serve(
    root: Option<PathBuf>,
    addr: SocketAddr,
    private: Vec<String>,
    public: Vec<String>,
    format: Format,
    redis: Option<String>,
) -> Result<(), Failure> {
    check_format(format)?;
    if redis.is_some() {
        return Err(not_supported("--redis"));
    }
    let root = root
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo")));
    if !root.is_dir() {
        return Err(usage(format!("--root {}: not a folder", root.display())));
    }
    let keyring = match keyring_from_env()? {
        Some(keyring) => keyring,
        None => {
            eprintln!(
                "secure-link: SECURE_LINK_KEY is not set; using a random key for this run \
                 (links stop working when the server stops)"
            );
            Keyring::new(random_key()?)
        }
    };
    let private = if private.is_empty() {
        vec!["/private/".to_owned()]
    } else {
        private
    };
    let mut layer = SecureLinkLayer::new(keyring);
    for prefix in &private {
        layer = layer
            .with_private_prefix(prefix.as_str())
            .map_err(|e| usage(format!("--private: {e}")))?;
    }
    for prefix in &public {
        layer = layer
            .with_public_exception(prefix.as_str())
            .map_err(|e| usage(format!("--public: {e}")))?;
    }
    let signer = layer.signer();
    let app = Router::new()
        .fallback_service(ServeDir::new(&root))
        .layer(layer);

    let runtime = tokio::runtime::Runtime::new().map_err(|e| Failure {
        code: 1,
        message: format!("cannot start the runtime: {e}"),
    })?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Failure {
                code: 1,
                message: format!("cannot listen on {addr}: {e}"),
            })?;
        let local = listener.local_addr().map_err(|e| Failure {
            code: 1,
            message: e.to_string(),
        })?;
        println!("listening on http://{local}");
        println!("http://{local}{}", sample_link(&signer, &root, &private[0]));
        eprintln!(
            "secure-link: serving {} (private: {})",
            root.display(),
            private.join(", ")
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| Failure {
                code: 1,
                message: format!("server error: {e}"),
            })
    })
}

/// A signed link to the first file under the first private prefix, so a person has something
/// to open.
fn sample_link(signer: &UrlSigner, root: &std::path::Path, prefix: &str) -> String {
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

fn random_key() -> Result<Key, Failure> {
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| Failure {
        code: 1,
        message: format!("no randomness for a key: {e}"),
    })?;
    Key::new("run", secret).map_err(|e| usage(e.to_string()))
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
