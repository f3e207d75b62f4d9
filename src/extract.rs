//! `UrlSigner` as an axum extractor (feature `axum`).

use std::fmt;

use crate::signer::UrlSigner;

/// With feature `axum`, a handler can take the signer directly:
/// `async fn page(signer: UrlSigner) -> String`. Without [`SecureLinkLayer`] in front (or with
/// [`without_signer_extension`]), the extractor answers 500 and says which layer is missing.
///
/// [`SecureLinkLayer`]: crate::SecureLinkLayer
/// [`without_signer_extension`]: crate::SecureLinkLayer::without_signer_extension
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for UrlSigner {
    type Rejection = MissingSigner;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<UrlSigner>()
            .cloned()
            .ok_or(MissingSigner)
    }
}

/// The axum extractor for [`UrlSigner`] found no signer: the router lacks a
/// [`SecureLinkLayer`](crate::SecureLinkLayer).
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Debug, Clone, Copy)]
pub struct MissingSigner;

#[cfg(feature = "axum")]
impl MissingSigner {
    const MESSAGE: &'static str = "no UrlSigner in the request extensions: add \
        tower_secure_link::SecureLinkLayer to the router (outside this route), and do not call \
        without_signer_extension() on it";
}

#[cfg(feature = "axum")]
impl fmt::Display for MissingSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::MESSAGE)
    }
}

#[cfg(feature = "axum")]
impl std::error::Error for MissingSigner {}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for MissingSigner {
    fn into_response(self) -> axum_core::response::Response {
        (http::StatusCode::INTERNAL_SERVER_ERROR, Self::MESSAGE).into_response()
    }
}
