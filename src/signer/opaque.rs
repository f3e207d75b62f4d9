//! Opaque links: the target and every claim sealed under the signing key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::XNonce;

use super::target::Target;
use super::{fail, SignError, SignErrorKind};
use crate::config::Settings;
use crate::key::Key;
use crate::token::opaque::{head, plaintext, AD_TAG, NONCE_LEN};
use crate::token::Claims;

/// `/<opaque prefix>/<token>` sealing what an ordinary link would carry.
pub(super) fn opaque_link(
    settings: &Settings,
    key: &Key,
    target: &Target<'_>,
    claims: &Claims<'_>,
) -> Result<String, SignError> {
    let prefix = settings
        .opaque_prefix
        .as_deref()
        .ok_or_else(|| fail(SignErrorKind::NoOpaquePrefix))?;
    if key.sealer().is_none() {
        return Err(fail(SignErrorKind::VerifyOnlyKey));
    }
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut nonce).map_err(|_| fail(SignErrorKind::NoRandomness))?;
    // Sealing fails only for a field over 64 KiB, which no request target could carry anyway.
    let token =
        seal(key, claims, target.path, &nonce).ok_or_else(|| fail(SignErrorKind::TooLong))?;
    Ok(format!("{}{prefix}{token}", target.origin))
}

/// Seals what an ordinary link to `path` (canonical, escaped) would sign, `claims`, with `key`
/// under `nonce` (random): the token text.
pub(crate) fn seal(
    key: &Key,
    claims: &Claims<'_>,
    path: &str,
    nonce: &[u8; NONCE_LEN],
) -> Option<String> {
    let plaintext = plaintext(claims, path)?;
    let mut token = head(key.id())?;
    let aad = [AD_TAG, &token].concat();
    let sealed = key
        .sealer()?
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        )
        .ok()?;
    token.extend_from_slice(nonce);
    token.extend_from_slice(&sealed);
    Some(URL_SAFE_NO_PAD.encode(token))
}
