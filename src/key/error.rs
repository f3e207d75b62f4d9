//! Why a key or keyring could not be made.

use std::fmt;

use super::MIN_SECRET_LEN;

/// Why a key or keyring could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret is shorter than [`Key::MIN_SECRET_LEN`](crate::Key::MIN_SECRET_LEN) bytes.
    SecretTooShort {
        /// How many bytes it had.
        len: usize,
    },
    /// The id is empty, longer than 32 bytes, or holds a character outside `A-Z a-z 0-9 . _ -`.
    InvalidId,
    /// Two keys in one keyring share an id.
    DuplicateId,
    /// A delegation cannot be made: the reason says which of its parts is wrong.
    InvalidDelegation(&'static str),
    /// A delegated key was asked to delegate again.
    DelegationOfDelegation,
    /// An Ed25519 private key is not 32 bytes, or a public key is not 32 bytes encoding a
    /// point of large order.
    #[cfg(feature = "ed25519")]
    InvalidEd25519Key,
    /// An Ed25519 public key encodes its point in a non-canonical form (the encoded y is
    /// 2^255 - 19 or more), which RFC 8032 5.1.3 says to reject.
    #[cfg(feature = "ed25519")]
    NonCanonicalEd25519Key,
    /// The operating system gave no randomness for a new key.
    #[cfg(feature = "ed25519")]
    NoRandomness,
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
            Self::InvalidDelegation(why) => write!(f, "invalid delegation: {why}"),
            Self::DelegationOfDelegation => f.write_str(
                "a delegated key cannot delegate: ask the root's holder for a narrower delegation",
            ),
            #[cfg(feature = "ed25519")]
            Self::InvalidEd25519Key => f.write_str(
                "an Ed25519 key is 32 bytes (43 characters of base64url); a public key must be \
                 a valid curve point of large order",
            ),
            #[cfg(feature = "ed25519")]
            Self::NonCanonicalEd25519Key => f.write_str(
                "the Ed25519 public key is not in canonical form (its y is 2^255 - 19 or more, \
                 RFC 8032 5.1.3): use the 32 bytes the key pair's generator printed",
            ),
            #[cfg(feature = "ed25519")]
            Self::NoRandomness => f.write_str("no randomness was available for a new key"),
        }
    }
}

impl std::error::Error for KeyError {}
