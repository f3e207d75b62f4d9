//! The signing parameters in a query string: read from a request, written into a link.

use super::error::TokenError;
use super::message::{AppQuery, Claims, Scope};
use super::names::ParamNames;
use super::networks::is_networks;
use super::overrides::{parse_content_type, parse_disposition};
use super::signature::{is_signature_len, SignatureText, SIGNATURE_LEN};
use super::syntax::{
    is_group, is_method_scope, is_nonce, is_valid_key_id, is_version, parse_seconds, parse_uses,
    DEFAULT_METHOD,
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
    /// The client networks, canonical.
    pub(crate) client_ip: Option<&'a str>,
    /// The download name and presentation, as carried (checked: `overrides::parse_disposition`).
    pub(crate) disposition: Option<&'a str>,
    /// The content type, as carried (checked: `overrides::parse_content_type`).
    pub(crate) content_type: Option<&'a str>,
    /// How many uses a one-time link has, when more than one.
    pub(crate) uses: Option<(u32, &'a str)>,
    /// Whether the link is used only by a confirmed POST (`sl_confirm=1`).
    pub(crate) confirm: bool,
    /// The delegation a child key signed under, as carried (checked when verified).
    pub(crate) delegation: Option<&'a str>,
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
    ClientIp,
    Disposition,
    ContentType,
    Uses,
    Confirm,
    Delegation,
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
            [b'i', b'p'] => Field::ClientIp,
            [b'c', b'd'] => Field::Disposition,
            [b'c', b't'] => Field::ContentType,
            [b'u', b's', b'e', b's'] => Field::Uses,
            [b'c', b'o', b'n', b'f', b'i', b'r', b'm'] => Field::Confirm,
            [b'd', b'l', b'g'] => Field::Delegation,
            [b'p', b'r', b'e', b'f', b'i', b'x'] => Field::Prefix,
            [b's', b'i', b'g'] => Field::Signature,
            _ => return None,
        })
    }
}

/// The raw values of the signing parameters as one pass over the query found them.
struct Found<'a> {
    values: [Option<&'a str>; FIELDS],
    /// Whether any signing parameter is there.
    signed: bool,
    /// Where the first parameter left out of the application's query (a signing or an ignored
    /// one) starts.
    first_skipped: Option<usize>,
    /// Whether application parameters follow the first skipped one. Links as minted keep the
    /// application's query in one piece before the signing parameters (and ignored ones are
    /// usually appended after them), which lets it be borrowed instead of rebuilt.
    interleaved: bool,
}

impl<'a> Found<'a> {
    fn scan(query: &'a str, names: &ParamNames) -> Result<Self, TokenError> {
        let mut found = Found {
            values: [None; FIELDS],
            signed: false,
            first_skipped: None,
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
            if names.ignored.matches(name) {
                self.first_skipped.get_or_insert(start);
            } else {
                self.interleaved |= self.first_skipped.is_some();
            }
            return Ok(name_end + position(&bytes[name_end..], |b| b == b'&') + 1);
        };
        self.signed = true;
        self.first_skipped.get_or_insert(start);
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
        let (true, Some(first_skipped)) = (found.signed, found.first_skipped) else {
            return Err(TokenError::Missing);
        };
        let app_query = if found.interleaved {
            AppQuery::WithSigning(query, names)
        } else {
            AppQuery::Plain(&query[..first_skipped.saturating_sub(1)])
        };
        Self::checked(found.values, app_query)
    }

    /// The parameters in canonical form, or `Malformed`: every value has one spelling.
    fn checked(
        values: [Option<&'a str>; FIELDS],
        app_query: AppQuery<'a>,
    ) -> Result<Self, TokenError> {
        let [key_id, method, not_before, expires, nonce, max_body, version, group, client_ip, disposition, content_type, uses, confirm, delegation, prefix, signature] =
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
            || version.is_some_and(|version| !is_version(version) || method != DEFAULT_METHOD)
            || group.is_some_and(|group| !is_group(group))
            || client_ip.is_some_and(|networks| !is_networks(networks))
            || disposition.is_some_and(|value| parse_disposition(value).is_none())
            || content_type.is_some_and(|value| parse_content_type(value).is_none())
            // A count of uses belongs to a one-time link.
            || (uses.is_some() && nonce.is_none())
            // So does a confirmation, of a GET link: `sl_confirm=1` and nothing else.
            || confirm.is_some_and(|value| value != "1" || nonce.is_none() || method != DEFAULT_METHOD)
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
            client_ip,
            disposition,
            content_type,
            uses: uses.map(parse_uses).transpose()?,
            confirm: confirm.is_some(),
            delegation,
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
            client_ip: self.client_ip,
            disposition: self.disposition,
            content_type: self.content_type,
            uses: self.uses.map(|(_, text)| text),
            confirm: self.confirm.then_some("1"),
            delegation: self.delegation,
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
    if let Some(networks) = claims.client_ip {
        param(&names.client_ip, networks);
    }
    if let Some(disposition) = claims.disposition {
        param(&names.disposition, disposition);
    }
    if let Some(content_type) = claims.content_type {
        param(&names.content_type, content_type);
    }
    if let Some(uses) = claims.uses {
        param(&names.uses, uses);
    }
    if let Some(confirm) = claims.confirm {
        param(&names.confirm, confirm);
    }
    if let Some(delegation) = claims.delegation {
        param(&names.delegation, delegation);
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
    for (name, value) in [
        (&names.client_ip, claims.client_ip),
        (&names.disposition, claims.disposition),
        (&names.content_type, claims.content_type),
        (&names.uses, claims.uses),
        (&names.confirm, claims.confirm),
        (&names.delegation, claims.delegation),
    ] {
        len += value.map_or(0, |value| 1 + name.len() + 1 + value.len());
    }
    len + 1 + names.signature.len() + 1 + signature.as_bytes().len()
}
