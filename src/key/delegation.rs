//! Delegated minting: a child key that mints links only inside a folder, for some methods and
//! until a deadline, derived from a root key that the child never holds.
//!
//! The child's secret is `HMAC-SHA256(root secret, "tsl-delegation-v1" || scope)`, where the
//! scope is the delegation's bytes (token::delegation). Every link the child mints carries the
//! scope (`sl_dlg`) and the root's key id, so a verifier holding only the root recomputes the
//! child's secret from the link: no lookup, no state. Revoking one delegation is revoking its
//! revocation group; a delegation of a delegation is refused (see [`Delegation`]).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac as _;
use http::Method;

#[cfg(feature = "ed25519")]
use super::Material;
use super::{Delegated, Key, KeyError};
use crate::path::canonical_prefix;
use crate::token::delegation::{Scope, DERIVATION_LABEL, MAX_METHODS};
use crate::token::{is_group, signature_matches, Claims, HmacSha256, SignatureText};

/// How a child key's links are written out for a process that holds only the child
/// (`SECURE_LINK_KEY` of `secure-link delegate`): this, the root's id, the scope, the secret.
const TEXT_PREFIX: &str = "tsl-delegated-v1.";

/// What a child key may mint: a folder, its methods (GET by default), a deadline no link may
/// outlive, and optionally a revocation group every link carries (so revoking the group ends
/// the delegation at once). Build one and pass it to [`Key::delegate`].
///
/// A child key cannot delegate further ([`KeyError::DelegationOfDelegation`]): a chain would
/// cost the verifier a derivation per level, and whoever holds the root can mint any narrower
/// delegation directly.
///
/// ```
/// use http::Method;
/// use tower_secure_link::{Delegation, Key, RejectionKind, SecureLinkLayer};
///
/// let root = Key::new("root-2026", [9u8; 32]).unwrap();
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
/// let until = now + 24 * 3600;
/// let child = root
///     .delegate(&Delegation::new("tenant-7", "/tenants/7/", until).method(Method::GET))
///     .unwrap();
/// // The tenant's worker holds only the child.
/// let worker = SecureLinkLayer::new(child).signer();
/// let link = worker.link("/tenants/7/a.pdf").expires_at(now + 600).to_target().unwrap();
/// assert!(worker.link("/tenants/8/a.pdf").expires_at(now + 600).to_target().is_err());
///
/// // The server holds only the root.
/// let server = SecureLinkLayer::new(root);
/// let check = |target: &str| server.check(&Method::GET, &target.parse().unwrap());
/// assert!(check(&link).is_ok());
/// assert_eq!(
///     check(&link.replace("/tenants/7/", "/tenants/8/")).unwrap_err().kind(),
///     RejectionKind::BadSignature
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Delegation {
    child_id: String,
    folder: String,
    methods: Vec<Method>,
    not_after: u64,
    group: Option<String>,
}

impl Delegation {
    /// A delegation to the child `child_id` (a key id, for logs and for the child's own
    /// configuration) of the folder `folder` (ending with `/`), until `not_after` (Unix
    /// seconds).
    pub fn new(child_id: impl Into<String>, folder: &str, not_after: u64) -> Self {
        Self {
            child_id: child_id.into(),
            folder: folder.to_owned(),
            methods: Vec::new(),
            not_after,
            group: None,
        }
    }

    /// Adds a method the child may mint links for (GET when none is added; a GET link also
    /// allows HEAD).
    pub fn method(mut self, method: Method) -> Self {
        self.methods.push(method);
        self
    }

    /// Every link of the child carries this revocation group: revoking it ends the delegation.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// The canonical scope, or why there is none.
    fn scope(&self) -> Result<Scope, KeyError> {
        if !self.folder.ends_with('/') {
            return Err(KeyError::InvalidDelegation("the folder must end with '/'"));
        }
        let canonical = canonical_prefix(&self.folder).map_err(|_| {
            KeyError::InvalidDelegation("the folder is not a usable path (escapes, dot segments)")
        })?;
        let folder = crate::path::decode_canonical(&canonical);
        let folder = format!("{}/", folder.trim_end_matches('/'));
        let mut methods: Vec<String> = if self.methods.is_empty() {
            vec!["GET".to_owned()]
        } else {
            self.methods.iter().map(|m| m.as_str().to_owned()).collect()
        };
        methods.sort();
        methods.dedup();
        if methods.len() > MAX_METHODS {
            return Err(KeyError::InvalidDelegation("at most 8 methods"));
        }
        if self.group.as_deref().is_some_and(|group| !is_group(group)) {
            return Err(KeyError::InvalidDelegation(
                "a revocation group is 1 to 64 characters of A-Z a-z 0-9 . _ -",
            ));
        }
        let scope = Scope {
            child_id: self.child_id.clone(),
            folder,
            methods,
            not_after: self.not_after,
            group: self.group.clone(),
        };
        if scope.is_valid() {
            Ok(scope)
        } else if !super::is_valid_key_id(&self.child_id) {
            Err(KeyError::InvalidId)
        } else {
            Err(KeyError::InvalidDelegation(
                "methods are upper-case letters, 1 to 16 of them; the folder holds no empty, '.' \
                 or '..' segment",
            ))
        }
    }
}

impl Key {
    /// A child key limited to `delegation`, derived from this (root) key: it mints only inside
    /// the delegation's folder, methods and deadline (anything else is a
    /// [`SignError`](crate::SignError) naming the limit), and a layer holding only this key
    /// verifies its links and refuses any outside the delegation. Its [`id`](Self::id) is the
    /// root's (links name the root); [`delegated_id`](Self::delegated_id) is the child's. HMAC
    /// roots only; a child cannot delegate further.
    pub fn delegate(&self, delegation: &Delegation) -> Result<Key, KeyError> {
        if self.delegated.is_some() {
            return Err(KeyError::DelegationOfDelegation);
        }
        let scope = delegation.scope()?;
        if let Some(mac) = self.hmac_state() {
            let secret = child_secret(mac, &scope.to_bytes());
            return Self::child(&self.id, scope, secret);
        }
        #[cfg(feature = "ed25519")]
        if let Material::Ed25519Private(root) = &self.material {
            return certified::delegate(&self.id, root, scope);
        }
        Err(KeyError::InvalidDelegation(
            "a public key cannot delegate: delegate where the private key is",
        ))
    }

    /// The child's own id, for a delegated key.
    pub fn delegated_id(&self) -> Option<&str> {
        self.delegated
            .as_ref()
            .map(|delegated| delegated.scope.child_id.as_str())
    }

    /// A delegated key as one line of text, for the child's configuration
    /// (`SECURE_LINK_KEY`): `tsl-delegated-v1.<root id>.<scope>.<secret>`. It holds the
    /// child's secret (never the root's), so keep it as secret as a key. `None` for a key that
    /// is not delegated.
    pub fn to_delegated_text(&self) -> Option<String> {
        let delegated = self.delegated.as_ref()?;
        #[cfg(feature = "ed25519")]
        if let Material::Ed25519Private(_) = &self.material {
            return Some(certified::to_text(&self.id, delegated));
        }
        Some(format!(
            "{TEXT_PREFIX}{}.{}.{}",
            self.id,
            delegated.param,
            URL_SAFE_NO_PAD.encode(*delegated.secret)
        ))
    }

    /// Reads what [`to_delegated_text`](Self::to_delegated_text) wrote.
    pub fn from_delegated_text(text: &str) -> Result<Key, KeyError> {
        let invalid = || KeyError::InvalidDelegation("not a delegated key's text");
        #[cfg(feature = "ed25519")]
        if let Some(rest) = text.strip_prefix(certified::TEXT_PREFIX) {
            return certified::from_text(rest);
        }
        let rest = text.strip_prefix(TEXT_PREFIX).ok_or_else(invalid)?;
        let mut parts = rest.split('.');
        let (Some(root_id), Some(param), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let scope = Scope::parse(param).ok_or_else(invalid)?;
        let secret: [u8; 32] = URL_SAFE_NO_PAD
            .decode(secret)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(invalid)?;
        Self::child(root_id, scope, secret)
    }

    /// Whether a text is a delegated key's (rather than a plain secret).
    pub fn is_delegated_text(text: &str) -> bool {
        #[cfg(feature = "ed25519")]
        if text.starts_with(certified::TEXT_PREFIX) {
            return true;
        }
        text.starts_with(TEXT_PREFIX)
    }

    fn child(root_id: &str, scope: Scope, secret: [u8; 32]) -> Result<Key, KeyError> {
        let plain = Key::new(root_id, secret)?;
        let param = scope.to_param();
        Ok(Key {
            delegated: Some(Arc::new(Delegated {
                scope,
                param,
                secret: zeroize::Zeroizing::new(secret),
            })),
            ..plain
        })
    }

    /// The delegation this key signs under, for a child key.
    pub(crate) fn delegated(&self) -> Option<&Delegated> {
        self.delegated.as_deref()
    }

    /// Whether `presented` is the signature of `claims` by the child that `param` (the link's
    /// `sl_dlg`, parsed as `scope_bytes`) names under this root. A child key checks its own
    /// links directly.
    pub(crate) fn verifies_delegated(
        &self,
        param: &str,
        scope_bytes: &[u8],
        claims: &Claims<'_>,
        presented: &str,
    ) -> bool {
        #[cfg(feature = "ed25519")]
        if self.hmac_state().is_none() {
            return certified::verifies(self, param, scope_bytes, claims, presented);
        }
        let Some(mac) = self.hmac_state() else {
            return false;
        };
        // An HMAC root's delegation is the scope alone: one spelling.
        if param.contains('.') {
            return false;
        }
        let child_mac = match &self.delegated {
            Some(own) if own.param == param => mac.clone(),
            Some(_) => return false,
            None => {
                let secret = zeroize::Zeroizing::new(child_secret(mac, scope_bytes));
                match HmacSha256::new_from_slice(&*secret) {
                    Ok(mac) => mac,
                    Err(_) => return false,
                }
            }
        };
        signature_matches(&SignatureText::encode(&claims.tag(&child_mac)), presented)
    }
}

/// `HMAC-SHA256(root secret, "tsl-delegation-v1" || scope bytes)`, from the root's keyed state.
fn child_secret(root: &HmacSha256, scope_bytes: &[u8]) -> [u8; 32] {
    let mut mac = root.clone();
    mac.update(DERIVATION_LABEL);
    mac.update(scope_bytes);
    mac.finalize().into_bytes().into()
}

/// Ed25519 roots: the root signs a certificate (the scope and the child's public key) that
/// travels in `sl_dlg` beside the scope, and the child signs links with its own private key.
/// A verifier holding only the root's public key checks the certificate, then the link.
#[cfg(feature = "ed25519")]
mod certified {
    use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

    use super::*;
    use crate::token::delegation::CERTIFICATE_LABEL;

    pub(super) const TEXT_PREFIX: &str = "tsl-delegated-ed25519-v1.";

    /// What the root signs: the label, the scope's bytes, the child's public key.
    fn certificate_message(scope_bytes: &[u8], child: &[u8; 32]) -> Vec<u8> {
        [CERTIFICATE_LABEL, scope_bytes, child].concat()
    }

    pub(super) fn delegate(
        root_id: &str,
        root: &SigningKey,
        scope: Scope,
    ) -> Result<Key, KeyError> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut *seed).map_err(|_| KeyError::NoRandomness)?;
        let child = SigningKey::from_bytes(&seed);
        let public = child.verifying_key().to_bytes();
        let certificate = root.sign(&certificate_message(&scope.to_bytes(), &public));
        let param = format!(
            "{}.{}.{}",
            scope.to_param(),
            URL_SAFE_NO_PAD.encode(public),
            URL_SAFE_NO_PAD.encode(certificate.to_bytes())
        );
        child_key(root_id, scope, param, *seed)
    }

    fn child_key(
        root_id: &str,
        scope: Scope,
        param: String,
        seed: [u8; 32],
    ) -> Result<Key, KeyError> {
        let plain = Key::ed25519(root_id, seed)?;
        Ok(Key {
            delegated: Some(Arc::new(Delegated {
                scope,
                param,
                secret: zeroize::Zeroizing::new(seed),
            })),
            ..plain
        })
    }

    pub(super) fn to_text(root_id: &str, delegated: &Delegated) -> String {
        format!(
            "{TEXT_PREFIX}{root_id}.{}.{}",
            delegated.param,
            URL_SAFE_NO_PAD.encode(*delegated.secret)
        )
    }

    pub(super) fn from_text(rest: &str) -> Result<Key, KeyError> {
        let invalid = || KeyError::InvalidDelegation("not a delegated key's text");
        let parts: Vec<&str> = rest.split('.').collect();
        let [root_id, scope, public, certificate, seed] = parts[..] else {
            return Err(invalid());
        };
        let param = format!("{scope}.{public}.{certificate}");
        let (parsed, _, child) = read_param(&param).ok_or_else(invalid)?;
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(seed)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(invalid)?;
        if SigningKey::from_bytes(&seed).verifying_key() != child {
            return Err(invalid());
        }
        child_key(root_id, parsed, param, seed)
    }

    /// The scope, its bytes' certificate signature and the child's public key of an Ed25519
    /// `sl_dlg` value (`<scope>.<child public key>.<certificate>`, each base64url); `None`
    /// unless every part is canonical and the child's key a sound point.
    fn read_param(param: &str) -> Option<(Scope, Signature, VerifyingKey)> {
        let mut parts = param.split('.');
        let (Some(scope), Some(public), Some(certificate), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let (scope, _) = Scope::parse_with_bytes(scope)?;
        let public: [u8; 32] = canonical(public)?.try_into().ok()?;
        let certificate: [u8; 64] = canonical(certificate)?.try_into().ok()?;
        let child = VerifyingKey::from_bytes(&public).ok()?;
        let sound = !child.is_weak() && child.to_edwards().compress().to_bytes() == public;
        sound.then(|| (scope, Signature::from_bytes(&certificate), child))
    }

    fn canonical(text: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        (URL_SAFE_NO_PAD.encode(&bytes) == text).then_some(bytes)
    }

    /// The root (this key, a public or private Ed25519 key) certified the child the link names,
    /// for this scope, and the child signed the link. A child checks its own links directly.
    pub(super) fn verifies(
        key: &Key,
        param: &str,
        scope_bytes: &[u8],
        claims: &Claims<'_>,
        presented: &str,
    ) -> bool {
        let root = match &key.material {
            Material::Ed25519Private(private) => private.verifying_key(),
            Material::Ed25519Public(public) => *public,
            Material::Hmac { .. } => return false,
        };
        if let Some(own) = &key.delegated {
            return own.param == param && crate::token::ed25519::verify(&root, claims, presented);
        }
        let Some((_, certificate, child)) = read_param(param) else {
            return false;
        };
        let message = certificate_message(scope_bytes, &child.to_bytes());
        root.verify_strict(&message, &certificate).is_ok()
            && crate::token::ed25519::verify(&child, claims, presented)
    }
}
