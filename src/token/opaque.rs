//! The framing of opaque links, shared by the signer that seals them and the verifier that
//! opens them (see `verify::opaque` for the whole format).

use super::message::Claims;

/// The format byte every opaque token starts with.
pub(crate) const FORMAT_VERSION: u8 = 1;
/// Starts the associated data, so no other use of the AEAD key can produce a valid seal.
pub(crate) const AD_TAG: &[u8] = b"tsl-opaque-v1";
/// XChaCha20-Poly1305's nonce, random for each link.
pub(crate) const NONCE_LEN: usize = 24;

/// The token's clear head: the format byte, the key id's length and the key id (also the
/// associated data after [`AD_TAG`]). `None` for a key id over 255 bytes.
pub(crate) fn head(key_id: &str) -> Option<Vec<u8>> {
    let mut head = vec![FORMAT_VERSION, u8::try_from(key_id.len()).ok()?];
    head.extend_from_slice(key_id.as_bytes());
    Some(head)
}

/// The sealed claims of a link to `path` (canonical, escaped): nine fields, then client
/// networks, download name, content type, uses and confirm up to the last one the link has, each a 2-byte
/// big-endian length and its bytes. `None` for a field over 64 KiB.
pub(crate) fn plaintext(claims: &Claims<'_>, path: &str) -> Option<Vec<u8>> {
    let query = claims.query.to_query();
    let later = [
        claims.client_ip,
        claims.disposition,
        claims.content_type,
        claims.uses,
        claims.confirm,
    ];
    let later_count = later
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |last| last + 1);
    let mut plaintext = Vec::new();
    for field in [
        claims.method,
        path,
        &query,
        claims.not_before.unwrap_or(""),
        claims.expires,
        claims.nonce.unwrap_or(""),
        claims.max_body.unwrap_or(""),
        claims.version.unwrap_or(""),
        claims.group.unwrap_or(""),
    ]
    .into_iter()
    // Fields 10 to 14 up to the last one the link has, empty ones before it.
    .chain(
        later
            .into_iter()
            .take(later_count)
            .map(|field| field.unwrap_or("")),
    ) {
        plaintext.extend_from_slice(&u16::try_from(field.len()).ok()?.to_be_bytes());
        plaintext.extend_from_slice(field.as_bytes());
    }
    Some(plaintext)
}
