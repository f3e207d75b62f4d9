//! [`SecureLinkLayer`]: the configuration, which is also the builder and the tower `Layer`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{Extensions, HeaderMap, Method, Request, Uri};
use tower_layer::Layer;

use crate::client_addr::ClientAddrRule;
use crate::clock::{Clock, SystemClock};
use crate::config::{fresh_id, Scheme, Settings};
use crate::key::{Key, Keyring, KeyringHandle};
use crate::one_time::{MemoryNonceStore, NonceStore, StoreError};
use crate::path::{canonical_prefix, PrefixError, Prefixes};
use crate::rejection::{DefaultRejectionResponse, Rejection};
use crate::service::SecureLink;
use crate::signer::UrlSigner;
use crate::token::{Network, ParamNames, PatternError};

/// The lifetime of a link minted without one: one hour.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// The longest lifetime a link may have unless configured otherwise: seven days.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The clock skew tolerated between the host that mints and the host that verifies.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
/// The largest leeway the layer accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(5 * 60);
/// The name prefix of the signing parameters unless configured otherwise.
pub const DEFAULT_PARAM_PREFIX: &str = "sl_";

/// Guards private path prefixes with signed links.
///
/// The layer is its own builder: every `with_*` method returns a new layer, and the ones that can
/// be misconfigured return a [`ConfigError`] at once, so a layer that was built never surprises a
/// request. Until [`with_private_prefix`](Self::with_private_prefix) is called, every path is
/// private.
///
/// ```
/// use axum::{body::Body, routing::get, Router};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
/// use tower_secure_link::{Key, SecureLinkLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32])?)
///     .with_private_prefix("/private/")?;
/// let link = layer.signer().sign("/private/report.pdf")?;
/// let app = Router::new()
///     .route("/private/report.pdf", get(|| async { "the report" }))
///     .layer(layer);
///
/// let signed = app.clone().oneshot(Request::get(link).body(Body::empty())?).await?;
/// assert_eq!(signed.status(), StatusCode::OK);
/// let unsigned = app.oneshot(Request::get("/private/report.pdf").body(Body::empty())?).await?;
/// assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct SecureLinkLayer<R = DefaultRejectionResponse> {
    settings: Arc<Settings>,
    private_prefixes: Vec<String>,
    public_exceptions: Vec<String>,
    responder: R,
}

impl SecureLinkLayer {
    /// The lifetime of a link minted without one: one hour.
    pub const DEFAULT_LIFETIME: Duration = DEFAULT_LIFETIME;
    /// The longest lifetime a link may have unless configured otherwise: seven days.
    pub const DEFAULT_MAX_LIFETIME: Duration = DEFAULT_MAX_LIFETIME;
    /// The clock skew tolerated between the host that mints and the host that verifies, unless
    /// configured otherwise: five seconds.
    pub const DEFAULT_LEEWAY: Duration = DEFAULT_LEEWAY;
    /// The largest leeway the layer accepts: five minutes.
    pub const MAX_LEEWAY: Duration = MAX_LEEWAY;
    /// The name prefix of the signing parameters unless configured otherwise: `sl_`.
    pub const DEFAULT_PARAM_PREFIX: &'static str = DEFAULT_PARAM_PREFIX;

    /// A layer that signs with `keyring`'s signing key (a single [`Key`](crate::Key) will do) and
    /// treats every path as private.
    pub fn new(keyring: impl Into<Keyring>) -> Self {
        Self::with_scheme(Scheme::Native(KeyringHandle::new(keyring.into())))
    }

    fn with_scheme(scheme: Scheme) -> Self {
        let settings = Settings {
            scheme,
            names: ParamNames::new(DEFAULT_PARAM_PREFIX),
            prefixes: Prefixes::everything_private(),
            default_lifetime: DEFAULT_LIFETIME.as_secs(),
            max_lifetime: DEFAULT_MAX_LIFETIME.as_secs(),
            leeway: DEFAULT_LEEWAY.as_secs(),
            clock: Arc::new(SystemClock),
            stealth: false,
            signer_in_extensions: true,
            nonce_store: Arc::new(MemoryNonceStore::new()),
            resume_window: None,
            streamed_uploads: false,
            private_cache: None,
            opaque_prefix: None,
            mount: None,
            id: fresh_id(),
            session_key: random_session_key(),
            client_addr: ClientAddrRule::default(),
        };
        Self {
            settings: Arc::new(settings),
            private_prefixes: Vec::new(),
            public_exceptions: Vec::new(),
            responder: DefaultRejectionResponse,
        }
    }
}

/// A random HMAC key for session cookies a public-key verifier sets (see
/// [`FolderLinkBuilder::cookie_session`](crate::signer::FolderLinkBuilder::cookie_session)).
fn random_session_key() -> Option<Key> {
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::getrandom(&mut *secret).ok()?;
    let mut id = [0u8; 6];
    getrandom::getrandom(&mut id).ok()?;
    let id: String = id.iter().map(|byte| format!("{byte:02x}")).collect();
    Key::new(format!("session-{id}"), *secret).ok()
}

#[cfg(feature = "nginx")]
#[cfg_attr(docsrs, doc(cfg(feature = "nginx")))]
impl SecureLinkLayer {
    /// A layer that mints and verifies nginx `secure_link` compatible links (see
    /// [`nginx`](crate::nginx)) and treats every path as private.
    ///
    /// Fails when the scheme's template uses `{remote_addr}` but no way to read the client
    /// address was given.
    pub fn nginx(scheme: crate::nginx::NginxScheme) -> Result<Self, ConfigError> {
        if scheme.uses_remote_addr() && !scheme.has_remote_addr_reader() {
            return Err(ConfigError::MissingRemoteAddr);
        }
        Ok(Self::with_scheme(Scheme::Nginx(scheme)))
    }
}

impl<R> SecureLinkLayer<R> {
    /// Adds a private prefix, matched by whole segments: `/private/` (or `/private`) covers
    /// `/private` and everything below it, never `/private-x`. The first call replaces the
    /// default of "everything is private".
    pub fn with_private_prefix(mut self, prefix: impl Into<String>) -> Result<Self, ConfigError> {
        self.private_prefixes.push(prefix.into());
        self.rebuild_prefixes()?;
        Ok(self)
    }

    /// Adds a public exception inside a private prefix (`/private/thumbnails/`). The longest
    /// matching prefix decides, so an exception never opens anything outside itself.
    pub fn with_public_exception(mut self, prefix: impl Into<String>) -> Result<Self, ConfigError> {
        self.public_exceptions.push(prefix.into());
        self.rebuild_prefixes()?;
        Ok(self)
    }

    fn rebuild_prefixes(&mut self) -> Result<(), ConfigError> {
        let private = if self.private_prefixes.is_empty() {
            vec!["/".to_owned()]
        } else {
            self.private_prefixes.clone()
        };
        let prefixes = Prefixes::new(&private, &self.public_exceptions)
            .map_err(|(prefix, error)| ConfigError::prefix(&prefix, error))?;
        if let Some(opaque) = &self.settings.opaque_prefix {
            if prefixes.overlaps_exception(opaque.trim_end_matches('/')) {
                return Err(ConfigError::prefix(
                    opaque,
                    PrefixError::OpaqueOverlapsException,
                ));
            }
        }
        self.settings_mut().prefixes = prefixes;
        Ok(())
    }

    /// Tells the layer that a router strips `mount` from the path before the layer sees it, as
    /// a service nested at `mount` does: the layer then classifies and verifies `mount` followed
    /// by the path it sees, so prefixes and links stay written as the client sees them.
    ///
    /// With the `axum` feature a layer inside axum's `nest` or `nest_service` finds the client's
    /// path by itself (from `OriginalUri`), also under parameters and several levels of nesting;
    /// this setting is for routers that keep no original URI. Better still, put the layer
    /// outside the whole router (`layer.layer(router)`): see the crate docs, "Where to put the
    /// layer".
    ///
    /// ```
    /// use axum::{body::Body, routing::get, Router};
    /// use http::{Request, StatusCode};
    /// use tower::{Layer, ServiceExt};
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32])?)
    ///     .with_private_prefix("/files/")?
    ///     .with_mount_path("/files")?;
    /// let link = layer.signer().sign("/files/report.pdf")?;
    /// // A service that, like a nested one, sees the path without `/files`.
    /// let files = Router::new().route("/report.pdf", get(|| async { "the report" }));
    /// let service = layer.layer(files);
    ///
    /// let stripped = link.strip_prefix("/files").unwrap();
    /// let signed = service.clone().oneshot(Request::get(stripped).body(Body::empty())?).await?;
    /// assert_eq!(signed.status(), StatusCode::OK);
    /// let unsigned = service.oneshot(Request::get("/report.pdf").body(Body::empty())?).await?;
    /// assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_mount_path(mut self, mount: &str) -> Result<Self, ConfigError> {
        let canonical =
            canonical_prefix(mount).map_err(|error| ConfigError::prefix(mount, error))?;
        self.settings_mut().mount = (!canonical.is_empty()).then_some(canonical);
        Ok(self)
    }

    /// The lifetime of links minted without one (one hour by default).
    pub fn with_default_lifetime(mut self, lifetime: Duration) -> Result<Self, ConfigError> {
        if lifetime.is_zero() || lifetime.as_secs() > self.settings.max_lifetime {
            return Err(ConfigError::InvalidLifetime);
        }
        self.settings_mut().default_lifetime = lifetime.as_secs();
        Ok(self)
    }

    /// The longest lifetime a link may have, enforced when minting and when verifying (seven
    /// days by default). It must be at least the default lifetime.
    pub fn with_max_lifetime(mut self, lifetime: Duration) -> Result<Self, ConfigError> {
        if lifetime.as_secs() < self.settings.default_lifetime {
            return Err(ConfigError::InvalidLifetime);
        }
        self.settings_mut().max_lifetime = lifetime.as_secs();
        Ok(self)
    }

    /// The clock skew tolerated around not-before and expiry (5 seconds by default, at most
    /// [`MAX_LEEWAY`](SecureLinkLayer::MAX_LEEWAY)).
    pub fn with_leeway(mut self, leeway: Duration) -> Result<Self, ConfigError> {
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge);
        }
        self.settings_mut().leeway = leeway.as_secs();
        Ok(self)
    }

    /// The name prefix of the signing parameters (`sl_` by default): 1 to 16 characters from
    /// `a-z 0-9 _ - .`. The application's own query parameters must not start with it.
    pub fn with_param_prefix(mut self, prefix: &str) -> Result<Self, ConfigError> {
        let valid = (1..=16).contains(&prefix.len())
            && prefix.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
            });
        if !valid {
            return Err(ConfigError::InvalidParamPrefix);
        }
        let ignored = self.settings.names.ignored.clone();
        if let Some(name) = ignored.reaching_signing(prefix) {
            return Err(ConfigError::IgnoredSigningParam { name });
        }
        let names = &mut self.settings_mut().names;
        *names = ParamNames::new(prefix);
        names.ignored = ignored;
        Ok(self)
    }

    /// Lets links gain these query parameters on their way (the `utm_*` and `fbclid` that mail,
    /// chat and social sites append) without breaking: each is an exact name or a `prefix*`
    /// pattern, added to those given before. Wherever such a parameter appears in the query of
    /// a request, the layer leaves it out of the signed application query, and it removes it
    /// from the query the inner service sees for every request it admits with a link (native,
    /// folder and Ed25519 links, folder session cookies, opaque links, which then also accept
    /// a query made only of ignored parameters). Public requests pass with their query as it
    /// came. The signer refuses to mint a link whose own query holds one
    /// ([`SignErrorKind::IgnoredParameter`](crate::SignErrorKind::IgnoredParameter)).
    ///
    /// Names match the request's raw parameter names byte for byte: case-sensitively and
    /// without percent-decoding, so `UTM_SOURCE` or `utm%5Fsource` is not ignored, stays in the
    /// signed query and breaks the link. What the signature skips is exactly what the inner
    /// service is spared, so no spelling can slip an unsigned value to the application.
    ///
    /// Fails for an empty name, a `*` other than at the end, a byte outside
    /// `A-Z a-z 0-9 - . _ ~` ([`ConfigError::InvalidIgnoredParam`]), and for any name or pattern
    /// that could match a signing parameter (`sl_kid`, `sl_*`, `s*`, `*`, in any letter case):
    /// a signing parameter can never be ignored ([`ConfigError::IgnoredSigningParam`]). nginx
    /// links are out of scope: under the nginx scheme this fails
    /// ([`ConfigError::IgnoredParamsUnsupported`]).
    ///
    /// ```
    /// use http::Method;
    /// use tower_secure_link::{ConfigError, Key, SecureLinkLayer, SignErrorKind};
    ///
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
    ///     .with_ignored_params(["utm_*", "fbclid"])
    ///     .unwrap();
    /// let link = layer.signer().sign("/report.pdf?page=2").unwrap();
    /// let shared = format!("{link}&utm_source=newsletter&fbclid=abc");
    /// assert!(layer.check(&Method::GET, &shared.parse().unwrap()).is_ok());
    /// // The signed parameters still bind.
    /// let changed = shared.replace("page=2", "page=3");
    /// assert!(layer.check(&Method::GET, &changed.parse().unwrap()).is_err());
    ///
    /// let refused = layer.signer().sign("/report.pdf?utm_source=x").unwrap_err();
    /// assert_eq!(refused.kind(), SignErrorKind::IgnoredParameter);
    /// assert_eq!(refused.parameter(), Some("utm_source"));
    /// assert!(matches!(
    ///     layer.with_ignored_params(["sl_*"]),
    ///     Err(ConfigError::IgnoredSigningParam { .. })
    /// ));
    /// ```
    pub fn with_ignored_params<I>(mut self, names: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        #[cfg(feature = "nginx")]
        if let Scheme::Nginx(_) = self.settings.scheme {
            return Err(ConfigError::IgnoredParamsUnsupported);
        }
        let names_now = &self.settings.names;
        let ignored = names_now
            .ignored
            .extended(names, &names_now.prefix)
            .map_err(|(name, error)| match error {
                PatternError::Invalid => ConfigError::InvalidIgnoredParam { name },
                PatternError::Signing => ConfigError::IgnoredSigningParam { name },
            })?;
        self.settings_mut().names.ignored = ignored;
        Ok(self)
    }

    /// Where to read the address of a request's peer, for links bound to client networks
    /// ([`LinkBuilder::client_ip`](crate::LinkBuilder::client_ip)). By default the layer looks
    /// for a `std::net::SocketAddr` or `IpAddr` in the request's extensions (insert one per
    /// connection with hyper); axum puts its `ConnectInfo` there instead:
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use axum::extract::ConnectInfo;
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
    ///     .with_client_addr(|extensions| {
    ///         extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
    ///     });
    /// // axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
    /// # let _ = layer;
    /// ```
    pub fn with_client_addr(
        mut self,
        read: impl Fn(&Extensions) -> Option<std::net::IpAddr> + Send + Sync + 'static,
    ) -> Self {
        self.settings_mut().client_addr.reader = Some(Arc::new(read));
        self
    }

    /// Proxies whose forwarding header the layer believes (IPv4 or IPv6 addresses or CIDR
    /// blocks, added to those given before). When a request's peer is one of them, its client
    /// is the right-most address in `X-Forwarded-For` (or `Forwarded`, with
    /// [`with_forwarded_header`](Self::with_forwarded_header)) that is not a trusted proxy;
    /// from any other peer the header is never read, so a client cannot claim an address by
    /// sending one. A hop that is no address where the client should be leaves the layer
    /// unable to tell, and a link bound to networks is then refused.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use http::Request;
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
    ///     .with_trusted_proxies(["10.0.0.0/8"]).unwrap();
    /// let link = layer.signer().link("/a.pdf").client_ip("203.0.113.7").to_target().unwrap();
    /// let via = |peer: &str, forwarded_for: &str| {
    ///     let mut request = Request::get(link.as_str())
    ///         .header("x-forwarded-for", forwarded_for).body(()).unwrap();
    ///     request.extensions_mut().insert(peer.parse::<SocketAddr>().unwrap());
    ///     layer.check_request(&request).is_ok()
    /// };
    /// assert!(via("10.0.0.2:5000", "198.51.100.1, 203.0.113.7"));
    /// assert!(!via("198.51.100.9:5000", "203.0.113.7")); // not a proxy: the header is not read
    /// ```
    pub fn with_trusted_proxies<I>(mut self, networks: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut trusted = self.settings.client_addr.trusted.clone();
        for network in networks {
            let network = network.as_ref();
            let parsed = Network::parse(network).map_err(|_| ConfigError::InvalidProxy {
                network: network.to_owned(),
            })?;
            trusted.push(parsed);
        }
        self.settings_mut().client_addr.trusted = trusted;
        Ok(self)
    }

    /// Read trusted proxies' RFC 7239 `Forwarded` header (`for=`) instead of
    /// `X-Forwarded-For` (off by default). Choose the one your proxy writes: a header the proxy
    /// does not touch passes from the client unchanged.
    pub fn with_forwarded_header(mut self, forwarded: bool) -> Self {
        self.settings_mut().client_addr.forwarded = forwarded;
        self
    }

    /// A layer with another keyring (and the native scheme). Services and signers already made
    /// from this layer keep the keyring they had; to rotate keys while they run, use
    /// [`keyring_handle`](Self::keyring_handle).
    pub fn with_keyring(mut self, keyring: impl Into<Keyring>) -> Self {
        self.settings_mut().scheme = Scheme::Native(KeyringHandle::new(keyring.into()));
        self
    }

    /// Where one-time links record their use (an in-memory store for this process by default;
    /// a Redis store for a fleet of servers).
    pub fn with_nonce_store(mut self, store: impl NonceStore) -> Self {
        self.settings_mut().nonce_store = Arc::new(store);
        self
    }

    /// Lets a download through a one-time link resume: for `window` after the first use, GET
    /// requests whose `Range` starts past byte 0 are still admitted. Off by default: see
    /// [`one_time`](crate::one_time) for the trade.
    pub fn with_one_time_resume_window(mut self, window: Duration) -> Self {
        self.settings_mut().resume_window = Some(window.as_secs());
        self
    }

    /// Lets upload-slot bodies of unknown length through (instead of 411) when `streamed` is
    /// true (off by default), trusting an
    /// [`UploadLimitLayer`](crate::upload::UploadLimitLayer) inside this layer to stop them at
    /// the slot's limit while they stream. See [`upload`](crate::upload).
    pub fn with_streamed_uploads(mut self, streamed: bool) -> Self {
        self.settings_mut().streamed_uploads = streamed;
        self
    }

    /// Accepts opaque links under `prefix` (such as `/s/`): one path segment that hides the
    /// target, the method, the times and every limit (see
    /// [`LinkBuilder::opaque`](crate::LinkBuilder::opaque)). The layer opens the token and then
    /// treats the hidden target exactly as an ordinary link to it; the inner service sees the
    /// hidden target. Off by default.
    pub fn with_opaque_prefix(mut self, prefix: &str) -> Result<Self, ConfigError> {
        let canonical =
            canonical_prefix(prefix).map_err(|error| ConfigError::prefix(prefix, error))?;
        if canonical.is_empty() {
            return Err(ConfigError::prefix(prefix, PrefixError::Root));
        }
        if self.settings.prefixes.overlaps_exception(&canonical) {
            return Err(ConfigError::prefix(
                prefix,
                PrefixError::OpaqueOverlapsException,
            ));
        }
        self.settings_mut().opaque_prefix = Some(format!("{canonical}/").into_boxed_str());
        Ok(self)
    }

    /// The key that signs folder session cookies
    /// ([`cookie_session`](crate::signer::FolderLinkBuilder::cookie_session)) when the keyring's
    /// signing key cannot: a fleet of verifiers that hold only Ed25519 public keys shares one
    /// (an HMAC key of its own, never the minting key) so a cookie set by one is honoured by all.
    /// Without it each layer signs its cookies with a random key. Fails for a key that cannot
    /// sign.
    ///
    /// ```
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// let cookies = Key::new("fleet-cookies", [3u8; 32]).unwrap(); // the same on every verifier
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
    ///     .with_session_cookie_key(cookies)
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_session_cookie_key(mut self, key: Key) -> Result<Self, ConfigError> {
        if !key.can_sign() {
            return Err(ConfigError::SessionKeyCannotSign);
        }
        self.settings_mut().session_key = Some(key);
        Ok(self)
    }

    /// Lets browsers keep what a valid link served: responses get
    /// `Cache-Control: private, max-age=N`, where N is `max_age` or the time left until the
    /// link expires, whichever is shorter (plain `private` without this, and always for
    /// one-time links and uploads). With cache-stable links
    /// ([`LinkBuilder::window`](crate::LinkBuilder::window)) a page re-rendered within the
    /// window hands out the same URL, so the browser uses its copy. A `Cache-Control` the inner
    /// service set is left alone.
    pub fn with_private_caching(mut self, max_age: Duration) -> Self {
        self.settings_mut().private_cache = Some(max_age.as_secs());
        self
    }

    /// Reads the time from `clock` instead of the system clock (for tests).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.settings_mut().clock = Arc::new(clock);
        self
    }

    /// Answers every rejection with 404 Not Found, so a prober cannot tell a private path from a
    /// missing one, nor a forged link from an expired one. The real reason stays in the
    /// response's extensions.
    pub fn with_stealth_404(mut self, stealth: bool) -> Self {
        self.settings_mut().stealth = stealth;
        self
    }

    /// Whether to put a [`UrlSigner`] into every request's extensions (on by default). Turning
    /// it off saves an allocation per request, for apps that hold a signer some other way.
    pub fn with_signer_extension(mut self, enabled: bool) -> Self {
        self.settings_mut().signer_in_extensions = enabled;
        self
    }

    /// Stops putting a [`UrlSigner`] into every request's extensions: the same as
    /// [`with_signer_extension(false)`](Self::with_signer_extension).
    pub fn without_signer_extension(self) -> Self {
        self.with_signer_extension(false)
    }

    /// Builds rejection responses with `responder` instead of a bare status.
    pub fn with_rejection_response<R2>(self, responder: R2) -> SecureLinkLayer<R2> {
        SecureLinkLayer {
            settings: self.settings,
            private_prefixes: self.private_prefixes,
            public_exceptions: self.public_exceptions,
            responder,
        }
    }
}

/// # Run-time operations
///
/// What a built layer does besides guarding requests: hand out signers, check a request without
/// serving it, rotate keys and revoke groups while services run, and redact logs. None of these
/// changes the layer's configuration.
impl<R> SecureLinkLayer<R> {
    /// The handle that replaces this layer's keyring at run time, for every service and signer
    /// made from it (`None` under the nginx scheme, whose secret is nginx's).
    pub fn keyring_handle(&self) -> Option<KeyringHandle> {
        match &self.settings.scheme {
            Scheme::Native(handle) => Some(handle.clone()),
            #[cfg(feature = "nginx")]
            Scheme::Nginx(_) => None,
        }
    }

    /// A [`Redactor`](crate::redact::Redactor) that writes request URIs without their secrets,
    /// for access logs and tracing spans.
    pub fn redactor(&self) -> crate::redact::Redactor {
        crate::redact::Redactor::new(self.settings.clone())
    }

    /// Revokes every link of revocation group `group` (see
    /// [`LinkBuilder::group`](crate::LinkBuilder::group)) until `until` (Unix seconds: the
    /// latest expiry its links can have; the maximum lifetime from now covers them all). The
    /// deny entry goes into the nonce store, so every server sharing a Redis store refuses them
    /// (410, `revoked`); it is kept, like a nonce, for a relative time with a margin of twice
    /// the leeway, then forgotten. A store that cannot be reached fails the call.
    ///
    /// A store that would forget the revocation when it restarts (the default memory store,
    /// Redis without persistence), or cannot say, refuses it
    /// ([`StoreErrorKind::WouldBeForgotten`](crate::one_time::StoreErrorKind)): the links
    /// would quietly work again. [`.allow_volatile()`](crate::one_time::Revocation::allow_volatile)
    /// revokes there anyway.
    ///
    /// ```
    /// use http::{Method, StatusCode};
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32])?);
    /// let link = layer.signer().link("/shared/deck.pdf").group("team-a").to_target()?;
    /// let until = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs()
    ///     + 7 * 24 * 3600;
    /// // With a persistent Redis store: `layer.revoke_group("team-a", until).await?`. The
    /// // memory store forgets it when the process restarts, so say that this is accepted:
    /// layer.revoke_group("team-a", until).allow_volatile().await?;
    /// // `check` does not ask the store; a request through the layer gets 410 `revoked`.
    /// # let _ = link;
    /// # Ok(())
    /// # }
    /// ```
    pub fn revoke_group(&self, group: &str, until: u64) -> crate::one_time::Revocation {
        let store = self.settings.nonce_store.clone();
        if !crate::token::is_group(group) {
            let error = StoreError::new(crate::token::GROUP_RULE);
            return crate::one_time::Revocation::refused(store, error);
        }
        let now = self.settings.clock.now_unix();
        let keep_for = crate::one_time::keep_for(until, self.settings.leeway, now);
        crate::one_time::Revocation::new(store, group, now, keep_for)
    }

    /// A signer with this layer's settings, for minting links outside requests.
    pub fn signer(&self) -> UrlSigner {
        UrlSigner::new(self.settings.clone())
    }

    /// Checks a request as the layer would, without calling any service.
    ///
    /// Returns whether the request is public or admitted by a valid link, or the rejection.
    pub fn check(&self, method: &Method, uri: &Uri) -> Result<Access, Rejection> {
        self.decide(method, uri, &HeaderMap::new(), &Extensions::new())
    }

    /// Checks a whole request as the layer would (the nginx scheme may read the client address
    /// from its extensions), without calling any service.
    pub fn check_request<B>(&self, request: &Request<B>) -> Result<Access, Rejection> {
        self.decide(
            request.method(),
            request.uri(),
            request.headers(),
            request.extensions(),
        )
    }

    fn decide(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<Access, Rejection> {
        match crate::verify::decide(&self.settings, method, uri, headers, extensions) {
            Ok(verdict) if verdict.is_signed() => Ok(Access::Signed),
            Ok(_) => Ok(Access::Public),
            Err(kind) => Err(Rejection::new(kind, self.settings.stealth)),
        }
    }

    /// Every change makes a new configuration: copies of the layer made before it no longer
    /// vouch for requests this one admits, nor it for theirs.
    fn settings_mut(&mut self) -> &mut Settings {
        let settings = Arc::make_mut(&mut self.settings);
        settings.id = fresh_id();
        settings
    }
}

/// How a request that the layer lets through was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// The path is not under a private prefix.
    Public,
    /// The path is private and the request carries a valid link.
    Signed,
}

impl<S, R: Clone> Layer<S> for SecureLinkLayer<R> {
    type Service = SecureLink<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        SecureLink::new(inner, self.settings.clone(), self.responder.clone())
    }
}

impl<R> fmt::Debug for SecureLinkLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureLinkLayer")
            .field("scheme", &self.settings.scheme)
            .field("private_prefixes", &self.private_prefixes)
            .field("public_exceptions", &self.public_exceptions)
            .field("default_lifetime", &self.settings.default_lifetime)
            .field("max_lifetime", &self.settings.max_lifetime)
            .field("leeway", &self.settings.leeway)
            .field("param_prefix", &self.settings.names.prefix)
            .field("ignored_params", &self.settings.names.ignored)
            .field("stealth", &self.settings.stealth)
            .finish_non_exhaustive()
    }
}

/// A setting the layer cannot work with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A private prefix or public exception is not usable.
    InvalidPrefix {
        /// The prefix as it was given.
        prefix: String,
        /// What is wrong with it.
        reason: String,
        /// Whether the problem is a public exception outside every private prefix.
        public_outside_private: bool,
    },
    /// A lifetime is zero, or the default lifetime exceeds the maximum.
    InvalidLifetime,
    /// The leeway exceeds [`MAX_LEEWAY`](SecureLinkLayer::MAX_LEEWAY).
    LeewayTooLarge,
    /// The parameter prefix is empty, too long, or holds characters outside `a-z 0-9 _ - .`.
    InvalidParamPrefix,
    /// A trusted proxy is not an IP address or a CIDR block with no bits set past its length.
    InvalidProxy {
        /// The network as it was given.
        network: String,
    },
    /// The nginx template uses `{remote_addr}` but the scheme cannot read the client address.
    MissingRemoteAddr,
    /// The session cookie key only verifies (an Ed25519 public key).
    SessionKeyCannotSign,
    /// A name given to [`with_ignored_params`](SecureLinkLayer::with_ignored_params) is empty,
    /// has a `*` other than at its end, or a byte outside `A-Z a-z 0-9 - . _ ~`.
    InvalidIgnoredParam {
        /// The name as it was given.
        name: String,
    },
    /// A name or pattern given to [`with_ignored_params`](SecureLinkLayer::with_ignored_params)
    /// could match a signing parameter (or the parameter prefix was changed so that it does).
    IgnoredSigningParam {
        /// The name or pattern as it was given.
        name: String,
    },
    /// Ignored parameters were asked of a layer under the nginx scheme, whose links cannot
    /// ignore any.
    IgnoredParamsUnsupported,
}

impl ConfigError {
    fn prefix(prefix: &str, error: PrefixError) -> Self {
        Self::InvalidPrefix {
            prefix: prefix.to_owned(),
            reason: error.to_string(),
            public_outside_private: error == PrefixError::PublicOutsidePrivate,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPrefix { prefix, reason, .. } => write!(f, "prefix {prefix:?}: {reason}"),
            Self::InvalidLifetime => f.write_str(
                "lifetimes must be above zero and the default lifetime at most the maximum",
            ),
            Self::LeewayTooLarge => write!(f, "the leeway may be at most {MAX_LEEWAY:?}"),
            Self::MissingRemoteAddr => f.write_str(
                "the nginx template uses {remote_addr}; give the scheme a way to read it",
            ),
            Self::SessionKeyCannotSign => f.write_str(
                "the session cookie key must be able to sign: an HMAC key, not a public key",
            ),
            Self::InvalidIgnoredParam { name } => write!(
                f,
                "ignored parameter {name:?}: give a name of A-Z, a-z, 0-9, '-', '.', '_', '~', \
                 optionally ending with '*' to match a prefix"
            ),
            Self::IgnoredSigningParam { name } => write!(
                f,
                "ignored parameter {name:?} could match a signing parameter name, and a signing \
                 parameter name can never be ignored"
            ),
            Self::IgnoredParamsUnsupported => {
                f.write_str("nginx links cannot ignore query parameters")
            }
            Self::InvalidProxy { network } => write!(
                f,
                "trusted proxy {network:?}: give an IP address or a CIDR block such as \
                 10.0.0.0/8 or 2001:db8::/32, with no bits set past its length"
            ),
            Self::InvalidParamPrefix => f.write_str(
                "the parameter prefix must be 1 to 16 characters from a-z, 0-9, '_', '-' and '.'",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
