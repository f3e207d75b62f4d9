//! Signed, expiring links for private files and endpoints, as a tower layer.
//!
//! Web apps hand out links to private things: an invoice for one customer, an avatar, a video.
//! [`SecureLinkLayer`] wraps any tower service (axum, tonic, hyper, warp). Requests under its
//! private prefixes must carry a valid signed link; everything else passes through. A
//! [`UrlSigner`] mints the links, in request handlers (it is in every request's extensions) and
//! anywhere else (emails, background jobs).
//!
//! # Quick start
//!
//! ```
//! use axum::{body::Body, routing::get, Extension, Router};
//! use http::{Request, StatusCode};
//! use tower::{Layer, ServiceExt};
//! use tower_secure_link::{Key, SecureLinkLayer, UrlSigner};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In production the secret comes from your secret store: 32 random bytes or more.
//! let key = Key::new("2026-11", b"a secret of at least thirty-two bytes!")?;
//! let layer = SecureLinkLayer::new(key).with_private_prefix("/files/")?;
//!
//! let router = Router::new()
//!     // A public page that hands out a link...
//!     .route("/", get(|Extension(signer): Extension<UrlSigner>| async move {
//!         signer.sign("/files/invoice-42.pdf").unwrap()
//!     }))
//!     // ...to a private resource (in a real app, tower-http's ServeDir).
//!     .route("/files/invoice-42.pdf", get(|| async { "%PDF-1.7 ..." }));
//! // Outside the whole router, the layer sees every path as the client sent it.
//! let app = layer.layer(router);
//!
//! let page = app.clone().oneshot(Request::get("/").body(Body::empty())?).await?;
//! let body = axum::body::to_bytes(page.into_body(), 4096).await?;
//! let link = String::from_utf8(body.to_vec())?;
//!
//! let granted = app.clone().oneshot(Request::get(&link).body(Body::empty())?).await?;
//! assert_eq!(granted.status(), StatusCode::OK);
//!
//! let tampered = link.replace("invoice-42", "invoice-43");
//! let refused = app.oneshot(Request::get(&tampered).body(Body::empty())?).await?;
//! assert_eq!(refused.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```
//!
//! # Where to put the layer
//!
//! Outside the whole router: `layer.layer(router)`. A layer added with axum's `Router::layer`
//! also holds, because it refuses (400) every private-touching path that the router could have
//! read differently from the layer (the [`path`] rules); a layer inside `nest` or
//! `nest_service` reads the client's path from axum's `OriginalUri` (feature `axum`) or from
//! [`SecureLinkLayer::with_mount_path`]. What no layer can see is a route or fallback added
//! after `Router::layer`, or a public fallback beside `route_layer`: run the wiring [`audit`]
//! against your real router in a test to catch those.
//!
//! # What else is in the box
//!
//! - [`one_time`]: links that work once, and upload slots (method, path, size limit).
//! - [`UrlSigner::folder_link`]: one link for a whole folder, such as an HLS playlist.
//! - [`KeyringHandle`]: key rotation while the server runs.
//! - [`accel`]: `X-Accel-Redirect`, so nginx sends the bytes after the app checked the link.
//! - [`redact`]: request URIs without their secrets, for logs.
//!
//! # Feature flags
//!
//! | feature | adds |
//! | --- | --- |
//! | `nginx` | `nginx::NginxScheme`: nginx `secure_link` compatible links, nginx configuration |
//! | `redis` | `one_time::RedisNonceStore`: one-time links shared by a fleet (needs tokio) |
//! | `tracing` | refusals logged with their reason and key id, never a token |
//! | `axum` | `UrlSigner` as an axum extractor |
//!
//! # Security model
//!
//! - **One reading of every path.** The layer decodes and normalises a request path once,
//!   classifies that path, and hands the inner service exactly that path. A path that other
//!   servers could read differently (an escaped `/`, a `\`, a double escape, a case variant), or
//!   that a router in front read differently (dot segments, `//`), is refused with 400 when any
//!   reading is private. See the [`path`] rules.
//! - **HMAC-SHA256 over everything that matters**: key id, method, path, the whole application
//!   query, not-before and expiry, compared in constant time. See the [`token`] rules.
//! - **Bounded lifetimes.** Links expire; a maximum lifetime (7 days by default) is enforced
//!   when minting and when verifying.
//! - **Fail closed.** Every path is private until prefixes are configured; a layer that cannot
//!   decide does not serve.
//! - **Quiet refusals.** A rejection carries no detail in its body; the reason is in the
//!   response's extensions as a [`Rejection`]. Secrets never appear in `Debug` output.
//!
//! Limits: a link is a bearer token. Anyone holding it may use it until it expires, it can leak
//! through browser history, and it cannot be revoked except by rotating the key that signed it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod accel;
pub mod audit;
mod client_addr;
mod clock;
mod config;
mod disposition;
#[cfg(feature = "axum")]
mod extract;
mod host;
mod key;
mod layer;
mod mount;
#[cfg(feature = "nginx")]
#[cfg_attr(docsrs, doc(cfg(feature = "nginx")))]
pub mod nginx;
pub mod one_time;
pub mod path;
pub mod redact;
mod rejection;
mod service;
mod signer;
pub mod token;
pub mod upload;
mod verify;

/// Entry points for the cargo-fuzz targets in `fuzz/`; not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::borrow::Cow;

    /// What the path boundary made of a raw path.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Routed {
        /// Passed on, with this canonical path.
        Public(String),
        /// Needs a link for this canonical path.
        Private(String),
        /// Refused with 400.
        Refused,
    }

    /// Routes `raw` with private `/private/` and `/media/private`, public `/private/public/`
    /// (the native fuzz target's layer agrees on `/private/`).
    pub fn route(raw: &str) -> Routed {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let prefixes = crate::path::Prefixes::new(
            &own(&["/private/", "/media/private"]),
            &own(&["/private/public/"]),
        )
        .expect("valid prefixes");
        match prefixes.route(raw) {
            crate::path::Route::Public(path) => Routed::Public(Cow::into_owned(path)),
            crate::path::Route::Private(path) => Routed::Private(Cow::into_owned(path)),
            crate::path::Route::Reject(_) => Routed::Refused,
        }
    }

    /// The decoded form of a canonical path, as a link signs it.
    pub fn decoded(canonical: &str) -> String {
        crate::path::decode_canonical(canonical).into_owned()
    }
}

/// The README's Rust examples, compiled as doc tests so they stay true (they use every
/// feature; `tests/readme-crate` also builds them in a crate of a user's).
#[cfg(all(
    doctest,
    feature = "nginx",
    feature = "redis",
    feature = "axum",
    feature = "tracing"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The `http` crate this one speaks (`Method`, `Request`, `Uri`), so users need no separate
/// dependency to name them.
pub use http;

pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "axum")]
pub use extract::MissingSigner;
pub use key::{Delegation, Key, KeyError, Keyring, KeyringHandle};
pub use layer::{Access, ConfigError, SecureLinkLayer};
pub use rejection::{
    DefaultRejectionResponse, PageResponse, Rejection, RejectionKind, RejectionResponse,
};
pub use service::{ResponseFuture, SecureLink};
#[cfg(feature = "nginx")]
pub use signer::NginxLinkBuilder;
pub use signer::{
    file_version, FolderLinkBuilder, LinkBuilder, SignError, SignErrorKind, UrlSigner,
};

/// The 0.1 names of items that moved or were renamed in 0.2; each says its replacement.
mod renamed {
    #![allow(missing_docs)]
    use std::time::Duration;

    #[deprecated(since = "0.2.0", note = "renamed to `FolderLinkBuilder`")]
    pub type PrefixLinkBuilder<'a> = crate::signer::FolderLinkBuilder<'a>;
    #[deprecated(since = "0.2.0", note = "use `SecureLinkLayer::DEFAULT_LIFETIME`")]
    pub const DEFAULT_LIFETIME: Duration = crate::layer::DEFAULT_LIFETIME;
    #[deprecated(since = "0.2.0", note = "use `SecureLinkLayer::DEFAULT_MAX_LIFETIME`")]
    pub const DEFAULT_MAX_LIFETIME: Duration = crate::layer::DEFAULT_MAX_LIFETIME;
    #[deprecated(since = "0.2.0", note = "use `SecureLinkLayer::DEFAULT_LEEWAY`")]
    pub const DEFAULT_LEEWAY: Duration = crate::layer::DEFAULT_LEEWAY;
    #[deprecated(since = "0.2.0", note = "use `SecureLinkLayer::MAX_LEEWAY`")]
    pub const MAX_LEEWAY: Duration = crate::layer::MAX_LEEWAY;
    #[deprecated(since = "0.2.0", note = "use `SecureLinkLayer::DEFAULT_PARAM_PREFIX`")]
    pub const DEFAULT_PARAM_PREFIX: &str = crate::layer::DEFAULT_PARAM_PREFIX;
    #[deprecated(since = "0.2.0", note = "use `Key::MIN_SECRET_LEN`")]
    pub const MIN_SECRET_LEN: usize = crate::key::MIN_SECRET_LEN;
    #[deprecated(since = "0.2.0", note = "use `Key::MAX_ID_LEN`")]
    pub const MAX_KEY_ID_LEN: usize = crate::key::MAX_KEY_ID_LEN;
}
#[doc(hidden)]
#[allow(deprecated)]
pub use renamed::*;
