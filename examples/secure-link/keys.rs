//! Keys from the environment, and the layer each format builds from them.

use std::time::Duration;

use tower_secure_link::{Key, Keyring, SecureLinkLayer};

use crate::args::{Format, SchemeArgs};
use crate::failure::{runtime_failure, usage, Failure};
#[cfg(not(feature = "ed25519"))]
use crate::stand_ins::ed25519_layer;
#[cfg(not(feature = "nginx"))]
use crate::stand_ins::nginx_layer;

/// The signing secret as given, when `SECURE_LINK_KEY` is set.
pub fn secret_from_env() -> Result<Option<String>, Failure> {
    match std::env::var_os("SECURE_LINK_KEY") {
        None => Ok(None),
        Some(secret) => secret
            .into_string()
            .map(Some)
            .map_err(|_| usage("SECURE_LINK_KEY is not valid UTF-8")),
    }
}

/// The keyring from `SECURE_LINK_KEY`, `SECURE_LINK_KEY_ID` and `SECURE_LINK_OLD_KEYS`.
pub fn keyring(secret: &str) -> Result<Keyring, Failure> {
    let mut secrets = secrets(secret)?.into_iter();
    let (id, secret) = secrets.next().unwrap_or_default();
    let key = if Key::is_delegated_text(&secret) {
        delegated_key(&secret)?
    } else {
        Key::new(id, secret.as_bytes()).map_err(|e| usage(format!("SECURE_LINK_KEY: {e}")))?
    };
    let mut keyring = Keyring::new(key);
    for (id, secret) in secrets {
        let key = Key::new(id.as_str(), secret.as_bytes())
            .map_err(|e| usage(format!("SECURE_LINK_OLD_KEYS, key {id:?}: {e}")))?;
        keyring = keyring
            .with_verify_only(key)
            .map_err(|e| usage(format!("SECURE_LINK_OLD_KEYS, key {id:?}: {e}")))?;
    }
    Ok(keyring)
}

/// A child key from `secure-link delegate`'s `SECURE_LINK_KEY`; `SECURE_LINK_KEY_ID`, when
/// set, must name the same child.
pub fn delegated_key(text: &str) -> Result<Key, Failure> {
    let key = Key::from_delegated_text(text).map_err(|e| usage(format!("SECURE_LINK_KEY: {e}")))?;
    if let Ok(id) = std::env::var("SECURE_LINK_KEY_ID") {
        if key.delegated_id() != Some(id.as_str()) {
            return Err(usage(format!(
                "SECURE_LINK_KEY_ID={id} does not name the child of SECURE_LINK_KEY ({}); set \
                 both from the same `secure-link delegate` output",
                key.delegated_id().unwrap_or_default()
            )));
        }
    }
    Ok(key)
}

/// `(id, secret)` of the signing key (`secret`, under `SECURE_LINK_KEY_ID` or 1), then of each
/// pair of `SECURE_LINK_OLD_KEYS`, for a configuration that needs the secrets themselves.
pub fn secrets(secret: &str) -> Result<Vec<(String, String)>, Failure> {
    let id = std::env::var("SECURE_LINK_KEY_ID").unwrap_or_else(|_| "1".to_owned());
    let mut secrets = vec![(id, secret.to_owned())];
    let old_keys = std::env::var("SECURE_LINK_OLD_KEYS").unwrap_or_default();
    for pair in old_keys.split(',').filter(|pair| !pair.is_empty()) {
        let (id, secret) = pair.split_once(':').ok_or_else(|| {
            usage("SECURE_LINK_OLD_KEYS must be id:secret pairs separated by commas")
        })?;
        secrets.push((id.to_owned(), secret.to_owned()));
    }
    Ok(secrets)
}

/// `SECURE_LINK_KEY`, which this command cannot do without.
pub fn required_secret() -> Result<String, Failure> {
    secret_from_env()?.ok_or_else(missing_secret)
}

fn missing_secret() -> Failure {
    usage(format!(
        "set SECURE_LINK_KEY to the signing secret ({} bytes or more for the \
         native format; `secure-link keygen` prints one)",
        Key::MIN_SECRET_LEN
    ))
}

/// A layer for the chosen format, every path private. `secret` is SECURE_LINK_KEY (for
/// `--format ed25519`, the private key, which verifiers do without).
pub fn layer_for(scheme: &SchemeArgs, secret: Option<&str>) -> Result<SecureLinkLayer, Failure> {
    let needed = || secret.ok_or_else(missing_secret);
    match scheme.format {
        Format::Ed25519 => ed25519_layer(secret)?
            .with_max_lifetime(Duration::from_secs(scheme.max_lifetime))
            .map_err(|e| usage(format!("--max-lifetime {}: {e}", scheme.max_lifetime))),
        Format::Hmac => SecureLinkLayer::new(keyring(needed()?)?)
            .with_max_lifetime(Duration::from_secs(scheme.max_lifetime))
            .map_err(|e| usage(format!("--max-lifetime {}: {e}", scheme.max_lifetime)))?
            .with_opaque_prefix(&scheme.opaque_prefix)
            .map_err(|e| usage(format!("--opaque-prefix: {e}"))),
        Format::Nginx => nginx_layer(&scheme.nginx, needed()?, false),
        Format::NginxSecret => nginx_layer(&scheme.nginx, needed()?, true),
    }
}

/// 32 random bytes as 64 hex characters: valid for both formats and for nginx's syntax.
pub fn random_secret() -> Result<String, Failure> {
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret)
        .map_err(|e| runtime_failure(format!("no randomness for a key: {e}")))?;
    Ok(secret.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(feature = "ed25519")]
pub use self::ed25519::ed25519_layer;

#[cfg(feature = "ed25519")]
mod ed25519 {
    use base64::Engine as _;
    use tower_secure_link::{Key, Keyring, SecureLinkLayer};

    use crate::failure::{usage, Failure};

    fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim())
    }

    /// `--format ed25519`: the public keys from SECURE_LINK_PUBLIC_KEYS, and the private key
    /// from `private` (SECURE_LINK_KEY) when given.
    pub fn ed25519_layer(private: Option<&str>) -> Result<SecureLinkLayer, Failure> {
        let public = public_keys()?;
        let private = private.map(|text| private_key(text, &public)).transpose()?;
        let mut keys = private.into_iter().chain(public);
        let first = keys.next().ok_or_else(|| {
            usage(
                "--format ed25519 needs SECURE_LINK_PUBLIC_KEYS=id:key,... to verify (and \
                 SECURE_LINK_KEY to sign); `secure-link keygen --ed25519` prints both",
            )
        })?;
        let mut keyring = Keyring::new(first.clone());
        for key in keys {
            if key.id() == first.id() {
                // The private key's own public half, listed for verifiers: nothing to add.
                if key.ed25519_public_key() == first.ed25519_public_key() {
                    continue;
                }
                return Err(usage(format!(
                    "SECURE_LINK_PUBLIC_KEYS lists key id {:?} with another key than \
                     SECURE_LINK_KEY's public half",
                    key.id()
                )));
            }
            keyring = keyring
                .with_verify_only(key)
                .map_err(|e| usage(format!("SECURE_LINK_PUBLIC_KEYS: {e}")))?;
        }
        Ok(SecureLinkLayer::new(keyring))
    }

    /// The `id:key` pairs of SECURE_LINK_PUBLIC_KEYS.
    fn public_keys() -> Result<Vec<Key>, Failure> {
        let listed = std::env::var("SECURE_LINK_PUBLIC_KEYS").unwrap_or_default();
        let pairs = listed.split(',').map(str::trim);
        pairs
            .filter(|pair| !pair.is_empty())
            .map(public_key)
            .collect()
    }

    fn public_key(pair: &str) -> Result<Key, Failure> {
        let fail = |why: &str| {
            usage(format!(
                "SECURE_LINK_PUBLIC_KEYS, {pair:?}: {why} (expected id:key pairs separated by \
                 commas, as `secure-link keygen --ed25519` prints them)"
            ))
        };
        let (id, key) = pair.split_once(':').ok_or_else(|| fail("no ':'"))?;
        let bytes = decode(key).map_err(|_| fail("the key is not base64url"))?;
        // The pair is well formed, so name the key by its id: the fix is that key, not the list.
        Key::ed25519_public(id, bytes).map_err(|e| {
            usage(format!(
                "SECURE_LINK_PUBLIC_KEYS, key id {id:?}: {e} (copy the public key again from \
                 `secure-link keygen --ed25519`, or drop that pair)"
            ))
        })
    }

    /// The private key's id is SECURE_LINK_KEY_ID, or the id its public half has in
    /// SECURE_LINK_PUBLIC_KEYS, or 1.
    fn private_key(text: &str, public: &[Key]) -> Result<Key, Failure> {
        // A child key from `secure-link delegate --format ed25519`.
        if Key::is_delegated_text(text) {
            return crate::keys::delegated_key(text);
        }
        let bytes = decode(text).map_err(|_| {
            usage("SECURE_LINK_KEY: an Ed25519 private key is 43 characters of base64url")
        })?;
        let half = Key::ed25519("probe", &bytes)
            .map_err(|e| usage(format!("SECURE_LINK_KEY: {e}")))?
            .ed25519_public_key();
        let id = match std::env::var("SECURE_LINK_KEY_ID") {
            Ok(id) => id,
            Err(_) => public
                .iter()
                .find(|key| key.ed25519_public_key() == half)
                .map_or_else(|| "1".to_owned(), |key| key.id().to_owned()),
        };
        Key::ed25519(id, &bytes).map_err(|e| usage(format!("SECURE_LINK_KEY: {e}")))
    }
}

#[cfg(feature = "nginx")]
pub use self::nginx::{nginx_layer, nginx_scheme};

#[cfg(feature = "nginx")]
mod nginx {
    use std::net::SocketAddr;

    use tower_secure_link::nginx::NginxScheme;
    use tower_secure_link::SecureLinkLayer;

    use crate::args::NginxArgs;
    use crate::failure::{usage, Failure};

    /// The `secure_link_md5` scheme the nginx options describe.
    pub fn nginx_scheme(args: &NginxArgs, secret: &str) -> Result<NginxScheme, Failure> {
        let mut scheme = NginxScheme::new(secret)
            .with_template(&args.template)
            .and_then(|scheme| scheme.with_param_names(&args.token_param, &args.expires_param))
            .map_err(|e| usage(e.to_string()))?;
        if args.no_expiry {
            scheme = scheme.without_expiry();
        }
        Ok(scheme)
    }

    /// A layer for `--format nginx` (or, `legacy`, `nginx-secret`).
    pub fn nginx_layer(
        args: &NginxArgs,
        secret: &str,
        legacy: bool,
    ) -> Result<SecureLinkLayer, Failure> {
        let scheme = if legacy {
            NginxScheme::legacy_secret(secret)
        } else {
            nginx_scheme(args, secret)?
        };
        // `{remote_addr}` is the TCP peer: `serve` puts it into every request, `verify` takes
        // it from --client-ip.
        let scheme = scheme.with_remote_addr(|extensions| {
            extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        });
        SecureLinkLayer::nginx(scheme).map_err(|e| usage(e.to_string()))
    }
}
