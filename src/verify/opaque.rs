//! Opaque links: the whole claim of an ordinary link (target, method, times, one-time nonce,
//! limits, version, group) sealed with XChaCha20-Poly1305, so the link shows nothing but its
//! key id: `/<opaque prefix>/<token>`.
//!
//! The AEAD key is derived from the link key by HKDF-SHA256 under its own label, so one secret
//! serves both formats without the two uses sharing key material. After opening, the hidden
//! target goes through the same path boundary and the same checks as an ordinary link: opaque
//! is a wrapper, never a bypass.
//!
//! Token (base64url without padding): `0x01`, the key id's length (one byte), the key id, a
//! random 24-byte nonce, then the ciphertext and tag of the claims. The associated data is
//! `tsl-opaque-v1` followed by the token's bytes before the nonce. The claims are nine fields,
//! each a 2-byte big-endian length and its bytes: method, canonical path (escaped, as the inner
//! service sees it), application query, not-before, expiry, nonce, upload limit, version, group
//! (numbers in decimal, absent ones empty); then client networks, download name, content type,
//! uses and confirm, up to the last one the link has.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::XNonce;

use super::steps;
use super::verdict::{Conditions, OnSuccess, OneTimeUse, Presented, Verdict};
use crate::config::Settings;
use crate::key::{is_valid_key_id, Keyring};
use crate::one_time;
use crate::path::Route;
use crate::rejection::RejectionKind;
use crate::token::overrides::{parse_content_type, parse_disposition};
use crate::token::{
    is_group, is_method_scope, is_networks, parse_seconds, parse_uses, DEFAULT_METHOD,
};

use crate::token::opaque::{AD_TAG, FORMAT_VERSION, NONCE_LEN};

/// Opens the token, then routes and validates the hidden claims as an ordinary link's.
pub(super) fn admit<'p, 'q>(
    settings: &'q Settings,
    keyring: &Keyring,
    token: &str,
    presented: Presented<'p, 'q, '_>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    // The opaque URL is the whole link: anything added to it is tampering, except parameters
    // the layer ignores (a shared link gains `fbclid`), which are dropped.
    let ignored = &settings.names.ignored;
    if !(presented.query.is_empty() || ignored.covers(presented.query)) || token.contains('/') {
        return Err(RejectionKind::MalformedToken);
    }
    let plaintext = open(keyring, token)?;
    let claims = Opened::parse(&plaintext)?;

    // The hidden target must be what an ordinary link to it would be: canonical and private.
    match settings.prefixes.route(claims.path) {
        Route::Private(Cow::Borrowed(_)) => {}
        _ => return Err(RejectionKind::MalformedToken),
    }
    let expires = parse_seconds(claims.expires)?;
    let not_before = match claims.not_before {
        "" => None,
        text => Some(parse_seconds(text)?),
    };
    let confirm = claims.confirm == "1";
    let method = steps::counted_method(confirm, presented.method);
    let (own_method, now) =
        steps::validate(settings, claims.method, (expires, not_before), method)?;
    let networks = (!claims.client_ip.is_empty()).then_some(claims.client_ip);
    steps::check_client(
        settings,
        networks,
        (presented.extensions, presented.headers),
    )?;
    let uses = parse_uses(claims.uses).map_or(1, |(uses, _)| uses);
    let as_get = steps::one_time_step(
        confirm,
        !claims.nonce.is_empty() && own_method,
        presented.method,
        presented.headers,
    )?;
    let max_body = match claims.max_body {
        "" => None,
        text => Some(parse_seconds(text)?),
    };
    let owned = |text: &str| (!text.is_empty()).then(|| Cow::Owned(text.to_owned()));
    let conditions = Conditions {
        consume: owned(claims.nonce)
            .filter(|_| own_method)
            .map(|nonce| OneTimeUse {
                nonce,
                now,
                keep_for: one_time::keep_for(expires, settings.leeway, now),
                uses,
            }),
        max_body,
        cache_for: (claims.nonce.is_empty() && claims.method == DEFAULT_METHOD)
            .then(|| expires.saturating_sub(now)),
        version: owned(claims.version),
        group: owned(claims.group),
        on_success: OnSuccess::overrides(
            (!claims.disposition.is_empty()).then_some(claims.disposition),
            (!claims.content_type.is_empty()).then_some(claims.content_type),
        ),
        conceal: true,
        as_get,
    };
    Ok(Verdict::Signed {
        path: Cow::Owned(claims.path.to_owned()),
        // The signer refuses to seal an ignored parameter; one sealed before the layer ignored
        // it is still kept from the inner service, as on every other link.
        query: Cow::Owned(ignored.strip(claims.query).into_owned()),
        conditions,
    })
}

/// Decodes the token and opens its seal with the key it names: the claims' bytes.
fn open(keyring: &Keyring, token: &str) -> Result<Vec<u8>, RejectionKind> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| RejectionKind::MalformedToken)?;
    let (&version, rest) = bytes.split_first().ok_or(RejectionKind::MalformedToken)?;
    let (&id_len, rest) = rest.split_first().ok_or(RejectionKind::MalformedToken)?;
    let id_len = usize::from(id_len);
    if version != FORMAT_VERSION || rest.len() < id_len + NONCE_LEN + 16 {
        return Err(RejectionKind::MalformedToken);
    }
    let (id, rest) = rest.split_at(id_len);
    let id = std::str::from_utf8(id)
        .ok()
        .filter(|id| is_valid_key_id(id))
        .ok_or(RejectionKind::MalformedToken)?;
    let key = keyring.get(id).ok_or(RejectionKind::UnknownKey)?;
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let aad = [AD_TAG, &bytes[..2 + id_len]].concat();
    key.sealer()
        // Only HMAC keys seal opaque links; a public key names none.
        .ok_or(RejectionKind::UnknownKey)?
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| RejectionKind::BadSignature)
}

/// One field of the claims: a 2-byte big-endian length and that many bytes of UTF-8.
fn next_field<'a>(plaintext: &mut &'a [u8]) -> Result<&'a str, RejectionKind> {
    let &[high, low, ref rest @ ..] = *plaintext else {
        return Err(RejectionKind::MalformedToken);
    };
    let len = usize::from(u16::from_be_bytes([high, low]));
    if rest.len() < len {
        return Err(RejectionKind::MalformedToken);
    }
    let (field, rest) = rest.split_at(len);
    *plaintext = rest;
    std::str::from_utf8(field).map_err(|_| RejectionKind::MalformedToken)
}

/// The claims read back from an opened token.
struct Opened<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    not_before: &'a str,
    expires: &'a str,
    nonce: &'a str,
    max_body: &'a str,
    version: &'a str,
    group: &'a str,
    /// Fields 10 to 14, written up to the last one a link has: client networks, download
    /// name, content type, uses, confirm (as `sl_ip`, `sl_cd`, `sl_ct`, `sl_uses` and
    /// `sl_confirm` carry them).
    client_ip: &'a str,
    disposition: &'a str,
    content_type: &'a str,
    uses: &'a str,
    confirm: &'a str,
}

impl<'a> Opened<'a> {
    fn parse(mut plaintext: &'a [u8]) -> Result<Self, RejectionKind> {
        let rest = &mut plaintext;
        let mut opened = Self {
            method: next_field(rest)?,
            path: next_field(rest)?,
            query: next_field(rest)?,
            not_before: next_field(rest)?,
            expires: next_field(rest)?,
            nonce: next_field(rest)?,
            max_body: next_field(rest)?,
            version: next_field(rest)?,
            group: next_field(rest)?,
            client_ip: "",
            disposition: "",
            content_type: "",
            uses: "",
            confirm: "",
        };
        // Later fields only up to the last one present: an empty last field would be a second
        // spelling of none.
        let (mut read, mut last) = (0, "");
        for field in [
            &mut opened.client_ip,
            &mut opened.disposition,
            &mut opened.content_type,
            &mut opened.uses,
            &mut opened.confirm,
        ] {
            if rest.is_empty() {
                break;
            }
            *field = next_field(rest)?;
            (read, last) = (read + 1, *field);
        }
        // A count of uses and a confirmation belong to a one-time (and, confirmed, GET) link.
        let one_time = !opened.nonce.is_empty();
        let uses_sound = opened.uses.is_empty() || (one_time && parse_uses(opened.uses).is_ok());
        let confirm_sound = opened.confirm.is_empty()
            || (opened.confirm == "1" && one_time && opened.method == DEFAULT_METHOD);
        let later_sound = uses_sound
            && confirm_sound
            && (opened.client_ip.is_empty() || is_networks(opened.client_ip))
            && (opened.disposition.is_empty() || parse_disposition(opened.disposition).is_some())
            && (opened.content_type.is_empty()
                || parse_content_type(opened.content_type).is_some());
        let trailing_empty = read > 0 && last.is_empty();
        let sound = later_sound
            && !trailing_empty
            && rest.is_empty()
            && is_method_scope(opened.method)
            && (opened.group.is_empty() || is_group(opened.group));
        if !sound {
            return Err(RejectionKind::MalformedToken);
        }
        Ok(opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::key::Key;
    use crate::layer::SecureLinkLayer;
    use crate::token::Claims;
    use http::Method;

    #[test]
    fn known_answer_vectors_seal_and_open_alike() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/opaque-v1.json")).unwrap();
        for v in file["vectors"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap();
            let text = |field: &str| v[field].as_str().map(str::to_owned);
            let number = |field: &str| v[field].as_u64().map(|n| n.to_string());
            let key_id = v["key_id"].as_str().unwrap();
            let key = Key::new(key_id, v["secret"].as_str().unwrap()).unwrap();
            let (expires, not_before, max_body) = (
                number("expires").unwrap(),
                number("not_before"),
                number("max_body"),
            );
            let (nonce, version, group) = (text("nonce"), text("version"), text("group"));
            let method = v["method"].as_str().unwrap();
            let path = v["path"].as_str().unwrap();
            let claims = Claims {
                method,
                query: crate::token::AppQuery::Plain(v["query"].as_str().unwrap()),
                not_before: not_before.as_deref(),
                nonce: nonce.as_deref(),
                max_body: max_body.as_deref(),
                version: version.as_deref(),
                group: group.as_deref(),
                ..Claims::basic(key_id, crate::token::Scope::Path, path, &expires)
            };
            let mut iv = [0u8; NONCE_LEN];
            for (i, byte) in iv.iter_mut().enumerate() {
                let hex = &v["nonce_hex"].as_str().unwrap()[2 * i..2 * i + 2];
                *byte = u8::from_str_radix(hex, 16).unwrap();
            }
            let token = v["token"].as_str().unwrap();
            assert_eq!(
                crate::signer::seal(&key, &claims, path, &iv).as_deref(),
                Some(token),
                "{name}: sealed"
            );

            let layer = SecureLinkLayer::new(key)
                .with_private_prefix("/private/")
                .unwrap()
                .with_opaque_prefix("/s/")
                .unwrap()
                .with_clock(ManualClock::new(v["now"].as_u64().unwrap()));
            let target = format!("/s/{token}").parse().unwrap();
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert!(layer.check(&method, &target).is_ok(), "{name}: opened");
        }
    }
}
