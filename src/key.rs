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

use chacha20poly1305::XChaCha20Poly1305;
use hkdf::Hkdf;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The fewest secret bytes a native key accepts: the size of the HMAC-SHA256 output.
pub const MIN_SECRET_LEN: usize = 32;

/// The longest key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 32;

/// The HKDF label of the opaque-link key (see SPEC.md).
pub(crate) const OPAQUE_KEY_LABEL: &[u8] = b"tower-secure-link opaque links v1";

/// A named HMAC-SHA256 key.
#[derive(Clone)]
pub struct Key {
    id: Box<str>,
    mac: HmacSha256,
    /// Seals opaque links: a key derived from the secret under its own label, so the two uses
    /// never share key material.
    sealer: XChaCha20Poly1305,
}

impl Key {
    /// Makes a key from its id and secret.
    ///
    /// The id is 1 to 32 characters from `A-Z a-z 0-9 . _ -`, since it travels in every link.
    /// The secret must hold at least 32 bytes; use random bytes, not a password.
    pub fn new(id: impl Into<String>, secret: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let id = id.into();
        if !is_valid_key_id(&id) {
            return Err(KeyError::InvalidId);
        }
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
            id: id.into_boxed_str(),
            mac,
            sealer,
        })
    }

    /// The key's id, as links carry it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A fresh HMAC state with the key already absorbed.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// The AEAD that seals and opens this key's opaque links.
    pub(crate) fn sealer(&self) -> &XChaCha20Poly1305 {
        &self.sealer
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

pub(crate) fn is_valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// One signing key and the older keys still accepted when verifying.
#[derive(Clone, Debug)]
pub struct Keyring {
    // The signing key is always `keys[0]`; a handful of keys makes a linear scan the fastest lookup.
    keys: Vec<Key>,
}

impl Keyring {
    /// A keyring that signs and verifies with `signing_key`.
    pub fn new(signing_key: Key) -> Self {
        Self {
            keys: vec![signing_key],
        }
    }

    /// Adds a key that is accepted for verification but never used to sign.
    ///
    /// Fails if the keyring already holds a key with the same id.
    pub fn with_verify_only(mut self, key: Key) -> Result<Self, KeyError> {
        if self.get(key.id()).is_some() {
            return Err(KeyError::DuplicateId);
        }
        self.keys.push(key);
        Ok(self)
    }

    /// The key new links are signed with.
    pub fn signing_key(&self) -> &Key {
        &self.keys[0]
    }

    /// The key with this id, signing or verify-only.
    pub fn get(&self, id: &str) -> Option<&Key> {
        self.keys.iter().find(|key| &*key.id == id)
    }

    /// All keys, the signing key first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }
}

/// A keyring that can be replaced while the layer runs: every service and signer made from the
/// layer sees the new keyring on its next request, without a restart.
///
/// ```
/// use tower_secure_link::{Key, Keyring, SecureLinkLayer};
///
/// let old = Key::new("2025", [1u8; 32]).unwrap();
/// let layer = SecureLinkLayer::new(old.clone());
/// let signer = layer.signer();
/// let handle = layer.keyring_handle().unwrap();
///
/// // Start signing with a new key, still accepting links signed with the old one.
/// let new = Key::new("2026", [2u8; 32]).unwrap();
/// handle.replace(Keyring::new(new).with_verify_only(old).unwrap());
/// assert_eq!(signer.key_id().as_deref(), Some("2026"));
/// ```
#[derive(Clone)]
pub struct KeyringHandle {
    current: Arc<ArcSwap<Keyring>>,
}

impl KeyringHandle {
    pub(crate) fn new(keyring: Keyring) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(keyring)),
        }
    }

    /// Puts `keyring` in place for every later request and every later link.
    pub fn replace(&self, keyring: impl Into<Keyring>) {
        self.current.store(Arc::new(keyring.into()));
    }

    /// The keyring in use now.
    pub fn current(&self) -> Arc<Keyring> {
        self.current.load_full()
    }

    /// A cheap read of the keyring in use now, for one request.
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<Keyring>> {
        self.current.load()
    }
}

impl fmt::Debug for KeyringHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self.current.load(), f)
    }
}

impl From<Key> for Keyring {
    fn from(signing_key: Key) -> Self {
        Self::new(signing_key)
    }
}

/// Why a key or keyring could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret is shorter than [`MIN_SECRET_LEN`] bytes.
    SecretTooShort {
        /// How many bytes it had.
        len: usize,
    },
    /// The id is empty, longer than 32 bytes, or holds a character outside `A-Z a-z 0-9 . _ -`.
    InvalidId,
    /// Two keys in one keyring share an id.
    DuplicateId,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretTooShort { len } => write!(
                f,
                "the secret has {len} bytes; a signing key needs at least {MIN_SECRET_LEN}"
            ),
            Self::InvalidId => f.write_str(
                "a key id must be 1 to 32 characters from A-Z, a-z, 0-9, '.', '_' and '-'",
            ),
            Self::DuplicateId => f.write_str("two keys in the keyring share an id"),
        }
    }
}

impl std::error::Error for KeyError {}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn key_ids_are_checked() {
        struct Case {
            name: &'static str,
            id: &'static str,
            ok: bool,
        }
        #[rustfmt::skip]
        let cases = [
            Case { name: "digit", id: "1", ok: true },
            Case { name: "dated", id: "2026-11.a_b", ok: true },
            Case { name: "empty", id: "", ok: false },
            Case { name: "space", id: "a b", ok: false },
            Case { name: "ampersand", id: "a&b", ok: false },
            Case { name: "non-ascii", id: "clé", ok: false },
            Case { name: "too long", id: "abcdefghijabcdefghijabcdefghijabc", ok: false },
        ];
        for case in cases {
            assert_eq!(Key::new(case.id, SECRET).is_ok(), case.ok, "{}", case.name);
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            Key::new("1", &SECRET[..31]).unwrap_err(),
            KeyError::SecretTooShort { len: 31 }
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = Key::new("k1", b"supersecretsupersecretsupersecret").unwrap();
        let keyring = Keyring::new(key.clone());
        for text in [
            format!("{key:?}"),
            format!("{keyring:?}"),
            format!("{key:#?}"),
        ] {
            assert!(!text.contains("supersecret"), "{text}");
            assert!(text.contains("k1"));
        }
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let keyring = Keyring::new(Key::new("1", SECRET).unwrap());
        let err = keyring
            .with_verify_only(Key::new("1", SECRET).unwrap())
            .unwrap_err();
        assert_eq!(err, KeyError::DuplicateId);
    }
}
