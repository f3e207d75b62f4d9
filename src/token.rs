//! The native link scheme, version 1: which query parameters a link carries and what they sign.
//!
//! # Rules
//!
//! - A link is the canonical path, the application's own query (kept byte for byte), then the
//!   signing parameters, all named with one reserved prefix (`sl_` by default):
//!   `sl_kid` (key id), `sl_method` (only when not GET), `sl_nbf` (not before, optional),
//!   `sl_exp` (expiry), `sl_nonce` (one-time links), and `sl_sig` last.
//! - Numbers are Unix seconds in plain decimal: digits only, no sign, no leading zero.
//! - `sl_sig` is the 32-byte HMAC-SHA256 tag in base64url without padding (43 characters). The
//!   layer compares it with the canonical encoding of the expected tag, so any other encoding of
//!   the same bytes is refused.
//! - The tag covers the *canonical message*: the 6 bytes `tsl-v1`, then nine fields, each a 4-byte
//!   big-endian length and its bytes: key id, method, scope (`path`), the decoded canonical path,
//!   the application's query (the raw query without the signing parameters, joined with `&` in the
//!   order given), not-before (empty when absent), expiry, nonce (empty when absent).
//! - A signing parameter given twice, an unknown parameter with the reserved prefix (in any case),
//!   or a value in a non-canonical form makes the link malformed.

use std::fmt::Write as _;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac as _;
use percent_encoding::percent_decode_str;

use crate::key::{is_valid_key_id, Key};
use crate::rejection::RejectionKind;

/// The first bytes of every version-1 canonical message.
pub(crate) const VERSION_TAG: &[u8] = b"tsl-v1";

/// Length of a tag in base64url without padding.
pub(crate) const SIGNATURE_LEN: usize = 43;

/// Length of a nonce in base64url without padding (16 random bytes).
pub(crate) const NONCE_LEN: usize = 22;

/// The full names of the signing parameters for one reserved prefix.
#[derive(Debug, Clone)]
pub(crate) struct ParamNames {
    pub(crate) prefix: Box<str>,
    pub(crate) key_id: Box<str>,
    pub(crate) method: Box<str>,
    pub(crate) not_before: Box<str>,
    pub(crate) expires: Box<str>,
    pub(crate) nonce: Box<str>,
    pub(crate) signature: Box<str>,
}

impl ParamNames {
    pub(crate) fn new(prefix: &str) -> Self {
        let name = |suffix: &str| format!("{prefix}{suffix}").into_boxed_str();
        Self {
            prefix: prefix.into(),
            key_id: name("kid"),
            method: name("method"),
            not_before: name("nbf"),
            expires: name("exp"),
            nonce: name("nonce"),
            signature: name("sig"),
        }
    }

    /// Whether a raw query parameter name belongs to the signing parameters, in any case or
    /// escaping.
    pub(crate) fn is_reserved(&self, raw_name: &str) -> bool {
        let starts_reserved = |name: &[u8]| {
            name.len() >= self.prefix.len()
                && name[..self.prefix.len()].eq_ignore_ascii_case(self.prefix.as_bytes())
        };
        starts_reserved(raw_name.as_bytes())
            || (raw_name.contains('%')
                && starts_reserved(&percent_decode_str(raw_name).collect::<Vec<u8>>()))
    }
}

/// The method scope of a link: `GET` when the link does not name one.
pub(crate) const DEFAULT_METHOD: &str = "GET";

/// Everything a link signs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claims<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) method: &'a str,
    /// The decoded canonical path.
    pub(crate) path: &'a str,
    pub(crate) query: AppQuery<'a>,
    pub(crate) not_before: Option<u64>,
    pub(crate) expires: u64,
    pub(crate) nonce: Option<&'a str>,
}

/// The application's part of a query string.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AppQuery<'a> {
    /// Already free of signing parameters (when minting).
    Plain(&'a str),
    /// A request's query; the signing parameters are skipped while it is read.
    WithSigning(&'a str, &'a ParamNames),
}

impl<'a> AppQuery<'a> {
    fn for_each_part(&self, mut f: impl FnMut(&'a str)) {
        match *self {
            AppQuery::Plain(query) => {
                if !query.is_empty() {
                    f(query)
                }
            }
            AppQuery::WithSigning(query, names) => {
                let mut first = true;
                for pair in query.split('&') {
                    if names.is_reserved(pair_name(pair)) {
                        continue;
                    }
                    if !first {
                        f("&");
                    }
                    first = false;
                    f(pair);
                }
            }
        }
    }

    fn len(&self) -> usize {
        let mut len = 0;
        self.for_each_part(|part| len += part.len());
        len
    }

    /// The application's query as one string (allocates only when signing parameters are mixed in).
    pub(crate) fn to_query(self) -> std::borrow::Cow<'a, str> {
        match self {
            AppQuery::Plain(query) => query.into(),
            AppQuery::WithSigning(..) => {
                let mut out = String::with_capacity(self.len());
                self.for_each_part(|part| out.push_str(part));
                out.into()
            }
        }
    }
}

fn pair_name(pair: &str) -> &str {
    pair.split_once('=').map_or(pair, |(name, _)| name)
}

impl Claims<'_> {
    /// Feeds the canonical message to `sink`, piece by piece, so no buffer is needed.
    pub(crate) fn write_message(&self, mut sink: impl FnMut(&[u8])) {
        fn field(sink: &mut impl FnMut(&[u8]), bytes: &[u8]) {
            sink(&(bytes.len() as u32).to_be_bytes());
            sink(bytes);
        }
        sink(VERSION_TAG);
        field(&mut sink, self.key_id.as_bytes());
        field(&mut sink, self.method.as_bytes());
        field(&mut sink, b"path");
        field(&mut sink, self.path.as_bytes());
        sink(&(self.query.len() as u32).to_be_bytes());
        self.query.for_each_part(|part| sink(part.as_bytes()));
        let mut digits = Decimal::default();
        field(&mut sink, digits.optional(self.not_before));
        field(&mut sink, digits.optional(Some(self.expires)));
        field(&mut sink, self.nonce.unwrap_or("").as_bytes());
    }

    /// The canonical message as bytes, for tests and known-answer vectors.
    #[cfg(test)]
    pub(crate) fn message(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_message(|bytes| out.extend_from_slice(bytes));
        out
    }

    /// The HMAC-SHA256 tag of the canonical message.
    pub(crate) fn tag(&self, key: &Key) -> [u8; 32] {
        let mut mac = key.mac();
        self.write_message(|bytes| mac.update(bytes));
        mac.finalize().into_bytes().into()
    }

    /// The tag in its one accepted text form.
    pub(crate) fn signature(&self, key: &Key) -> [u8; SIGNATURE_LEN] {
        let mut text = [0u8; SIGNATURE_LEN];
        let written = URL_SAFE_NO_PAD
            .encode_slice(self.tag(key), &mut text)
            .unwrap_or_default();
        debug_assert_eq!(written, SIGNATURE_LEN);
        text
    }
}

/// A stack buffer for writing a number in decimal without allocating.
#[derive(Default)]
struct Decimal {
    buf: [u8; 20],
}

impl Decimal {
    fn optional(&mut self, value: Option<u64>) -> &[u8] {
        let Some(mut value) = value else {
            return b"";
        };
        let mut start = self.buf.len();
        loop {
            start -= 1;
            self.buf[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        &self.buf[start..]
    }
}

/// The signing parameters read from a request's query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedQuery<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) method: &'a str,
    pub(crate) not_before: Option<u64>,
    pub(crate) expires: u64,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) signature: &'a str,
    pub(crate) app_query: AppQuery<'a>,
}

impl<'a> SignedQuery<'a> {
    /// Reads the signing parameters; `query` is the raw query string (empty when absent).
    pub(crate) fn parse(query: &'a str, names: &'a ParamNames) -> Result<Self, RejectionKind> {
        let mut key_id = None;
        let mut method = None;
        let mut not_before = None;
        let mut expires = None;
        let mut nonce = None;
        let mut signature = None;
        let mut any_reserved = false;
        for pair in query.split('&') {
            let name = pair_name(pair);
            if !names.is_reserved(name) {
                continue;
            }
            any_reserved = true;
            let value = pair.get(name.len() + 1..).unwrap_or("");
            let slot = if name == &*names.key_id {
                &mut key_id
            } else if name == &*names.method {
                &mut method
            } else if name == &*names.not_before {
                &mut not_before
            } else if name == &*names.expires {
                &mut expires
            } else if name == &*names.nonce {
                &mut nonce
            } else if name == &*names.signature {
                &mut signature
            } else {
                return Err(RejectionKind::MalformedToken);
            };
            if slot.replace(value).is_some() || !pair.contains('=') {
                return Err(RejectionKind::MalformedToken);
            }
        }
        if !any_reserved {
            return Err(RejectionKind::MissingToken);
        }
        let (Some(key_id), Some(expires), Some(signature)) = (key_id, expires, signature) else {
            return Err(RejectionKind::MalformedToken);
        };
        let method = match method {
            None => DEFAULT_METHOD,
            Some(method) if is_method_scope(method) && method != DEFAULT_METHOD => method,
            Some(_) => return Err(RejectionKind::MalformedToken),
        };
        let nonce = match nonce {
            Some(nonce) if !is_nonce(nonce) => return Err(RejectionKind::MalformedToken),
            nonce => nonce,
        };
        if !is_valid_key_id(key_id) || signature.len() != SIGNATURE_LEN {
            return Err(RejectionKind::MalformedToken);
        }
        Ok(Self {
            key_id,
            method,
            not_before: not_before.map(parse_seconds).transpose()?,
            expires: parse_seconds(expires)?,
            nonce,
            signature,
            app_query: AppQuery::WithSigning(query, names),
        })
    }

    pub(crate) fn claims(&self, path: &'a str) -> Claims<'a> {
        Claims {
            key_id: self.key_id,
            method: self.method,
            path,
            query: self.app_query,
            not_before: self.not_before,
            expires: self.expires,
            nonce: self.nonce,
        }
    }
}

/// Parses canonical decimal seconds: digits only, no leading zero, at most `i64::MAX`.
pub(crate) fn parse_seconds(text: &str) -> Result<u64, RejectionKind> {
    let canonical = !text.is_empty()
        && text.len() <= 19
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    match text.parse::<u64>() {
        Ok(value) if canonical && value <= i64::MAX as u64 => Ok(value),
        _ => Err(RejectionKind::MalformedToken),
    }
}

/// An HTTP method name as a link scope: 1 to 16 upper-case ASCII letters.
pub(crate) fn is_method_scope(method: &str) -> bool {
    (1..=16).contains(&method.len()) && method.bytes().all(|b| b.is_ascii_uppercase())
}

fn is_nonce(nonce: &str) -> bool {
    nonce.len() == NONCE_LEN
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Compares a presented signature with the expected one in constant time.
pub(crate) fn signature_matches(expected: &[u8; SIGNATURE_LEN], presented: &str) -> bool {
    constant_time_eq::constant_time_eq(expected, presented.as_bytes())
}

/// Appends the signing parameters for `claims` to a link being built.
pub(crate) fn append_signing_params(
    out: &mut String,
    names: &ParamNames,
    claims: &Claims<'_>,
    signature: &[u8; SIGNATURE_LEN],
) {
    let _ = write!(out, "{}={}", names.key_id, claims.key_id);
    if claims.method != DEFAULT_METHOD {
        let _ = write!(out, "&{}={}", names.method, claims.method);
    }
    if let Some(not_before) = claims.not_before {
        let _ = write!(out, "&{}={not_before}", names.not_before);
    }
    let _ = write!(out, "&{}={}", names.expires, claims.expires);
    if let Some(nonce) = claims.nonce {
        let _ = write!(out, "&{}={nonce}", names.nonce);
    }
    // The signature is base64url, always ASCII.
    let signature = std::str::from_utf8(signature).unwrap_or_default();
    let _ = write!(out, "&{}={signature}", names.signature);
}

/// How many bytes [`append_signing_params`] writes, so a link is built with one allocation.
pub(crate) fn signing_params_len(names: &ParamNames, claims: &Claims<'_>) -> usize {
    let digits = |mut value: u64| {
        let mut count = 1;
        while value >= 10 {
            value /= 10;
            count += 1;
        }
        count
    };
    let mut len = names.key_id.len() + 1 + claims.key_id.len();
    if claims.method != DEFAULT_METHOD {
        len += 1 + names.method.len() + 1 + claims.method.len();
    }
    if let Some(not_before) = claims.not_before {
        len += 1 + names.not_before.len() + 1 + digits(not_before);
    }
    len += 1 + names.expires.len() + 1 + digits(claims.expires);
    if let Some(nonce) = claims.nonce {
        len += 1 + names.nonce.len() + 1 + nonce.len();
    }
    len + 1 + names.signature.len() + 1 + SIGNATURE_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> ParamNames {
        ParamNames::new("sl_")
    }

    #[test]
    fn known_answer_vectors() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../tests/vectors/native-v1.json")).unwrap();
        let vectors = file["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 3);
        for v in vectors {
            let name = v["name"].as_str().unwrap();
            let key =
                Key::new(v["key_id"].as_str().unwrap(), v["secret"].as_str().unwrap()).unwrap();
            let claims = Claims {
                key_id: v["key_id"].as_str().unwrap(),
                method: v["method"].as_str().unwrap(),
                path: v["path"].as_str().unwrap(),
                query: AppQuery::Plain(v["query"].as_str().unwrap()),
                not_before: v["not_before"].as_u64(),
                expires: v["expires"].as_u64().unwrap(),
                nonce: v["nonce"].as_str(),
            };
            let hex: String = claims
                .message()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(hex, v["message_hex"].as_str().unwrap(), "{name}: message");
            let signature = claims.signature(&key);
            assert_eq!(
                std::str::from_utf8(&signature).unwrap(),
                v["signature"].as_str().unwrap(),
                "{name}: signature"
            );
            // The same claims read back from the link's query give the same message.
            let link = v["link"].as_str().unwrap();
            let query = link.split_once('?').unwrap().1;
            let names = names();
            let parsed = SignedQuery::parse(query, &names).unwrap();
            assert_eq!(
                parsed.claims(claims.path).message(),
                claims.message(),
                "{name}: parsed"
            );
            assert_eq!(parsed.signature, v["signature"].as_str().unwrap());
        }
    }

    #[test]
    fn signing_parameters_are_read_strictly() {
        const SIG: &str = "vAFDT3x4EW1BGiYSGoGjumdM2hHfBLQFjwwetl_3xeI";
        struct Case {
            name: &'static str,
            query: String,
            expect: Result<(), RejectionKind>,
        }
        let case = |name, query: &str, expect| Case {
            name,
            query: query.to_owned(),
            expect,
        };
        let ok = |name, query: &str| case(name, query, Ok(()));
        let bad = |name, query: &str| case(name, query, Err(RejectionKind::MalformedToken));
        let s = |rest: &str| format!("sl_kid=1&sl_exp=1767225600{rest}&sl_sig={SIG}");
        let cases = [
            ok("minimal", &s("")),
            ok("app params around", &format!("a=1&{}&b=2", s(""))),
            ok("method", &s("&sl_method=PUT")),
            ok("not before", &s("&sl_nbf=1767225000")),
            ok("nonce", &s("&sl_nonce=q83vEjRWeJq83vEjRWeJqw")),
            case("none", "a=1", Err(RejectionKind::MissingToken)),
            case("empty query", "", Err(RejectionKind::MissingToken)),
            bad("duplicate expiry", &s("&sl_exp=1767225600")),
            bad("duplicate signature", &s(&format!("&sl_sig={SIG}"))),
            bad("duplicate key id", &format!("sl_kid=1&{}", s(""))),
            bad("upper-case name", &s("&SL_EXP=1")),
            bad("escaped name", &s("&sl%5Fexp=1")),
            bad("unknown reserved name", &s("&sl_extra=1")),
            bad("array form", &s("&sl_exp[]=1")),
            bad("name without value", &s("&sl_nbf")),
            bad("missing signature", "sl_kid=1&sl_exp=1767225600"),
            bad("missing expiry", &format!("sl_kid=1&sl_sig={SIG}")),
            bad("missing key id", &format!("sl_exp=1767225600&sl_sig={SIG}")),
            bad("explicit GET", &s("&sl_method=GET")),
            bad("lower-case method", &s("&sl_method=put")),
            bad(
                "empty key id",
                &format!("sl_kid=&sl_exp=1767225600&sl_sig={SIG}"),
            ),
            bad(
                "short signature",
                "sl_kid=1&sl_exp=1767225600&sl_sig=vAFDT3x4",
            ),
            bad(
                "padded signature",
                &format!("sl_kid=1&sl_exp=1767225600&sl_sig={SIG}="),
            ),
            bad("short nonce", &s("&sl_nonce=abc")),
            bad("plus sign", "sl_kid=1&sl_exp=+1767225600&sl_sig=x"),
        ];
        let names = names();
        for case in cases {
            let result = SignedQuery::parse(&case.query, &names).map(|_| ());
            assert_eq!(result, case.expect, "{}", case.name);
        }
    }

    #[test]
    fn seconds_are_canonical_decimal() {
        #[rustfmt::skip]
        let cases = [
            ("zero", "0", Some(0)),
            ("plain", "1767225600", Some(1_767_225_600)),
            ("i64 max", "9223372036854775807", Some(i64::MAX as u64)),
            ("over i64", "9223372036854775808", None),
            ("leading zero", "01767225600", None),
            ("plus", "+1", None),
            ("minus", "-1", None),
            ("hex", "0x10", None),
            ("exponent", "1e9", None),
            ("space", "1 ", None),
            ("empty", "", None),
            ("fraction", "1.5", None),
            ("twenty digits", "18446744073709551615", None),
        ];
        for (name, text, want) in cases {
            assert_eq!(parse_seconds(text).ok(), want, "{name}");
        }
    }

    #[test]
    fn app_query_skips_only_signing_parameters() {
        let names = names();
        let query = "a=1&sl_kid=1&&b=2&sl_exp=3&sl_sig=x&c";
        let app = AppQuery::WithSigning(query, &names);
        assert_eq!(app.to_query(), "a=1&&b=2&c");
        assert_eq!(app.len(), "a=1&&b=2&c".len());
    }

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        let base = Claims {
            key_id: "1",
            method: "GET",
            path: "/a",
            query: AppQuery::Plain("b=1"),
            not_before: None,
            expires: 10,
            nonce: None,
        };
        let variants = [
            Claims {
                path: "/ab=1",
                query: AppQuery::Plain(""),
                ..base
            },
            Claims {
                key_id: "1G",
                method: "ET",
                ..base
            },
            Claims {
                not_before: Some(1),
                expires: 0,
                ..base
            },
            Claims {
                nonce: Some("q83vEjRWeJq83vEjRWeJqw"),
                ..base
            },
        ];
        for variant in variants {
            assert_ne!(variant.message(), base.message(), "{variant:?}");
        }
    }
}
