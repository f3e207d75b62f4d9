//! `keygen`: a new key as lines a shell can `eval` or a `.env` file can hold.

use tower_secure_link::Key;

use crate::args::KeygenArgs;
use crate::failure::{runtime_failure, usage, Failure};
use crate::keys::random_secret;
#[cfg(not(feature = "ed25519"))]
use crate::stand_ins::keygen_ed25519;

pub fn keygen(args: KeygenArgs) -> Result<(), Failure> {
    let KeygenArgs { ed25519, key_id } = args;
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| runtime_failure(format!("no randomness for a key: {e}")))?;
    if !ed25519 {
        Key::new(key_id.as_str(), seed).map_err(|e| usage(format!("--key-id: {e}")))?;
        println!("SECURE_LINK_KEY={}", random_secret()?);
        println!("SECURE_LINK_KEY_ID={key_id}");
        return Ok(());
    }
    keygen_ed25519(seed, &key_id)
}

#[cfg(feature = "ed25519")]
fn keygen_ed25519(seed: [u8; 32], key_id: &str) -> Result<(), Failure> {
    use base64::Engine as _;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let key = Key::ed25519(key_id, seed).map_err(|e| usage(format!("--key-id: {e}")))?;
    let public = key.ed25519_public_key().unwrap_or_default();
    println!("SECURE_LINK_KEY={}", encode(&seed));
    println!("SECURE_LINK_PUBLIC_KEYS={key_id}:{}", encode(&public));
    Ok(())
}
