//! The keyring: one signing key and the older keys still accepted, replaceable at run time.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{Key, KeyError};

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
