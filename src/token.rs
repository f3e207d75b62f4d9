//! The native link scheme, version 1: which query parameters a link carries and what they sign.
//!
//! # Rules
//!
//! - A link is the canonical path, the application's own query (kept byte for byte), then the
//!   signing parameters, all named with one reserved prefix (`sl_` by default):
//!   `sl_kid` (key id), `sl_method` (only when not GET), `sl_nbf` (not before, optional),
//!   `sl_exp` (expiry), `sl_nonce` (one-time links), `sl_max` (upload size limit, optional), and
//!   `sl_sig` last.
//! - Numbers are Unix seconds in plain decimal: digits only, no sign, no leading zero, at most
//!   `i64::MAX`.
//! - `sl_sig` is the 32-byte HMAC-SHA256 tag in base64url without padding (43 characters). The
//!   layer compares it, in constant time, with the canonical encoding of the expected tag, so
//!   any other encoding of the same bytes is refused.
//! - The tag covers the *canonical message*: the 6 bytes `tsl-v1`, then nine fields, each a
//!   4-byte big-endian length and its bytes: key id, method, scope (`path`), the decoded
//!   canonical path, the application's query (the raw query without the signing parameters,
//!   joined with `&` in the order given), not-before (empty when absent), expiry, nonce (empty
//!   when absent), upload size limit in bytes (empty when absent).
//! - A signing parameter given twice or without `=`, an unknown parameter with the reserved
//!   prefix (in any case or escaping), or a value in a non-canonical form makes the link
//!   malformed.
//! - A folder link signs the scope `prefix` and the folder instead of a path, binds no
//!   application query, and travels either as `sl_prefix=<folder>` in the query or as a path
//!   segment `sl_t~<key id>~<expiry>~<signature>` right after the folder.
//!
//! ```
//! use http::{Method, StatusCode};
//! use tower_secure_link::{Key, SecureLinkLayer};
//!
//! let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
//! let link = layer.signer().sign("/report.pdf?page=2").unwrap();
//! let status = |target: &str| match layer.check(&Method::GET, &target.parse().unwrap()) {
//!     Ok(_) => StatusCode::OK,
//!     Err(rejection) => rejection.status(),
//! };
//! assert_eq!(status(&link), StatusCode::OK);
//! assert_eq!(status(&link.replace("page=2", "page=3")), StatusCode::FORBIDDEN);
//! assert_eq!(status(&format!("{link}&sl_exp=1")), StatusCode::FORBIDDEN); // duplicated
//! ```

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac as _;
use percent_encoding::percent_decode_str;

use crate::key::{is_valid_key_id, HmacSha256};

#[cfg(feature = "ed25519")]
pub(crate) mod ed25519;
use crate::rejection::RejectionKind;

/// The first bytes of every version-1 canonical message.
pub(crate) const VERSION_TAG: &[u8] = b"tsl-v1";

/// Length of a tag in base64url without padding.
pub(crate) const SIGNATURE_LEN: usize = 43;

/// The longest signature text any key makes (an Ed25519 signature: 64 bytes, 86 characters).
pub(crate) const MAX_SIGNATURE_LEN: usize = 86;

/// Whether a presented signature has a length some key makes; others are malformed.
fn is_signature_len(len: usize) -> bool {
    len == SIGNATURE_LEN || (cfg!(feature = "ed25519") && len == MAX_SIGNATURE_LEN)
}

/// Length of a nonce in base64url without padding (16 random bytes).
pub(crate) const NONCE_LEN: usize = 22;

/// The method scope of a link: `GET` when the link does not name one.
pub(crate) const DEFAULT_METHOD: &str = "GET";

/// Messages up to this size are assembled on the stack and reach the MAC in one update.
const STACK_MESSAGE_LEN: usize = 256;

/// The full names of the signing parameters for one reserved prefix.
#[derive(Debug, Clone)]
pub(crate) struct ParamNames {
    pub(crate) prefix: Box<str>,
    pub(crate) key_id: Box<str>,
    pub(crate) method: Box<str>,
    pub(crate) not_before: Box<str>,
    pub(crate) expires: Box<str>,
    pub(crate) nonce: Box<str>,
    pub(crate) max_body: Box<str>,
    pub(crate) version: Box<str>,
    pub(crate) group: Box<str>,
    pub(crate) prefix_scope: Box<str>,
    pub(crate) signature: Box<str>,
    /// How a path segment carrying a prefix token starts.
    pub(crate) path_token: Box<str>,
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
            max_body: name("max"),
            version: name("ver"),
            group: name("grp"),
            prefix_scope: name("prefix"),
            signature: name("sig"),
            path_token: name("t~"),
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
            || (raw_name.as_bytes().contains(&b'%')
                && starts_reserved(&percent_decode_str(raw_name).collect::<Vec<u8>>()))
    }
}

/// What a link grants: one path, or everything under a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Path,
    Prefix,
    /// A session cookie for a folder: never a link.
    Cookie,
}

impl Scope {
    fn as_bytes(self) -> &'static [u8] {
        match self {
            Scope::Path => b"path",
            Scope::Prefix => b"prefix",
            Scope::Cookie => b"cookie",
        }
    }
}

/// Everything a link signs. Times are canonical decimal text, as the link carries them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claims<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) method: &'a str,
    pub(crate) scope: Scope,
    /// The decoded canonical path.
    pub(crate) path: &'a str,
    pub(crate) query: AppQuery<'a>,
    pub(crate) not_before: Option<&'a str>,
    pub(crate) expires: &'a str,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) max_body: Option<&'a str>,
    /// The resource's version (its validator, base64url), for version-bound links.
    pub(crate) version: Option<&'a str>,
    /// A revocation group.
    pub(crate) group: Option<&'a str>,
    /// A folder link's cookie session, in seconds (the link is exchanged for a cookie).
    pub(crate) session: Option<&'a str>,
}

/// The application's part of a query string.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AppQuery<'a> {
    /// Free of signing parameters: minted, or a request's query up to its signing parameters.
    Plain(&'a str),
    /// A request's query with signing parameters mixed in; they are skipped while it is read.
    WithSigning(&'a str, &'a ParamNames),
}

impl<'a> AppQuery<'a> {
    fn for_each_part(&self, mut f: impl FnMut(&'a str)) {
        match *self {
            AppQuery::Plain(query) => f(query),
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
        match *self {
            AppQuery::Plain(query) => query.len(),
            AppQuery::WithSigning(..) => {
                let mut len = 0;
                self.for_each_part(|part| len += part.len());
                len
            }
        }
    }

    /// The application's query as one string (allocates only when signing parameters are mixed in).
    pub(crate) fn to_query(self) -> Cow<'a, str> {
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
    match pair.as_bytes().iter().position(|b| *b == b'=') {
        Some(end) => &pair[..end],
        None => pair,
    }
}

impl Claims<'_> {
    fn message_len(&self, scheme_tag: &[u8]) -> usize {
        scheme_tag.len()
            + 4 * 9
            + self.key_id.len()
            + self.method.len()
            + self.scope.as_bytes().len()
            + self.path.len()
            + self.query.len()
            + self.not_before.map_or(0, str::len)
            + self.expires.len()
            + self.nonce.map_or(0, str::len)
            + self.max_body.map_or(0, str::len)
            + if self.has_extension() {
                4 * 2 + self.version.map_or(0, str::len) + self.group.map_or(0, str::len)
            } else {
                0
            }
            + self.session.map_or(0, |session| 4 + session.len())
    }

    /// Links with a version, a group or a cookie session sign two more fields (and a session
    /// a third); others keep the nine, so their messages (and signatures) are what they always
    /// were.
    fn has_extension(&self) -> bool {
        self.version.is_some() || self.group.is_some() || self.session.is_some()
    }

    /// Feeds the canonical message, under `scheme_tag`, to `sink` piece by piece.
    pub(crate) fn write_message(&self, scheme_tag: &[u8], mut sink: impl FnMut(&[u8])) {
        fn field(sink: &mut impl FnMut(&[u8]), bytes: &[u8]) {
            sink(&(bytes.len() as u32).to_be_bytes());
            sink(bytes);
        }
        sink(scheme_tag);
        field(&mut sink, self.key_id.as_bytes());
        field(&mut sink, self.method.as_bytes());
        field(&mut sink, self.scope.as_bytes());
        field(&mut sink, self.path.as_bytes());
        sink(&(self.query.len() as u32).to_be_bytes());
        self.query.for_each_part(|part| sink(part.as_bytes()));
        field(&mut sink, self.not_before.unwrap_or("").as_bytes());
        field(&mut sink, self.expires.as_bytes());
        field(&mut sink, self.nonce.unwrap_or("").as_bytes());
        field(&mut sink, self.max_body.unwrap_or("").as_bytes());
        if self.has_extension() {
            field(&mut sink, self.version.unwrap_or("").as_bytes());
            field(&mut sink, self.group.unwrap_or("").as_bytes());
        }
        if let Some(session) = self.session {
            field(&mut sink, session.as_bytes());
        }
    }

    /// The canonical message as bytes, for tests and known-answer vectors.
    #[cfg(test)]
    pub(crate) fn message(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_message(VERSION_TAG, |bytes| out.extend_from_slice(bytes));
        out
    }

    /// Hands the whole canonical message under `scheme_tag` to `use_message` in one piece: on
    /// the stack when it fits (one update of the whole message costs far less than a dozen
    /// small ones), else in a heap buffer.
    pub(crate) fn with_message<T>(
        &self,
        scheme_tag: &[u8],
        use_message: impl FnOnce(&[u8]) -> T,
    ) -> T {
        let len = self.message_len(scheme_tag);
        if len <= STACK_MESSAGE_LEN {
            let mut buffer = [0u8; STACK_MESSAGE_LEN];
            let mut rest = &mut buffer[..len];
            self.write_message(scheme_tag, |bytes| {
                // `len` was computed from the same pieces, so they fit exactly.
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(bytes.len());
                head.copy_from_slice(bytes);
                rest = tail;
            });
            use_message(&buffer[..len])
        } else {
            let mut buffer = Vec::with_capacity(len);
            self.write_message(scheme_tag, |bytes| buffer.extend_from_slice(bytes));
            use_message(&buffer)
        }
    }

    /// The HMAC-SHA256 tag of the canonical message, from the keyed state `mac`.
    pub(crate) fn tag(&self, mac: &HmacSha256) -> [u8; 32] {
        let mut mac = mac.clone();
        if self.message_len(VERSION_TAG) <= STACK_MESSAGE_LEN {
            self.with_message(VERSION_TAG, |message| mac.update(message));
        } else {
            // Long messages go in piece by piece rather than through a heap buffer.
            self.write_message(VERSION_TAG, |bytes| mac.update(bytes));
        }
        mac.finalize().into_bytes().into()
    }
}

/// A signature in its text form (base64url without padding), on the stack.
#[derive(Clone, Copy)]
pub(crate) struct SignatureText {
    bytes: [u8; MAX_SIGNATURE_LEN],
    len: usize,
}

impl SignatureText {
    pub(crate) fn encode(raw: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_SIGNATURE_LEN];
        let len = URL_SAFE_NO_PAD
            .encode_slice(raw, &mut bytes)
            .unwrap_or_default();
        Self { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only base64url characters were written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

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

/// The signing parameters read from a request's query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedQuery<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) method: &'a str,
    pub(crate) not_before: Option<(u64, &'a str)>,
    pub(crate) expires: (u64, &'a str),
    pub(crate) nonce: Option<&'a str>,
    pub(crate) max_body: Option<(u64, &'a str)>,
    pub(crate) version: Option<&'a str>,
    pub(crate) group: Option<&'a str>,
    /// The folder a prefix-scoped link grants, as the query carries it (escaped).
    pub(crate) prefix: Option<&'a str>,
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
        let mut max_body = None;
        let mut version = None;
        let mut group = None;
        let mut prefix = None;
        let mut signature = None;
        // Where the first signing parameter starts, and whether application parameters follow
        // it: links as minted keep the application's query in one piece before the signing
        // parameters, which lets it be borrowed instead of rebuilt.
        let mut first_reserved = None;
        let mut interleaved = false;
        let bytes = query.as_bytes();
        let mut start = 0;
        while start <= bytes.len() {
            let pair_start = start;
            let rest = &bytes[start..];
            let name_end = start
                + rest
                    .iter()
                    .position(|b| matches!(b, b'=' | b'&'))
                    .unwrap_or(rest.len());
            let name = &query[start..name_end];
            // Slice patterns compare inline, which matters on this path.
            let suffix = name.as_bytes().strip_prefix(names.prefix.as_bytes());
            let slot = match suffix {
                Some([b'k', b'i', b'd']) => &mut key_id,
                Some([b'm', b'e', b't', b'h', b'o', b'd']) => &mut method,
                Some([b'n', b'b', b'f']) => &mut not_before,
                Some([b'e', b'x', b'p']) => &mut expires,
                Some([b'n', b'o', b'n', b'c', b'e']) => &mut nonce,
                Some([b'm', b'a', b'x']) => &mut max_body,
                Some([b'v', b'e', b'r']) => &mut version,
                Some([b'g', b'r', b'p']) => &mut group,
                Some([b'p', b'r', b'e', b'f', b'i', b'x']) => &mut prefix,
                Some([b's', b'i', b'g']) => &mut signature,
                _ if names.is_reserved(name) => return Err(RejectionKind::MalformedToken),
                _ => {
                    interleaved |= first_reserved.is_some();
                    let rest = &bytes[name_end..];
                    start =
                        name_end + rest.iter().position(|b| *b == b'&').unwrap_or(rest.len()) + 1;
                    continue;
                }
            };
            first_reserved.get_or_insert(pair_start);
            if bytes.get(name_end) != Some(&b'=') {
                return Err(RejectionKind::MalformedToken);
            }
            let value_start = name_end + 1;
            // A well-formed signature is 43 bytes: take it without scanning for the next `&`. (If
            // those bytes hold an `&`, they are no base64url and the comparison fails.)
            let signature_end = value_start + SIGNATURE_LEN;
            let value_end = if suffix == Some(b"sig".as_slice())
                && matches!(bytes.get(signature_end), None | Some(b'&'))
                && signature_end <= bytes.len()
            {
                signature_end
            } else {
                let rest = &bytes[value_start..];
                value_start + rest.iter().position(|b| *b == b'&').unwrap_or(rest.len())
            };
            start = value_end + 1;
            if slot.replace(&query[value_start..value_end]).is_some() {
                return Err(RejectionKind::MalformedToken);
            }
        }
        let Some(first_reserved) = first_reserved else {
            return Err(RejectionKind::MissingToken);
        };
        let (Some(key_id), Some(expires), Some(signature)) = (key_id, expires, signature) else {
            return Err(RejectionKind::MalformedToken);
        };
        let method = match method {
            None => DEFAULT_METHOD,
            Some(method) if is_method_scope(method) && method != DEFAULT_METHOD => method,
            Some(_) => return Err(RejectionKind::MalformedToken),
        };
        if nonce.is_some_and(|nonce| !is_nonce(nonce))
            || version.is_some_and(|version| !is_version(version))
            || group.is_some_and(|group| !is_group(group))
            || !is_valid_key_id(key_id)
            || !is_signature_len(signature.len())
        {
            return Err(RejectionKind::MalformedToken);
        }
        let with_value = |text: &'a str| parse_seconds(text).map(|value| (value, text));
        Ok(Self {
            key_id,
            method,
            not_before: not_before.map(with_value).transpose()?,
            expires: with_value(expires)?,
            nonce,
            max_body: max_body.map(with_value).transpose()?,
            version,
            group,
            prefix,
            signature,
            app_query: if interleaved {
                AppQuery::WithSigning(query, names)
            } else {
                AppQuery::Plain(&query[..first_reserved.saturating_sub(1)])
            },
        })
    }

    /// Expiry and not-before, as numbers.
    pub(crate) fn times(&self) -> (u64, Option<u64>) {
        (self.expires.0, self.not_before.map(|(value, _)| value))
    }

    pub(crate) fn claims(&self, path: &'a str) -> Claims<'a> {
        Claims {
            key_id: self.key_id,
            method: self.method,
            scope: Scope::Path,
            path,
            query: self.app_query,
            not_before: self.not_before.map(|(_, text)| text),
            expires: self.expires.1,
            nonce: self.nonce,
            max_body: self.max_body.map(|(_, text)| text),
            version: self.version,
            group: self.group,
            session: None,
        }
    }
}

/// The parts of a prefix token carried in a path segment: `<prefix>t~<key id>~<expiry>~<sig>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathToken<'a> {
    pub(crate) key_id: &'a str,
    pub(crate) expires: (u64, &'a str),
    /// Seconds of cookie session the link is exchanged for (`...~<expiry>~<session>~<sig>`).
    pub(crate) session: Option<(u64, &'a str)>,
    pub(crate) signature: &'a str,
}

impl<'a> PathToken<'a> {
    /// Reads a token segment (already known to start with the marker).
    pub(crate) fn parse(segment: &'a str, names: &ParamNames) -> Result<Self, RejectionKind> {
        let body = segment
            .strip_prefix(&*names.path_token)
            .ok_or(RejectionKind::MalformedToken)?;
        let (key_id, expires, session, signature) = match tilde_fields(body) {
            Some([key_id, expires, session, signature]) => match parse_seconds(session)? {
                0 => return Err(RejectionKind::MalformedToken),
                seconds => (key_id, expires, Some((seconds, session)), signature),
            },
            None => match tilde_fields(body) {
                Some([key_id, expires, signature]) => (key_id, expires, None, signature),
                None => return Err(RejectionKind::MalformedToken),
            },
        };
        if !is_valid_key_id(key_id) || !is_signature_len(signature.len()) {
            return Err(RejectionKind::MalformedToken);
        }
        Ok(Self {
            key_id,
            expires: (parse_seconds(expires)?, expires),
            session,
            signature,
        })
    }

    /// The claims of a prefix token for the decoded folder `prefix`.
    pub(crate) fn claims(&self, prefix: &'a str) -> Claims<'a> {
        Claims {
            key_id: self.key_id,
            method: DEFAULT_METHOD,
            scope: Scope::Prefix,
            path: prefix,
            query: AppQuery::Plain(""),
            not_before: None,
            expires: self.expires.1,
            nonce: None,
            max_body: None,
            version: None,
            group: None,
            session: self.session.map(|(_, text)| text),
        }
    }
}

/// Exactly `N` fields separated by `~` (path tokens and session cookies), or `None`.
pub(crate) fn tilde_fields<const N: usize>(text: &str) -> Option<[&str; N]> {
    let mut parts = text.split('~');
    let mut fields = [""; N];
    for field in &mut fields {
        *field = parts.next()?;
    }
    parts.next().is_none().then_some(fields)
}

/// Parses canonical decimal seconds: digits only, no leading zero, at most `i64::MAX`.
pub(crate) fn parse_seconds(text: &str) -> Result<u64, RejectionKind> {
    let bytes = text.as_bytes();
    // At most 19 digits, so the sum below cannot overflow; only the i64 bound is left.
    if !matches!(bytes, [b'0'] | [b'1'..=b'9', ..]) || bytes.len() > 19 {
        return Err(RejectionKind::MalformedToken);
    }
    let mut value: u64 = 0;
    for &byte in bytes {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return Err(RejectionKind::MalformedToken);
        }
        value = value * 10 + u64::from(digit);
    }
    if value <= i64::MAX as u64 {
        Ok(value)
    } else {
        Err(RejectionKind::MalformedToken)
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
fn is_version(version: &str) -> bool {
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
fn is_nonce(nonce: &str) -> bool {
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

/// Compares a presented signature with the expected one in constant time.
pub(crate) fn signature_matches(expected: &SignatureText, presented: &str) -> bool {
    constant_time_eq::constant_time_eq(expected.as_bytes(), presented.as_bytes())
}

/// Appends the signing parameters for `claims`, signed with `key`, to a link being built.
pub(crate) fn append_signing_params(
    out: &mut String,
    names: &ParamNames,
    claims: &Claims<'_>,
    signature: &SignatureText,
) {
    let mut first = true;
    let mut param = |name: &str, value: &str| {
        if !first {
            out.push('&');
        }
        first = false;
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    };
    param(&names.key_id, claims.key_id);
    if claims.method != DEFAULT_METHOD {
        param(&names.method, claims.method);
    }
    if let Some(not_before) = claims.not_before {
        param(&names.not_before, not_before);
    }
    param(&names.expires, claims.expires);
    if let Some(nonce) = claims.nonce {
        param(&names.nonce, nonce);
    }
    if let Some(max_body) = claims.max_body {
        param(&names.max_body, max_body);
    }
    if let Some(version) = claims.version {
        param(&names.version, version);
    }
    if let Some(group) = claims.group {
        param(&names.group, group);
    }
    param(&names.signature, signature.as_str());
}

/// How many bytes [`append_signing_params`] writes, so a link is built with one allocation.
pub(crate) fn signing_params_len(
    names: &ParamNames,
    claims: &Claims<'_>,
    signature: &SignatureText,
) -> usize {
    let mut len = names.key_id.len() + 1 + claims.key_id.len();
    if claims.method != DEFAULT_METHOD {
        len += 1 + names.method.len() + 1 + claims.method.len();
    }
    if let Some(not_before) = claims.not_before {
        len += 1 + names.not_before.len() + 1 + not_before.len();
    }
    len += 1 + names.expires.len() + 1 + claims.expires.len();
    if let Some(nonce) = claims.nonce {
        len += 1 + names.nonce.len() + 1 + nonce.len();
    }
    if let Some(max_body) = claims.max_body {
        len += 1 + names.max_body.len() + 1 + max_body.len();
    }
    if let Some(version) = claims.version {
        len += 1 + names.version.len() + 1 + version.len();
    }
    if let Some(group) = claims.group {
        len += 1 + names.group.len() + 1 + group.len();
    }
    len + 1 + names.signature.len() + 1 + signature.as_bytes().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    fn names() -> ParamNames {
        ParamNames::new("sl_")
    }

    /// A known-answer vector's numbers as the decimal text claims hold.
    struct VectorNumbers {
        not_before: Option<String>,
        expires: String,
        max_body: Option<String>,
        session: Option<String>,
    }

    impl VectorNumbers {
        fn of(v: &serde_json::Value) -> Self {
            let text = |field: &str| v[field].as_u64().map(|t| t.to_string());
            Self {
                not_before: text("not_before"),
                expires: text("expires").unwrap(),
                max_body: text("max_body"),
                session: text("session"),
            }
        }

        /// The claims a vector describes.
        fn claims<'a>(&'a self, v: &'a serde_json::Value) -> Claims<'a> {
            Claims {
                key_id: v["key_id"].as_str().unwrap(),
                method: v["method"].as_str().unwrap(),
                scope: if v["scope"] == "prefix" {
                    Scope::Prefix
                } else {
                    Scope::Path
                },
                path: v["path"].as_str().unwrap(),
                query: AppQuery::Plain(v["query"].as_str().unwrap()),
                not_before: self.not_before.as_deref(),
                expires: &self.expires,
                nonce: v["nonce"].as_str(),
                max_body: self.max_body.as_deref(),
                version: v["version"].as_str(),
                group: v["group"].as_str(),
                session: self.session.as_deref(),
            }
        }
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
            let numbers = VectorNumbers::of(v);
            let claims = numbers.claims(v);
            let scope = claims.scope;
            let hex: String = claims
                .message()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(hex, v["message_hex"].as_str().unwrap(), "{name}: message");
            let signature = key.sign(&claims).unwrap();
            assert_eq!(
                signature.as_str(),
                v["signature"].as_str().unwrap(),
                "{name}: signature"
            );
            // The same claims read back from the link's query give the same message.
            let link = v["link"].as_str().unwrap();
            let query = link.split_once('?').unwrap().1;
            let names = names();
            let parsed = SignedQuery::parse(query, &names).unwrap();
            let reparsed = match scope {
                Scope::Path => parsed.claims(claims.path),
                Scope::Prefix | Scope::Cookie => {
                    let folder = percent_decode_str(parsed.prefix.unwrap())
                        .decode_utf8()
                        .unwrap();
                    assert_eq!(folder, claims.path, "{name}: the folder reads back");
                    Claims {
                        scope: Scope::Prefix,
                        query: AppQuery::Plain(""),
                        ..parsed.claims(claims.path)
                    }
                }
            };
            assert_eq!(reparsed.message(), claims.message(), "{name}: parsed");
            assert_eq!(parsed.signature, v["signature"].as_str().unwrap());
        }
    }

    #[cfg(feature = "ed25519")]
    #[test]
    fn ed25519_known_answer_vectors() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../tests/vectors/ed25519-v1.json")).unwrap();
        let vectors = file["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 4);
        for v in vectors {
            let name = v["name"].as_str().unwrap();
            let decode = |field: &str| URL_SAFE_NO_PAD.decode(v[field].as_str().unwrap()).unwrap();
            let key_id = v["key_id"].as_str().unwrap();
            let private = Key::ed25519(key_id, decode("private_key")).unwrap();
            assert_eq!(
                private.ed25519_public_key().unwrap().as_slice(),
                decode("public_key"),
                "{name}: public key"
            );
            let public = Key::ed25519_public(key_id, decode("public_key")).unwrap();
            let numbers = VectorNumbers::of(v);
            let claims = numbers.claims(v);
            let hex: String = claims
                .with_message(ed25519::SCHEME_TAG, <[u8]>::to_vec)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(hex, v["message_hex"].as_str().unwrap(), "{name}: message");
            let signature = v["signature"].as_str().unwrap();
            assert_eq!(private.sign(&claims).unwrap().as_str(), signature, "{name}");
            assert!(public.verifies(&claims, signature), "{name}: verifies");
            assert!(
                private.verifies(&claims, signature),
                "{name}: private verifies"
            );
            // The same signature does not pass as an HMAC tag, nor under another message.
            let other = Claims {
                expires: "1767225601",
                ..claims
            };
            assert!(!public.verifies(&other, signature), "{name}: other message");
            let hmac = Key::new(key_id, decode("public_key")).unwrap();
            assert!(!hmac.verifies(&claims, signature), "{name}: as HMAC");
        }
    }

    #[test]
    fn path_tokens_are_read_strictly() {
        const SIG: &str = "vAFDT3x4EW1BGiYSGoGjumdM2hHfBLQFjwwetl_3xeI";
        let names = names();
        struct Case {
            name: &'static str,
            segment: String,
            session: Result<Option<u64>, RejectionKind>,
        }
        let case = |name, segment: String, session| Case {
            name,
            segment,
            session,
        };
        let bad = Err(RejectionKind::MalformedToken);
        let cases = [
            case("plain", format!("sl_t~1~1767225600~{SIG}"), Ok(None)),
            case(
                "with a session",
                format!("sl_t~1~1767225600~3600~{SIG}"),
                Ok(Some(3600)),
            ),
            case(
                "a session of zero",
                format!("sl_t~1~1767225600~0~{SIG}"),
                bad,
            ),
            case(
                "a session with a leading zero",
                format!("sl_t~1~1767225600~060~{SIG}"),
                bad,
            ),
            case(
                "a session that is no number",
                format!("sl_t~1~1767225600~1h~{SIG}"),
                bad,
            ),
            case(
                "one field too many",
                format!("sl_t~1~1767225600~60~60~{SIG}"),
                bad,
            ),
            case("no signature", "sl_t~1~1767225600".to_owned(), bad),
            case(
                "a short signature",
                format!("sl_t~1~1767225600~{}", &SIG[1..]),
                bad,
            ),
            case("an empty key id", format!("sl_t~~1767225600~{SIG}"), bad),
        ];
        for case in cases {
            let parsed = PathToken::parse(&case.segment, &names);
            let session = parsed.map(|token| token.session.map(|(seconds, _)| seconds));
            assert_eq!(session, case.session, "{}", case.name);
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
            ok("upload limit", &s("&sl_max=1048576")),
            bad("upload limit with a leading zero", &s("&sl_max=01")),
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
            bad(
                "nonce with a standard-alphabet +",
                &s("&sl_nonce=q83vEjRWeJq83vEjRWeJq+"),
            ),
            bad(
                "nonce with an escape",
                &s("&sl_nonce=q83vEjRWeJq83vEjRWe%4A"),
            ),
            bad(
                "nonce with a non-ascii byte",
                &s("&sl_nonce=q83vEjRWeJq83vEjRWeé"),
            ),
            ok(
                "nonce of every alphabet class",
                &s("&sl_nonce=AZaz09-_AZaz09-_AZaz0w"),
            ),
            bad(
                "nonce with its unused bits set",
                &s("&sl_nonce=AZaz09-_AZaz09-_AZaz0x"),
            ),
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
            // Found by the native_target fuzzer: once overflowed while parsing.
            ("thirty-six digits", "176722577777777777777777777777777600", None),
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
            scope: Scope::Path,
            path: "/a",
            query: AppQuery::Plain("b=1"),
            not_before: None,
            expires: "10",
            nonce: None,
            max_body: None,
            version: None,
            group: None,
            session: None,
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
                not_before: Some("1"),
                expires: "0",
                ..base
            },
            Claims {
                nonce: Some("q83vEjRWeJq83vEjRWeJqw"),
                ..base
            },
            Claims {
                max_body: Some("1"),
                version: None,
                group: None,
                session: None,
                ..base
            },
            Claims {
                scope: Scope::Prefix,
                ..base
            },
        ];
        for variant in variants {
            assert_ne!(variant.message(), base.message(), "{variant:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Field text from a small alphabet that includes the bytes a naive encoding would confuse:
    /// separators, digits, and the low bytes a length prefix is made of.
    fn text() -> impl Strategy<Value = String> {
        "[a1=&/\u{0}\u{1}\u{4}]{0,5}"
    }

    type Tuple = (
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    );

    fn claims(t: &Tuple) -> Claims<'_> {
        Claims {
            key_id: &t.0,
            method: &t.1,
            scope: Scope::Path,
            path: &t.2,
            query: AppQuery::Plain(&t.3),
            not_before: t.4.as_deref(),
            expires: &t.5,
            nonce: t.6.as_deref(),
            max_body: t.7.as_deref(),
            version: None,
            group: None,
            session: None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// Distinct claims never share a canonical message. (An absent optional field and an
        /// empty one do: parsing never yields an empty not-before, nonce or limit.)
        #[test]
        fn the_canonical_message_is_injective(
            a in (text(), text(), text(), text(), proptest::option::of("[0-9]{1,3}"), text(), proptest::option::of("[a-z]{1,3}"), proptest::option::of("[0-9]{1,3}")),
            b in (text(), text(), text(), text(), proptest::option::of("[0-9]{1,3}"), text(), proptest::option::of("[a-z]{1,3}"), proptest::option::of("[0-9]{1,3}")),
        ) {
            if a != b {
                prop_assert_ne!(claims(&a).message(), claims(&b).message());
            } else {
                prop_assert_eq!(claims(&a).message(), claims(&b).message());
            }
        }

        /// Small mutations of one tuple: the most likely collisions, tried directly.
        #[test]
        fn moving_bytes_between_fields_changes_the_message(
            a in (text(), text(), text(), text(), proptest::option::of("[0-9]{1,3}"), text(), proptest::option::of("[a-z]{1,3}"), proptest::option::of("[0-9]{1,3}")),
            shift in 0usize..4,
        ) {
            let mut b = a.clone();
            // Move one byte from the path into the query (or the key id into the method).
            let moved = match shift {
                0 => b.2.pop().map(|c| b.3.insert(0, c)),
                1 => b.0.pop().map(|c| b.1.insert(0, c)),
                2 => b.3.pop().map(|c| b.5.insert(0, c)),
                _ => b.1.pop().map(|c| b.2.insert(0, c)),
            };
            if moved.is_some() {
                prop_assert_ne!(claims(&a).message(), claims(&b).message());
            }
        }
    }
}
