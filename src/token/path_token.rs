//! Folder tokens carried in a path segment: `<prefix>t~<key id>~<expiry>[~<session>]~<sig>`.

use super::error::TokenError;
use super::message::{Claims, Scope};
use super::names::ParamNames;
use super::signature::is_signature_len;
use super::syntax::{is_valid_key_id, parse_seconds};

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
    pub(crate) fn parse(segment: &'a str, names: &ParamNames) -> Result<Self, TokenError> {
        let body = segment
            .strip_prefix(&*names.path_token)
            .ok_or(TokenError::Malformed)?;
        let (key_id, expires, session, signature) = match tilde_fields(body) {
            Some([key_id, expires, session, signature]) => match parse_seconds(session)? {
                0 => return Err(TokenError::Malformed),
                seconds => (key_id, expires, Some((seconds, session)), signature),
            },
            None => match tilde_fields(body) {
                Some([key_id, expires, signature]) => (key_id, expires, None, signature),
                None => return Err(TokenError::Malformed),
            },
        };
        if !is_valid_key_id(key_id) || !is_signature_len(signature.len()) {
            return Err(TokenError::Malformed);
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
            session: self.session.map(|(_, text)| text),
            ..Claims::basic(self.key_id, Scope::Prefix, prefix, self.expires.1)
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

/// Where a token segment sits in a canonical path: its start and end byte offsets.
pub(crate) fn path_token_position(path: &str, names: &ParamNames) -> Option<(usize, usize)> {
    // Most paths hold no `~` at all: one byte scan settles them.
    if !path.as_bytes().contains(&b'~') {
        return None;
    }
    let (start, _) = path
        .match_indices(&*names.path_token)
        .find(|(at, _)| *at > 0 && path.as_bytes()[at - 1] == b'/')?;
    let end = path[start..].find('/').map_or(path.len(), |at| start + at);
    Some((start, end))
}
