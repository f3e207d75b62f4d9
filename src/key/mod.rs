//! Signing keys and the keyring that rotates them.
//!
//! A [`Key`] is an id plus a secret of at least 32 bytes. The secret is turned into HMAC-SHA256
//! state once, when the key is made, and then dropped: the crate keeps only that state, so no
//! `Debug`, log or error can print the secret, and no request pays for the key schedule.
//!
//! A [`Keyring`] holds one signing key and any number of older keys that are still accepted for
//! verification. Every link names the id of the key that signed it; a link naming an id the
//! keyring does not hold is rejected outright rather than tried against every key.
//!
//! ```
//! use tower_secure_link::{Key, Keyring};
//!
//! let old = Key::new("2025", b"an older secret of thirty-two bytes!").unwrap();
//! let new = Key::new("2026", b"the current secret, 32 bytes or more").unwrap();
//! let keyring = Keyring::new(new).with_verify_only(old).unwrap();
//! assert_eq!(keyring.signing_key().id(), "2026");
//! assert!(keyring.get("2025").is_some());
//! assert!(keyring.get("1999").is_none());
//! assert!(Key::new("short", b"too short").is_err());
//! ```

use std::fmt;

use chacha20poly1305::XChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::Mac as _;
use sha2::Sha256;

use crate::token::delegation::Scope;
#[cfg(feature = "ed25519")]
use crate::token::ed25519;
use crate::token::{signature_matches, Claims, HmacSha256, SignatureText, KEY_ID_MAX_LEN};

mod delegation;
mod error;
mod keyring;
#[cfg(test)]
mod tests;

pub use delegation::Delegation;
pub use error::KeyError;
pub use keyring::{Keyring, KeyringHandle};
// Key ids are part of the wire format; the crate also reads the rule by this path.
pub(crate) use crate::token::is_valid_key_id;

/// The fewest secret bytes a native key accepts: the size of the HMAC-SHA256 output.
pub const MIN_SECRET_LEN: usize = 32;

/// The longest key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = KEY_ID_MAX_LEN;

/// The HKDF label of the opaque-link key (see SPEC.md).
pub(crate) const OPAQUE_KEY_LABEL: &[u8] = b"tower-secure-link opaque links v1";

/// A named key: an HMAC-SHA256 secret (signs and verifies), or with feature `ed25519` an
/// Ed25519 private key (signs and verifies) or public key (verifies only).
#[derive(Clone)]
pub struct Key {
    id: Box<str>,
    material: Material,
    /// For a child key: the delegation it signs under (its id above is the root's).
    delegated: Option<std::sync::Arc<Delegated>>,
}

/// What a child key carries besides its signing state.
#[derive(Clone)]
pub(crate) struct Delegated {
    pub(crate) scope: Scope,
    /// The `sl_dlg` value its links carry.
    pub(crate) param: String,
    /// The child's secret (an Ed25519 child's private seed), for [`Key::to_delegated_text`].
    pub(crate) secret: zeroize::Zeroizing<[u8; 32]>,
}

#[derive(Clone)]
enum Material {
    Hmac {
        mac: HmacSha256,
        /// Seals opaque links: a key derived from the secret under its own label, so the two
        /// uses never share key material.
        sealer: XChaCha20Poly1305,
    },
    #[cfg(feature = "ed25519")]
    Ed25519Private(Box<ed25519_dalek::SigningKey>),
    #[cfg(feature = "ed25519")]
    Ed25519Public(ed25519_dalek::VerifyingKey),
}

impl Key {
    /// The fewest secret bytes a native key accepts: the size of the HMAC-SHA256 output.
    pub const MIN_SECRET_LEN: usize = MIN_SECRET_LEN;
    /// The longest key id, in bytes.
    pub const MAX_ID_LEN: usize = MAX_KEY_ID_LEN;

    /// Makes an HMAC-SHA256 key from its id and secret.
    ///
    /// The id is 1 to 32 characters from `A-Z a-z 0-9 . _ -`, since it travels in every link.
    /// The secret must hold at least 32 bytes; use random bytes, not a password.
    pub fn new(id: impl Into<String>, secret: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let id = checked_id(id.into())?;
        let secret = secret.as_ref();
        if secret.len() < MIN_SECRET_LEN {
            return Err(KeyError::SecretTooShort { len: secret.len() });
        }
        let mac = HmacSha256::new_from_slice(secret)
            .map_err(|_| KeyError::SecretTooShort { len: secret.len() })?;
        let mut sealing_key = [0u8; 32];
        Hkdf::<Sha256>::new(None, secret)
            .expand(OPAQUE_KEY_LABEL, &mut sealing_key)
            .map_err(|_| KeyError::SecretTooShort { len: secret.len() })?;
        let sealer = <XChaCha20Poly1305 as chacha20poly1305::KeyInit>::new(&sealing_key.into());
        Ok(Self {
            id,
            material: Material::Hmac { mac, sealer },
            delegated: None,
        })
    }

    /// The key's id, as links carry it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this key can mint links (an Ed25519 public key only verifies them).
    pub fn can_sign(&self) -> bool {
        match self.material {
            Material::Hmac { .. } => true,
            #[cfg(feature = "ed25519")]
            Material::Ed25519Private(_) => true,
            #[cfg(feature = "ed25519")]
            Material::Ed25519Public(_) => false,
        }
    }

    /// The AEAD that seals and opens this key's opaque links (HMAC keys only: opaque links are
    /// a secret between the minter and the verifier).
    pub(crate) fn sealer(&self) -> Option<&XChaCha20Poly1305> {
        match &self.material {
            Material::Hmac { sealer, .. } => Some(sealer),
            #[cfg(feature = "ed25519")]
            _ => None,
        }
    }

    /// The keyed HMAC state of an HMAC key (what a delegation derives its child from).
    pub(crate) fn hmac_state(&self) -> Option<&HmacSha256> {
        match &self.material {
            Material::Hmac { mac, .. } => Some(mac),
            #[cfg(feature = "ed25519")]
            _ => None,
        }
    }

    /// The signature of `claims` in its text form, or `None` for a key that only verifies.
    pub(crate) fn sign(&self, claims: &Claims<'_>) -> Option<SignatureText> {
        match &self.material {
            Material::Hmac { mac, .. } => Some(SignatureText::encode(&claims.tag(mac))),
            #[cfg(feature = "ed25519")]
            Material::Ed25519Private(key) => Some(ed25519::sign(key, claims)),
            #[cfg(feature = "ed25519")]
            Material::Ed25519Public(_) => None,
        }
    }

    /// Whether `presented` is this key's signature of `claims`, in its one accepted text form.
    pub(crate) fn verifies(&self, claims: &Claims<'_>, presented: &str) -> bool {
        // A child key's links carry its delegation; one without it is no link it makes.
        if self.delegated.is_some() {
            return false;
        }
        match &self.material {
            Material::Hmac { mac, .. } => {
                signature_matches(&SignatureText::encode(&claims.tag(mac)), presented)
            }
            #[cfg(feature = "ed25519")]
            Material::Ed25519Private(key) => {
                ed25519::verify(&key.verifying_key(), claims, presented)
            }
            #[cfg(feature = "ed25519")]
            Material::Ed25519Public(key) => ed25519::verify(key, claims, presented),
        }
    }
}

#[cfg(feature = "ed25519")]
impl Key {
    /// Makes an Ed25519 key that signs (and verifies) from its id and 32-byte private key (the
    /// seed of RFC 8032).
    ///
    /// ```
    /// use tower_secure_link::Key;
    ///
    /// let private = Key::ed25519("ed-2026", [5u8; 32]).unwrap();
    /// let public = Key::ed25519_public("ed-2026", private.ed25519_public_key().unwrap()).unwrap();
    /// assert!(private.can_sign() && !public.can_sign());
    /// assert!(Key::ed25519("ed-2026", [5u8; 31]).is_err());
    /// ```
    pub fn ed25519(id: impl Into<String>, private_key: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let id = checked_id(id.into())?;
        let seed: &[u8; 32] = private_key
            .as_ref()
            .try_into()
            .map_err(|_| KeyError::InvalidEd25519Key)?;
        Ok(Self {
            id,
            material: Material::Ed25519Private(Box::new(ed25519_dalek::SigningKey::from_bytes(
                seed,
            ))),
            delegated: None,
        })
    }

    /// A new Ed25519 key with a private key from the operating system's randomness.
    pub fn generate_ed25519(id: impl Into<String>) -> Result<Self, KeyError> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut *seed).map_err(|_| KeyError::NoRandomness)?;
        Self::ed25519(id, *seed)
    }

    /// Makes an Ed25519 key that only verifies, from its id and 32-byte public key. Refuses a
    /// key that is no point on the curve or one of small order (it would accept forgeries), and
    /// one that names its point in a non-canonical encoding (RFC 8032 5.1.3).
    ///
    /// ```
    /// use tower_secure_link::{Key, KeyError};
    ///
    /// // y = 2^255 - 19 + 3: the point whose y is 3, written the way RFC 8032 forbids.
    /// let mut non_canonical = [0xff; 32];
    /// non_canonical[0] = 0xf0;
    /// non_canonical[31] = 0x7f;
    /// let err = Key::ed25519_public("ed-2026", non_canonical).unwrap_err();
    /// assert_eq!(err, KeyError::NonCanonicalEd25519Key);
    /// ```
    pub fn ed25519_public(
        id: impl Into<String>,
        public_key: impl AsRef<[u8]>,
    ) -> Result<Self, KeyError> {
        let id = checked_id(id.into())?;
        let bytes: &[u8; 32] = public_key
            .as_ref()
            .try_into()
            .map_err(|_| KeyError::InvalidEd25519Key)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| KeyError::InvalidEd25519Key)?;
        if key.is_weak() {
            return Err(KeyError::InvalidEd25519Key);
        }
        // ed25519-dalek reduces y modulo p and ignores a sign bit on x = 0, so 2^255 - 19 + y
        // decodes like y. Only the one encoding the point itself compresses to is accepted:
        // otherwise one key has two spellings, and a verifier hashes whichever it was given.
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(KeyError::NonCanonicalEd25519Key);
        }
        Ok(Self {
            id,
            material: Material::Ed25519Public(key),
            delegated: None,
        })
    }

    /// The 32-byte Ed25519 public key, for an Ed25519 key: what verifiers are given.
    pub fn ed25519_public_key(&self) -> Option<[u8; 32]> {
        match &self.material {
            Material::Hmac { .. } => None,
            Material::Ed25519Private(key) => Some(key.verifying_key().to_bytes()),
            Material::Ed25519Public(key) => Some(key.to_bytes()),
        }
    }

    /// This key's public half, with the same id: give it to verifiers.
    pub fn to_public(&self) -> Option<Key> {
        let public = self.ed25519_public_key()?;
        Self::ed25519_public(self.id.to_string(), public).ok()
    }
}

fn checked_id(id: String) -> Result<Box<str>, KeyError> {
    if is_valid_key_id(&id) {
        Ok(id.into_boxed_str())
    } else {
        Err(KeyError::InvalidId)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Key");
        out.field("id", &self.id);
        if let Some(delegated) = &self.delegated {
            out.field("delegation", &delegated.scope);
        }
        match &self.material {
            Material::Hmac { .. } => out.field("secret", &"<redacted>"),
            #[cfg(feature = "ed25519")]
            Material::Ed25519Private(_) => out.field("ed25519_private_key", &"<redacted>"),
            #[cfg(feature = "ed25519")]
            Material::Ed25519Public(key) => {
                out.field("ed25519_public_key", &base64url(&key.to_bytes()))
            }
        };
        out.finish()
    }
}

#[cfg(feature = "ed25519")]
fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
