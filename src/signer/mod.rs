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

use std::fmt;
use std::sync::Arc;

use crate::config::{Scheme, Settings};
use crate::path::{canonical_for_minting, Route};

mod error;
mod escape;
mod folder;
mod link;
#[cfg(feature = "nginx")]
mod nginx;
mod opaque;
#[cfg(test)]
pub(crate) use opaque::seal;
mod target;
mod version;

pub use error::{SignError, SignErrorKind};
pub use folder::FolderLinkBuilder;
pub use link::LinkBuilder;
#[cfg(feature = "nginx")]
pub use nginx::NginxLinkBuilder;
pub use version::file_version;

pub(crate) use error::fail;
use escape::escape_query;
pub(crate) use link::{classify_target, within_link_len, Expiry, MAX_LINK_LEN, MAX_NUMBER};
pub(crate) use version::{last_modified, split_file_version};

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
        NginxLinkBuilder::new(self.link(target))
    }

    /// Starts a link to `target` whose method, lifetime or start time can be chosen.
    pub fn link<'a>(&'a self, target: &'a str) -> LinkBuilder<'a> {
        LinkBuilder::new(self, target)
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
    /// let base = signer.folder_link("/private/videos/42/").to_path_base().unwrap();
    /// assert!(base.starts_with("/private/videos/42/sl_t~1~"));
    /// let playlist = format!("{base}index.m3u8");
    /// // Or as query parameters for any path under the folder:
    /// let query = signer.folder_link("/private/videos/42/").to_query().unwrap();
    /// let segment = format!("/private/videos/42/seg-1.ts?{query}");
    /// # let _ = (playlist, segment);
    /// ```
    pub fn folder_link<'a>(&'a self, folder: &'a str) -> FolderLinkBuilder<'a> {
        FolderLinkBuilder::new(self, folder)
    }

    /// The 0.1 name of [`folder_link`](Self::folder_link).
    #[deprecated(since = "0.2.0", note = "renamed to `folder_link`")]
    #[doc(hidden)]
    pub fn prefix_link<'a>(&'a self, folder: &'a str) -> FolderLinkBuilder<'a> {
        self.folder_link(folder)
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
