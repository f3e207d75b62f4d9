//! Minting one link: [`LinkBuilder`], its expiry, and the native format's signing parameters.

use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{Method, Uri};

use super::escape::escape_query;
use super::opaque::opaque_link;
use super::target::Target;
use super::{fail, SignError, SignErrorKind, UrlSigner};
use crate::config::{Scheme, Settings};
use crate::key::{Delegated, Keyring};
use crate::path::{canonical_for_minting, decode_canonical, Route};
use crate::token::overrides::{
    content_type_value, disposition_value, is_content_type, is_file_name, Presentation,
};
use crate::token::path_token_position;
use crate::token::{
    append_signing_params, is_group, is_method_scope, signing_params_len, AppQuery, Claims,
    Decimal, Network, Scope, DEFAULT_METHOD, MAX_NETWORKS, MAX_USES, NONCE_LEN,
};

/// The largest number a link carries: verifiers read seconds and byte counts as signed 64-bit
/// numbers, so anything above would mint a link every verifier calls malformed.
pub(crate) const MAX_NUMBER: u64 = i64::MAX as u64;

/// The longest link that can reach a layer: `http::Uri` holds at most this many bytes.
pub(crate) const MAX_LINK_LEN: usize = u16::MAX as usize - 1;

/// The longest validator a link carries: 256 characters of base64url, as verifiers read it.
const MAX_VERSION_LEN: usize = 192;

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

/// One link being minted; finish it with [`to_target`](Self::to_target) or
/// [`to_url`](Self::to_url).
#[derive(Debug, Clone)]
#[must_use]
pub struct LinkBuilder<'a> {
    pub(super) signer: &'a UrlSigner,
    pub(super) target: &'a str,
    pub(super) method: Method,
    pub(super) expiry: Expiry<'a>,
    pub(super) not_before: Option<u64>,
    // Set through `NginxLinkBuilder` only.
    #[cfg_attr(not(feature = "nginx"), allow(dead_code))]
    pub(super) client_ip: Option<IpAddr>,
    pub(super) one_time: bool,
    pub(super) max_body: Option<u64>,
    pub(super) window: Option<u64>,
    /// The bound version, base64url-encoded as the link carries it, or why it cannot be bound
    /// (reported when the link is minted, like every other refusal).
    pub(super) version: Option<Result<String, SignErrorKind>>,
    pub(super) group: Option<&'a str>,
    /// The client networks asked for, as given (checked when the link is minted).
    pub(super) networks: Vec<&'a str>,
    /// The name the response is saved or shown as.
    pub(super) disposition: Option<(Presentation, &'a str)>,
    /// The response's content type.
    pub(super) content_type: Option<&'a str>,
    /// How many uses a one-time link has (`Some(1)` is `one_time`).
    pub(super) uses: Option<u32>,
    /// Used only by a confirmed POST, never by a GET.
    pub(super) confirm: bool,
    pub(super) opaque: bool,
}

impl<'a> LinkBuilder<'a> {
    pub(super) fn new(signer: &'a UrlSigner, target: &'a str) -> Self {
        Self {
            signer,
            target,
            method: Method::GET,
            expiry: Expiry::Default,
            not_before: None,
            client_ip: None,
            disposition: None,
            content_type: None,
            uses: None,
            confirm: false,
            one_time: false,
            max_body: None,
            window: None,
            version: None,
            group: None,
            networks: Vec::new(),
            opaque: false,
        }
    }

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
    /// validator, its `ETag` or `Last-Modified` header value exactly (see [`file_version`](super::file_version) for
    /// a file served by tower-http's `ServeDir`, which also binds the file's size). When the
    /// resource changes, the layer answers 410 (`version_changed`) instead of the new content.
    /// GET links only; a validator is 1 to 192 bytes that a header value can hold, neither
    /// starting nor ending with a space or tab (minting refuses others with
    /// [`SignErrorKind::InvalidVersion`]).
    pub fn version(mut self, validator: &str) -> Self {
        let bytes = validator.as_bytes();
        // The bytes `http::HeaderValue` accepts, and no white space at either end (HTTP parsers
        // trim it from header values): a validator outside them matches no response.
        let blank = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
        let header_safe = bytes
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
            && !blank(bytes.first())
            && !blank(bytes.last());
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

    /// Binds the link to a client network: an IPv4 or IPv6 address (that host alone) or a CIDR
    /// block such as `203.0.113.0/24` or `2001:db8::/32`. Call it again for more networks (at
    /// most 16); the link then works from any of them, and elsewhere the layer answers 403
    /// (`ip_not_allowed`). The layer reads the client's address from the connection, or from
    /// `X-Forwarded-For` when the connection comes from a
    /// [trusted proxy](crate::SecureLinkLayer::with_trusted_proxies). A block with bits set
    /// past its length (`203.0.113.7/24`) or an IPv4-mapped IPv6 form is refused
    /// ([`SignErrorKind::InvalidClientIp`]).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use http::{Method, Request};
    /// use tower_secure_link::{Key, RejectionKind, SecureLinkLayer};
    ///
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
    /// let link = layer.signer().link("/report.pdf").client_ip("203.0.113.0/24")
    ///     .client_ip("2001:db8::/32").to_target().unwrap();
    /// let from = |peer: &str| {
    ///     let mut request = Request::get(link.as_str()).body(()).unwrap();
    ///     // What a server puts there (axum users: see `with_client_addr`).
    ///     request.extensions_mut().insert(peer.parse::<SocketAddr>().unwrap());
    ///     layer.check_request(&request).map(|_| ()).map_err(|r| r.kind())
    /// };
    /// assert_eq!(from("203.0.113.9:50000"), Ok(()));
    /// assert_eq!(from("[2001:db8::7]:443"), Ok(()));
    /// assert_eq!(from("198.51.100.1:50000"), Err(RejectionKind::IpNotAllowed));
    /// ```
    pub fn client_ip(mut self, network: &'a str) -> Self {
        self.networks.push(network);
        self
    }

    /// The response through this link downloads as `name`: the layer sets
    /// `Content-Disposition: attachment` with `name` in the RFC 6266 form every browser reads
    /// (an ASCII `filename` and, for other names, `filename*=UTF-8''...`), replacing what the
    /// service sent, also on an X-Accel-Redirect answer (nginx keeps the header). The name is
    /// signed. Names with a control character, `/`, `\`, a bidirectional control, or `.`/`..`
    /// alone are refused ([`SignErrorKind::InvalidFileName`]); quotes, `;` and non-ASCII are
    /// written escaped.
    ///
    /// ```
    /// use http::{Request, Response};
    /// use tower::{service_fn, ServiceExt};
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// # tokio_test_block_on(async {
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
    /// let link = layer.signer().link("/files/7f3a.bin").download_as("Q3 report é.pdf")
    ///     .content_type("application/pdf").to_target().unwrap();
    /// let files = service_fn(|_: Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::from("%PDF-")))
    /// });
    /// let service = tower::Layer::layer(&layer, files);
    /// let response = service.oneshot(Request::get(link).body(String::new()).unwrap()).await.unwrap();
    /// assert_eq!(
    ///     response.headers()["content-disposition"],
    ///     "attachment; filename=\"Q3 report _.pdf\"; filename*=UTF-8''Q3%20report%20%C3%A9.pdf"
    /// );
    /// assert_eq!(response.headers()["content-type"], "application/pdf");
    /// # });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub fn download_as(mut self, name: &'a str) -> Self {
        self.disposition = Some((Presentation::Attachment, name));
        self
    }

    /// As [`download_as`](Self::download_as), but the browser shows the response
    /// (`Content-Disposition: inline`) and uses `name` when the user saves it.
    pub fn inline_as(mut self, name: &'a str) -> Self {
        self.disposition = Some((Presentation::Inline, name));
        self
    }

    /// The response through this link has this `Content-Type` (signed), replacing what the
    /// service sent: `type/subtype` with optional `; name=value` parameters of token
    /// characters, at most 127 bytes (others: [`SignErrorKind::InvalidContentType`]).
    pub fn content_type(mut self, content_type: &'a str) -> Self {
        self.content_type = Some(content_type);
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

    /// The link is admitted exactly `uses` times across every server sharing the nonce store
    /// (1 to 100; `uses(1)` is [`one_time`](Self::one_time)), then answers 410
    /// (`already_used`). Each use is a one-time use with all its guarantees (a use the
    /// application fails with a 5xx is given back; HEAD on a GET link uses nothing; a resumed
    /// download inside the resume window reuses a recent use). The request that finds use `k`
    /// asks the store up to `k` times, which is why the count is capped.
    ///
    /// ```
    /// use tower::{service_fn, ServiceExt};
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// # tokio_test_block_on(async {
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
    /// let link = layer.signer().link("/report.pdf").uses(3).to_target().unwrap();
    /// let service = tower::Layer::layer(&layer, service_fn(|_: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }));
    /// let mut statuses = Vec::new();
    /// for _ in 0..4 {
    ///     let request = http::Request::get(link.as_str()).body(String::new()).unwrap();
    ///     statuses.push(service.clone().oneshot(request).await.unwrap().status().as_u16());
    /// }
    /// assert_eq!(statuses, [200, 200, 200, 410]);
    /// # });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub fn uses(mut self, uses: u32) -> Self {
        self.one_time = true;
        self.uses = Some(uses);
        self
    }

    /// A one-time link that survives mail scanners, chat unfurlers and browser prefetch: a GET
    /// or HEAD of it never uses it, and is answered 200 with a small page holding one button, a
    /// form that POSTs to the same link (no script needed). That POST uses the link and gets
    /// the file: the inner service sees it as a GET (the form's body is passed on without its
    /// `Content-Type`, `Content-Length` and `Transfer-Encoding`: a service behind a confirm link
    /// should ignore request bodies on GET, as file servers do). A POST that the browser marks
    /// `Sec-Fetch-Site: cross-site` gets the page again. The page is the responder's answer to
    /// [`RejectionKind::ConfirmationRequired`](crate::RejectionKind::ConfirmationRequired):
    /// [`PageResponse`](crate::PageResponse) writes one (the default responder answers with an
    /// empty body, so set one); the layer adds `no-store`, `no-referrer`, `noindex` and a
    /// content security policy. Combines with [`uses`](Self::uses) and
    /// [`opaque`](Self::opaque); GET links only ([`SignErrorKind::ConfirmNeedsGet`]).
    ///
    /// ```
    /// use http::Method;
    /// use tower_secure_link::{Key, RejectionKind, SecureLinkLayer};
    ///
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
    /// let link = layer.signer().link("/reset/42").confirm().to_target().unwrap();
    /// let check = |method: Method| layer.check(&method, &link.parse().unwrap()).map(|_| ());
    /// // A scanner's GET gets the page, and uses nothing.
    /// assert_eq!(check(Method::GET).unwrap_err().kind(), RejectionKind::ConfirmationRequired);
    /// // The page's POST is admitted (and, through the service, uses the link).
    /// assert!(check(Method::POST).is_ok());
    /// ```
    pub fn confirm(mut self) -> Self {
        self.one_time = true;
        self.confirm = true;
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
        // Verifying would skip it: the link would not bind the value the application reads.
        if let Some(name) = settings.names.ignored.first_in(&query) {
            return Err(SignError::ignored(name));
        }
        let private = classify_target(settings, &path, self.opaque)?;
        // The layer passes public paths on without reading a link: a policy there would be
        // minted and never applied.
        let policies = self.opaque
            || self.confirm
            || self.uses.is_some_and(|uses| uses > 1)
            || !self.networks.is_empty()
            || self.disposition.is_some()
            || self.content_type.is_some();
        if policies && !private {
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
        let version = self.checked_options(method)?;
        let networks = self.networks_text()?;
        let (disposition, content_type) = self.overrides()?;
        let mut uses_text = Decimal::default();
        let uses = self.uses_count()?.map(|uses| uses_text.text(uses));

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
        let delegated = key.delegated();
        let group = match delegated {
            Some(_) if self.opaque => {
                return Err(SignError::outside_delegation("link kind: opaque links"))
            }
            Some(delegated) => {
                within_delegation(delegated, target.decoded_path, method, expires, self.group)?
            }
            None => self.group,
        };
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
            group,
            session: None,
            client_ip: networks.as_deref(),
            disposition: disposition.as_deref(),
            content_type: content_type.as_deref(),
            uses,
            confirm: self.confirm.then_some("1"),
            delegation: delegated.map(|delegated| delegated.param.as_str()),
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
}

/// A child key mints only inside its delegation: the folder, the methods, the deadline, and
/// the delegation's revocation group (which every link then carries). Returns the group.
pub(crate) fn within_delegation<'g>(
    delegated: &'g Delegated,
    decoded_path: &str,
    method: &str,
    expires: u64,
    group: Option<&'g str>,
) -> Result<Option<&'g str>, SignError> {
    let scope = &delegated.scope;
    if !decoded_path.starts_with(&scope.folder) {
        return Err(SignError::outside_delegation("folder"));
    }
    if !scope.covers(decoded_path, method) {
        return Err(SignError::outside_delegation("method"));
    }
    if expires > scope.not_after {
        return Err(SignError::outside_delegation("deadline"));
    }
    match (scope.group.as_deref(), group) {
        (Some(own), Some(asked)) if own != asked => Err(SignError::outside_delegation("group")),
        (Some(own), _) => Ok(Some(own)),
        (None, asked) => Ok(asked),
    }
}

impl LinkBuilder<'_> {
    /// Refuses what no native link for `method` can carry; the bound version, if any.
    fn checked_options(&self, method: &str) -> Result<Option<&str>, SignError> {
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
        if self.confirm && method != DEFAULT_METHOD {
            return Err(fail(SignErrorKind::ConfirmNeedsGet));
        }
        if self.group.is_some_and(|group| !is_group(group)) {
            return Err(fail(SignErrorKind::InvalidGroup));
        }
        if self.max_body.is_some_and(|limit| limit > MAX_NUMBER) {
            return Err(fail(SignErrorKind::OutOfRange));
        }
        Ok(version)
    }

    /// The `sl_uses` count to carry: none for one use.
    fn uses_count(&self) -> Result<Option<u64>, SignError> {
        match self.uses {
            None | Some(1) => Ok(None),
            Some(uses) if (2..=MAX_USES).contains(&uses) => Ok(Some(u64::from(uses))),
            Some(_) => Err(fail(SignErrorKind::InvalidUses)),
        }
    }

    /// The `sl_cd` and `sl_ct` values asked for.
    fn overrides(&self) -> Result<(Option<String>, Option<String>), SignError> {
        let disposition = match self.disposition {
            Some((_, name)) if !is_file_name(name) => {
                return Err(fail(SignErrorKind::InvalidFileName))
            }
            Some((presentation, name)) => Some(disposition_value(presentation, name)),
            None => None,
        };
        let content_type = match self.content_type {
            Some(text) if !is_content_type(text) => {
                return Err(fail(SignErrorKind::InvalidContentType))
            }
            Some(text) => Some(content_type_value(text)),
            None => None,
        };
        Ok((disposition, content_type))
    }

    /// The canonical `sl_ip` value of the networks asked for (`None` when none were).
    fn networks_text(&self) -> Result<Option<String>, SignError> {
        if self.networks.is_empty() {
            return Ok(None);
        }
        if self.networks.len() > MAX_NETWORKS {
            return Err(fail(SignErrorKind::InvalidClientIp));
        }
        let mut text = String::new();
        for network in &self.networks {
            let network =
                Network::parse(network).map_err(|_| fail(SignErrorKind::InvalidClientIp))?;
            if !text.is_empty() {
                text.push(',');
            }
            text.push_str(&network.to_string());
        }
        Ok(Some(text))
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
