//! The configuration the layer, its services and the signer share, and the one decision the
//! layer makes per request: where the path belongs (the [`path`](crate::path) boundary, the
//! mount), then, for a private path, which [`format`](crate::format) verifies it.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{Extensions, HeaderMap, Method, Uri};

use crate::clock::Clock;
use crate::format::{self, Presented};
use crate::key::{Key, KeyringHandle};
use crate::mount::{self, ClientPath};
use crate::one_time::NonceStore;
use crate::path::{PathRejection, Prefixes, Route};
use crate::rejection::RejectionKind;
use crate::token::ParamNames;

/// How links are signed and checked.
#[derive(Clone, Debug)]
pub(crate) enum Scheme {
    /// HMAC-SHA256, version 1 (the [`token`](crate::token) rules).
    Native(KeyringHandle),
    /// nginx `secure_link` compatible MD5.
    #[cfg(feature = "nginx")]
    Nginx(crate::nginx::NginxScheme),
}

/// Everything built once by [`SecureLinkLayer`](crate::SecureLinkLayer) and shared behind an
/// `Arc` by every service and signer made from it.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) scheme: Scheme,
    pub(crate) names: ParamNames,
    pub(crate) prefixes: Prefixes,
    pub(crate) default_lifetime: u64,
    pub(crate) max_lifetime: u64,
    pub(crate) leeway: u64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) stealth: bool,
    pub(crate) signer_in_extensions: bool,
    pub(crate) nonce_store: Arc<dyn NonceStore>,
    /// How long after a one-time link's first use a resumed download may still use it.
    pub(crate) resume_window: Option<u64>,
    /// Whether an `UploadLimitLayer` inside enforces slot limits on bodies of unknown length.
    pub(crate) streamed_uploads: bool,
    /// Where opaque links live (`/s/`), ending with `/`; `None`: no opaque links.
    pub(crate) opaque_prefix: Option<Box<str>>,
    /// The longest `max-age` responses through a valid link may carry (never past the link's
    /// expiry); `None`: plain `Cache-Control: private`.
    pub(crate) private_cache: Option<u64>,
    /// Where a router mounted the layer's service, when the layer cannot see it for itself
    /// (canonical, without a trailing `/`).
    pub(crate) mount: Option<Box<str>>,
    /// Names this configuration: a copy of the layer applied twice recognises its own work.
    pub(crate) id: u64,
    /// Signs folder session cookies when the keyring's signing key cannot (a verifier that
    /// holds only public keys): random for each layer, so such cookies are good only on the
    /// server that set them.
    pub(crate) session_key: Option<Key>,
}

/// A number no other configuration built in this process has.
pub(crate) fn fresh_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What the layer lets through. The path may borrow from one place (the request URI, or the
/// original URI a router kept) and the query from the request URI.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict<'p, 'q> {
    /// Public, and the request goes on as it is.
    Public,
    /// Public, passed on with its canonical path.
    PublicRewritten { path: String, query: &'q str },
    /// Admitted by a valid link: passed on with the canonical path and the application's query.
    Signed {
        path: Cow<'p, str>,
        query: Cow<'q, str>,
        conditions: Conditions<'q>,
    },
}

/// What a valid link still asks of the request before the inner service sees it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Conditions<'a> {
    /// A one-time link used with its own method: record the nonce first.
    pub(crate) consume: Option<OneTimeUse<'a>>,
    /// An upload slot's body limit, in bytes.
    pub(crate) max_body: Option<u64>,
    /// Seconds until the link expires, which bounds how long a private cache may keep the
    /// response (`None` for links a cache must not replay: one-time links, uploads).
    pub(crate) cache_for: Option<u64>,
    /// A version-bound link: the validator (base64url) the response must carry.
    pub(crate) version: Option<Cow<'a, str>>,
    /// The link's revocation group: the store must say it is not revoked.
    pub(crate) group: Option<Cow<'a, str>>,
    /// A folder link exchanged for a session cookie: the `Set-Cookie` for a successful answer.
    pub(crate) set_cookie: Option<http::HeaderValue>,
    /// An opaque link: nothing in the answer may name the hidden target.
    pub(crate) conceal: bool,
}

/// A nonce to record, when it is used (the verifying clock), and for how long from now the store
/// must remember it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OneTimeUse<'a> {
    pub(crate) nonce: Cow<'a, str>,
    pub(crate) now: u64,
    pub(crate) keep_for: Duration,
}

impl<'q> Verdict<'_, 'q> {
    pub(crate) fn is_signed(&self) -> bool {
        matches!(self, Verdict::Signed { .. })
    }

    /// The verdict on a whole client path, for an inner service mounted at `mount` (a router
    /// stripped it). A public request goes on as the router gave it; a signed one is handed its
    /// target's path within the mount, and refused when the target lies outside the mount: a
    /// link (opaque, or a folder token) never lands in a service chosen for another path.
    fn unmounted(self, mount: &str) -> Result<Verdict<'static, 'q>, RejectionKind> {
        match self {
            Verdict::Public | Verdict::PublicRewritten { .. } => Ok(Verdict::Public),
            Verdict::Signed {
                path,
                query,
                conditions,
            } => {
                let within = mount::within_mount(&path, mount).ok_or(RejectionKind::OutsideMount)?;
                Ok(Verdict::Signed {
                    path: Cow::Owned(within.to_owned()),
                    query,
                    conditions,
                })
            }
        }
    }

    /// The path and query the inner service must see, when they differ from the request's,
    /// and what a valid link still asks.
    pub(crate) fn into_parts(self) -> (Option<String>, Conditions<'q>) {
        let (path, query, conditions) = match self {
            Verdict::Public => return (None, Conditions::default()),
            Verdict::PublicRewritten { path, query } => {
                (path, Cow::Borrowed(query), Conditions::default())
            }
            Verdict::Signed {
                path,
                query,
                conditions,
            } => (path.into_owned(), query, conditions),
        };
        let mut target = path;
        if !query.is_empty() {
            target.reserve(query.len() + 1);
            target.push('?');
            target.push_str(&query);
        }
        (Some(target), conditions)
    }
}

impl Settings {
    /// Classifies a request by the path its client sent and, when it is private, verifies its
    /// link. The verdict's path is the one the inner service must see.
    pub(crate) fn decide<'a>(
        &'a self,
        method: &Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        extensions: &'a Extensions,
    ) -> Result<Verdict<'a, 'a>, RejectionKind> {
        // Before any path is read: a target with no path, or a request naming its host twice,
        // is refused whatever its path (the `host` module; no header lookup in the usual case).
        crate::host::request_host(uri, headers)?;
        let query = uri.query().unwrap_or("");
        // HTTP/2 carries the host here rather than in a `Host` header.
        let authority = uri.authority().map(http::uri::Authority::as_str);
        let request = (headers, authority);
        match mount::client_path(uri, extensions, self.mount.as_deref()) {
            ClientPath::AsSeen => self.decide_path(method, uri.path(), query, request, extensions),
            ClientPath::Routed => {
                let verdict = self.decide_path(method, uri.path(), query, request, extensions)?;
                self.refuse_rerouted(uri.path(), &verdict)?;
                Ok(verdict)
            }
            ClientPath::Nested {
                full,
                mount_segments,
            } => self
                .decide_path(method, full, query, request, extensions)?
                .unmounted(mount::leading_segments(full, mount_segments)),
            ClientPath::Mounted { mount, seen } => {
                let mut buffer = [0u8; mount::JOIN_BUFFER];
                let full = mount::joined(mount, seen, &mut buffer);
                self.decide_path(method, &full, query, request, extensions)?
                    .unmounted(mount)
            }
            ClientPath::Rewritten { original } => {
                // Something between the router and the layer changed the path. The router chose
                // by the original: a private original must not pass as a public rewrite.
                let seen = self.decide_path(method, uri.path(), query, request, extensions)?;
                let original_public = matches!(self.prefixes.route(original), Route::Public(_));
                if !seen.is_signed() && !original_public {
                    return Err(RejectionKind::AmbiguousPath);
                }
                self.refuse_rerouted(uri.path(), &seen)?;
                Ok(seen)
            }
        }
    }

    /// A router has already chosen the service behind the layer by `path`. For an opaque link
    /// that was `/files/s/<token>`: the service is mounted at `/files/s` at the deepest (a token
    /// is random, so no mount names it), and any mount that matched lies inside the folder that
    /// holds the opaque prefix. A hidden target outside that folder may belong to another
    /// service, so it is refused rather than handed to this one.
    fn refuse_rerouted(&self, path: &str, verdict: &Verdict<'_, '_>) -> Result<(), RejectionKind> {
        let (Some(prefix), Verdict::Signed { path: target, .. }) = (&self.opaque_prefix, verdict)
        else {
            return Ok(());
        };
        if self.opaque_token(path).is_none() {
            return Ok(());
        }
        let folder = prefix
            .trim_end_matches('/')
            .rsplit_once('/')
            .map_or("", |(folder, _)| folder);
        match mount::within_mount(target, folder) {
            Some(_) => Ok(()),
            None => Err(RejectionKind::OutsideMount),
        }
    }

    /// The token of an opaque link, when `raw_path` lies under the opaque prefix.
    fn opaque_token<'p>(&self, raw_path: &'p str) -> Option<&'p str> {
        self.opaque_prefix
            .as_deref()
            .and_then(|prefix| raw_path.strip_prefix(prefix))
    }

    /// [`decide`](Self::decide) for one reading of the client's path.
    fn decide_path<'p, 'q>(
        &'q self,
        method: &Method,
        raw_path: &'p str,
        query: &'q str,
        (headers, authority): (&HeaderMap, Option<&str>),
        extensions: &Extensions,
    ) -> Result<Verdict<'p, 'q>, RejectionKind> {
        let presented = |path| Presented {
            path,
            raw_path,
            query,
            method,
            headers,
            authority,
            extensions,
        };
        if let Some(token) = self.opaque_token(raw_path) {
            return format::admit_opaque(self, token, presented(Cow::Borrowed(raw_path)));
        }
        match self.prefixes.route(raw_path) {
            Route::Reject(PathRejection::Ambiguous) => Err(RejectionKind::AmbiguousPath),
            Route::Reject(PathRejection::Malformed) => Err(RejectionKind::MalformedPath),
            Route::Public(Cow::Borrowed(_)) => Ok(Verdict::Public),
            Route::Public(Cow::Owned(path)) => Ok(Verdict::PublicRewritten { path, query }),
            Route::Private(path) => format::admit(self, presented(path)),
        }
    }

    /// Whether a request carries what looks like a link of this layer's format (for the warning
    /// about links arriving on public paths).
    #[cfg(feature = "tracing")]
    pub(crate) fn carries_link(&self, uri: &Uri) -> bool {
        let has_param = |name: &str| {
            uri.query().is_some_and(|query| {
                query.split('&').any(|pair| {
                    pair.split_once('=')
                        .map_or(pair, |(key, _)| key)
                        .eq_ignore_ascii_case(name)
                })
            })
        };
        match &self.scheme {
            Scheme::Native(_) => {
                has_param(&self.names.signature)
                    || format::path_token_position(uri.path(), &self.names).is_some()
            }
            #[cfg(feature = "nginx")]
            Scheme::Nginx(nginx) => has_param(nginx.token_param()),
        }
    }
}
