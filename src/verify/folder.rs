//! Folder links: one signature for everything under a folder, such as a video's playlist and
//! its segments. The token travels as a path segment right after the folder
//! (`/folder/sl_t~<key id>~<expiry>~<signature>/file`, so relative URLs keep it) or as
//! `sl_prefix=<folder>` in the query. The message signs scope `prefix` and the folder.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::cookie;
use super::steps;
use super::verdict::{Conditions, OnSuccess, Presented, Verdict};
use crate::config::Settings;
use crate::key::Keyring;
use crate::path::{decode_canonical, Route};
use crate::rejection::RejectionKind;
use crate::token::{
    path_token_position, AppQuery, Claims, PathToken, Scope, SignedQuery, DEFAULT_METHOD,
};

/// A token segment in the path: `/folder/<token>/rest` admits `/folder/rest`.
pub(super) fn admit_path_token<'p, 'q>(
    settings: &'q Settings,
    keyring: &Keyring,
    presented: Presented<'p, 'q, '_>,
    (start, end): (usize, usize),
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    let path = &presented.path;
    let token = PathToken::parse(&path[start..end], &settings.names)?;
    // The folder without the token segment; it must still be private.
    let inner = without_token(path, (start, end));
    // The signer writes a path token alone: signing parameters beside it, or a second token
    // further on, make a link it never made.
    if settings.names.any_reserved(presented.query)
        || path_token_position(&inner, &settings.names).is_some()
    {
        return Err(RejectionKind::MalformedToken);
    }
    let folder = decode_canonical(&path[..start]);
    let claims = token.claims(&folder);
    let (_, now) = steps::verify(
        settings,
        keyring,
        &claims,
        token.signature,
        (token.expires.0, None),
        presented.method,
    )?;
    let set_cookie = token.session.and_then(|(seconds, _)| {
        let folder = (&*folder, &path[..start]);
        let request = cookie::Request::of(&presented);
        cookie::grant(settings, keyring, request, folder, seconds, now)
    });
    match settings.prefixes.route(&inner) {
        // A public exception inside the folder: its files are public anyway, and a page under
        // the link's base may well use them by relative URL.
        Route::Private(inner) | Route::Public(inner) => Ok(Verdict::Signed {
            path: Cow::Owned(inner.into_owned()),
            // Nothing of the query is signed; only ignored parameters are taken out.
            query: settings.names.ignored.strip(presented.query),
            conditions: Conditions {
                on_success: set_cookie.map(|cookie| {
                    Box::new(OnSuccess {
                        set_cookie: Some(cookie),
                        ..OnSuccess::default()
                    })
                }),
                ..cacheable_until(token.expires.0, now)
            },
        }),
        _ => Err(RejectionKind::MalformedPath),
    }
}

/// The path without its token segment (`/folder/<token>/rest` → `/folder/rest`).
pub(super) fn without_token(path: &str, (start, end): (usize, usize)) -> String {
    format!("{}{}", &path[..start], path[end..].trim_start_matches('/'))
}

/// A folder link in the query (`sl_prefix`): the request must lie inside the folder it names.
pub(super) fn admit_query_token<'p, 'q>(
    settings: &'q Settings,
    keyring: &Keyring,
    presented: Presented<'p, 'q, '_>,
    signed: &SignedQuery<'q>,
    escaped_folder: &str,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    let folder = percent_decode_str(escaped_folder)
        .decode_utf8()
        .map_err(|_| RejectionKind::MalformedToken)?;
    if !folder.starts_with('/') || !folder.ends_with('/') {
        return Err(RejectionKind::MalformedToken);
    }
    // A folder link is a GET link with an expiry and nothing else (SPEC.md): a group or a
    // version here would be signed but never enforced, so such a link is refused whole.
    let extra = signed.not_before.is_some()
        || signed.nonce.is_some()
        || signed.max_body.is_some()
        || signed.version.is_some()
        || signed.group.is_some()
        || signed.client_ip.is_some()
        || signed.disposition.is_some()
        || signed.content_type.is_some()
        || signed.delegation.is_some();
    if extra || signed.method != DEFAULT_METHOD {
        return Err(RejectionKind::MalformedToken);
    }
    let claims = Claims {
        scope: Scope::Prefix,
        query: AppQuery::Plain(""),
        ..signed.claims(&folder)
    };
    let (_, now) = steps::verify(
        settings,
        keyring,
        &claims,
        signed.signature,
        signed.times(),
        presented.method,
    )?;
    if !decode_canonical(&presented.path).starts_with(&*folder) {
        return Err(RejectionKind::OutsideScope);
    }
    Ok(Verdict::Signed {
        path: presented.path,
        query: signed.app_query.to_query(),
        conditions: cacheable_until(signed.expires.0, now),
    })
}

/// Folder links are GET links without one-time use: a private cache may keep what they serve
/// until they expire.
fn cacheable_until(expires: u64, now: u64) -> Conditions<'static> {
    Conditions {
        cache_for: Some(expires.saturating_sub(now)),
        ..Conditions::default()
    }
}
