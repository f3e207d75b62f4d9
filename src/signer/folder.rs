//! Folder links: one link for everything under a folder.

use std::time::Duration;

use super::{
    classify_target, fail, within_link_len, Expiry, SignError, SignErrorKind, UrlSigner, MAX_NUMBER,
};
use crate::config::Scheme;
use crate::path::{canonical_for_minting, decode_canonical};
use crate::token::{Claims, Decimal, Scope};

/// A folder link being minted; see [`UrlSigner::folder_link`].
#[derive(Debug, Clone)]
#[must_use]
pub struct FolderLinkBuilder<'a> {
    signer: &'a UrlSigner,
    folder: &'a str,
    expiry: Expiry<'a>,
    window: Option<u64>,
    session: Option<u64>,
}

impl<'a> FolderLinkBuilder<'a> {
    pub(super) fn new(signer: &'a UrlSigner, folder: &'a str) -> Self {
        Self {
            signer,
            folder,
            expiry: Expiry::Default,
            window: None,
            session: None,
        }
    }

    /// The link, when used, is exchanged for a cookie scoped to the folder that admits GET and
    /// HEAD requests under it, without any link, for `session` (capped by the layer's maximum
    /// lifetime): for players that fetch a playlist's segments by absolute path, and sessions
    /// longer than the shareable link. Only in the path-segment form
    /// ([`to_path_base`](Self::to_path_base)). A session longer than the maximum lifetime is
    /// minted as the maximum lifetime, where the layer caps the cookie anyway; one under a
    /// second is refused ([`SignErrorKind::InvalidTimes`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_secure_link::{Key, SecureLinkLayer};
    ///
    /// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
    /// let link = layer
    ///     .signer()
    ///     .folder_link("/videos/42/")
    ///     .expires_in(Duration::from_secs(60))
    ///     .cookie_session(Duration::from_secs(4 * 3600))
    ///     .to_path_base()
    ///     .unwrap();
    /// assert!(link.starts_with("/videos/42/sl_t~1~") && link.contains("~14400~"));
    /// ```
    pub fn cookie_session(mut self, session: Duration) -> Self {
        self.session = Some(session.as_secs());
        self
    }

    /// Rounds the expiry up to a multiple of `window`, as
    /// [`LinkBuilder::window`](super::LinkBuilder::window) does.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window.as_secs());
        self
    }
}

/// A canonical folder as a query value: it must not carry the query's own separators.
const PREFIX_VALUE_ESCAPE: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b'&').add(b'=').add(b'+');

impl FolderLinkBuilder<'_> {
    /// The link expires this long from now.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expiry = Expiry::In(lifetime);
        self
    }

    /// The link expires at this Unix time.
    pub fn expires_at(mut self, unix_seconds: u64) -> Self {
        self.expiry = Expiry::At(unix_seconds);
        self
    }

    /// The folder with a token segment appended (`/folder/<token>/`): append any file name,
    /// and relative URLs inside the files keep the token.
    ///
    /// The folder must be private: under a public one the layer would hand the token segment to
    /// the inner service as part of the path ([`SignErrorKind::NotPrivate`]).
    pub fn to_path_base(&self) -> Result<String, SignError> {
        let (folder, key_id, expires, session, signature) = self.sign(true)?;
        let names = &self.signer.settings.names;
        let session = session.map_or_else(String::new, |seconds| format!("{seconds}~"));
        within_link_len(format!(
            "{folder}{}{key_id}~{expires}~{session}{signature}/",
            names.path_token
        ))
    }

    /// The signing parameters as a query string, for any path under the folder.
    pub fn to_query(&self) -> Result<String, SignError> {
        if self.session.is_some() {
            // The query form has no field for it; the exchange lives in the path segment.
            return Err(fail(SignErrorKind::NotSupportedByScheme));
        }
        let (folder, key_id, expires, _, signature) = self.sign(false)?;
        let names = &self.signer.settings.names;
        // Decoding this value once gives the decoded folder, as the message signs it.
        let escaped = percent_encoding::utf8_percent_encode(&folder, PREFIX_VALUE_ESCAPE);
        let query = format!(
            "{}={key_id}&{}={expires}&{}={escaped}&{}={signature}",
            names.key_id, names.expires, names.prefix_scope, names.signature
        );
        // The shortest link it makes: the folder itself with this query.
        if folder.len() + 1 + query.len() > super::MAX_LINK_LEN {
            return Err(fail(SignErrorKind::TooLong));
        }
        Ok(query)
    }

    /// The canonical folder, key id, expiry, cookie session and signature, for the path-segment
    /// form (`in_path`) or the query form.
    #[allow(clippy::type_complexity)]
    fn sign(&self, in_path: bool) -> Result<(String, String, u64, Option<u64>, String), SignError> {
        let settings = &*self.signer.settings;
        let keyring = match &settings.scheme {
            Scheme::Native(keyring) => keyring.load(),
            #[cfg(feature = "nginx")]
            Scheme::Nginx(_) => return Err(fail(SignErrorKind::NotSupportedByScheme)),
        };
        if !self.folder.ends_with('/') {
            return Err(fail(SignErrorKind::InvalidTarget));
        }
        let folder = canonical_for_minting(self.folder)
            .map_err(|_| fail(SignErrorKind::InvalidTarget))?
            .into_owned();
        let private = classify_target(settings, &folder, false)?;
        if in_path && !private {
            return Err(fail(SignErrorKind::NotPrivate));
        }
        let expires = self.expiry.native_expiry(settings, self.window)?;
        if self.session == Some(0) {
            return Err(fail(SignErrorKind::InvalidTimes));
        }
        // Verifiers cap the cookie at the maximum lifetime and read no number past `MAX_NUMBER`:
        // a longer session means the same cookie, and is signed as what it means.
        let session = self
            .session
            .map(|seconds| seconds.min(settings.max_lifetime).min(MAX_NUMBER));
        let key = keyring.signing_key();
        if key.delegated().is_some() {
            // A delegation covers plain links; folder links carry no delegation to check.
            return Err(SignError::outside_delegation("link kind: folder links"));
        }
        let decoded = decode_canonical(&folder);
        let (mut expires_text, mut session_text) = (Decimal::default(), Decimal::default());
        let claims = Claims {
            session: session.map(|seconds| session_text.text(seconds)),
            ..Claims::basic(
                key.id(),
                Scope::Prefix,
                &decoded,
                expires_text.text(expires),
            )
        };
        let signature = key
            .sign(&claims)
            .ok_or(fail(SignErrorKind::VerifyOnlyKey))?
            .as_str()
            .to_owned();
        Ok((folder, key.id().to_owned(), expires, session, signature))
    }
}
