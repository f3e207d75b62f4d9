//! The signing parameters in a query string: read from a request, written into a link.

use super::error::TokenError;
use super::message::{AppQuery, Claims, Scope};
use super::names::ParamNames;
use super::signature::{is_signature_len, SignatureText, SIGNATURE_LEN};
use super::syntax::{
    is_group, is_method_scope, is_nonce, is_valid_key_id, is_version, parse_seconds, DEFAULT_METHOD,
};

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

/// One signing parameter, by its place in [`Found::values`].
#[derive(Clone, Copy)]
enum Field {
    KeyId,
    Method,
    NotBefore,
    Expires,
    Nonce,
    MaxBody,
    Version,
    Group,
    Prefix,
    Signature,
}

const FIELDS: usize = Field::Signature as usize + 1;

impl Field {
    /// The field a parameter name (without the reserved prefix) stands for. Slice patterns
    /// compare inline, which matters on this path.
    fn of(suffix: &[u8]) -> Option<Self> {
        Some(match suffix {
            [b'k', b'i', b'd'] => Field::KeyId,
            [b'm', b'e', b't', b'h', b'o', b'd'] => Field::Method,
            [b'n', b'b', b'f'] => Field::NotBefore,
            [b'e', b'x', b'p'] => Field::Expires,
            [b'n', b'o', b'n', b'c', b'e'] => Field::Nonce,
            [b'm', b'a', b'x'] => Field::MaxBody,
            [b'v', b'e', b'r'] => Field::Version,
            [b'g', b'r', b'p'] => Field::Group,
            [b'p', b'r', b'e', b'f', b'i', b'x'] => Field::Prefix,
            [b's', b'i', b'g'] => Field::Signature,
            _ => return None,
        })
    }
}

/// The raw values of the signing parameters as one pass over the query found them.
struct Found<'a> {
    values: [Option<&'a str>; FIELDS],
    /// Where the first signing parameter starts.
    first_reserved: Option<usize>,
    /// Whether application parameters follow the first signing parameter. Links as minted
    /// keep the application's query in one piece before the signing parameters, which lets it
    /// be borrowed instead of rebuilt.
    interleaved: bool,
}

impl<'a> Found<'a> {
    fn scan(query: &'a str, names: &ParamNames) -> Result<Self, TokenError> {
        let mut found = Found {
            values: [None; FIELDS],
            first_reserved: None,
            interleaved: false,
        };
        let mut start = 0;
        while start <= query.len() {
            start = found.read_pair(query, start, names)?;
        }
        Ok(found)
    }

    /// Reads the pair starting at `start`; returns where the next one starts.
    fn read_pair(
        &mut self,
        query: &'a str,
        start: usize,
        names: &ParamNames,
    ) -> Result<usize, TokenError> {
        let bytes = query.as_bytes();
        let name_end = start + position(&bytes[start..], |b| matches!(b, b'=' | b'&'));
        let name = &query[start..name_end];
        let field = name
            .as_bytes()
            .strip_prefix(names.prefix.as_bytes())
            .and_then(Field::of);
        let Some(field) = field else {
            if names.is_reserved(name) {
                return Err(TokenError::Malformed);
            }
            self.interleaved |= self.first_reserved.is_some();
            return Ok(name_end + position(&bytes[name_end..], |b| b == b'&') + 1);
        };
        self.first_reserved.get_or_insert(start);
        if bytes.get(name_end) != Some(&b'=') {
            return Err(TokenError::Malformed);
        }
        let value_start = name_end + 1;
        // A well-formed signature is 43 bytes: take it without scanning for the next `&`. (If
        // those bytes hold an `&`, they are no base64url and the comparison fails.)
        let signature_end = value_start + SIGNATURE_LEN;
        let value_end = if matches!(field, Field::Signature)
            && matches!(bytes.get(signature_end), None | Some(b'&'))
            && signature_end <= bytes.len()
        {
            signature_end
        } else {
            value_start + position(&bytes[value_start..], |b| b == b'&')
        };
        if self.values[field as usize]
            .replace(&query[value_start..value_end])
            .is_some()
        {
            return Err(TokenError::Malformed);
        }
        Ok(value_end + 1)
    }
}

/// The index of the first byte in `bytes` that `stop` accepts, or its length.
fn position(bytes: &[u8], stop: impl Fn(u8) -> bool) -> usize {
    bytes.iter().position(|b| stop(*b)).unwrap_or(bytes.len())
}

impl<'a> SignedQuery<'a> {
    /// Reads the signing parameters; `query` is the raw query string (empty when absent).
    pub(crate) fn parse(query: &'a str, names: &'a ParamNames) -> Result<Self, TokenError> {
        let found = Found::scan(query, names)?;
        let Some(first_reserved) = found.first_reserved else {
            return Err(TokenError::Missing);
        };
        let app_query = if found.interleaved {
            AppQuery::WithSigning(query, names)
        } else {
            AppQuery::Plain(&query[..first_reserved.saturating_sub(1)])
        };
        Self::checked(found.values, app_query)
    }

    /// The parameters in canonical form, or `Malformed`: every value has one spelling.
    fn checked(
        values: [Option<&'a str>; FIELDS],
        app_query: AppQuery<'a>,
    ) -> Result<Self, TokenError> {
        let [key_id, method, not_before, expires, nonce, max_body, version, group, prefix, signature] =
            values;
        let (Some(key_id), Some(expires), Some(signature)) = (key_id, expires, signature) else {
            return Err(TokenError::Malformed);
        };
        let method = match method {
            None => DEFAULT_METHOD,
            Some(method) if is_method_scope(method) && method != DEFAULT_METHOD => method,
            Some(_) => return Err(TokenError::Malformed),
        };
        if nonce.is_some_and(|nonce| !is_nonce(nonce))
            || version.is_some_and(|version| !is_version(version))
            || group.is_some_and(|group| !is_group(group))
            || !is_valid_key_id(key_id)
            || !is_signature_len(signature.len())
        {
            return Err(TokenError::Malformed);
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
            app_query,
        })
    }

    /// Expiry and not-before, as numbers.
    pub(crate) fn times(&self) -> (u64, Option<u64>) {
        (self.expires.0, self.not_before.map(|(value, _)| value))
    }

    /// The claims of a path link for the decoded canonical `path`.
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
