//! The syntax of single values a link carries: numbers, methods, groups, versions, nonces and
//! key ids. Each check says what one canonical form is, so a value has exactly one spelling.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::error::TokenError;

/// The name part of a raw `name=value` pair (all of it when there is no `=`).
pub(crate) fn pair_name(pair: &str) -> &str {
    match pair.as_bytes().iter().position(|b| *b == b'=') {
        Some(end) => &pair[..end],
        None => pair,
    }
}

/// The longest key id, in bytes (the public `Key::MAX_ID_LEN` names this value).
pub(crate) const KEY_ID_MAX_LEN: usize = 32;

/// A key id as links carry it: 1 to 32 characters of `A-Z a-z 0-9 . _ -`.
pub(crate) fn is_valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= KEY_ID_MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Length of a nonce in base64url without padding (16 random bytes).
pub(crate) const NONCE_LEN: usize = 22;

/// The method scope of a link: `GET` when the link does not name one.
pub(crate) const DEFAULT_METHOD: &str = "GET";

/// A stack buffer that writes a number in decimal without allocating.
#[derive(Default)]
pub(crate) struct Decimal {
    buf: [u8; 20],
}

impl Decimal {
    pub(crate) fn text(&mut self, mut value: u64) -> &str {
        let mut start = self.buf.len();
        loop {
            start -= 1;
            self.buf[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        // Only ASCII digits were written.
        std::str::from_utf8(&self.buf[start..]).unwrap_or_default()
    }
}

/// Parses canonical decimal seconds: digits only, no leading zero, at most `i64::MAX`.
pub(crate) fn parse_seconds(text: &str) -> Result<u64, TokenError> {
    let bytes = text.as_bytes();
    // At most 19 digits, so the sum below cannot overflow; only the i64 bound is left.
    if !matches!(bytes, [b'0'] | [b'1'..=b'9', ..]) || bytes.len() > 19 {
        return Err(TokenError::Malformed);
    }
    let mut value: u64 = 0;
    for &byte in bytes {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return Err(TokenError::Malformed);
        }
        value = value * 10 + u64::from(digit);
    }
    if value <= i64::MAX as u64 {
        Ok(value)
    } else {
        Err(TokenError::Malformed)
    }
}

/// The most uses one link may have: each use past the first costs the store one more round
/// trip for the request that finds it.
pub(crate) const MAX_USES: u32 = 100;

/// Reads an `sl_uses` value: canonical decimal from 2 to [`MAX_USES`] (one use is a plain
/// one-time link, which carries no count).
pub(crate) fn parse_uses(text: &str) -> Result<(u32, &str), TokenError> {
    let value = parse_seconds(text)?;
    match u32::try_from(value) {
        Ok(uses) if (2..=MAX_USES).contains(&uses) => Ok((uses, text)),
        _ => Err(TokenError::Malformed),
    }
}

/// An HTTP method name as a link scope: 1 to 16 upper-case ASCII letters.
pub(crate) fn is_method_scope(method: &str) -> bool {
    (1..=16).contains(&method.len()) && method.bytes().all(|b| b.is_ascii_uppercase())
}

/// What [`is_group`] accepts, for error messages.
pub(crate) const GROUP_RULE: &str = "a revocation group is 1 to 64 characters of A-Z a-z 0-9 . _ -";

/// A revocation group: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.
pub(crate) fn is_group(group: &str) -> bool {
    (1..=64).contains(&group.len())
        && group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A version as a link carries it: the validator in canonical base64url without padding, at
/// most 256 characters.
pub(crate) fn is_version(version: &str) -> bool {
    let mut bytes = [0u8; 192];
    (1..=256).contains(&version.len())
        && URL_SAFE_NO_PAD
            .decode_slice(version, &mut bytes)
            .is_ok_and(|len| {
                let mut again = [0u8; 256];
                URL_SAFE_NO_PAD
                    .encode_slice(&bytes[..len], &mut again)
                    .is_ok_and(|written| &again[..written] == version.as_bytes())
            })
}

/// 22 characters of base64url in canonical form (16 bytes: the last character's four low bits
/// are zero). One table lookup per character and no branch on its value: nonces are random,
/// and a branch per character mispredicts about every other time.
pub(crate) fn is_nonce(nonce: &str) -> bool {
    let bytes = nonce.as_bytes();
    bytes.len() == NONCE_LEN
        && bytes
            .iter()
            .fold(0, |outside, b| outside | SEXTETS[usize::from(*b)])
            < 64
        && SEXTETS[usize::from(bytes[NONCE_LEN - 1])] & 0b1111 == 0
}

/// The base64url alphabet's values, 0xFF for every other byte.
pub(crate) const SEXTETS: [u8; 256] = {
    let mut table = [0xFF; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut at = 0;
    while at < 64 {
        table[alphabet[at] as usize] = at as u8;
        at += 1;
    }
    table
};
