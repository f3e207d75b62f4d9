//! The canonical message: what a link signs, byte for byte, and its HMAC-SHA256 tag.

use std::borrow::Cow;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::names::ParamNames;
use super::syntax::pair_name;
use super::syntax::DEFAULT_METHOD;

/// The MAC native keys sign with. It lives here, with the message it covers, so keys build on
/// the wire format rather than the wire format on keys.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The first bytes of every version-1 canonical message.
pub(crate) const VERSION_TAG: &[u8] = b"tsl-v1";

/// Messages up to this size are assembled on the stack and reach the MAC in one update.
const STACK_MESSAGE_LEN: usize = 256;

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
    /// The client networks the link works from (the canonical `sl_ip` value).
    pub(crate) client_ip: Option<&'a str>,
    /// The download name and presentation (the `sl_cd` value).
    pub(crate) disposition: Option<&'a str>,
    /// The response's content type (the `sl_ct` value).
    pub(crate) content_type: Option<&'a str>,
    /// How many times a one-time link may be used, when more than once (the `sl_uses` value).
    pub(crate) uses: Option<&'a str>,
    /// A one-time link used only by a confirmed POST (`sl_confirm`, always `1`).
    pub(crate) confirm: Option<&'a str>,
    /// The delegation a child key signed under (the `sl_dlg` value).
    pub(crate) delegation: Option<&'a str>,
}

/// The application's part of a query string.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AppQuery<'a> {
    /// Free of signing parameters: minted, or a request's query up to its first signing (or
    /// ignored) parameter.
    Plain(&'a str),
    /// A request's query with signing (or ignored) parameters mixed in; they are skipped while
    /// it is read.
    WithSigning(&'a str, &'a ParamNames),
}

impl<'a> AppQuery<'a> {
    fn for_each_part(&self, mut f: impl FnMut(&'a str)) {
        match *self {
            AppQuery::Plain(query) => f(query),
            AppQuery::WithSigning(query, names) => {
                let mut first = true;
                for pair in query.split('&') {
                    if names.is_skipped(pair_name(pair)) {
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

    pub(crate) fn len(&self) -> usize {
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

impl<'a> Claims<'a> {
    /// A GET link's claims for `path` under `scope`, expiring at `expires`, with nothing else:
    /// the base the formats add their fields to.
    pub(crate) fn basic(key_id: &'a str, scope: Scope, path: &'a str, expires: &'a str) -> Self {
        Self {
            key_id,
            method: DEFAULT_METHOD,
            scope,
            path,
            query: AppQuery::Plain(""),
            not_before: None,
            expires,
            nonce: None,
            max_body: None,
            version: None,
            group: None,
            session: None,
            client_ip: None,
            disposition: None,
            content_type: None,
            uses: None,
            confirm: None,
            delegation: None,
        }
    }
}

impl Claims<'_> {
    fn message_len(&self, scheme_tag: &[u8]) -> usize {
        let count = self.trailing_count();
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
            + if self.has_extension(count) {
                4 * 2 + self.version.map_or(0, str::len) + self.group.map_or(0, str::len)
            } else {
                0
            }
            + if count == 0 {
                0
            } else {
                self.trailing()[..count]
                    .iter()
                    .map(|field| 4 + field.map_or(0, str::len))
                    .sum::<usize>()
            }
    }

    /// Fields 12 on: session, client networks, disposition, content type, uses, confirm,
    /// delegation.
    fn trailing(&self) -> [Option<&str>; 7] {
        [
            self.session,
            self.client_ip,
            self.disposition,
            self.content_type,
            self.uses,
            self.confirm,
            self.delegation,
        ]
    }

    /// How many of the fields from 12 on are written: up to the last one present. (Tested
    /// from the last, without building the array: most links have none, and this runs on
    /// every verify.)
    fn trailing_count(&self) -> usize {
        if self.delegation.is_some() {
            7
        } else if self.confirm.is_some() {
            6
        } else if self.uses.is_some() {
            5
        } else if self.content_type.is_some() {
            4
        } else if self.disposition.is_some() {
            3
        } else if self.client_ip.is_some() {
            2
        } else if self.session.is_some() {
            1
        } else {
            0
        }
    }

    /// Links with a version, a group, a cookie session, client networks or response overrides
    /// sign fields past
    /// the ninth: 10 and 11 always, then 12 on up to the last one present, empty for absent
    /// ones before it. Others keep the nine, so their messages (and signatures) are what they
    /// always were.
    fn has_extension(&self, trailing_count: usize) -> bool {
        self.version.is_some() || self.group.is_some() || trailing_count > 0
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
        let count = self.trailing_count();
        if self.has_extension(count) {
            field(&mut sink, self.version.unwrap_or("").as_bytes());
            field(&mut sink, self.group.unwrap_or("").as_bytes());
        }
        if count > 0 {
            for value in &self.trailing()[..count] {
                field(&mut sink, value.unwrap_or("").as_bytes());
            }
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
    #[cfg_attr(not(feature = "ed25519"), allow(dead_code))]
    pub(crate) fn with_message<T>(
        &self,
        scheme_tag: &[u8],
        use_message: impl FnOnce(&[u8]) -> T,
    ) -> T {
        self.with_message_of_len(self.message_len(scheme_tag), scheme_tag, use_message)
    }

    /// [`with_message`](Self::with_message) for a message whose length is known (`len` is
    /// `message_len(scheme_tag)`).
    fn with_message_of_len<T>(
        &self,
        len: usize,
        scheme_tag: &[u8],
        use_message: impl FnOnce(&[u8]) -> T,
    ) -> T {
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
        let len = self.message_len(VERSION_TAG);
        if len <= STACK_MESSAGE_LEN {
            self.with_message_of_len(len, VERSION_TAG, |message| mac.update(message));
        } else {
            // Long messages go in piece by piece rather than through a heap buffer.
            self.write_message(VERSION_TAG, |bytes| mac.update(bytes));
        }
        mac.finalize().into_bytes().into()
    }
}
