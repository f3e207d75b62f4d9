//! nginx `secure_link` links: the options only they have, and how they are minted.

use std::net::IpAddr;
use std::time::Duration;

use http::Method;

use super::target::Target;
use super::{fail, Expiry, LinkBuilder, SignError, SignErrorKind};
use crate::config::Settings;
use crate::token::Decimal;

/// An nginx `secure_link` link being minted (see [`UrlSigner::nginx_link`](super::UrlSigner::nginx_link)): the expiry, the
/// options only nginx links have, then [`to_target`](Self::to_target) or
/// [`to_url`](Self::to_url).
#[cfg_attr(docsrs, doc(cfg(feature = "nginx")))]
#[derive(Debug, Clone)]
#[must_use]
pub struct NginxLinkBuilder<'a> {
    link: LinkBuilder<'a>,
}

impl<'a> NginxLinkBuilder<'a> {
    pub(super) fn new(link: LinkBuilder<'a>) -> Self {
        Self { link }
    }

    /// The link expires this long from now.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.link = self.link.expires_in(lifetime);
        self
    }

    /// The link expires at this Unix time.
    pub fn expires_at(mut self, unix_seconds: u64) -> Self {
        self.link = self.link.expires_at(unix_seconds);
        self
    }

    /// The expiry exactly as the link carries it, leading zeros included (nginx hashes the text
    /// as written).
    pub fn expires_at_text(mut self, digits: &'a str) -> Self {
        self.link.expiry = Expiry::Raw(digits);
        self
    }

    /// No expiry (for `secure_link $arg_token;` without an expiry argument).
    pub fn never_expires(mut self) -> Self {
        self.link.expiry = Expiry::Never;
        self
    }

    /// The client address the link is bound to, for templates that use `{remote_addr}`.
    pub fn client_ip(mut self, ip: IpAddr) -> Self {
        self.link.client_ip = Some(ip);
        self
    }

    /// The signed request target: path and query.
    pub fn to_target(&self) -> Result<String, SignError> {
        self.link.to_target()
    }

    /// The signed link as a full URL on `base`.
    pub fn to_url(&self, base: &str) -> Result<String, SignError> {
        self.link.to_url(base)
    }
}

impl LinkBuilder<'_> {
    pub(super) fn build_nginx(
        &self,
        settings: &Settings,
        nginx: &crate::nginx::NginxScheme,
        target: &Target<'_>,
    ) -> Result<String, SignError> {
        if self.method != Method::GET
            || self.not_before.is_some()
            || self.one_time
            || self.max_body.is_some()
            || self.version.is_some()
            || self.group.is_some()
            || !self.networks.is_empty()
            || self.disposition.is_some()
            || self.content_type.is_some()
            || self.confirm
            || self.opaque
        {
            // nginx binds no method, start time, nonce, size limit, version, group or client
            // network into its links (only `{remote_addr}`, exactly), and seals none.
            return Err(fail(SignErrorKind::NotSupportedByScheme));
        }
        if nginx.is_legacy_secret() {
            let mut canonical = target.path.to_owned();
            if !target.query.is_empty() {
                canonical.push('?');
                canonical.push_str(target.query);
            }
            let link = nginx
                .legacy_link(&canonical)
                .ok_or(fail(SignErrorKind::InvalidTarget))?;
            return Ok(format!("{}{link}", target.origin));
        }
        let now = settings.clock.now_unix();
        let mut digits = Decimal::default();
        let expires: Option<&str> = match (nginx.is_expiring(), self.expiry) {
            (true, Expiry::Default) => {
                Some(digits.text(now.saturating_add(settings.default_lifetime)))
            }
            (true, Expiry::In(lifetime)) => {
                Some(digits.text(now.saturating_add(lifetime.as_secs())))
            }
            (true, Expiry::At(at)) => Some(digits.text(at)),
            (true, Expiry::Raw(text)) => Some(text),
            (false, Expiry::Default | Expiry::Never) => None,
            _ => return Err(fail(SignErrorKind::NotSupportedByScheme)),
        };
        let expires_ok = expires.map_or(true, |text| {
            !text.is_empty()
                && text.bytes().all(|b| b.is_ascii_digit())
                && text
                    .parse::<u64>()
                    .is_ok_and(|value| value > 0 && value <= i64::MAX as u64)
        });
        if !expires_ok {
            return Err(fail(SignErrorKind::InvalidTimes));
        }
        if nginx.uses_remote_addr() && self.client_ip.is_none() {
            return Err(fail(SignErrorKind::MissingClientIp));
        }
        let token = nginx.token(expires.unwrap_or(""), target.decoded_path, self.client_ip);
        let expires_len = expires.map_or(0, |text| nginx.expires_param().len() + text.len() + 2);
        let mut link = target.start(nginx.token_param().len() + 1 + token.len() + expires_len);
        link.push_str(nginx.token_param());
        link.push('=');
        link.push_str(&token);
        if let Some(expires) = expires {
            link.push('&');
            link.push_str(nginx.expires_param());
            link.push('=');
            link.push_str(expires);
        }
        Ok(link)
    }
}
