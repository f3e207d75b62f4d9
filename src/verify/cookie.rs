//! The link-to-cookie exchange for folders. A folder link minted with a cookie session answers
//! its use with `Set-Cookie: sl_session=<key id>~<expiry>~<folder>~<signature>`, scoped to the
//! folder; afterwards the cookie alone admits GET and HEAD requests under that folder until it
//! expires.
//!
//! The cookie signs scope `cookie`, so it never passes for a link (nor a link for it), and it
//! signs its folder and host, so it admits nothing outside them wherever a client sends it. It
//! holds no secret: a signature by the keyring's signing key, or for a verifier that holds only
//! public keys, by a random key of the layer's own.
//!
//! The host is the one HTTP says the request is for (the [`host`](crate::host) module: the
//! target's authority, else the single `Host`; the layer has already refused requests that name
//! two). A request with no usable host (HTTP/1.0 without `Host`, an empty or non-ASCII one) gets
//! no cookie, though its link still serves the file, and no cookie admits it: a cookie bound to
//! "no host" would work on every such request, for whatever server it reaches.

use std::borrow::Cow;
use std::net::IpAddr;

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue, Method};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::verdict::{Conditions, Presented, Verdict};
use crate::config::Settings;
use crate::host::Host;
use crate::key::{Key, Keyring};
use crate::path::{decode_canonical, Route};
use crate::token::{parse_seconds, tilde_fields, AppQuery, Claims, Decimal, Scope};

/// The cookie's name after the parameter prefix (`sl_session`).
const NAME_SUFFIX: &str = "session";

/// A decoded folder in a cookie value: everything but letters, digits and `/-._` escaped, so
/// no `;`, `,`, space or quote can end the value early.
const FOLDER_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// What the exchange reads of a request besides its path.
#[derive(Clone, Copy)]
pub(crate) struct Request<'q, 'r> {
    query: &'q str,
    method: &'r Method,
    headers: &'r HeaderMap,
    /// The host the request is for, as sent; `None` when it names none a cookie can be bound to.
    host: Option<&'r str>,
}

impl<'q, 'r> Request<'q, 'r> {
    /// What `presented` carries for the exchange, with the host HTTP says it is for.
    pub(crate) fn of(presented: &Presented<'_, 'q, 'r>) -> Self {
        let host = Host::accepted(presented.authority, presented.headers).usable();
        Self {
            query: presented.query,
            method: presented.method,
            headers: presented.headers,
            host,
        }
    }
}

/// A session cookie's claims: scope `cookie`, its folder, and in the query field the host it
/// was set for (lower case), so it is refused on another host that trusts the same key.
fn claims<'a>(key_id: &'a str, folder: &'a str, expires: &'a str, host: &'a str) -> Claims<'a> {
    Claims {
        query: AppQuery::Plain(host),
        ..Claims::basic(key_id, Scope::Cookie, folder, expires)
    }
}

/// The key a cookie is signed with: the keyring's signing key if it can sign, else the layer's.
fn signing_key<'k>(settings: &'k Settings, keyring: &'k Keyring) -> Option<&'k Key> {
    let key = keyring.signing_key();
    if key.can_sign() {
        Some(key)
    } else {
        settings.session_key.as_ref()
    }
}

fn key_for<'k>(settings: &'k Settings, keyring: &'k Keyring, id: &str) -> Option<&'k Key> {
    keyring
        .get(id)
        .filter(|key| key.can_sign())
        .or_else(|| settings.session_key.as_ref().filter(|key| key.id() == id))
}

/// The `Set-Cookie` value granting `folder` (decoded, ending with `/`; `escaped_folder` is the
/// same folder as the client's path carries it) for `session` seconds from `now`, capped by the
/// maximum lifetime. `None` when no key can sign it, or the request names no usable host.
pub(crate) fn grant(
    settings: &Settings,
    keyring: &Keyring,
    request: Request<'_, '_>,
    (folder, escaped_folder): (&str, &str),
    session: u64,
    now: u64,
) -> Option<HeaderValue> {
    let host = request.host?.to_ascii_lowercase();
    let key = signing_key(settings, keyring)?;
    let lifetime = session.min(settings.max_lifetime);
    let mut expires_text = Decimal::default();
    let expires = expires_text.text(now.saturating_add(lifetime));
    let signature = key.sign(&claims(key.id(), folder, expires, &host))?;
    let secure = if is_loopback(&host) { "" } else { "; Secure" };
    let value = format!(
        "{}{NAME_SUFFIX}={}~{expires}~{}~{}; Path={escaped_folder}; Max-Age={lifetime}; \
         HttpOnly; SameSite=Lax{secure}",
        settings.names.prefix,
        key.id(),
        utf8_percent_encode(folder, FOLDER_ESCAPE),
        signature.as_str(),
    );
    HeaderValue::from_str(&value).ok()
}

/// Loopback hosts get no `Secure` flag, so the exchange works over plain HTTP in development.
fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    // An address, not a name that starts like one (`127.example.com` is no loopback).
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Admits a GET or HEAD request for the canonical private `path` when one of its session
/// cookies is valid and its folder holds the path, on a request that names the cookie's host.
pub(crate) fn admit<'p, 'q>(
    settings: &'q Settings,
    keyring: &Keyring,
    path: Cow<'p, str>,
    request: Request<'q, '_>,
) -> Option<Verdict<'p, 'q>> {
    if *request.method != Method::GET && *request.method != Method::HEAD {
        return None;
    }
    let host = request.host?.to_ascii_lowercase();
    let decoded = decode_canonical(&path);
    let admitted = session_values(settings, request.headers)
        .any(|value| covers(settings, keyring, value, (&decoded, &host)));
    if !admitted || !matches!(settings.prefixes.route(&path), Route::Private(_)) {
        return None;
    }
    Some(Verdict::Signed {
        path,
        // A session stands in for its folder link, so the inner service sees what it would.
        query: settings.names.ignored.strip(request.query),
        conditions: Conditions::default(),
    })
}

/// The values of every session cookie the request carries (nested folders may each set one).
fn session_values<'h>(
    settings: &'h Settings,
    headers: &'h HeaderMap,
) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(move |pair| {
            let (name, value) = pair.trim().split_once('=')?;
            let suffix = name.strip_prefix(&*settings.names.prefix)?;
            (suffix == NAME_SUFFIX).then_some(value)
        })
}

/// Whether a cookie value is valid now, for this host, and its folder holds the decoded `path`.
fn covers(settings: &Settings, keyring: &Keyring, value: &str, (path, host): (&str, &str)) -> bool {
    let Some([key_id, expires, folder, signature]) = tilde_fields(value) else {
        return false;
    };
    let Ok(expiry) = parse_seconds(expires) else {
        return false;
    };
    let Ok(folder) = percent_decode_str(folder).decode_utf8() else {
        return false;
    };
    let Some(key) = key_for(settings, keyring, key_id) else {
        return false;
    };
    let now = settings.clock.now_unix();
    folder.starts_with('/')
        && folder.ends_with('/')
        && key.verifies(&claims(key_id, &folder, expires, host), signature)
        && now <= expiry.saturating_add(settings.leeway)
        && expiry <= now.saturating_add(settings.max_lifetime + settings.leeway)
        && path.starts_with(&*folder)
}

/// Removes the session cookies from the request, so the inner service never sees them.
pub(crate) fn strip(settings: &Settings, headers: &mut HeaderMap) {
    let carries = |header: &HeaderValue| {
        header
            .to_str()
            .is_ok_and(|text| text.contains(&*settings.names.prefix))
    };
    if !headers.get_all(COOKIE).iter().any(carries) {
        return;
    }
    let name = format!("{}{NAME_SUFFIX}", settings.names.prefix);
    let kept: Vec<String> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some(name.as_str()))
        .map(str::to_owned)
        .collect();
    headers.remove(COOKIE);
    if !kept.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&kept.join("; ")) {
            headers.insert(COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_go_without_secure() {
        let cases = [
            ("localhost", true),
            ("localhost:8080", true),
            ("127.0.0.1", true),
            ("127.0.0.1:3000", true),
            ("127.8.9.10", true),
            ("[::1]", true),
            ("[::1]:8443", true),
            ("127.example.com", false),
            ("localhost.example.com", false),
            ("example.com", false),
            ("10.0.0.1", false),
            ("[::2]:80", false),
            ("", false),
        ];
        for (host, loopback) in cases {
            assert_eq!(is_loopback(host), loopback, "{host:?}");
        }
    }
}
