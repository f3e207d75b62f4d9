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

/// The method a request counts as: a confirm link's POST (from its page) is the link's GET.
pub(super) fn counted_method(confirm: bool, method: &Method) -> &Method {
    match (confirm, method) {
        (true, &Method::POST) => &Method::GET,
        _ => method,
    }
}

/// What a verified one-time link does with the request. A confirm link's GET and HEAD get its
/// page, using nothing (`ConfirmationRequired`); its POST goes on as a GET (`Ok(true)`). Any
/// other one-time link refuses a prefetch before anything is used: scanners and browsers that
/// look ahead must not spend what the person will click.
pub(super) fn one_time_step(
    confirm: bool,
    one_time: bool,
    method: &Method,
    headers: &HeaderMap,
) -> Result<bool, RejectionKind> {
    match (confirm, method) {
        // A POST from another site (a page that knows the link) gets the page, not the use.
        (true, &Method::POST) if is_cross_site(headers) => Err(RejectionKind::ConfirmationRequired),
        (true, &Method::POST) => Ok(true),
        (true, _) => Err(RejectionKind::ConfirmationRequired),
        (false, _) if one_time && is_prefetch(headers) => Err(RejectionKind::Prefetch),
        (false, _) => Ok(false),
    }
}

/// Whether the browser says the request comes from another site (`Sec-Fetch-Site`).
fn is_cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}

/// Whether a request says it is a prefetch or a preview (Chromium's `Sec-Purpose: prefetch`,
/// the older `Purpose: prefetch`, Firefox's `X-Moz: prefetch`, Safari's
/// `X-Purpose: preview`).
fn is_prefetch(headers: &HeaderMap) -> bool {
    ["sec-purpose", "purpose", "x-moz", "x-purpose"]
        .iter()
        .flat_map(|name| headers.get_all(*name))
        .any(|value| {
            value.to_str().is_ok_and(|text| {
                text.split([';', ',', ' ']).any(|token| {
                    token.eq_ignore_ascii_case("prefetch") || token.eq_ignore_ascii_case("preview")
                })
            })
        })
}
