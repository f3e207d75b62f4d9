//! Signatures in their one accepted text form: base64url without padding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Length of a tag in base64url without padding.
pub(crate) const SIGNATURE_LEN: usize = 43;

/// The longest signature text any key makes (an Ed25519 signature: 64 bytes, 86 characters).
pub(crate) const MAX_SIGNATURE_LEN: usize = 86;

/// Whether a presented signature has a length some key makes; others are malformed.
pub(crate) fn is_signature_len(len: usize) -> bool {
    len == SIGNATURE_LEN || (cfg!(feature = "ed25519") && len == MAX_SIGNATURE_LEN)
}

/// A signature in its text form (base64url without padding), on the stack.
#[derive(Clone, Copy)]
pub(crate) struct SignatureText {
    bytes: [u8; MAX_SIGNATURE_LEN],
    len: usize,
}

impl SignatureText {
    pub(crate) fn encode(raw: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_SIGNATURE_LEN];
        let len = URL_SAFE_NO_PAD
            .encode_slice(raw, &mut bytes)
            .unwrap_or_default();
        Self { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only base64url characters were written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// Compares a presented signature with the expected one in constant time.
pub(crate) fn signature_matches(expected: &SignatureText, presented: &str) -> bool {
    constant_time_eq::constant_time_eq(expected.as_bytes(), presented.as_bytes())
}
