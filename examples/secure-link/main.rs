//! `secure-link`: mint and check signed links, serve a folder behind the layer, and write the
//! nginx configuration that checks the same links.
//!
//! ```text
//! SECURE_LINK_KEY=... cargo run --example secure-link -- sign /private/report.pdf
//! SECURE_LINK_KEY=... cargo run --example secure-link -- verify '/private/report.pdf?sl_kid=...'
//! cargo run --example secure-link -- serve
//! SECURE_LINK_KEY=... cargo run --all-features --example secure-link -- nginx-config --alias /srv/private/
//! ```
//!
//! Exit codes: 0 success, 1 a link that is not valid (`verify`) or a server failure, 2 a usage
//! or configuration problem.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use clap::{Args, Parser, Subcommand, ValueEnum};
use http::{Method, Uri};
use tower_http::services::ServeDir;
use tower_secure_link::one_time::StoreErrorKind;
use tower_secure_link::{
    Key, Keyring, RejectionKind, SecureLinkLayer, SignErrorKind, UrlSigner, MIN_SECRET_LEN,
};

mod demo;
mod server;

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

/// The key variables besides the secret, for every command that reads keys.
macro_rules! more_key_variables {
    () => {
        "
  SECURE_LINK_KEY_ID    the id of that key (default 1)
  SECURE_LINK_OLD_KEYS  id:secret pairs, comma-separated, accepted for verification only"
    };
}

/// The public keys of `--format ed25519`.
macro_rules! ed25519_variables {
    () => {
        "
  SECURE_LINK_PUBLIC_KEYS  --format ed25519: id:public-key pairs, comma-separated (from
                        `secure-link keygen --ed25519`); the first one signs nothing"
    };
}

/// What `sign` and `verify` read from the environment.
const KEY_ENV_HELP: &str = concat!(
    "Environment:
  SECURE_LINK_KEY       the secret (32 bytes or more for the native format; with
                        --format nginx or nginx-secret, nginx's secret; with --format
                        ed25519, the private key, needed by sign only)",
    more_key_variables!(),
    ed25519_variables!()
);

/// What `serve` reads from the environment.
const SERVE_ENV_HELP: &str = concat!(
    "Environment:
  SECURE_LINK_KEY       the secret (without it, a random key for this run, said on stderr)",
    more_key_variables!(),
    ed25519_variables!()
);

/// What `nginx-config` reads from the environment.
const NGINX_ENV_HELP: &str = "Environment:
  SECURE_LINK_KEY       the secret written into the secure_link_md5 expression";

#[derive(Subcommand)]
enum Command {
    /// Print a signed request target for TARGET (a path with an optional query).
    #[command(after_help = KEY_ENV_HELP)]
    Sign(SignArgs),
    /// Check a signed request target as the layer would.
    #[command(after_help = KEY_ENV_HELP)]
    Verify {
        /// The method the request would use.
        #[arg(long, default_value = "GET")]
        method: String,
        /// Treat only paths under this prefix as private (repeatable; default: every path).
        #[arg(long, value_name = "PREFIX")]
        private: Vec<String>,
        /// nginx formats: the client address, for templates that use {remote_addr}.
        #[arg(long, value_name = "IP")]
        client_ip: Option<IpAddr>,
        #[command(flatten)]
        scheme: SchemeArgs,
        /// The signed target to check.
        target: String,
    },
    /// Serve a folder over HTTP with the layer in front.
    #[command(after_help = SERVE_ENV_HELP)]
    Serve(ServeArgs),
    /// Refuse every link of a revocation group, on every `serve --redis URL` sharing that Redis.
    Revoke {
        /// The group to revoke.
        #[arg(long, value_name = "ID")]
        group: String,
        /// The Redis the servers keep their one-time and revocation state in.
        #[arg(long, value_name = "URL")]
        redis: String,
        /// How long to refuse the group's links, in seconds (default: the maximum lifetime,
        /// 7 days, which outlives every link of the group).
        #[arg(long, value_name = "SECONDS", default_value_t = 7 * 24 * 60 * 60)]
        ttl: u64,
        /// Revoke even when that Redis keeps nothing across its restarts (no appendonly, no
        /// save) or will not say: after its next restart the group's links work again.
        #[arg(long)]
        volatile: bool,
    },
    /// Print a new key as shell-ready lines: an HMAC secret, or with --ed25519 a key pair.
    Keygen {
        /// An Ed25519 key pair: SECURE_LINK_KEY (private, for sign) and
        /// SECURE_LINK_PUBLIC_KEYS (id:public key, for verify and serve).
        #[arg(long)]
        ed25519: bool,
        /// The key id links will carry.
        #[arg(long, value_name = "ID", default_value = "1")]
        key_id: String,
    },
    /// Print an nginx location block that verifies `--format nginx` links.
    #[command(after_help = NGINX_ENV_HELP)]
    NginxConfig {
        /// The location prefix.
        #[arg(long, default_value = "/private/")]
        location: String,
        /// The folder nginx serves the location from.
        #[arg(long)]
        alias: String,
        /// X-Accel-Redirect instead: the internal location nginx serves ALIAS under, while
        /// LOCATION is proxied to the backend at --upstream, which checks the links.
        #[arg(long, value_name = "PREFIX", requires = "upstream")]
        accel_internal: Option<String>,
        /// The backend (host:port) for --accel-internal.
        #[arg(long, value_name = "HOST:PORT", requires = "accel_internal")]
        upstream: Option<String>,
        #[command(flatten)]
        nginx: NginxArgs,
    },
}

/// What a slow or idle client may hold; see `server.rs`.
#[derive(Args)]
struct LimitArgs {
    /// Close a connection whose request head has not arrived within this time.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    header_timeout: u64,
    /// Close a connection on which nothing was read or written for this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    idle_timeout: u64,
    /// Serve at most this many connections at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
}

impl LimitArgs {
    fn limits(&self) -> Result<server::Limits, Failure> {
        if self.header_timeout == 0 || self.idle_timeout == 0 || self.max_connections == 0 {
            return Err(usage(
                "--header-timeout, --idle-timeout and --max-connections must be above 0",
            ));
        }
        Ok(server::Limits {
            header_read: Duration::from_secs(self.header_timeout),
            idle: Duration::from_secs(self.idle_timeout),
            max_connections: self.max_connections,
        })
    }
}

#[derive(Args)]
struct SchemeArgs {
    /// The link format.
    #[arg(long, value_enum, default_value_t = Format::Hmac)]
    format: Format,
    /// The longest lifetime a native link may have, in seconds (default 7 days); sign, verify
    /// and serve must agree.
    #[arg(long, value_name = "SECONDS", default_value_t = 7 * 24 * 60 * 60)]
    max_lifetime: u64,
    /// Where opaque links live (native format); sign, verify and serve must agree.
    #[arg(long, value_name = "PREFIX", default_value = "/s/")]
    opaque_prefix: String,
    #[command(flatten)]
    nginx: NginxArgs,
}

/// Settings of the nginx format; they must match the nginx configuration.
#[derive(Args)]
struct NginxArgs {
    /// nginx format: the token parameter name.
    #[arg(long, default_value = "token")]
    token_param: String,
    /// nginx format: the expiry parameter name.
    #[arg(long, default_value = "expires")]
    expires_param: String,
    /// nginx format: the MD5 expression, with {expires}, {uri}, {secret} and literal text.
    #[arg(long, default_value = "{expires}{uri} {secret}")]
    template: String,
    /// nginx format: links without expiry (`secure_link $arg_token;`).
    #[arg(long)]
    no_expiry: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The native HMAC-SHA256 scheme.
    Hmac,
    /// nginx `secure_link_md5` compatible.
    Nginx,
    /// nginx's legacy `secure_link_secret` (`/p/<md5 hex>/<path>` under each --private prefix).
    NginxSecret,
    /// Ed25519 links: `sign` reads the private key from SECURE_LINK_KEY, `verify` and `serve`
    /// need only the public keys in SECURE_LINK_PUBLIC_KEYS.
    Ed25519,
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

fn runtime_failure(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(args) => sign(args),
        Command::Verify {
            method,
            private,
            client_ip,
            scheme,
            target,
        } => verify(&method, &private, client_ip, &scheme, &target),
        Command::Serve(args) => serve(args),
        Command::Revoke {
            group,
            redis,
            ttl,
            volatile,
        } => revoke(&group, &redis, ttl, volatile),
        Command::Keygen { ed25519, key_id } => keygen(ed25519, &key_id),
        Command::NginxConfig {
            location,
            alias,
            accel_internal,
            upstream,
            nginx,
        } => match (accel_internal, upstream) {
            (Some(internal), Some(upstream)) => {
                accel_config(&location, &internal, &alias, &upstream)
            }
            _ => nginx_config(&location, &alias, &nginx),
        },
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

/// The signing secret as given, when `SECURE_LINK_KEY` is set.
fn secret_from_env() -> Result<Option<String>, Failure> {
    match std::env::var_os("SECURE_LINK_KEY") {
        None => Ok(None),
        Some(secret) => secret
            .into_string()
            .map(Some)
            .map_err(|_| usage("SECURE_LINK_KEY is not valid UTF-8")),
    }
}

/// The keyring from `SECURE_LINK_KEY`, `SECURE_LINK_KEY_ID` and `SECURE_LINK_OLD_KEYS`.
fn keyring(secret: &str) -> Result<Keyring, Failure> {
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
    Ok(keyring)
}

fn required_secret() -> Result<String, Failure> {
    secret_from_env()?.ok_or_else(missing_secret)
}

fn missing_secret() -> Failure {
    usage(format!(
        "set SECURE_LINK_KEY to the signing secret ({MIN_SECRET_LEN} bytes or more for the \
         native format; `secure-link keygen` prints one)"
    ))
}

/// A layer for the chosen format, every path private. `secret` is SECURE_LINK_KEY (for
/// `--format ed25519`, the private key, which verifiers do without).
fn layer_for(scheme: &SchemeArgs, secret: Option<&str>) -> Result<SecureLinkLayer, Failure> {
    let needed = || secret.ok_or_else(missing_secret);
    match scheme.format {
        Format::Ed25519 => ed25519_layer(secret)?
            .with_max_lifetime(Duration::from_secs(scheme.max_lifetime))
            .map_err(|e| usage(format!("--max-lifetime {}: {e}", scheme.max_lifetime))),
        Format::Hmac => SecureLinkLayer::new(keyring(needed()?)?)
            .with_max_lifetime(Duration::from_secs(scheme.max_lifetime))
            .map_err(|e| usage(format!("--max-lifetime {}: {e}", scheme.max_lifetime)))?
            .with_opaque_prefix(&scheme.opaque_prefix)
            .map_err(|e| usage(format!("--opaque-prefix: {e}"))),
        Format::Nginx => nginx_layer(&scheme.nginx, needed()?, false),
        Format::NginxSecret => nginx_layer(&scheme.nginx, needed()?, true),
    }
}

/// `--format ed25519`: the public keys from SECURE_LINK_PUBLIC_KEYS, and the private key from
/// `private` (SECURE_LINK_KEY) when given. The private key's id is SECURE_LINK_KEY_ID, or the id
/// its public half has in SECURE_LINK_PUBLIC_KEYS, or 1.
#[cfg(feature = "ed25519")]
fn ed25519_layer(private: Option<&str>) -> Result<SecureLinkLayer, Failure> {
    use base64::Engine as _;
    let decode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim());
    let mut public = Vec::new();
    let listed = std::env::var("SECURE_LINK_PUBLIC_KEYS").unwrap_or_default();
    for pair in listed
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
    {
        let fail = |why: &dyn std::fmt::Display| {
            usage(format!(
                "SECURE_LINK_PUBLIC_KEYS, {pair:?}: {why} (expected id:key pairs separated by \
                 commas, as `secure-link keygen --ed25519` prints them)"
            ))
        };
        let (id, key) = pair.split_once(':').ok_or_else(|| fail(&"no ':'"))?;
        let bytes = decode(key).map_err(|_| fail(&"the key is not base64url"))?;
        // The pair is well formed, so name the key by its id: the fix is that key, not the list.
        let key = Key::ed25519_public(id, bytes).map_err(|e| {
            usage(format!(
                "SECURE_LINK_PUBLIC_KEYS, key id {id:?}: {e} (copy the public key again from \
                 `secure-link keygen --ed25519`, or drop that pair)"
            ))
        })?;
        public.push(key);
    }
    let private = match private {
        None => None,
        Some(text) => {
            let bytes = decode(text).map_err(|_| {
                usage("SECURE_LINK_KEY: an Ed25519 private key is 43 characters of base64url")
            })?;
            let half = Key::ed25519("probe", &bytes)
                .map_err(|e| usage(format!("SECURE_LINK_KEY: {e}")))?
                .ed25519_public_key();
            let id = match std::env::var("SECURE_LINK_KEY_ID") {
                Ok(id) => id,
                Err(_) => public
                    .iter()
                    .find(|key| key.ed25519_public_key() == half)
                    .map_or_else(|| "1".to_owned(), |key| key.id().to_owned()),
            };
            Some(Key::ed25519(id, &bytes).map_err(|e| usage(format!("SECURE_LINK_KEY: {e}")))?)
        }
    };
    let mut keys = private.into_iter().chain(public);
    let first = keys.next().ok_or_else(|| {
        usage(
            "--format ed25519 needs SECURE_LINK_PUBLIC_KEYS=id:key,... to verify (and \
             SECURE_LINK_KEY to sign); `secure-link keygen --ed25519` prints both",
        )
    })?;
    let mut keyring = Keyring::new(first.clone());
    for key in keys {
        if key.id() == first.id() {
            // The private key's own public half, listed for verifiers: nothing to add.
            if key.ed25519_public_key() == first.ed25519_public_key() {
                continue;
            }
            return Err(usage(format!(
                "SECURE_LINK_PUBLIC_KEYS lists key id {:?} with another key than \
                 SECURE_LINK_KEY's public half",
                key.id()
            )));
        }
        keyring = keyring
            .with_verify_only(key)
            .map_err(|e| usage(format!("SECURE_LINK_PUBLIC_KEYS: {e}")))?;
    }
    Ok(SecureLinkLayer::new(keyring))
}

#[cfg(not(feature = "ed25519"))]
fn ed25519_layer(_: Option<&str>) -> Result<SecureLinkLayer, Failure> {
    Err(usage(
        "this build has no Ed25519 support: build with --all-features (or --features ed25519)",
    ))
}

/// `keygen`: a new key as lines a shell can `eval` or a `.env` file can hold.
fn keygen(ed25519: bool, key_id: &str) -> Result<(), Failure> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| runtime_failure(format!("no randomness for a key: {e}")))?;
    if !ed25519 {
        Key::new(key_id, seed).map_err(|e| usage(format!("--key-id: {e}")))?;
        println!("SECURE_LINK_KEY={}", random_secret()?);
        println!("SECURE_LINK_KEY_ID={key_id}");
        return Ok(());
    }
    keygen_ed25519(seed, key_id)
}

#[cfg(feature = "ed25519")]
fn keygen_ed25519(seed: [u8; 32], key_id: &str) -> Result<(), Failure> {
    use base64::Engine as _;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let key = Key::ed25519(key_id, seed).map_err(|e| usage(format!("--key-id: {e}")))?;
    let public = key.ed25519_public_key().unwrap_or_default();
    println!("SECURE_LINK_KEY={}", encode(&seed));
    println!("SECURE_LINK_PUBLIC_KEYS={key_id}:{}", encode(&public));
    Ok(())
}

#[cfg(not(feature = "ed25519"))]
fn keygen_ed25519(_: [u8; 32], _: &str) -> Result<(), Failure> {
    Err(usage(
        "this build has no Ed25519 support: build with --all-features (or --features ed25519)",
    ))
}

#[cfg(feature = "nginx")]
fn nginx_scheme(
    args: &NginxArgs,
    secret: &str,
) -> Result<tower_secure_link::nginx::NginxScheme, Failure> {
    let mut scheme = tower_secure_link::nginx::NginxScheme::new(secret)
        .with_template(&args.template)
        .and_then(|scheme| scheme.with_param_names(&args.token_param, &args.expires_param))
        .map_err(|e| usage(e.to_string()))?;
    if args.no_expiry {
        scheme = scheme.without_expiry();
    }
    Ok(scheme)
}

#[cfg(feature = "nginx")]
fn nginx_layer(args: &NginxArgs, secret: &str, legacy: bool) -> Result<SecureLinkLayer, Failure> {
    let scheme = if legacy {
        tower_secure_link::nginx::NginxScheme::legacy_secret(secret)
    } else {
        nginx_scheme(args, secret)?
    };
    // `{remote_addr}` is the TCP peer: `serve` puts it into every request, `verify` takes it
    // from --client-ip.
    let scheme = scheme.with_remote_addr(|extensions| {
        extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    });
    SecureLinkLayer::nginx(scheme).map_err(|e| usage(e.to_string()))
}

#[cfg(not(feature = "nginx"))]
fn nginx_layer(_: &NginxArgs, _: &str, _: bool) -> Result<SecureLinkLayer, Failure> {
    Err(usage(
        "this build has no nginx support: build with --all-features (or --features nginx)",
    ))
}

/// A method in any case (`put` is `PUT`).
fn parse_method(method: &str) -> Result<Method, Failure> {
    Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
        usage(format!(
            "--method {method:?}: not an HTTP method (GET, HEAD, POST, PUT, DELETE, ...)"
        ))
    })
}

/// What `sign` is given.
#[derive(Args)]
struct SignArgs {
    /// Lifetime from now, in seconds (default: the layer's default lifetime).
    #[arg(long, value_name = "SECONDS", conflicts_with = "expires")]
    ttl: Option<u64>,
    /// Absolute expiry in Unix seconds; a time in the past mints an expired link. With
    /// `--format nginx` the digits are kept as written, leading zeros included.
    #[arg(long, value_name = "UNIX")]
    expires: Option<String>,
    /// The HTTP method the link is for (a GET link also allows HEAD).
    #[arg(long, default_value = "GET")]
    method: String,
    /// The link can be used once.
    #[arg(long)]
    one_time: bool,
    /// nginx formats: the client address, for templates that use {remote_addr}.
    #[arg(long, value_name = "IP")]
    client_ip: Option<IpAddr>,
    /// Cache-stable links: round the expiry up to a multiple of SECONDS (from the Unix
    /// epoch), so every sign of TARGET within one window prints the same link.
    #[arg(long, value_name = "SECONDS")]
    window: Option<u64>,
    /// Version-bound links: bind the link to FILE's current version (its modification time
    /// and size), as `serve` will see the file it serves for TARGET; once FILE is touched,
    /// replaced, or replaced with another size under the same time (`cp -p`), the link gets
    /// 410. FILE must be a regular file.
    #[arg(long, value_name = "FILE")]
    bind_file: Option<PathBuf>,
    /// Put the link in revocation group ID (1 to 64 characters of A-Z a-z 0-9 . _ -);
    /// `revoke --group ID` refuses every link of the group at once.
    #[arg(long, value_name = "ID")]
    group: Option<String>,
    /// Print an opaque link, `/s/<token>`: neither the path, the file name, the query nor
    /// the expiry can be read from it.
    #[arg(long)]
    opaque: bool,
    /// A folder link for TARGET (a folder ending with `/`), printed in its path-segment form
    /// `FOLDER/sl_t~.../`: append any file name under the folder.
    #[arg(long)]
    folder: bool,
    /// With --folder: the link, when used, also sets a cookie scoped to the folder that admits
    /// GET and HEAD requests under it, without any link, for SECONDS (capped by the maximum
    /// lifetime).
    #[arg(long, value_name = "SECONDS", requires = "folder")]
    cookie_session: Option<u64>,
    #[command(flatten)]
    scheme: SchemeArgs,
    /// The target to sign.
    target: String,
}

fn sign(args: SignArgs) -> Result<(), Failure> {
    let SignArgs {
        ttl,
        expires,
        method,
        one_time,
        client_ip,
        window,
        bind_file,
        group,
        opaque,
        folder,
        cookie_session,
        scheme,
        target,
    } = args;
    let (scheme, target) = (&scheme, target.as_str());
    let version = match &bind_file {
        Some(file) => Some(
            tower_secure_link::file_version(file)
                .map_err(|e| usage(format!("--bind-file {}: {e}", file.display())))?,
        ),
        None => None,
    };
    let signer = layer_for(scheme, Some(&required_secret()?))?.signer();
    refuse_reshaped_target(&signer, target)?;
    if scheme.format == Format::Ed25519 && opaque {
        return Err(usage(
            "--opaque needs --format hmac: opaque links are sealed with a shared secret",
        ));
    }
    if window == Some(0) {
        return Err(usage("--window must be at least 1 second"));
    }
    let window = window.map(Duration::from_secs);
    // nginx links keep the expiry's digits as written; native ones need the number.
    let native_expiry = || -> Result<Option<u64>, Failure> {
        expires
            .as_deref()
            .map(|text| {
                text.parse()
                    .map_err(|_| usage(format!("--expires {text:?}: Unix seconds expected")))
            })
            .transpose()
    };
    let minted = match scheme.format {
        Format::Hmac | Format::Ed25519 if folder => {
            let path_only = [
                (one_time, "--one-time"),
                (version.is_some(), "--bind-file"),
                (group.is_some(), "--group"),
                (opaque, "--opaque"),
                (!method.eq_ignore_ascii_case("GET"), "--method"),
                (client_ip.is_some(), "--client-ip"),
            ];
            if let Some((_, option)) = path_only.iter().find(|(given, _)| *given) {
                return Err(usage(format!("{option} cannot be used with --folder")));
            }
            if !target.ends_with('/') {
                return Err(usage(format!(
                    "--folder {target:?}: a folder ends with '/' (for example /private/videos/42/)"
                )));
            }
            if cookie_session == Some(0) {
                return Err(usage("--cookie-session must be at least 1 second"));
            }
            let mut link = signer.prefix_link(target);
            if let Some(window) = window {
                link = link.window(window);
            }
            if let Some(seconds) = cookie_session {
                link = link.cookie_session(Duration::from_secs(seconds));
            }
            if let Some(ttl) = ttl {
                link = link.expires_in(Duration::from_secs(ttl));
            }
            if let Some(at) = native_expiry()? {
                link = link.expires_at(at);
            }
            link.to_path_base()
        }
        Format::Hmac | Format::Ed25519 => {
            if client_ip.is_some() {
                return Err(usage("--client-ip is for nginx templates (--format nginx)"));
            }
            let mut link = signer.link(target).method(parse_method(&method)?);
            if one_time {
                link = link.one_time();
            }
            if let Some(window) = window {
                link = link.window(window);
            }
            if let Some(version) = &version {
                link = link.version(version);
            }
            if let Some(group) = &group {
                link = link.group(group);
            }
            if opaque {
                link = link.opaque();
            }
            if let Some(ttl) = ttl {
                link = link.expires_in(Duration::from_secs(ttl));
            }
            if let Some(at) = native_expiry()? {
                link = link.expires_at(at);
            }
            link.to_target()
        }
        Format::Nginx | Format::NginxSecret => {
            let native_only = [
                (folder, "--folder"),
                (one_time, "--one-time"),
                (window.is_some(), "--window"),
                (version.is_some(), "--bind-file"),
                (group.is_some(), "--group"),
                (opaque, "--opaque"),
                (!method.eq_ignore_ascii_case("GET"), "--method"),
            ];
            if let Some((_, option)) = native_only.iter().find(|(given, _)| *given) {
                return Err(usage(format!(
                    "{option} needs the native format: nginx links cannot carry it"
                )));
            }
            nginx_target(&signer, target, ttl, expires.as_deref(), client_ip)
        }
    };
    let signed = minted.map_err(|e| {
        let fix = match e.kind() {
            SignErrorKind::LifetimeTooLong => format!(
                " (the maximum is {} s; choose a shorter --ttl or --expires, or raise it with \
                 --max-lifetime SECONDS on sign, verify and serve alike)",
                scheme.max_lifetime
            ),
            SignErrorKind::ReservedParameter => {
                " (drop the signing parameters from TARGET: sign the plain path)".to_owned()
            }
            _ => String::new(),
        };
        usage(format!("cannot sign {target:?}: {e}{fix}"))
    })?;
    println!("{signed}");
    Ok(())
}

/// An nginx link: its expiry as written (nginx hashes the digits), a bound client address.
#[cfg(feature = "nginx")]
fn nginx_target(
    signer: &UrlSigner,
    target: &str,
    ttl: Option<u64>,
    expires: Option<&str>,
    client_ip: Option<IpAddr>,
) -> Result<String, tower_secure_link::SignError> {
    let mut link = signer.nginx_link(target);
    if let Some(ttl) = ttl {
        link = link.expires_in(Duration::from_secs(ttl));
    }
    if let Some(expires) = expires {
        link = link.expires_at_text(expires);
    }
    if let Some(ip) = client_ip {
        link = link.client_ip(ip);
    }
    link.to_target()
}

#[cfg(not(feature = "nginx"))]
fn nginx_target(
    signer: &UrlSigner,
    target: &str,
    _: Option<u64>,
    _: Option<&str>,
    _: Option<IpAddr>,
) -> Result<String, tower_secure_link::SignError> {
    // Unreachable: without the feature, nginx formats fail when the layer is built.
    signer.sign(target)
}

/// Refuses a target whose path names another file once resolved (`/private/../etc/passwd`):
/// an operator must never sign a different path than the one typed. Escaping differences
/// (`/a b.pdf` and `/a%20b.pdf`) name the same file and are fine.
fn refuse_reshaped_target(signer: &UrlSigner, target: &str) -> Result<(), Failure> {
    let path = target.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let reshaped = segments.iter().enumerate().any(|(i, segment)| {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        matches!(&*decoded, "." | "..") || (decoded.is_empty() && i != last)
    });
    if !reshaped {
        return Ok(());
    }
    let canonical = signer
        .link(path)
        .to_target()
        .ok()
        .and_then(|link| link.split('?').next().map(str::to_owned));
    Err(usage(match canonical {
        Some(canonical) => format!(
            "refusing to sign {target:?}: its path resolves to {canonical:?}, another spelling \
             (dot segments or '//'); sign {canonical:?} itself if that is the file you mean"
        ),
        None => format!("refusing to sign {target:?}: its path climbs above the root"),
    }))
}

fn verify(
    method: &str,
    private: &[String],
    client_ip: Option<IpAddr>,
    scheme: &SchemeArgs,
    target: &str,
) -> Result<(), Failure> {
    let secret = match scheme.format {
        Format::Ed25519 => secret_from_env()?,
        _ => Some(required_secret()?),
    };
    let mut layer = layer_for(scheme, secret.as_deref())?;
    for prefix in private {
        layer = layer
            .with_private_prefix(prefix.as_str())
            .map_err(|e| usage(e.to_string()))?;
    }
    let method = parse_method(method)?;
    // The reason alone on stderr, so scripts can match it.
    let not_valid = |reason: &str| {
        eprintln!("{reason}");
        runtime_failure("")
    };
    let uri: Uri = target
        .parse()
        .map_err(|_| not_valid(RejectionKind::MalformedPath.as_str()))?;
    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    if let Some(ip) = client_ip {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::new(ip, 0)));
    }
    match layer.check_request(&request) {
        Ok(_) => {
            println!("valid");
            Ok(())
        }
        // The stable label (`bad_signature`, `expired`, `unknown_key`, ...).
        Err(rejection) => Err(not_valid(rejection.kind().as_str())),
    }
}

fn revoke(group: &str, redis: &str, ttl: u64, volatile: bool) -> Result<(), Failure> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| runtime_failure(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        let store = redis_store(redis, false).await?;
        // Only the store and the clock matter for a revocation; the key is never used.
        let layer = SecureLinkLayer::new(
            Key::new("revoke", [0u8; MIN_SECRET_LEN])
                .map_err(|e| runtime_failure(e.to_string()))?,
        )
        .with_nonce_store(store);
        let until = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
            .saturating_add(ttl);
        let mut revocation = layer.revoke_group(group, until);
        if volatile {
            revocation = revocation.allow_volatile();
        }
        revocation.await.map_err(|e| match e.kind() {
            StoreErrorKind::WouldBeForgotten => usage(format!(
                "--redis: {e}; turn on appendonly or save in that Redis, or pass --volatile to \
                 revoke until its next restart"
            )),
            _ => usage(format!("--group {group:?}: {e}")),
        })?;
        println!("revoked {group} until {until}");
        Ok(())
    })
}

/// What `serve` is given.
#[derive(Args)]
struct ServeArgs {
    /// The folder to serve (default: the demo folder shipped with the example).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Serve the demo page of live links at `/` (the default without --root; ROOT must
    /// then hold the demo's private/ files).
    #[arg(long)]
    demo: bool,
    /// Where to listen; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// A private prefix (repeatable; default /private/).
    #[arg(long, value_name = "PREFIX")]
    private: Vec<String>,
    /// A public exception inside a private prefix (repeatable).
    #[arg(long, value_name = "PREFIX")]
    public: Vec<String>,
    /// Keep one-time link state in Redis at this URL (a Redis Cluster node works too).
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Refuse to start when the Redis keeps nothing across its restarts (no AOF, no RDB),
    /// since a restart would let every used one-time link work once more.
    #[arg(long, requires = "redis")]
    redis_require_persistence: bool,
    /// For this long after a one-time link's first use, GET requests whose Range starts past
    /// byte 0 are still admitted (what a <video> element sends), with any If-Range removed.
    #[arg(long, value_name = "SECONDS")]
    resume_window: Option<u64>,
    /// Let browsers keep files served through a valid link for up to SECONDS, never past the
    /// link's expiry (`Cache-Control: private, max-age=N`).
    #[arg(long, value_name = "SECONDS")]
    private_cache: Option<u64>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    scheme: SchemeArgs,
}

fn serve(args: ServeArgs) -> Result<(), Failure> {
    let ServeArgs {
        root,
        demo,
        addr,
        private,
        public,
        redis,
        redis_require_persistence,
        resume_window,
        private_cache,
        limits,
        scheme,
    } = args;
    let scheme = &scheme;
    let limits = limits.limits()?;
    // Without --root, the demo: its folder and a page of live links at `/`.
    let demo = demo || root.is_none();
    let root = root
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo")));
    if !root.is_dir() {
        return Err(usage(format!("--root {}: not a folder", root.display())));
    }
    let random_key = secret_from_env()?.is_none() && scheme.format != Format::Ed25519;
    let secret = match secret_from_env()? {
        Some(secret) => Some(secret),
        // Public keys are enough to verify Ed25519 links.
        None if scheme.format == Format::Ed25519 => None,
        None => {
            eprintln!(
                "secure-link: SECURE_LINK_KEY is not set; using a random key for this run \
                 (links stop working when the server stops)"
            );
            Some(random_secret()?)
        }
    };
    let private = if private.is_empty() {
        vec!["/private/".to_owned()]
    } else {
        private
    };
    let mut layer = layer_for(scheme, secret.as_deref())?;
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
    if let Some(window) = resume_window {
        layer = layer.with_one_time_resume_window(Duration::from_secs(window));
    }
    if let Some(max_age) = private_cache {
        layer = layer.with_private_caching(Duration::from_secs(max_age));
    }
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| runtime_failure(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        if let Some(url) = &redis {
            let store = redis_store(url, redis_require_persistence).await?;
            #[cfg(feature = "redis")]
            say_if_revocations_would_be_forgotten(&store);
            layer = layer.with_nonce_store(store);
        }
        let signer = layer.signer();
        let mut files = Router::new().fallback_service(ServeDir::new(&root));
        if demo {
            let setup = std::sync::Arc::new(demo::Setup {
                resume_window,
                random_key,
            });
            let page_signer = signer.clone();
            files = files.route(
                "/",
                axum::routing::get(move || {
                    let html = demo::page(&page_signer, &setup);
                    async move { axum::response::Html(html) }
                }),
            );
        }
        // Refusals say why in a browser (the library's default is an empty body).
        let layer = layer.with_rejection_response(
            demo::refusal_page
                as fn(&tower_secure_link::Rejection) -> http::Response<axum::body::Body>,
        );
        // The layer outside the whole router, with no router in front of it: it sees every path
        // as the client sent it, and opaque links are routed afresh to their hidden target.
        let app = tower::Layer::layer(&layer, files);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| runtime_failure(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| runtime_failure(e.to_string()))?;
        // A reader that went away must not take the server down with it: ignore write errors.
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "listening on http://{local}");
        let _ = writeln!(
            stdout,
            "http://{local}{}",
            sample_link(&signer, &root, &private[0])
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
        server::run(listener, app, limits, shutdown_signal())
            .await
            .map_err(|e| runtime_failure(format!("server error: {e}")))
    })
}

#[cfg(feature = "nginx")]
fn nginx_config(location: &str, alias: &str, args: &NginxArgs) -> Result<(), Failure> {
    let scheme = nginx_scheme(args, &required_secret()?)?;
    let block = scheme
        .location_block(location, alias)
        .map_err(|e| usage(e.to_string()))?;
    print!("{block}");
    Ok(())
}

#[cfg(feature = "redis")]
async fn redis_store(
    url: &str,
    require_persistence: bool,
) -> Result<tower_secure_link::one_time::RedisNonceStore, Failure> {
    let mut builder = tower_secure_link::one_time::RedisNonceStore::builder(url);
    if require_persistence {
        builder = builder.require_persistence();
    }
    let store = builder.connect().await.map_err(|e| {
        let fix = if require_persistence {
            " (turn on appendonly or save, or drop --redis-require-persistence)"
        } else {
            " (is redis-server running at that address?)"
        };
        usage(format!("--redis {}: {e}{fix}", redacted_url(url)))
    })?;
    eprintln!(
        "secure-link: one-time links in Redis{}; {}",
        if store.is_cluster() { " Cluster" } else { "" },
        store.persistence().describe()
    );
    Ok(store)
}

/// `serve --redis`: revocations live in the same Redis, so say at start when a restart of it
/// would undo them.
#[cfg(feature = "redis")]
fn say_if_revocations_would_be_forgotten(store: &tower_secure_link::one_time::RedisNonceStore) {
    use tower_secure_link::one_time::Durability;
    match store.persistence().durability() {
        Durability::LostOnRestart => eprintln!(
            "secure-link: this Redis would forget revocations when it restarts (revoked groups \
             work again); `secure-link revoke` refuses to revoke here without --volatile"
        ),
        Durability::Unknown => eprintln!(
            "secure-link: this Redis did not say whether it keeps revocations across restarts; \
             `secure-link revoke` refuses to revoke here without --volatile"
        ),
        _ => {}
    }
}

/// A Redis URL without its password.
#[cfg(feature = "redis")]
fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://REDACTED{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(not(feature = "redis"))]
async fn redis_store(
    _: &str,
    _: bool,
) -> Result<tower_secure_link::one_time::MemoryNonceStore, Failure> {
    Err(usage(
        "this build has no Redis support: build with --all-features (or --features redis)",
    ))
}

#[cfg(feature = "nginx")]
fn accel_config(
    location: &str,
    internal: &str,
    alias: &str,
    upstream: &str,
) -> Result<(), Failure> {
    let config = tower_secure_link::nginx::accel_config(location, internal, alias, upstream)
        .map_err(|e| usage(e.to_string()))?;
    print!("{config}");
    Ok(())
}

#[cfg(not(feature = "nginx"))]
fn accel_config(_: &str, _: &str, _: &str, _: &str) -> Result<(), Failure> {
    Err(usage(
        "this build has no nginx support: build with --all-features (or --features nginx)",
    ))
}

#[cfg(not(feature = "nginx"))]
fn nginx_config(_: &str, _: &str, args: &NginxArgs) -> Result<(), Failure> {
    nginx_layer(args, "", false).map(|_| ())
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

/// 32 random bytes as 64 hex characters: valid for both formats and for nginx's syntax.
fn random_secret() -> Result<String, Failure> {
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret)
        .map_err(|e| runtime_failure(format!("no randomness for a key: {e}")))?;
    Ok(secret.iter().map(|b| format!("{b:02x}")).collect())
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
