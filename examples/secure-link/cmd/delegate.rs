//! `delegate`: a child key of the root in `SECURE_LINK_KEY`, limited to a folder, methods and
//! a deadline, as lines a shell can `eval` for the process that mints under it.

use std::time::{SystemTime, UNIX_EPOCH};

use tower_secure_link::Delegation;

use crate::args::{DelegateArgs, Format};
use crate::failure::{runtime_failure, usage, Failure};
#[cfg(feature = "ed25519")]
use crate::keys::ed25519_layer;
use crate::keys::{keyring, required_secret};
#[cfg(not(feature = "ed25519"))]
use crate::stand_ins::ed25519_layer;

pub fn delegate(args: &DelegateArgs) -> Result<(), Failure> {
    let secret = required_secret()?;
    let root = match args.format {
        Format::Hmac => keyring(&secret)?.signing_key().clone(),
        Format::Ed25519 => ed25519_layer(Some(&secret))?
            .keyring_handle()
            .ok_or_else(|| usage("no Ed25519 key in SECURE_LINK_KEY"))?
            .current()
            .signing_key()
            .clone(),
        Format::Nginx | Format::NginxSecret => {
            return Err(usage(
                "--format: nginx links cannot be delegated; use hmac or ed25519",
            ))
        }
    };
    if root.delegated_id().is_some() {
        return Err(usage(
            "SECURE_LINK_KEY holds a delegated key, which cannot delegate: use the root key",
        ));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| runtime_failure(format!("the clock is before 1970: {e}")))?
        .as_secs();
    let child_id = match &args.key_id {
        Some(id) => id.clone(),
        None => {
            let mut bytes = [0u8; 4];
            getrandom::getrandom(&mut bytes)
                .map_err(|e| runtime_failure(format!("no randomness for an id: {e}")))?;
            format!(
                "child-{}",
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )
        }
    };
    let mut delegation = Delegation::new(
        child_id.as_str(),
        &args.prefix,
        now.saturating_add(args.ttl),
    );
    for method in &args.method {
        let method = method
            .to_ascii_uppercase()
            .parse()
            .map_err(|_| usage(format!("--method {method:?}: not an HTTP method")))?;
        delegation = delegation.method(method);
    }
    if let Some(group) = &args.group {
        delegation = delegation.group(group.as_str());
    }
    let child = root
        .delegate(&delegation)
        .map_err(|e| usage(format!("cannot delegate {:?}: {e}", args.prefix)))?;
    let text = child
        .to_delegated_text()
        .ok_or_else(|| runtime_failure("the child key has no text form"))?;
    println!("SECURE_LINK_KEY={text}");
    println!("SECURE_LINK_KEY_ID={child_id}");
    Ok(())
}
