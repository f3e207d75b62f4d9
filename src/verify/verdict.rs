//! What the decision reads of a request ([`Presented`]) and what it returns ([`Verdict`], with
//! the [`Conditions`] a valid link still sets). A leaf: every format module builds on it, and it
//! calls none of them.

use std::borrow::Cow;
use std::time::Duration;

use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE, X_CONTENT_TYPE_OPTIONS};
use http::{Extensions, HeaderMap, HeaderValue, Method};

use crate::mount;
use crate::rejection::RejectionKind;
use crate::token::overrides::{parse_content_type, parse_disposition};

/// What a request presents to the decision, for one reading of its path.
pub(crate) struct Presented<'p, 'q, 'r> {
    /// The path as read so far: the raw reading until it is routed, then the canonical
    /// private path a format verifies.
    pub(crate) path: Cow<'p, str>,
    /// The path exactly as the client sent it (nginx hashes it in one compatibility mode).
    pub(crate) raw_path: &'p str,
    pub(crate) query: &'q str,
    pub(crate) method: &'r Method,
    /// Read for folder session cookies.
    pub(crate) headers: &'r HeaderMap,
    /// The request URI's authority (HTTP/2's host), for session cookies.
    pub(crate) authority: Option<&'r str>,
    pub(crate) extensions: &'r Extensions,
}

impl<'q, 'r> Presented<'_, 'q, 'r> {
    /// The same request read at another path (another reading of the client's path).
    pub(super) fn at<'x>(&self, path: &'x str) -> Presented<'x, 'q, 'r> {
        Presented {
            path: Cow::Borrowed(path),
            raw_path: path,
            query: self.query,
            method: self.method,
            headers: self.headers,
            authority: self.authority,
            extensions: self.extensions,
        }
    }
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
    /// Headers a successful answer gets: a folder link's session cookie, a signed download
    /// name and content type.
    pub(crate) on_success: Option<Box<OnSuccess>>,
    /// An opaque link: nothing in the answer may name the hidden target.
    pub(crate) conceal: bool,
    /// A confirm link's POST: the inner service sees a GET.
    pub(crate) as_get: bool,
}

/// Headers the layer sets on a successful (2xx) answer through a link.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OnSuccess {
    /// A folder session cookie (appended to any the service set).
    pub(crate) set_cookie: Option<HeaderValue>,
    /// The link's `Content-Disposition` (replacing the service's).
    pub(crate) disposition: Option<HeaderValue>,
    /// The link's `Content-Type` (replacing the service's).
    pub(crate) content_type: Option<HeaderValue>,
}

impl OnSuccess {
    /// The headers a link's `sl_cd` and `sl_ct` values (checked when the link was read) ask
    /// for; `None` when it has neither.
    pub(crate) fn overrides(
        disposition: Option<&str>,
        content_type: Option<&str>,
    ) -> Option<Box<Self>> {
        if disposition.is_none() && content_type.is_none() {
            return None;
        }
        let disposition = disposition
            .and_then(parse_disposition)
            .map(|(presentation, name)| {
                crate::disposition::disposition(presentation.as_str(), &name)
            });
        let content_type = content_type
            .and_then(parse_content_type)
            .and_then(|text| HeaderValue::try_from(text).ok());
        Some(Box::new(Self {
            set_cookie: None,
            disposition,
            content_type,
        }))
    }

    /// Sets the headers on `response` when it is a success.
    pub(crate) fn apply<B>(self, response: &mut http::Response<B>) {
        if !response.status().is_success() {
            return;
        }
        let headers = response.headers_mut();
        if let Some(cookie) = self.set_cookie {
            headers.append(SET_COOKIE, cookie);
        }
        if let Some(disposition) = self.disposition {
            headers.insert(CONTENT_DISPOSITION, disposition);
        }
        if let Some(content_type) = self.content_type {
            headers.insert(CONTENT_TYPE, content_type);
            // The type is the link's word: no browser may guess another.
            headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        }
    }
}

/// A nonce to record, when it is used (the verifying clock), and for how long from now the store
/// must remember it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OneTimeUse<'a> {
    pub(crate) nonce: Cow<'a, str>,
    pub(crate) now: u64,
    pub(crate) keep_for: Duration,
    /// How many uses the link has (1 for a one-time link).
    pub(crate) uses: u32,
}

impl<'q> Verdict<'_, 'q> {
    /// Whether a valid link admitted the request (rather than the path being public).
    pub(crate) fn is_signed(&self) -> bool {
        matches!(self, Verdict::Signed { .. })
    }

    /// The verdict on a whole client path, for an inner service mounted at `mount` (a router
    /// stripped it). A public request goes on as the router gave it; a signed one is handed its
    /// target's path within the mount, and refused when the target lies outside the mount: a
    /// link (opaque, or a folder token) never lands in a service chosen for another path.
    pub(super) fn unmounted(self, mount: &str) -> Result<Verdict<'static, 'q>, RejectionKind> {
        match self {
            Verdict::Public | Verdict::PublicRewritten { .. } => Ok(Verdict::Public),
            Verdict::Signed {
                path,
                query,
                conditions,
            } => {
                let within =
                    mount::within_mount(&path, mount).ok_or(RejectionKind::OutsideMount)?;
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
