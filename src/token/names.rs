//! The names of the signing parameters under one reserved prefix.

use percent_encoding::percent_decode_str;

use super::ignored::IgnoredParams;
use super::syntax::pair_name;

/// The full names of the signing parameters for one reserved prefix, and the application
/// parameters a link may gain without breaking (both are left out of the signed query).
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
    pub(crate) client_ip: Box<str>,
    pub(crate) disposition: Box<str>,
    pub(crate) content_type: Box<str>,
    pub(crate) uses: Box<str>,
    pub(crate) confirm: Box<str>,
    pub(crate) delegation: Box<str>,
    pub(crate) prefix_scope: Box<str>,
    pub(crate) signature: Box<str>,
    /// How a path segment carrying a prefix token starts.
    pub(crate) path_token: Box<str>,
    /// Never one of the names above: the layer refuses such patterns when it is built.
    pub(crate) ignored: IgnoredParams,
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
            client_ip: name("ip"),
            disposition: name("cd"),
            content_type: name("ct"),
            uses: name("uses"),
            confirm: name("confirm"),
            delegation: name("dlg"),
            prefix_scope: name("prefix"),
            signature: name("sig"),
            path_token: name("t~"),
            ignored: IgnoredParams::default(),
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

    /// Whether any part of a raw query has a reserved name.
    pub(crate) fn any_reserved(&self, query: &str) -> bool {
        !query.is_empty()
            && query
                .split('&')
                .any(|pair| self.is_reserved(pair_name(pair)))
    }

    /// Whether a raw parameter name is left out of the signed application query.
    pub(crate) fn is_skipped(&self, raw_name: &str) -> bool {
        self.is_reserved(raw_name) || self.ignored.matches(raw_name)
    }
}
