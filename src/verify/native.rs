//! Native links, version 1 ([`token`](crate::token) has the wire rules): signing parameters in
//! the query, HMAC-SHA256 over the canonical message.

use std::borrow::Cow;

use super::verdict::{Conditions, OnSuccess, OneTimeUse, Presented, Verdict};
use super::{delegated, steps};
use crate::config::Settings;
use crate::key::Keyring;
use crate::one_time;
use crate::path::decode_canonical;
use crate::rejection::RejectionKind;
use crate::token::{SignedQuery, DEFAULT_METHOD};

/// Verifies a link whose signing parameters, `signed`, are in the query and sign the request's
/// own path (a folder link in the query never gets here).
pub(super) fn admit<'p, 'q>(
    settings: &'q Settings,
    keyring: &Keyring,
    presented: Presented<'p, 'q, '_>,
    signed: SignedQuery<'q>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    let decoded = decode_canonical(&presented.path);
    let claims = signed.claims(&decoded);
    let method = steps::counted_method(signed.confirm, presented.method);
    let (own_method, now) = match signed.delegation {
        None => steps::verify(
            settings,
            keyring,
            &claims,
            signed.signature,
            signed.times(),
            method,
        )?,
        Some(param) => delegated::verify(
            settings,
            keyring,
            (&claims, param, signed.signature),
            signed.times(),
            method,
        )?,
    };
    steps::check_client(
        settings,
        signed.client_ip,
        (presented.extensions, presented.headers),
    )?;
    let as_get = steps::one_time_step(
        signed.confirm,
        signed.nonce.is_some() && own_method,
        presented.method,
        presented.headers,
    )?;
    let conditions = Conditions {
        // HEAD on a GET link looks without using it up.
        consume: signed.nonce.filter(|_| own_method).map(|nonce| OneTimeUse {
            nonce: Cow::Borrowed(nonce),
            now,
            keep_for: one_time::keep_for(signed.expires.0, settings.leeway, now),
            uses: signed.uses.map_or(1, |(uses, _)| uses),
        }),
        max_body: signed.max_body.map(|(limit, _)| limit),
        cache_for: (signed.nonce.is_none() && claims.method == DEFAULT_METHOD)
            .then(|| signed.expires.0.saturating_sub(now)),
        version: signed.version.map(Cow::Borrowed),
        group: signed.group.map(Cow::Borrowed),
        on_success: OnSuccess::overrides(signed.disposition, signed.content_type),
        conceal: false,
        as_get,
    };
    Ok(Verdict::Signed {
        path: presented.path,
        query: signed.app_query.to_query(),
        conditions,
    })
}
