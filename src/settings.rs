//! The configuration the layer, its services and the signer share, and the one decision the
//! layer makes per request.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{Extensions, Method, Uri};
use percent_encoding::percent_decode_str;

use crate::clock::Clock;
use crate::key::{Keyring, KeyringHandle};
use crate::mount::{self, ClientPath};
use crate::one_time::NonceStore;
use crate::path::{decode_canonical, PathRejection, Prefixes, Route};
use crate::rejection::RejectionKind;
use crate::token::{
    signature_matches, AppQuery, Claims, ParamNames, PathToken, Scope, SignedQuery, DEFAULT_METHOD,
};

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
    /// Where a router mounted the layer's service, when the layer cannot see it for itself
    /// (canonical, without a trailing `/`).
    pub(crate) mount: Option<Box<str>>,
    /// Names this configuration: a copy of the layer applied twice recognises its own work.
    pub(crate) id: u64,
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
}

/// A nonce to record, when it is used (the verifying clock), and for how long from now the store
/// must remember it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OneTimeUse<'a> {
    pub(crate) nonce: &'a str,
    pub(crate) now: u64,
    pub(crate) keep_for: Duration,
}

impl<'q> Verdict<'_, 'q> {
    pub(crate) fn is_signed(&self) -> bool {
        matches!(self, Verdict::Signed { .. })
    }

    /// The verdict on a whole client path, for an inner service that sees the path without its
    /// first `mount_segments` segments (a router stripped them). A public request goes on as the
    /// router gave it; a signed one loses the mount from its canonical path.
    fn unmounted(self, mount_segments: usize) -> Verdict<'static, 'q> {
        match self {
            Verdict::Public | Verdict::PublicRewritten { .. } => Verdict::Public,
            Verdict::Signed {
                path,
                query,
                conditions,
            } => Verdict::Signed {
                path: Cow::Owned(mount::strip_segments(&path, mount_segments).to_owned()),
                query,
                conditions,
            },
        }
    }

    /// The path and query the inner service must see, when they differ from the request's.
    pub(crate) fn into_target(self) -> Option<String> {
        let (path, query) = match self {
            Verdict::Public => return None,
            Verdict::PublicRewritten { path, query } => (path, Cow::Borrowed(query)),
            Verdict::Signed { path, query, .. } => (path.into_owned(), query),
        };
        let mut target = path;
        if !query.is_empty() {
            target.reserve(query.len() + 1);
            target.push('?');
            target.push_str(&query);
        }
        Some(target)
    }
}

impl Settings {
    /// Classifies a request by the path its client sent and, when it is private, verifies its
    /// link. The verdict's path is the one the inner service must see.
    pub(crate) fn decide<'a>(
        &'a self,
        method: &Method,
        uri: &'a Uri,
        extensions: &'a Extensions,
    ) -> Result<Verdict<'a, 'a>, RejectionKind> {
        let query = uri.query().unwrap_or("");
        match mount::client_path(uri, extensions, self.mount.as_deref()) {
            ClientPath::AsSeen => self.decide_path(method, uri.path(), query, extensions),
            ClientPath::Nested {
                full,
                mount_segments,
            } => Ok(self
                .decide_path(method, full, query, extensions)?
                .unmounted(mount_segments)),
            ClientPath::Mounted {
                full,
                mount_segments,
            } => Ok(self
                .decide_path(method, &full, query, extensions)?
                .unmounted(mount_segments)),
            ClientPath::Rewritten { original } => {
                // Something between the router and the layer changed the path. The router chose
                // by the original: a private original must not pass as a public rewrite.
                let seen = self.decide_path(method, uri.path(), query, extensions)?;
                let original_public = matches!(self.prefixes.route(original), Route::Public(_));
                if !seen.is_signed() && !original_public {
                    return Err(RejectionKind::AmbiguousPath);
                }
                Ok(seen)
            }
        }
    }

    /// [`decide`](Self::decide) for one reading of the client's path.
    fn decide_path<'p, 'q>(
        &'q self,
        method: &Method,
        raw_path: &'p str,
        query: &'q str,
        extensions: &Extensions,
    ) -> Result<Verdict<'p, 'q>, RejectionKind> {
        #[cfg(not(feature = "nginx"))]
        let _ = extensions;
        match self.prefixes.route(raw_path) {
            Route::Reject(PathRejection::Ambiguous) => Err(RejectionKind::AmbiguousPath),
            Route::Reject(PathRejection::Malformed) => Err(RejectionKind::MalformedPath),
            Route::Public(Cow::Borrowed(_)) => Ok(Verdict::Public),
            Route::Public(Cow::Owned(path)) => Ok(Verdict::PublicRewritten { path, query }),
            Route::Private(path) => match &self.scheme {
                Scheme::Native(keyring) => self.decide_native(&keyring.load(), path, query, method),
                #[cfg(feature = "nginx")]
                Scheme::Nginx(nginx) if nginx.is_legacy_secret() => {
                    let raw = if query.is_empty() {
                        Cow::Borrowed(raw_path)
                    } else {
                        Cow::Owned(format!("{raw_path}?{query}"))
                    };
                    let target = nginx.verify_legacy(&raw)?;
                    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                    // The link without its hash segment must still be a private path.
                    match self.prefixes.route(path) {
                        Route::Private(path) => Ok(Verdict::Signed {
                            path: Cow::Owned(path.into_owned()),
                            query: Cow::Owned(query.to_owned()),
                            conditions: Conditions::default(),
                        }),
                        _ => Err(RejectionKind::MalformedPath),
                    }
                }
                #[cfg(feature = "nginx")]
                Scheme::Nginx(nginx) => {
                    let remote_addr = nginx.remote_addr(extensions);
                    let now = self.clock.now_unix();
                    nginx.verify(&decode_canonical(&path), raw_path, query, now, remote_addr)?;
                    Ok(Verdict::Signed {
                        path,
                        query: nginx.app_query(query),
                        conditions: Conditions::default(),
                    })
                }
            },
        }
    }

    fn decide_native<'p, 'q>(
        &'q self,
        keyring: &Keyring,
        path: Cow<'p, str>,
        query: &'q str,
        method: &Method,
    ) -> Result<Verdict<'p, 'q>, RejectionKind> {
        if let Some(at) = path_token_position(&path, &self.names) {
            return self.decide_path_token(keyring, &path, at, query, method);
        }
        let signed = SignedQuery::parse(query, &self.names)?;
        let decoded = decode_canonical(&path);
        let conditions = match signed.prefix {
            None => {
                let claims = signed.claims(&decoded);
                let (own_method, now) =
                    self.verify(keyring, &claims, signed.signature, signed.times(), method)?;
                Conditions {
                    // HEAD on a GET link looks without using it up.
                    consume: signed.nonce.filter(|_| own_method).map(|nonce| OneTimeUse {
                        nonce,
                        now,
                        keep_for: keep_for(signed.expires.0, self.leeway, now),
                    }),
                    max_body: signed.max_body.map(|(limit, _)| limit),
                }
            }
            Some(escaped) => {
                // A folder link: the request must lie inside the folder it names.
                let prefix = percent_decode_str(escaped)
                    .decode_utf8()
                    .map_err(|_| RejectionKind::MalformedToken)?;
                if !prefix.starts_with('/') || !prefix.ends_with('/') {
                    return Err(RejectionKind::MalformedToken);
                }
                if signed.nonce.is_some()
                    || signed.max_body.is_some()
                    || signed.method != DEFAULT_METHOD
                {
                    return Err(RejectionKind::MalformedToken);
                }
                let claims = Claims {
                    scope: Scope::Prefix,
                    query: AppQuery::Plain(""),
                    ..signed.claims(&prefix)
                };
                self.verify(keyring, &claims, signed.signature, signed.times(), method)?;
                if !decoded.starts_with(&*prefix) {
                    return Err(RejectionKind::OutsideScope);
                }
                Conditions::default()
            }
        };
        Ok(Verdict::Signed {
            path,
            query: signed.app_query.to_query(),
            conditions,
        })
    }

    /// A folder link carried in a path segment: `/folder/<token>/rest` admits `/folder/rest`.
    fn decide_path_token<'p, 'q>(
        &'q self,
        keyring: &Keyring,
        path: &str,
        at: (usize, usize),
        query: &'q str,
        method: &Method,
    ) -> Result<Verdict<'p, 'q>, RejectionKind> {
        let (start, end) = at;
        let token = PathToken::parse(&path[start..end], &self.names)?;
        let prefix = decode_canonical(&path[..start]);
        let claims = token.claims(&prefix);
        self.verify(
            keyring,
            &claims,
            token.signature,
            (token.expires.0, None),
            method,
        )?;
        // The folder without the token segment; it must still be private.
        let inner = format!("{}{}", &path[..start], path[end..].trim_start_matches('/'));
        match self.prefixes.route(&inner) {
            Route::Private(inner) => Ok(Verdict::Signed {
                path: Cow::Owned(inner.into_owned()),
                query: Cow::Borrowed(query),
                conditions: Conditions::default(),
            }),
            _ => Err(RejectionKind::MalformedPath),
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
                    || path_token_position(uri.path(), &self.names).is_some()
            }
            #[cfg(feature = "nginx")]
            Scheme::Nginx(nginx) => has_param(nginx.token_param()),
        }
    }

    /// Checks a link in the order that leaks least: key, signature, time, method. Returns whether
    /// the request uses the link's own method (rather than HEAD on a GET link), and the time
    /// it was checked at.
    fn verify(
        &self,
        keyring: &Keyring,
        claims: &Claims<'_>,
        presented: &str,
        (expires, not_before): (u64, Option<u64>),
        method: &Method,
    ) -> Result<(bool, u64), RejectionKind> {
        let key = keyring
            .get(claims.key_id)
            .ok_or(RejectionKind::UnknownKey)?;
        if !signature_matches(&claims.signature(key), presented) {
            return Err(RejectionKind::BadSignature);
        }
        let now = self.clock.now_unix();
        if now > expires.saturating_add(self.leeway) {
            return Err(RejectionKind::Expired);
        }
        if not_before.is_some_and(|not_before| not_before > now.saturating_add(self.leeway)) {
            return Err(RejectionKind::NotYetValid);
        }
        let latest_expiry = now
            .saturating_add(self.max_lifetime)
            .saturating_add(self.leeway);
        if expires > latest_expiry {
            return Err(RejectionKind::LifetimeTooLong);
        }
        let own_method = method.as_str() == claims.method;
        let head_on_get = claims.method == DEFAULT_METHOD && *method == Method::HEAD;
        if !(own_method || head_on_get) {
            return Err(RejectionKind::MethodNotAllowed);
        }
        Ok((own_method, now))
    }
}

/// How long from `now` (the verifying host's clock) a one-time nonce must be remembered.
///
/// A host accepts a link until its own clock passes `expires + leeway`. Hosts whose clocks are
/// within `leeway` of this one may therefore accept it until this clock reads
/// `expires + 2 * leeway`; one more second covers the rounding to whole seconds. The time is
/// relative, so a store applies it on its own clock without depending on that clock's offset.
pub(crate) fn keep_for(expires: u64, leeway: u64, now: u64) -> Duration {
    let last_acceptance = expires.saturating_add(leeway.saturating_mul(2));
    Duration::from_secs(last_acceptance.saturating_sub(now).saturating_add(1))
}

/// Where a prefix token segment sits in a canonical path: its start and end byte offsets.
fn path_token_position(path: &str, names: &ParamNames) -> Option<(usize, usize)> {
    // Most paths hold no `~` at all: one byte scan settles them.
    if !path.as_bytes().contains(&b'~') {
        return None;
    }
    let (start, _) = path
        .match_indices(&*names.path_token)
        .find(|(at, _)| *at > 0 && path.as_bytes()[at - 1] == b'/')?;
    let end = path[start..].find('/').map_or(path.len(), |at| start + at);
    Some((start, end))
}
