//! The configuration the layer, its services and the signer share: plain data, built once by
//! [`SecureLinkLayer`](crate::SecureLinkLayer). What a request is let through on is decided in
//! [`verify`](crate::verify), which reads this and is never read by it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::client_addr::ClientAddrRule;
use crate::clock::Clock;
use crate::key::{Key, KeyringHandle};
use crate::one_time::NonceStore;
use crate::path::Prefixes;
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
    /// How to find a request's client address (for links bound to client networks).
    pub(crate) client_addr: ClientAddrRule,
}

/// A number no other configuration built in this process has.
pub(crate) fn fresh_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
