//! Native links, version 1 ([`token`](crate::token) has the wire rules): signing parameters in
//! the query, HMAC-SHA256 over the canonical message. Also the checks every HMAC-keyed format
//! shares, in the order that leaks least.

use std::borrow::Cow;

use http::Method;

use super::{folder, Presented};
use crate::key::Keyring;
use crate::one_time;
use crate::path::decode_canonical;
use crate::rejection::RejectionKind;
use crate::settings::{Conditions, OneTimeUse, Settings, Verdict};
use crate::token::{Claims, SignedQuery, DEFAULT_METHOD};

/// Verifies a link whose signing parameters are in the query (a folder link in the query is
/// handed to [`folder`]).
pub(super) fn admit<'p, 'q>(
    settings: &'q Settings,
    keyring: &Keyring,
    presented: Presented<'p, 'q, '_>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    let signed = SignedQuery::parse(presented.query, &settings.names)?;
    if let Some(folder) = signed.prefix {
        return folder::admit_query_token(settings, keyring, presented, &signed, folder);
    }
    let decoded = decode_canonical(&presented.path);
    let claims = signed.claims(&decoded);
    let (own_method, now) = check(
        settings,
        keyring,
        &claims,
        signed.signature,
        signed.times(),
        presented.method,
    )?;
    let conditions = Conditions {
        // HEAD on a GET link looks without using it up.
        consume: signed.nonce.filter(|_| own_method).map(|nonce| OneTimeUse {
            nonce: Cow::Borrowed(nonce),
            now,
            keep_for: one_time::keep_for(signed.expires.0, settings.leeway, now),
        }),
        max_body: signed.max_body.map(|(limit, _)| limit),
        cache_for: (signed.nonce.is_none() && claims.method == DEFAULT_METHOD)
            .then(|| signed.expires.0.saturating_sub(now)),
        version: signed.version.map(Cow::Borrowed),
        group: signed.group.map(Cow::Borrowed),
        set_cookie: None,
        conceal: false,
    };
    Ok(Verdict::Signed {
        path: presented.path,
        query: signed.app_query.to_query(),
        conditions,
    })
}

/// Checks a link in the order that leaks least: key, signature, time, method. Returns whether
/// the request uses the link's own method (rather than HEAD on a GET link), and the time it was
/// checked at.
pub(super) fn check(
    settings: &Settings,
    keyring: &Keyring,
    claims: &Claims<'_>,
    presented: &str,
    (expires, not_before): (u64, Option<u64>),
    method: &Method,
) -> Result<(bool, u64), RejectionKind> {
    let key = keyring
        .get(claims.key_id)
        .ok_or(RejectionKind::UnknownKey)?;
    if !key.verifies(claims, presented) {
        return Err(RejectionKind::BadSignature);
    }
    check_times_and_method(settings, claims.method, (expires, not_before), method)
}

/// The checks after the signature (or an opaque link's tag): time, then method.
pub(super) fn check_times_and_method(
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
