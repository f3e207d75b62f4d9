//! The command line: every clap type, the help texts and the checks of single arguments.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use http::Method;

use crate::failure::{usage, Failure};
use crate::server;

#[derive(Parser)]
#[command(
    name = "secure-link",
    version,
    about = "Signed, expiring links for private files"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
const NGINX_ENV_HELP: &str = concat!(
    "Environment:
  SECURE_LINK_KEY       the secret written into the secure_link_md5 expression (with
                        --native, the native key, written into a script only root reads)",
    more_key_variables!()
);

#[derive(Subcommand)]
pub enum Command {
    /// Print a signed request target for TARGET (a path with an optional query).
    #[command(after_help = KEY_ENV_HELP)]
    Sign(SignArgs),
    /// Check a signed request target as the layer would.
    #[command(after_help = KEY_ENV_HELP)]
    Verify(VerifyArgs),
    /// Serve a folder over HTTP with the layer in front.
    #[command(after_help = SERVE_ENV_HELP)]
    Serve(ServeArgs),
    /// Refuse every link of a revocation group, on every `serve --redis URL` sharing that Redis.
    Revoke(RevokeArgs),
    /// Print a new key as shell-ready lines: an HMAC secret, or with --ed25519 a key pair.
    Keygen(KeygenArgs),
    /// Print an nginx location block that verifies `--format nginx` links.
    #[command(after_help = NGINX_ENV_HELP)]
    NginxConfig(NginxConfigArgs),
    /// Print a child key, as shell-ready lines, that mints links only under FOLDER, for the
    /// given methods, until its deadline; servers holding only the root key accept its links.
    #[command(after_help = KEY_ENV_HELP)]
    Delegate(DelegateArgs),
}

/// What `delegate` is given.
#[derive(Args)]
pub struct DelegateArgs {
    /// The folder the child may mint links under (ending with `/`).
    #[arg(long, value_name = "FOLDER/")]
    pub prefix: String,
    /// A method the child may mint links for (repeatable; default GET).
    #[arg(long, value_name = "M")]
    pub method: Vec<String>,
    /// How long the delegation lasts, in seconds: no link of the child expires later.
    #[arg(long, value_name = "SECONDS", default_value_t = 7 * 24 * 60 * 60)]
    pub ttl: u64,
    /// The child's id (for logs and its own configuration; default: random).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Every link of the child carries this revocation group: `revoke --group ID` ends the
    /// delegation.
    #[arg(long, value_name = "ID")]
    pub group: Option<String>,
    /// The root's key kind: `hmac` (SECURE_LINK_KEY a secret) or `ed25519` (SECURE_LINK_KEY
    /// an Ed25519 private key; the child gets a key pair of its own, certified by the root).
    #[arg(long, value_enum, default_value = "hmac")]
    pub format: Format,
}

/// What `sign` is given.
#[derive(Args)]
pub struct SignArgs {
    /// Lifetime from now, in seconds (default: the layer's default lifetime).
    #[arg(long, value_name = "SECONDS", conflicts_with = "expires")]
    pub ttl: Option<u64>,
    /// Absolute expiry in Unix seconds; a time in the past mints an expired link. With
    /// `--format nginx` the digits are kept as written, leading zeros included.
    #[arg(long, value_name = "UNIX")]
    pub expires: Option<String>,
    /// The HTTP method the link is for (a GET link also allows HEAD).
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// The link can be used once.
    #[arg(long)]
    pub one_time: bool,
    /// The link is admitted exactly N times (1 to 100) across every server sharing the store;
    /// `--uses 1` is `--one-time`.
    #[arg(long, value_name = "N", conflicts_with = "one_time")]
    pub uses: Option<u32>,
    /// A one-time link that mail scanners cannot use up: GET and HEAD answer a page with one
    /// button; the button's POST uses the link and gets the file.
    #[arg(long)]
    pub confirm: bool,
    /// nginx formats: the client address, for templates that use {remote_addr}.
    #[arg(long, value_name = "IP")]
    pub client_ip: Option<IpAddr>,
    /// The link works only from this client network (repeatable; an IPv4 or IPv6 address, or
    /// a CIDR block such as 203.0.113.0/24). Elsewhere it gets 403 (ip_not_allowed).
    #[arg(long = "ip", value_name = "CIDR")]
    pub networks: Vec<String>,
    /// The response downloads as NAME (`Content-Disposition: attachment`, RFC 6266), signed.
    #[arg(long, value_name = "NAME", conflicts_with = "inline_as")]
    pub download_as: Option<String>,
    /// The browser shows the response and saves it as NAME (`Content-Disposition: inline`).
    #[arg(long, value_name = "NAME")]
    pub inline_as: Option<String>,
    /// The response's Content-Type is TYPE (type/subtype with optional `; name=value`), signed.
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
    /// Cache-stable links: round the expiry up to a multiple of SECONDS (from the Unix
    /// epoch), so every sign of TARGET within one window prints the same link.
    #[arg(long, value_name = "SECONDS")]
    pub window: Option<u64>,
    /// Version-bound links: bind the link to FILE's current version (its modification time
    /// and size), as `serve` will see the file it serves for TARGET; once FILE is touched,
    /// replaced, or replaced with another size under the same time (`cp -p`), the link gets
    /// 410. FILE must be a regular file.
    #[arg(long, value_name = "FILE")]
    pub bind_file: Option<PathBuf>,
    /// Put the link in revocation group ID (1 to 64 characters of A-Z a-z 0-9 . _ -);
    /// `revoke --group ID` refuses every link of the group at once.
    #[arg(long, value_name = "ID")]
    pub group: Option<String>,
    /// Print an opaque link, `/s/<token>`: neither the path, the file name, the query nor
    /// the expiry can be read from it.
    #[arg(long)]
    pub opaque: bool,
    /// A folder link for TARGET (a folder ending with `/`), printed in its path-segment form
    /// `FOLDER/sl_t~.../`: append any file name under the folder.
    #[arg(long)]
    pub folder: bool,
    /// With --folder: the link, when used, also sets a cookie scoped to the folder that admits
    /// GET and HEAD requests under it, without any link, for SECONDS (capped by the maximum
    /// lifetime).
    #[arg(long, value_name = "SECONDS", requires = "folder")]
    pub cookie_session: Option<u64>,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// The target to sign.
    pub target: String,
}

/// What `verify` is given.
#[derive(Args)]
pub struct VerifyArgs {
    /// The method the request would use.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// Treat only paths under this prefix as private (repeatable; default: every path).
    #[arg(long, value_name = "PREFIX")]
    pub private: Vec<String>,
    /// nginx formats: the client address, for templates that use {remote_addr}.
    #[arg(long, value_name = "IP")]
    pub client_ip: Option<IpAddr>,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// The signed target to check.
    pub target: String,
}

/// What `serve` is given.
#[derive(Args)]
pub struct ServeArgs {
    /// The folder to serve (default: the demo folder shipped with the example).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Serve the demo page of live links at `/` (the default without --root; ROOT must
    /// then hold the demo's private/ files).
    #[arg(long)]
    pub demo: bool,
    /// Where to listen; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// A private prefix (repeatable; default /private/).
    #[arg(long, value_name = "PREFIX")]
    pub private: Vec<String>,
    /// A public exception inside a private prefix (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub public: Vec<String>,
    /// Keep one-time link state in Redis at this URL (a Redis Cluster node works too).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Refuse to start when the Redis keeps nothing across its restarts (no AOF, no RDB),
    /// since a restart would let every used one-time link work once more.
    #[arg(long, requires = "redis")]
    pub redis_require_persistence: bool,
    /// For this long after a one-time link's first use, GET requests whose Range starts past
    /// byte 0 are still admitted (what a <video> element sends), with any If-Range removed.
    #[arg(long, value_name = "SECONDS")]
    pub resume_window: Option<u64>,
    /// Let browsers keep files served through a valid link for up to SECONDS, never past the
    /// link's expiry (`Cache-Control: private, max-age=N`).
    #[arg(long, value_name = "SECONDS")]
    pub private_cache: Option<u64>,
    /// A query parameter links may gain on their way without breaking (repeatable; a
    /// trailing `*` matches a prefix, e.g. `utm_*`); it is removed before the files see it.
    #[arg(long = "ignore-param", value_name = "NAME")]
    pub ignore_param: Vec<String>,
    /// A proxy in front of the server (repeatable; an address or a CIDR block): from such
    /// peers the client address of links bound to networks is read from X-Forwarded-For (the
    /// right-most address that is not a trusted proxy); from any other peer it never is.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxy: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub scheme: SchemeArgs,
}

/// What `revoke` is given.
#[derive(Args)]
pub struct RevokeArgs {
    /// The group to revoke.
    #[arg(long, value_name = "ID")]
    pub group: String,
    /// The Redis the servers keep their one-time and revocation state in.
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// How long to refuse the group's links, in seconds (default: the maximum lifetime,
    /// 7 days, which outlives every link of the group).
    #[arg(long, value_name = "SECONDS", default_value_t = 7 * 24 * 60 * 60)]
    pub ttl: u64,
    /// Revoke even when that Redis keeps nothing across its restarts (no appendonly, no
    /// save) or will not say: after its next restart the group's links work again.
    #[arg(long)]
    pub volatile: bool,
}

/// What `keygen` is given.
#[derive(Args)]
pub struct KeygenArgs {
    /// An Ed25519 key pair: SECURE_LINK_KEY (private, for sign) and
    /// SECURE_LINK_PUBLIC_KEYS (id:public key, for verify and serve).
    #[arg(long)]
    pub ed25519: bool,
    /// The key id links will carry.
    #[arg(long, value_name = "ID", default_value = "1")]
    pub key_id: String,
}

/// What `nginx-config` is given.
#[derive(Args)]
pub struct NginxConfigArgs {
    /// The location prefix.
    #[arg(long, default_value = "/private/")]
    pub location: String,
    /// The folder nginx serves the location from.
    #[arg(long)]
    pub alias: String,
    /// X-Accel-Redirect instead: the internal location nginx serves ALIAS under, while
    /// LOCATION is proxied to the backend at --upstream, which checks the links.
    #[arg(long, value_name = "PREFIX", requires = "upstream")]
    pub accel_internal: Option<String>,
    /// The backend (host:port) for --accel-internal.
    #[arg(long, value_name = "HOST:PORT", requires = "accel_internal")]
    pub upstream: Option<String>,
    /// nginx itself verifies native links (with its JavaScript module): no backend in the
    /// data path. Keys from SECURE_LINK_KEY, SECURE_LINK_KEY_ID and SECURE_LINK_OLD_KEYS.
    #[arg(long, conflicts_with = "accel_internal")]
    pub native: bool,
    /// With --native: the folder the scripts are written into (default: the current folder).
    #[arg(long, value_name = "DIR", requires = "native")]
    pub js_dir: Option<std::path::PathBuf>,
    /// With --native: the application (http://HOST:PORT) that links nginx cannot decide
    /// alone (one-time, upload, group, version, opaque) are proxied to; without it they get
    /// 403.
    #[arg(long, value_name = "URL", requires = "native")]
    pub fallback: Option<String>,
    #[command(flatten)]
    pub nginx: NginxArgs,
}

/// What a slow or idle client may hold; see `server.rs`.
#[derive(Args)]
pub struct LimitArgs {
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
    pub fn limits(&self) -> Result<server::Limits, Failure> {
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
pub struct SchemeArgs {
    /// The link format.
    #[arg(long, value_enum, default_value_t = Format::Hmac)]
    pub format: Format,
    /// The longest lifetime a native link may have, in seconds (default 7 days); sign, verify
    /// and serve must agree.
    #[arg(long, value_name = "SECONDS", default_value_t = 7 * 24 * 60 * 60)]
    pub max_lifetime: u64,
    /// Where opaque links live (native format); sign, verify and serve must agree.
    #[arg(long, value_name = "PREFIX", default_value = "/s/")]
    pub opaque_prefix: String,
    #[command(flatten)]
    pub nginx: NginxArgs,
}

/// Settings of the nginx format; they must match the nginx configuration.
#[derive(Args)]
pub struct NginxArgs {
    /// nginx format: the token parameter name.
    #[arg(long, default_value = "token")]
    pub token_param: String,
    /// nginx format: the expiry parameter name.
    #[arg(long, default_value = "expires")]
    pub expires_param: String,
    /// nginx format: the MD5 expression, with {expires}, {uri}, {secret} and literal text.
    #[arg(long, default_value = "{expires}{uri} {secret}")]
    pub template: String,
    /// nginx format: links without expiry (`secure_link $arg_token;`).
    #[arg(long)]
    pub no_expiry: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
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

/// A method in any case (`put` is `PUT`).
pub fn parse_method(method: &str) -> Result<Method, Failure> {
    Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
        usage(format!(
            "--method {method:?}: not an HTTP method (GET, HEAD, POST, PUT, DELETE, ...)"
        ))
    })
}
