//! Keeping tokens out of logs.
//!
//! A signed link is a bearer token: whoever reads it in a log can use it. Access logs and
//! tracing spans print request URIs, so the [`Redactor`] rewrites a URI with the secret parts
//! (`sl_sig`, `sl_nonce`, an nginx `token`, the hash segment of nginx's legacy links) replaced by
//! `REDACTED`, keeping the rest (path, key id, expiry) for debugging.
//!
//! ```
//! use tower_secure_link::{Key, ManualClock, SecureLinkLayer};
//!
//! let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
//!     .with_clock(ManualClock::new(1_899_999_000));
//! let link: http::Uri = layer.signer().link("/a.pdf?page=2").expires_at(1_900_000_000).to_target().unwrap().parse().unwrap();
//! let redacted = layer.redactor().redact(&link);
//! assert_eq!(redacted, "/a.pdf?page=2&sl_kid=1&sl_exp=1900000000&sl_sig=REDACTED");
//!
//! // With tower-http's TraceLayer:
//! // TraceLayer::new_for_http().make_span_with(move |request: &http::Request<_>| {
//! //     tracing::info_span!("request", uri = %redactor.redact(request.uri()))
//! // })
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use http::Uri;

use crate::config::{Scheme, Settings};

/// What replaces a secret value.
pub const REDACTED: &str = "REDACTED";

/// Rewrites request URIs without their secrets. Made by
/// [`SecureLinkLayer::redactor`](crate::SecureLinkLayer::redactor); cheap to clone.
#[derive(Clone)]
pub struct Redactor {
    settings: Arc<Settings>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
    }
}

impl Redactor {
    pub(crate) fn new(settings: Arc<Settings>) -> Self {
        Self { settings }
    }

    /// The URI's path and query with every secret value replaced by [`REDACTED`].
    pub fn redact<'a>(&self, uri: &'a Uri) -> Cow<'a, str> {
        let path = self.redact_path(uri.path());
        let Some(query) = uri.query() else {
            return path;
        };
        let secret_pairs = query
            .split('&')
            .filter(|pair| self.is_secret(pair.split('=').next().unwrap_or("")))
            .count();
        if secret_pairs == 0 && matches!(path, Cow::Borrowed(_)) {
            return Cow::Borrowed(uri.path_and_query().map_or("/", |pq| pq.as_str()));
        }
        let mut out = String::with_capacity(path.len() + 1 + query.len());
        out.push_str(&path);
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            let name = pair.split('=').next().unwrap_or("");
            if self.is_secret(name) {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            } else {
                out.push_str(pair);
            }
        }
        Cow::Owned(out)
    }

    /// The path, with the hash segment of nginx legacy links replaced.
    pub fn redact_path<'a>(&self, path: &'a str) -> Cow<'a, str> {
        match &self.settings.scheme {
            #[cfg(feature = "nginx")]
            Scheme::Nginx(nginx) if nginx.is_legacy_secret() => {
                let mut segments: Vec<&str> = path.split('/').collect();
                if segments.len() > 3 {
                    segments[2] = REDACTED;
                }
                Cow::Owned(segments.join("/"))
            }
            _ => Cow::Borrowed(path),
        }
    }

    /// Whether a query parameter's value is a secret: a signature, a nonce, or a reserved name
    /// the layer does not know (it may be a mangled signature).
    fn is_secret(&self, raw_name: &str) -> bool {
        match &self.settings.scheme {
            Scheme::Native(_) => {
                let names = &self.settings.names;
                names.is_reserved(raw_name)
                    && ![
                        &names.key_id,
                        &names.expires,
                        &names.not_before,
                        &names.method,
                        &names.max_body,
                    ]
                    .iter()
                    .any(|public| raw_name == &***public)
            }
            #[cfg(feature = "nginx")]
            Scheme::Nginx(nginx) => raw_name.eq_ignore_ascii_case(nginx.token_param()),
        }
    }

    /// The key id a request's query names, for logs (it is not a secret).
    #[cfg(feature = "tracing")]
    pub(crate) fn key_id<'a>(&self, uri: &'a Uri) -> Option<&'a str> {
        let name = &*self.settings.names.key_id;
        uri.query()?
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    }
}
