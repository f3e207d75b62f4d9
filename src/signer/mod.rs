//! Minting links: [`UrlSigner`] and its [`LinkBuilder`].
//!
//! The signer comes from the layer ([`SecureLinkLayer::signer`](crate::SecureLinkLayer::signer))
//! and is also placed in every request's extensions, so handlers, templates and background jobs
//! mint links with exactly the settings the layer verifies with. It is an `Arc` inside: clone it
//! freely.
//!
//! A target is a path with an optional query, written plainly (`/private/a b.pdf?v=2`) or
//! escaped (`/private/a%20b.pdf?v=2`). The signer escapes what a URL cannot hold, normalises the
//! path as the layer will, and appends the signing parameters.
//!
//! ```
//! use std::time::Duration;
//! use http::Method;
//! use tower_secure_link::{Key, SecureLinkLayer};
//!
//! let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
//! let signer = layer.signer();
//!
//! let link = signer.sign("/private/report 2026.pdf").unwrap();
//! assert!(link.starts_with("/private/report%202026.pdf?sl_kid=1&sl_exp="));
//!
//! let upload = signer
//!     .link("/private/uploads/new.bin")
//!     .method(Method::PUT)
//!     .expires_in(Duration::from_secs(600))
//!     .to_url("https://files.example.com")
//!     .unwrap();
//! assert!(upload.starts_with("https://files.example.com/private/uploads/new.bin?"));
//!
//! // A target that already carries a signing parameter is refused.
//! assert!(signer.sign("/private/x?sl_sig=forged").is_err());
//! ```

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{Method, Uri};

mod folder;

pub use folder::PrefixLinkBuilder;

use crate::format::path_token_position;
use crate::key::Keyring;
use crate::path::{canonical_for_minting, decode_canonical, Route};
use crate::settings::{Scheme, Settings};
use crate::token::{
    append_signing_params, is_group, is_method_scope, signing_params_len, AppQuery, Claims,
    Decimal, Scope, DEFAULT_METHOD, NONCE_LEN,
};

/// The version tower-http's `ServeDir` will report for the file at `path`: its `Last-Modified`
/// value (the modification time in whole seconds) and its size in bytes, written
/// `<Last-Modified>; size=<bytes>`. Bind a link to it with [`LinkBuilder::version`]: the layer
/// then passes a response only when it carries that `Last-Modified` and reports that size (its
/// `Content-Length`, or the total of its `Content-Range`), and answers 410 otherwise. So
/// touching the file, replacing it, and replacing it with another size while keeping its
/// modification time (`cp -p`, `rsync -t`) all end its links.
///
/// The limit: a replacement of the same size with the same modification time, to the second,
/// keeps the version. Where that matters, have the service send an `ETag` derived from the
/// content (a hash) and bind links to that value instead.
///
/// Fails for anything but a regular file (`ServeDir` serves no bytes for a folder), and for a
/// modification time before 1970 or after 9999, which no `Last-Modified` can write.
pub fn file_version(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file: only a file's version can be bound",
        ));
    }
    let modified = last_modified(metadata.modified()?).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the modification time is before 1970 or after 9999, which Last-Modified cannot hold",
        )
    })?;
    Ok(format!("{modified}{VERSION_SIZE_MARK}{}", metadata.len()))
}

/// What separates the `Last-Modified` value from the size in a [`file_version`]. No HTTP date
/// holds it, so a validator with it is never mistaken for a bare `Last-Modified`.
pub(crate) const VERSION_SIZE_MARK: &str = "; size=";

/// `modified` as an HTTP date, when one can write it (`httpdate` panics outside 1970..=9999).
pub(crate) fn last_modified(modified: std::time::SystemTime) -> Option<String> {
    const YEAR_10000: u64 = 253_402_300_800;
    let seconds = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    (seconds < YEAR_10000).then(|| httpdate::fmt_http_date(modified))
}

/// A [`file_version`] validator read back: the `Last-Modified` bytes and the size. `None` for
/// any other validator (an `ETag`, a bare `Last-Modified`, an application's own version).
pub(crate) fn split_file_version(validator: &[u8]) -> Option<(&[u8], u64)> {
    let mark = VERSION_SIZE_MARK.as_bytes();
    let at = validator
        .windows(mark.len())
        .rposition(|window| window == mark)?;
    let size = &validator[at + mark.len()..];
    if size.is_empty() || size.len() > 20 || !size.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(size).ok()?.parse().ok()?;
    Some((&validator[..at], size))
}

/// The largest number a link carries: verifiers read seconds and byte counts as signed 64-bit
/// numbers, so anything above would mint a link every verifier calls malformed.
pub(crate) const MAX_NUMBER: u64 = i64::MAX as u64;

/// The longest link that can reach a layer: `http::Uri` holds at most this many bytes.
pub(crate) const MAX_LINK_LEN: usize = u16::MAX as usize - 1;

/// The longest validator a link carries: 256 characters of base64url, as verifiers read it.
const MAX_VERSION_LEN: usize = 192;

/// Mints signed links. Cheap to clone.
#[derive(Clone)]
pub struct UrlSigner {
    settings: Arc<Settings>,
}

impl UrlSigner {
    pub(crate) fn new(settings: Arc<Settings>) -> Self {
        Self { settings }
    }

    /// A GET link (also good for HEAD) to `target` that lives for the default lifetime.
    pub fn sign(&self, target: &str) -> Result<String, SignError> {
        self.link(target).to_target()
    }

    /// The URL a page should use for `target`, whatever it is: its plain path when the layer
    /// treats it as public, a signed GET link (default lifetime) when it is private. Like a
    /// Django storage's `url(name)`, templates can call it for every file.
    ///
    /// ```
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
    ///     .with_private_prefix("/media/private/")
    ///     .unwrap();
    /// let signer = layer.signer();
    /// assert_eq!(signer.url("/media/logo 2026.png").unwrap(), "/media/logo%202026.png");
    /// assert!(signer.url("/media/private/cv.pdf").unwrap().contains("sl_sig="));
    /// ```
    pub fn url(&self, target: &str) -> Result<String, SignError> {
        let (raw_path, query) = target.split_once('?').unwrap_or((target, ""));
        let path =
            canonical_for_minting(raw_path).map_err(|_| fail(SignErrorKind::InvalidTarget))?;
        match self.settings.prefixes.route(&path) {
            Route::Public(_) => {
                let query = escape_query(query);
                Ok(if query.is_empty() {
                    path.into_owned()
                } else {
                    format!("{path}?{query}")
                })
            }
            _ => self.sign(target),
        }
    }

    /// Starts an nginx `secure_link` link to `target`, with the options only nginx links have
    /// (an expiry written as given, no expiry, a bound client address). The signer's layer must
    /// use the nginx scheme.
    #[cfg(feature = "nginx")]
    #[cfg_attr(docsrs, doc(cfg(feature = "nginx")))]
    pub fn nginx_link<'a>(&'a self, target: &'a str) -> NginxLinkBuilder<'a> {
        NginxLinkBuilder {
            link: self.link(target),
        }
    }

    /// Starts a link to `target` whose method, lifetime or start time can be chosen.
    pub fn link<'a>(&'a self, target: &'a str) -> LinkBuilder<'a> {
        LinkBuilder {
            signer: self,
            target,
            method: Method::GET,
            expiry: Expiry::Default,
            not_before: None,
            client_ip: None,
            one_time: false,
            max_body: None,
            window: None,
            version: None,
            group: None,
            opaque: false,
        }
    }

    /// Starts a link that grants everything under `folder` (a path ending with `/`), such as a
    /// video's playlist and all its segments. GET and HEAD only; the application query is not
    /// bound.
    ///
    /// ```
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// let signer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap()).signer();
    /// // In a path segment, so relative URLs inside the playlist keep the token:
    /// let base = signer.prefix_link("/private/videos/42/").to_path_base().unwrap();
    /// assert!(base.starts_with("/private/videos/42/sl_t~1~"));
    /// let playlist = format!("{base}index.m3u8");
    /// // Or as query parameters for any path under the folder:
    /// let query = signer.prefix_link("/private/videos/42/").to_query().unwrap();
    /// let segment = format!("/private/videos/42/seg-1.ts?{query}");
    /// # let _ = (playlist, segment);
    /// ```
    pub fn prefix_link<'a>(&'a self, folder: &'a str) -> PrefixLinkBuilder<'a> {
        PrefixLinkBuilder::new(self, folder)
    }

    pub(crate) fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// The id of the key new links are signed with (`None` for the nginx scheme).
    pub fn key_id(&self) -> Option<String> {
        match &self.settings.scheme {
            Scheme::Native(keyring) => Some(keyring.load().signing_key().id().to_owned()),
            #[cfg(feature = "nginx")]
            Scheme::Nginx(_) => None,
        }
    }
}

impl fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlSigner")
            .field("key_id", &self.key_id())
            .field("param_prefix", &self.settings.names.prefix)
            .finish_non_exhaustive()
    }
}

impl Expiry<'_> {
    /// The expiry of a native link: numeric, rounded up to a multiple of `window` seconds when
    /// one is given, and within the maximum lifetime from now.
    pub(crate) fn native_expiry(
        self,
        settings: &Settings,
        window: Option<u64>,
    ) -> Result<u64, SignError> {
        let now = settings.clock.now_unix();
        let expires = match self {
            Expiry::Default => now.saturating_add(settings.default_lifetime),
            Expiry::In(lifetime) => now.saturating_add(lifetime.as_secs()),
            Expiry::At(at) => at,
            Expiry::Raw(_) | Expiry::Never => {
                return Err(fail(SignErrorKind::NotSupportedByScheme))
            }
        };
        // Every link minted within one window gets the same expiry, so the same bytes.
        let expires = match window.filter(|window| *window > 0) {
            Some(window) => expires.div_ceil(window).saturating_mul(window),
            None => expires,
        };
        if expires > now.saturating_add(settings.max_lifetime) {
            return Err(fail(SignErrorKind::LifetimeTooLong));
        }
        // A maximum lifetime of centuries lets the sum reach past what any verifier reads.
        if expires > MAX_NUMBER {
            return Err(fail(SignErrorKind::OutOfRange));
        }
        Ok(expires)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Expiry<'a> {
    Default,
    In(Duration),
    At(u64),
    // Only nginx links carry an expiry as written, or none.
    #[cfg_attr(not(feature = "nginx"), allow(dead_code))]
    Raw(&'a str),
    #[cfg_attr(not(feature = "nginx"), allow(dead_code))]
    Never,
}

/// An nginx `secure_link` link being minted (see [`UrlSigner::nginx_link`]): the expiry, the
/// options only nginx links have, then [`to_target`](Self::to_target) or
/// [`to_url`](Self::to_url).
#[cfg(feature = "nginx")]
#[cfg_attr(docsrs, doc(cfg(feature = "nginx")))]
#[derive(Debug, Clone)]
#[must_use]
pub struct NginxLinkBuilder<'a> {
    link: LinkBuilder<'a>,
}

#[cfg(feature = "nginx")]
impl<'a> NginxLinkBuilder<'a> {
    /// The link expires this long from now.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.link = self.link.expires_in(lifetime);
        self
    }

    /// The link expires at this Unix time.
    pub fn expires_at(mut self, unix_seconds: u64) -> Self {
        self.link = self.link.expires_at(unix_seconds);
        self
    }

    /// The expiry exactly as the link carries it, leading zeros included (nginx hashes the text
    /// as written).
    pub fn expires_at_text(mut self, digits: &'a str) -> Self {
        self.link.expiry = Expiry::Raw(digits);
        self
    }

    /// No expiry (for `secure_link $arg_token;` without an expiry argument).
    pub fn never_expires(mut self) -> Self {
        self.link.expiry = Expiry::Never;
        self
    }

    /// The client address the link is bound to, for templates that use `{remote_addr}`.
    pub fn client_ip(mut self, ip: IpAddr) -> Self {
        self.link.client_ip = Some(ip);
        self
    }

    /// The signed request target: path and query.
    pub fn to_target(&self) -> Result<String, SignError> {
        self.link.to_target()
    }

    /// The signed link as a full URL on `base`.
    pub fn to_url(&self, base: &str) -> Result<String, SignError> {
        self.link.to_url(base)
    }
}

/// One link being minted; finish it with [`to_target`](Self::to_target) or
/// [`to_url`](Self::to_url).
#[derive(Debug, Clone)]
#[must_use]
pub struct LinkBuilder<'a> {
    signer: &'a UrlSigner,
    target: &'a str,
    method: Method,
    expiry: Expiry<'a>,
    not_before: Option<u64>,
    // Set through `NginxLinkBuilder` only.
    #[cfg_attr(not(feature = "nginx"), allow(dead_code))]
    client_ip: Option<IpAddr>,
    one_time: bool,
    max_body: Option<u64>,
    window: Option<u64>,
    /// The bound version, base64url-encoded as the link carries it, or why it cannot be bound
    /// (reported when the link is minted, like every other refusal).
    version: Option<Result<String, SignErrorKind>>,
    group: Option<&'a str>,
    opaque: bool,
}

impl<'a> LinkBuilder<'a> {
    /// Cache-stable links: rounds the expiry up to the next multiple of `window` (counted from
    /// the Unix epoch), so every link to the same target minted within one window is the same,
    /// byte for byte, and browsers and CDNs can reuse what they cached. The link then lives up
    /// to `window` longer than asked; the rounded expiry must still be within the maximum
    /// lifetime.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_secure_link::{Key, ManualClock, SecureLinkLayer};
    ///
    /// let clock = ManualClock::new(1_700_000_000);
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap()).with_clock(clock.clone());
    /// let signer = layer.signer();
    /// let mint = || signer.link("/avatar.png").window(Duration::from_secs(3600)).to_target();
    /// let first = mint().unwrap();
    /// clock.advance(60);
    /// assert_eq!(mint().unwrap(), first);
    /// ```
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window.as_secs());
        self
    }

    /// Version-bound links: the link is only good while the inner service answers with this
    /// validator, its `ETag` or `Last-Modified` header value exactly (see [`file_version`] for
    /// a file served by tower-http's `ServeDir`, which also binds the file's size). When the
    /// resource changes, the layer answers 410 (`version_changed`) instead of the new content.
    /// GET links only; a validator is 1 to 192 bytes that a header value can hold (minting
    /// refuses others with [`SignErrorKind::InvalidVersion`]).
    pub fn version(mut self, validator: &str) -> Self {
        let bytes = validator.as_bytes();
        // The bytes `http::HeaderValue` accepts: a validator outside them matches no response.
        let header_safe = bytes
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f));
        self.version = Some(
            if (1..=MAX_VERSION_LEN).contains(&bytes.len()) && header_safe {
                Ok(URL_SAFE_NO_PAD.encode(bytes))
            } else {
                Err(SignErrorKind::InvalidVersion)
            },
        );
        self
    }

    /// Opaque links: the link becomes `/<opaque prefix>/<token>`, where the token seals the
    /// target, the method, the times and every option with XChaCha20-Poly1305 under a key
    /// derived from the signing key. Nothing of the path, the file name, the query or the
    /// expiry can be read from it; only the key id travels in clear. The layer needs
    /// [`SecureLinkLayer::with_opaque_prefix`](crate::SecureLinkLayer::with_opaque_prefix).
    ///
    /// ```
    /// use http::Method;
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
    ///     .with_private_prefix("/private/").unwrap()
    ///     .with_opaque_prefix("/s/").unwrap();
    /// let link = layer.signer().link("/private/invoice-42.pdf").opaque().to_target().unwrap();
    /// assert!(link.starts_with("/s/") && !link.contains("invoice"));
    /// assert!(layer.check(&Method::GET, &link.parse().unwrap()).is_ok());
    /// ```
    pub fn opaque(mut self) -> Self {
        self.opaque = true;
        self
    }

    /// Puts the link in revocation group `group` (1 to 64 characters of `A-Z a-z 0-9 . _ -`),
    /// bound into its signature. [`SecureLinkLayer::revoke_group`](crate::SecureLinkLayer::revoke_group)
    /// then refuses every link of the group at once (410 `revoked`), without rotating keys.
    /// Only links with a group ask the nonce store; ordinary links never do.
    pub fn group(mut self, group: &'a str) -> Self {
        self.group = Some(group);
        self
    }

    /// The method the link is for (GET by default; a GET link also allows HEAD).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// The link expires this long from now.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expiry = Expiry::In(lifetime);
        self
    }

    /// The link expires at this Unix time (which may be in the past).
    pub fn expires_at(mut self, unix_seconds: u64) -> Self {
        self.expiry = Expiry::At(unix_seconds);
        self
    }

    /// The link is refused before this Unix time.
    pub fn not_before(mut self, unix_seconds: u64) -> Self {
        self.not_before = Some(unix_seconds);
        self
    }

    /// The link works once: the first request with its method uses it up (see
    /// [`one_time`](crate::one_time)). Each call to `to_target` mints a new nonce.
    pub fn one_time(mut self) -> Self {
        self.one_time = true;
        self
    }

    /// An upload slot's size limit: a request body over `bytes` gets 413, and one of unknown
    /// length gets 411, before the inner service reads anything.
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// The signed request target: path and query, to append to a scheme and host.
    pub fn to_target(&self) -> Result<String, SignError> {
        self.build("").and_then(within_link_len)
    }

    /// The signed link as a full URL on `base`, an origin such as `https://files.example.com`.
    pub fn to_url(&self, base: &str) -> Result<String, SignError> {
        let origin = base.strip_suffix('/').unwrap_or(base);
        let valid_origin = origin.parse::<Uri>().is_ok_and(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.authority().is_some()
                && matches!(
                    uri.path_and_query().map(|p| p.as_str()),
                    None | Some("" | "/")
                )
        });
        if !valid_origin || origin.ends_with('/') {
            return Err(SignError::new(SignErrorKind::InvalidBaseUrl));
        }
        self.build(origin).and_then(within_link_len)
    }

    fn build(&self, origin: &str) -> Result<String, SignError> {
        let settings = &*self.signer.settings;
        let (raw_path, raw_query) = match self.target.bytes().position(|b| b == b'?') {
            Some(at) => (&self.target[..at], &self.target[at + 1..]),
            None => (self.target, ""),
        };
        let path =
            canonical_for_minting(raw_path).map_err(|_| fail(SignErrorKind::InvalidTarget))?;
        let query = escape_query(raw_query);
        let reserved = |name: &str| match &settings.scheme {
            Scheme::Native(_) => settings.names.is_reserved(name),
            #[cfg(feature = "nginx")]
            Scheme::Nginx(nginx) => nginx.is_reserved(name),
        };
        if !query.is_empty()
            && query
                .split('&')
                .any(|pair| reserved(pair.split('=').next().unwrap_or("")))
        {
            return Err(fail(SignErrorKind::ReservedParameter));
        }
        let private = classify_target(settings, &path, self.opaque)?;
        if self.opaque && !private {
            return Err(fail(SignErrorKind::NotPrivate));
        }
        let target = Target {
            origin,
            path: &path,
            decoded_path: &decode_canonical(&path),
            query: &query,
        };
        match &settings.scheme {
            Scheme::Native(keyring) => self.build_native(settings, &keyring.load(), &target),
            #[cfg(feature = "nginx")]
            Scheme::Nginx(nginx) => self.build_nginx(settings, nginx, &target),
        }
    }

    fn build_native(
        &self,
        settings: &Settings,
        keyring: &Keyring,
        target: &Target<'_>,
    ) -> Result<String, SignError> {
        let method = self.method.as_str();
        if !is_method_scope(method) {
            return Err(fail(SignErrorKind::InvalidMethod));
        }
        let version = self
            .version
            .as_ref()
            .map(|version| version.as_deref().map_err(|kind| fail(*kind)))
            .transpose()?;
        // A version is checked on what the service answers: only reads have one.
        if version.is_some() && method != DEFAULT_METHOD {
            return Err(fail(SignErrorKind::VersionNeedsGet));
        }
        if self.group.is_some_and(|group| !is_group(group)) {
            return Err(fail(SignErrorKind::InvalidGroup));
        }
        if self.max_body.is_some_and(|limit| limit > MAX_NUMBER) {
            return Err(fail(SignErrorKind::OutOfRange));
        }

        let expires = self.expiry.native_expiry(settings, self.window)?;
        // The expiry is at most `MAX_NUMBER`, so this also keeps not-before within range.
        if self
            .not_before
            .is_some_and(|not_before| not_before > expires)
        {
            return Err(fail(SignErrorKind::InvalidTimes));
        }
        let (mut expires_text, mut not_before_text) = (Decimal::default(), Decimal::default());
        let mut max_body_text = Decimal::default();
        let mut nonce = [0u8; NONCE_LEN];
        let nonce = if self.one_time {
            Some(fresh_nonce(&mut nonce)?)
        } else {
            None
        };
        let key = keyring.signing_key();
        let claims = Claims {
            key_id: key.id(),
            method,
            scope: Scope::Path,
            path: target.decoded_path,
            query: AppQuery::Plain(target.query),
            not_before: self.not_before.map(|at| not_before_text.text(at)),
            expires: expires_text.text(expires),
            nonce,
            max_body: self.max_body.map(|limit| max_body_text.text(limit)),
            version,
            group: self.group,
            session: None,
        };
        if self.opaque {
            return opaque_link(settings, key, target, &claims);
        }
        let signature = key
            .sign(&claims)
            .ok_or(fail(SignErrorKind::VerifyOnlyKey))?;
        let mut link = target.start(signing_params_len(&settings.names, &claims, &signature));
        append_signing_params(&mut link, &settings.names, &claims, &signature);
        Ok(link)
    }

    #[cfg(feature = "nginx")]
    fn build_nginx(
        &self,
        settings: &Settings,
        nginx: &crate::nginx::NginxScheme,
        target: &Target<'_>,
    ) -> Result<String, SignError> {
        if self.method != Method::GET
            || self.not_before.is_some()
            || self.one_time
            || self.max_body.is_some()
            || self.version.is_some()
            || self.group.is_some()
            || self.opaque
        {
            // nginx binds no method, start time, nonce, size limit, version or group into its
            // links, and seals none.
            return Err(fail(SignErrorKind::NotSupportedByScheme));
        }
        if nginx.is_legacy_secret() {
            let mut canonical = target.path.to_owned();
            if !target.query.is_empty() {
                canonical.push('?');
                canonical.push_str(target.query);
            }
            let link = nginx
                .legacy_link(&canonical)
                .ok_or(fail(SignErrorKind::InvalidTarget))?;
            return Ok(format!("{}{link}", target.origin));
        }
        let now = settings.clock.now_unix();
        let mut digits = Decimal::default();
        let expires: Option<&str> = match (nginx.is_expiring(), self.expiry) {
            (true, Expiry::Default) => {
                Some(digits.text(now.saturating_add(settings.default_lifetime)))
            }
            (true, Expiry::In(lifetime)) => {
                Some(digits.text(now.saturating_add(lifetime.as_secs())))
            }
            (true, Expiry::At(at)) => Some(digits.text(at)),
            (true, Expiry::Raw(text)) => Some(text),
            (false, Expiry::Default | Expiry::Never) => None,
            _ => return Err(fail(SignErrorKind::NotSupportedByScheme)),
        };
        let expires_ok = expires.map_or(true, |text| {
            !text.is_empty()
                && text.bytes().all(|b| b.is_ascii_digit())
                && text
                    .parse::<u64>()
                    .is_ok_and(|value| value > 0 && value <= i64::MAX as u64)
        });
        if !expires_ok {
            return Err(fail(SignErrorKind::InvalidTimes));
        }
        if nginx.uses_remote_addr() && self.client_ip.is_none() {
            return Err(fail(SignErrorKind::MissingClientIp));
        }
        let token = nginx.token(expires.unwrap_or(""), target.decoded_path, self.client_ip);
        let expires_len = expires.map_or(0, |text| nginx.expires_param().len() + text.len() + 2);
        let mut link = target.start(nginx.token_param().len() + 1 + token.len() + expires_len);
        link.push_str(nginx.token_param());
        link.push('=');
        link.push_str(&token);
        if let Some(expires) = expires {
            link.push('&');
            link.push_str(nginx.expires_param());
            link.push('=');
            link.push_str(expires);
        }
        Ok(link)
    }
}

/// The parts of a link every scheme shares.
struct Target<'a> {
    origin: &'a str,
    path: &'a str,
    decoded_path: &'a str,
    query: &'a str,
}

impl Target<'_> {
    /// The link up to where the signing parameters go, with room for `signing_len` more bytes.
    fn start(&self, signing_len: usize) -> String {
        let mut link = String::with_capacity(
            self.origin.len() + self.path.len() + 1 + self.query.len() + 1 + signing_len,
        );
        link.push_str(self.origin);
        link.push_str(self.path);
        link.push('?');
        if !self.query.is_empty() {
            link.push_str(self.query);
            link.push('&');
        }
        link
    }
}

/// 16 random bytes as base64url, written into `buffer`.
fn fresh_nonce(buffer: &mut [u8; NONCE_LEN]) -> Result<&str, SignError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|_| fail(SignErrorKind::NoRandomness))?;
    let written = URL_SAFE_NO_PAD
        .encode_slice(bytes, buffer)
        .map_err(|_| fail(SignErrorKind::NoRandomness))?;
    std::str::from_utf8(&buffer[..written]).map_err(|_| fail(SignErrorKind::NoRandomness))
}

/// `/<opaque prefix>/<token>` sealing what an ordinary link would carry.
fn opaque_link(
    settings: &Settings,
    key: &crate::Key,
    target: &Target<'_>,
    claims: &Claims<'_>,
) -> Result<String, SignError> {
    let prefix = settings
        .opaque_prefix
        .as_deref()
        .ok_or_else(|| fail(SignErrorKind::NoOpaquePrefix))?;
    if key.sealer().is_none() {
        return Err(fail(SignErrorKind::VerifyOnlyKey));
    }
    let mut nonce = [0u8; 24];
    getrandom::getrandom(&mut nonce).map_err(|_| fail(SignErrorKind::NoRandomness))?;
    // Sealing fails only for a field over 64 KiB, which no request target could carry anyway.
    let token = crate::format::opaque::seal(key, claims, target.path, &nonce)
        .ok_or_else(|| fail(SignErrorKind::TooLong))?;
    Ok(format!("{}{prefix}{token}", target.origin))
}

pub(crate) fn fail(kind: SignErrorKind) -> SignError {
    SignError::new(kind)
}

/// Whether the layer will read the canonical `path` as a target of its own (`true` when
/// private): refuses a path the boundary refuses whatever it carries (a private prefix in
/// another case), and, unless the link is opaque, one the layer would read as a token: under
/// the opaque prefix, or a private path with a folder-token segment.
pub(crate) fn classify_target(
    settings: &Settings,
    path: &str,
    opaque: bool,
) -> Result<bool, SignError> {
    let private = match settings.prefixes.route(path) {
        Route::Private(_) => true,
        Route::Public(_) => false,
        Route::Reject(_) => return Err(fail(SignErrorKind::InvalidTarget)),
    };
    if !opaque {
        let under_opaque_prefix = settings
            .opaque_prefix
            .as_deref()
            .is_some_and(|prefix| path.starts_with(prefix));
        // Only private paths are searched for a folder token, and only by the native format.
        let token_segment = private
            && matches!(settings.scheme, Scheme::Native(_))
            && path_token_position(path, &settings.names).is_some();
        if under_opaque_prefix || token_segment {
            return Err(fail(SignErrorKind::ReservedPath));
        }
    }
    Ok(private)
}

/// Refuses a link no request target can hold.
pub(crate) fn within_link_len(link: String) -> Result<String, SignError> {
    if link.len() > MAX_LINK_LEN {
        return Err(fail(SignErrorKind::TooLong));
    }
    Ok(link)
}

/// Escapes what a query cannot hold, keeping existing `%XX` escapes and the application's own
/// `&`, `=` and `+` as they are.
fn escape_query(raw: &str) -> Cow<'_, str> {
    let needs_escape = |i: usize, byte: u8| match byte {
        b'%' => !is_escape_at(raw.as_bytes(), i),
        b'#' | b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' => true,
        _ => !byte.is_ascii_graphic(),
    };
    if !raw.bytes().enumerate().any(|(i, b)| needs_escape(i, b)) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() * 3);
    for (i, byte) in raw.bytes().enumerate() {
        if needs_escape(i, byte) {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(byte as char);
        }
    }
    Cow::Owned(out)
}

fn is_escape_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
        && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
}

/// Why a link could not be minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignError {
    kind: SignErrorKind,
}

/// The reasons minting can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignErrorKind {
    /// The target's path does not start with `/`, holds a bad escape, NUL or invalid UTF-8, climbs
    /// above the root, reads differently to different servers (an escaped `/`, a `\`, ...), or
    /// names a private prefix in another letter case (which the layer refuses outright).
    InvalidTarget,
    /// The target's query already uses a name with the reserved prefix.
    ReservedParameter,
    /// The link would live longer than the maximum lifetime.
    LifetimeTooLong,
    /// The not-before time is after the expiry, a folder link's cookie session is under one
    /// second, or an nginx expiry is not positive decimal seconds.
    InvalidTimes,
    /// The method is not a plain upper-case token.
    InvalidMethod,
    /// The link's scheme cannot express what was asked (a method or not-before time in an nginx
    /// link, a raw or missing expiry in a native one).
    NotSupportedByScheme,
    /// The nginx template uses `{remote_addr}` and no client address was given.
    MissingClientIp,
    /// The operating system gave no randomness for a one-time link's nonce.
    NoRandomness,
    /// The base is not an `http` or `https` origin with nothing after the host.
    InvalidBaseUrl,
    /// A revocation group is empty, longer than 64 characters or holds characters outside
    /// `A-Z a-z 0-9 . _ -`.
    InvalidGroup,
    /// An opaque link was asked for, but the layer has no opaque prefix.
    NoOpaquePrefix,
    /// A version was bound to a link for another method than GET (a version is checked on
    /// what the service answers to a read).
    VersionNeedsGet,
    /// The keyring's signing key only verifies (an Ed25519 public key), or an opaque link was
    /// asked of a key that cannot seal one (opaque links need an HMAC key).
    VerifyOnlyKey,
    /// A number the link would carry (its expiry, not-before time or upload limit) is over
    /// 2^63 - 1, the largest a verifier reads.
    OutOfRange,
    /// A version's validator is empty, longer than 192 bytes, or holds a byte no header value
    /// can (a response could never carry it).
    InvalidVersion,
    /// The target's path lies under the layer's opaque prefix, or holds a segment that starts
    /// with the folder-token marker (`sl_t~` by default): the layer would read it as a token.
    ReservedPath,
    /// An opaque link, or a folder link in its path-segment form, for a target the layer
    /// treats as public: the layer would pass the request on without opening the link.
    NotPrivate,
    /// The link would be longer than a request target can be (65,534 bytes, what the `http`
    /// crate's `Uri` holds).
    TooLong,
}

impl SignError {
    pub(crate) fn new(kind: SignErrorKind) -> Self {
        Self { kind }
    }

    /// Why minting failed.
    pub fn kind(&self) -> SignErrorKind {
        self.kind
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            SignErrorKind::InvalidTarget => {
                "the target path must start with '/' and hold no bad escape, NUL, invalid UTF-8, \
                 escaped '/', '\\', or '..' above the root, nor name a private prefix in another \
                 letter case"
            }
            SignErrorKind::ReservedParameter => {
                "the target's query already holds a parameter with the reserved signing prefix"
            }
            SignErrorKind::LifetimeTooLong => "the link would outlive the maximum lifetime",
            SignErrorKind::InvalidTimes => {
                "the times do not fit: the not-before time is after the expiry, a cookie session \
                 is under one second, or an nginx expiry is not a positive number of seconds"
            }
            SignErrorKind::InvalidMethod => "the method must be 1 to 16 upper-case letters",
            SignErrorKind::NotSupportedByScheme => {
                "the link format cannot express that (nginx links bind no method or start \
                 time; native links need a numeric expiry)"
            }
            SignErrorKind::MissingClientIp => "the nginx template needs the client's address",
            SignErrorKind::NoRandomness => "no randomness was available for a one-time nonce",
            SignErrorKind::InvalidBaseUrl => {
                "the base URL must be an http(s) origin such as https://example.com"
            }
            SignErrorKind::InvalidGroup => crate::token::GROUP_RULE,
            SignErrorKind::VersionNeedsGet => {
                "only GET links can be bound to a version (it is checked on the response)"
            }
            SignErrorKind::VerifyOnlyKey => {
                "the signing key cannot mint this link: an Ed25519 public key only verifies \
                 (mint where the private key is), and opaque links need an HMAC key"
            }
            SignErrorKind::NoOpaquePrefix => {
                "opaque links need an opaque prefix on the layer (with_opaque_prefix)"
            }
            SignErrorKind::OutOfRange => {
                "a number in the link (expiry, not-before time or upload limit) is over 2^63 - 1 \
                 (9223372036854775807), the largest a verifier reads: choose an earlier time or \
                 a smaller limit"
            }
            SignErrorKind::InvalidVersion => {
                "a version must be 1 to 192 bytes that a header value can hold (an ETag or \
                 Last-Modified value, or file_version's)"
            }
            SignErrorKind::ReservedPath => {
                "the layer would read this path as a token: it holds a segment starting with \
                 the folder-token marker ('sl_t~' for the default prefix) or lies under the \
                 opaque prefix; rename the segment or sign another path"
            }
            SignErrorKind::NotPrivate => {
                "the target is public to the layer, which would pass the request on without \
                 opening the link: opaque links and folder links in the path need a target \
                 under a private prefix (use a plain link, or the folder link's query form)"
            }
            SignErrorKind::TooLong => {
                "the link would be too long for a request target (at most 65534 bytes): sign a \
                 shorter path or query"
            }
        })
    }
}

impl std::error::Error for SignError {}
