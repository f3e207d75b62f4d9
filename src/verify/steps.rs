//! What every HMAC-keyed format (native, folder, opaque) does with a link's claims once it has
//! read them, in the order that leaks least: find the named key, verify the signature (for an
//! opaque link, its seal did that), then validate the times, then the method. One module, so the
//! formats share these steps without importing each other.

use http::{Extensions, HeaderMap, Method};

use crate::config::Settings;
use crate::key::Keyring;
use crate::rejection::RejectionKind;
use crate::token::{networks_contain, Claims, DEFAULT_METHOD};

/// Verifies `signature` over `claims` by the key they name, then [`validate`]s them. Returns
/// whether the request uses the link's own method (rather than HEAD on a GET link), and the time
/// it was checked at.
pub(super) fn verify(
    settings: &Settings,
    keyring: &Keyring,
    claims: &Claims<'_>,
    signature: &str,
    times: (u64, Option<u64>),
    method: &Method,
) -> Result<(bool, u64), RejectionKind> {
    let key = keyring
        .get(claims.key_id)
        .ok_or(RejectionKind::UnknownKey)?;
    if !key.verifies(claims, signature) {
        return Err(RejectionKind::BadSignature);
    }
    validate(settings, claims.method, times, method)
}

/// What comes after the signature: the time window (expiry, not-before, the lifetime cap, each
/// with the leeway), then the method.
pub(super) fn validate(
    settings: &Settings,
    link_method: &str,
    (expires, not_before): (u64, Option<u64>),
    method: &Method,
) -> Result<(bool, u64), RejectionKind> {
    let now = settings.clock.now_unix();
    if now > expires.saturating_add(settings.leeway) {
        return Err(RejectionKind::Expired);
    }
    if not_before.is_some_and(|not_before| not_before > now.saturating_add(settings.leeway)) {
        return Err(RejectionKind::NotYetValid);
    }
    let latest_expiry = now
        .saturating_add(settings.max_lifetime)
        .saturating_add(settings.leeway);
    if expires > latest_expiry {
        return Err(RejectionKind::LifetimeTooLong);
    }
    let own_method = method.as_str() == link_method;
    let head_on_get = link_method == DEFAULT_METHOD && *method == Method::HEAD;
    if !(own_method || head_on_get) {
        return Err(RejectionKind::MethodNotAllowed);
    }
    Ok((own_method, now))
}

/// A link bound to client networks (`sl_ip`, canonical) admits only requests whose client
/// address lies in one of them; a request whose address the layer cannot tell is refused.
pub(super) fn check_client(
    settings: &Settings,
    networks: Option<&str>,
    (extensions, headers): (&Extensions, &HeaderMap),
) -> Result<(), RejectionKind> {
    let Some(networks) = networks else {
        return Ok(());
    };
    match settings.client_addr.client(extensions, headers) {
        Some(client) if networks_contain(networks, client) => Ok(()),
        _ => Err(RejectionKind::IpNotAllowed),
    }
}
