//! Ed25519 links: the canonical message of version 1 under its own scheme tag, signed with an
//! Ed25519 private key (RFC 8032, pure Ed25519), the 64-byte signature in base64url without
//! padding (86 characters). Everything else (parameters, folder tokens, one-time nonces) is
//! as for HMAC links; the key id tells the verifier which kind of key to use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::{Claims, SignatureText};

/// The first bytes of every Ed25519 canonical message. Different from the HMAC tag, so a
/// message signed under one scheme never reads as one of the other.
pub(crate) const SCHEME_TAG: &[u8] = b"tsl-ed25519-v1";

pub(crate) fn sign(key: &SigningKey, claims: &Claims<'_>) -> SignatureText {
    let signature = claims.with_message(SCHEME_TAG, |message| key.sign(message));
    SignatureText::encode(&signature.to_bytes())
}

/// Strict verification (RFC 8032's checks plus no small-order components), so a signature has
/// one accepted form: a malleated copy of a valid one is refused.
pub(crate) fn verify(key: &VerifyingKey, claims: &Claims<'_>, presented: &str) -> bool {
    let mut bytes = [0u8; 64];
    // Canonical base64url only: the decoder refuses non-zero trailing bits.
    if presented.len() != super::signature::MAX_SIGNATURE_LEN
        || URL_SAFE_NO_PAD.decode_slice(presented, &mut bytes) != Ok(64)
    {
        return false;
    }
    let signature = Signature::from_bytes(&bytes);
    claims.with_message(SCHEME_TAG, |message| {
        key.verify_strict(message, &signature).is_ok()
    })
}
