//! Links compatible with nginx's `secure_link` module (feature `nginx`).
//!
//! nginx checks links with an MD5 over an expression the administrator writes, usually
//! `"$secure_link_expires$uri SECRET"`. [`NginxScheme`] mints links that a stock nginx accepts and
//! verifies links minted for nginx, edge cases included, so an app can sit beside nginx, in front
//! of it, or replace it. MD5 is weak; use this scheme for compatibility and the native HMAC scheme
//! everywhere else.
//!
//! # Rules (nginx's, as of 1.22 to 1.31)
//!
//! - The token is `base64url(MD5(expression))`, minted as the 22 characters without padding.
//!   When verifying, nginx's leniency is kept: `=` padding and one junk byte after the first `=`
//!   are accepted, as are the 16 final characters that decode to the same digest.
//! - The expression template knows `{expires}` (the raw `expires` text, leading zeros and all),
//!   `{uri}` (the decoded, normalised path, as nginx's `$uri`), `{remote_addr}` (the client
//!   address), `{secret}` and literal text. The default is `{expires}{uri} {secret}`.
//! - `expires` must be ASCII digits only, above 0 and at most `i64::MAX`; anything else is 403.
//!   A link is expired (410) once `now > expires`; expiry is checked only after the hash, so a
//!   forged link never gets 410. There is no leeway and no lifetime cap, as in nginx.
//! - Parameter names match in any case and the first occurrence wins; values are not decoded.
//! - The digest is compared in constant time (nginx before 1.31.2 used `memcmp`).
//!
//! ```
//! use tower_secure_link::{nginx::NginxScheme, ManualClock, SecureLinkLayer};
//! use http::Method;
//!
//! // nginx: secure_link $arg_token,$arg_expires; secure_link_md5 "$secure_link_expires$uri s3cr3t";
//! let layer = SecureLinkLayer::nginx(NginxScheme::new("s3cr3t")).unwrap()
//!     .with_private_prefix("/private/").unwrap()
//!     .with_clock(ManualClock::new(1_700_000_000));
//! let link = layer.signer().link("/private/file.txt").expires_at(2147483647).to_target().unwrap();
//! assert_eq!(link, "/private/file.txt?token=y-b-DZ08RuyP0T-1_V0Tvg&expires=2147483647");
//! assert!(layer.check(&Method::GET, &link.parse().unwrap()).is_ok());
//! let forged = link.replace("file.txt", "other.txt");
//! let refused = layer.check(&Method::GET, &forged.parse().unwrap()).unwrap_err();
//! assert_eq!(refused.status(), http::StatusCode::FORBIDDEN);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use http::Extensions;
use md5::{Digest as _, Md5};

use crate::rejection::RejectionKind;

mod config;
mod native;

pub use config::{accel_config, ACCEL_UPSTREAM, SERVER_CONTEXT_MARKER};
pub use native::{NativeConfig, NativeConfigError, NativeOutput, CONF_FILE, SCRIPT_FILE};

/// Decodes like nginx's `ngx_decode_base64url`: no padding looked at, trailing bits ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Reads the client address nginx would put in `$remote_addr` from a request's extensions.
pub type RemoteAddrFn = Arc<dyn Fn(&Extensions) -> Option<IpAddr> + Send + Sync>;

/// One piece of the MD5 expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Expires,
    Uri,
    RemoteAddr,
    Secret,
    Literal(Box<str>),
}

/// nginx `secure_link` compatible links: the MD5 expression, the parameter names and the mode.
#[derive(Clone)]
pub struct NginxScheme {
    secret: Arc<[u8]>,
    template: Vec<Part>,
    token_param: Box<str>,
    expires_param: Box<str>,
    expiring: bool,
    legacy_secret_mode: bool,
    encoded_path_compat: bool,
    remote_addr: Option<RemoteAddrFn>,
}

impl NginxScheme {
    /// The usual setup: `secure_link $arg_token,$arg_expires;` and
    /// `secure_link_md5 "$secure_link_expires$uri SECRET";`. The secret is taken as nginx takes
    /// it, whatever its length.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            secret: secret.as_ref().into(),
            template: vec![
                Part::Expires,
                Part::Uri,
                Part::Literal(" ".into()),
                Part::Secret,
            ],
            token_param: "token".into(),
            expires_param: "expires".into(),
            expiring: true,
            legacy_secret_mode: false,
            encoded_path_compat: false,
            remote_addr: None,
        }
    }

    /// nginx's legacy `secure_link_secret` mode: links look like `/p/<md5 hex>/file.txt`, where
    /// the hash is `md5_hex(rest || secret)` over the raw rest of the request target (query
    /// included, nothing decoded). The inner service sees `/p/file.txt`.
    pub fn legacy_secret(secret: impl AsRef<[u8]>) -> Self {
        Self {
            legacy_secret_mode: true,
            expiring: false,
            ..Self::new(secret)
        }
    }

    /// The MD5 expression, written with `{expires}`, `{uri}`, `{remote_addr}`, `{secret}` and
    /// literal text, for example `{secret}{uri}{expires}` for `"SECRET$uri$secure_link_expires"`.
    pub fn with_template(mut self, template: &str) -> Result<Self, NginxConfigError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after.find('}').ok_or(NginxConfigError::Template)?;
                parts.push(match &after[..end] {
                    "expires" => Part::Expires,
                    "uri" => Part::Uri,
                    "remote_addr" => Part::RemoteAddr,
                    "secret" => Part::Secret,
                    _ => return Err(NginxConfigError::Template),
                });
                rest = &after[end + 1..];
            } else {
                let end = rest.find(['{', '}']).unwrap_or(rest.len());
                if end == 0 {
                    return Err(NginxConfigError::Template);
                }
                parts.push(Part::Literal(rest[..end].into()));
                rest = &rest[end..];
            }
        }
        if !parts.contains(&Part::Secret) {
            return Err(NginxConfigError::Template);
        }
        self.template = parts;
        Ok(self)
    }

    /// The query parameter names of the token and the expiry (`token` and `expires` by default).
    pub fn with_param_names(
        mut self,
        token: &str,
        expires: &str,
    ) -> Result<Self, NginxConfigError> {
        let valid = |name: &str| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        if !valid(token) || !valid(expires) || token.eq_ignore_ascii_case(expires) {
            return Err(NginxConfigError::ParamName);
        }
        self.token_param = token.into();
        self.expires_param = expires.into();
        Ok(self)
    }

    /// Links that never expire, as nginx's `secure_link $arg_token;`. The template's `{expires}`
    /// then reads as empty.
    pub fn without_expiry(mut self) -> Self {
        self.expiring = false;
        self
    }

    /// Also accepts tokens hashed over the path as the client sent it, still percent-encoded, as
    /// django-nginx-secure-links mints them. A stock nginx refuses those links for any path that
    /// needs escaping; this switch exists to migrate such links, not to mint new ones.
    pub fn accept_percent_encoded_path_hashes(mut self) -> Self {
        self.encoded_path_compat = true;
        self
    }

    /// How to read the client address for `{remote_addr}` from a request's extensions (for
    /// example from axum's `ConnectInfo<SocketAddr>`). Use the address nginx sees.
    pub fn with_remote_addr(
        mut self,
        read: impl Fn(&Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    ) -> Self {
        self.remote_addr = Some(Arc::new(read));
        self
    }

    /// The token parameter name.
    pub fn token_param(&self) -> &str {
        &self.token_param
    }

    /// The expiry parameter name.
    pub fn expires_param(&self) -> &str {
        &self.expires_param
    }

    /// Whether links carry an expiry.
    pub fn is_expiring(&self) -> bool {
        self.expiring
    }

    /// Whether this is the legacy `secure_link_secret` mode.
    pub fn is_legacy_secret(&self) -> bool {
        self.legacy_secret_mode
    }

    pub(crate) fn uses_remote_addr(&self) -> bool {
        self.template.contains(&Part::RemoteAddr)
    }

    pub(crate) fn has_remote_addr_reader(&self) -> bool {
        self.remote_addr.is_some()
    }

    pub(crate) fn remote_addr(&self, extensions: &Extensions) -> Option<IpAddr> {
        self.remote_addr.as_ref().and_then(|read| read(extensions))
    }

    fn digest(&self, expires: &str, uri: &[u8], remote_addr: Option<IpAddr>) -> [u8; 16] {
        let mut md5 = Md5::new();
        for part in &self.template {
            match part {
                Part::Expires => md5.update(expires.as_bytes()),
                Part::Uri => md5.update(uri),
                Part::RemoteAddr => {
                    if let Some(addr) = remote_addr {
                        md5.update(addr.to_string().as_bytes());
                    }
                }
                Part::Secret => md5.update(&self.secret),
                Part::Literal(text) => md5.update(text.as_bytes()),
            }
        }
        md5.finalize().into()
    }

    /// The token for a link, in its canonical 22-character form.
    pub(crate) fn token(&self, expires: &str, uri: &str, remote_addr: Option<IpAddr>) -> String {
        URL_SAFE_NO_PAD.encode(self.digest(expires, uri.as_bytes(), remote_addr))
    }

    /// The legacy mode's link: `/<first segment>/<md5 hex>/<rest>`.
    pub(crate) fn legacy_link(&self, canonical_target: &str) -> Option<String> {
        let after_slash = canonical_target.strip_prefix('/')?;
        let (prefix, rest) = after_slash.split_once('/')?;
        if rest.is_empty() {
            return None;
        }
        let mut md5 = Md5::new();
        md5.update(rest.as_bytes());
        md5.update(&self.secret);
        let hex: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Some(format!("/{prefix}/{hex}/{rest}"))
    }

    /// Checks a request for a private path as nginx would. `decoded_path` is the normalised,
    /// decoded path (nginx's `$uri`), `raw_path` the path as received.
    pub(crate) fn verify(
        &self,
        decoded_path: &str,
        raw_path: &str,
        query: &str,
        now: u64,
        remote_addr: Option<IpAddr>,
    ) -> Result<(), RejectionKind> {
        if self.uses_remote_addr() && remote_addr.is_none() {
            return Err(RejectionKind::MalformedToken);
        }
        let token = first_arg(query, &self.token_param);
        // nginx evaluates `secure_link` to "TOKEN,EXPIRES" (or "TOKEN") and splits at the first
        // comma, so a comma inside the token moves the split.
        let joined: Cow<'_, str> = match (self.expiring, token) {
            (_, None) => return Err(RejectionKind::MissingToken),
            (true, Some(token)) => {
                let expires = first_arg(query, &self.expires_param).unwrap_or("");
                format!("{token},{expires}").into()
            }
            (false, Some(token)) => token.into(),
        };
        let (hash, expires_text) = match joined.split_once(',') {
            Some((hash, expires)) => (hash, Some(expires)),
            None => (&*joined, None),
        };
        let expires = match expires_text {
            Some(text) => Some(parse_nginx_time(text).ok_or(RejectionKind::MalformedToken)?),
            None => None,
        };
        let presented = decode_token(hash).ok_or(RejectionKind::MalformedToken)?;
        let expires_text = expires_text.unwrap_or("");
        let matches = |uri: &[u8]| {
            constant_time_eq::constant_time_eq(
                &self.digest(expires_text, uri, remote_addr),
                &presented,
            )
        };
        let valid = matches(decoded_path.as_bytes())
            || (self.encoded_path_compat
                && raw_path != decoded_path
                && matches(raw_path.as_bytes()));
        if !valid {
            return Err(RejectionKind::BadSignature);
        }
        match expires {
            Some(expires) if expires < now => Err(RejectionKind::Expired),
            _ => Ok(()),
        }
    }

    /// Checks a legacy-mode request target; returns the target the inner service should see.
    pub(crate) fn verify_legacy(&self, path_and_query: &str) -> Result<String, RejectionKind> {
        let after_slash = path_and_query
            .strip_prefix('/')
            .ok_or(RejectionKind::MissingToken)?;
        let (prefix, rest) = after_slash
            .split_once('/')
            .ok_or(RejectionKind::MissingToken)?;
        let (hash, link) = rest.split_once('/').ok_or(RejectionKind::MissingToken)?;
        if hash.len() != 32 || link.is_empty() {
            return Err(RejectionKind::MalformedToken);
        }
        let mut presented = [0u8; 16];
        for (byte, pair) in presented.iter_mut().zip(hash.as_bytes().chunks(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| RejectionKind::MalformedToken)?;
            *byte = u8::from_str_radix(text, 16).map_err(|_| RejectionKind::MalformedToken)?;
        }
        let mut md5 = Md5::new();
        md5.update(link.as_bytes());
        md5.update(&self.secret);
        if !constant_time_eq::constant_time_eq(&md5.finalize(), &presented) {
            return Err(RejectionKind::BadSignature);
        }
        Ok(format!("/{prefix}/{link}"))
    }

    /// The request's query without the token and expiry parameters (any case, every occurrence).
    pub(crate) fn app_query<'a>(&self, query: &'a str) -> Cow<'a, str> {
        let signing = |pair: &str| {
            let name = pair.split('=').next().unwrap_or("");
            name.eq_ignore_ascii_case(&self.token_param)
                || (self.expiring && name.eq_ignore_ascii_case(&self.expires_param))
        };
        if !query.split('&').any(signing) {
            return Cow::Borrowed(query);
        }
        let kept: Vec<&str> = query.split('&').filter(|pair| !signing(pair)).collect();
        Cow::Owned(kept.join("&"))
    }

    /// Whether an application query already uses one of the signing parameter names.
    pub(crate) fn is_reserved(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.token_param)
            || name.eq_ignore_ascii_case(&self.expires_param)
    }
}

/// The first value of a query argument, matched without case, undecoded, as nginx's `$arg_`.
fn first_arg<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.eq_ignore_ascii_case(name).then_some(value)
    })
}

/// nginx's `ngx_atotm` with the `> 0` check of the secure_link module.
fn parse_nginx_time(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = text.parse().ok()?;
    (value > 0 && value <= i64::MAX as u64).then_some(value)
}

/// Decodes a token as nginx does: at most 24 bytes, scanning stops at the first `=`, and the
/// result must be exactly 16 bytes.
fn decode_token(hash: &str) -> Option<[u8; 16]> {
    if hash.len() > 24 {
        return None;
    }
    let data = hash.split('=').next().unwrap_or("");
    if data.len() != 22 {
        return None;
    }
    let mut out = [0u8; 16];
    let written = LENIENT.decode_slice(data, &mut out).ok()?;
    (written == 16).then_some(out)
}

impl fmt::Debug for NginxScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NginxScheme")
            .field("secret", &"<redacted>")
            .field("template", &self.template)
            .field("token_param", &self.token_param)
            .field("expires_param", &self.expires_param)
            .field("expiring", &self.expiring)
            .field("legacy_secret_mode", &self.legacy_secret_mode)
            .field("encoded_path_compat", &self.encoded_path_compat)
            .finish_non_exhaustive()
    }
}

/// A problem with an nginx scheme's settings or with writing them as nginx configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NginxConfigError {
    /// The template has an unknown `{name}`, a stray brace, or no `{secret}`.
    Template,
    /// A parameter name is empty, not alphanumeric, or both names are the same.
    ParamName,
    /// The secret holds `$`, a control character or invalid UTF-8, which nginx's syntax cannot
    /// carry safely.
    UnsafeSecret,
    /// The location, alias or upstream holds `$`, a control character, or (upstream) anything
    /// but a host and port.
    UnsafePath,
    /// The legacy `secure_link_secret` mode has no generated configuration.
    LegacyMode,
    /// The location is not an absolute path, or the alias not an absolute folder.
    NotAbsolute,
}

impl fmt::Display for NginxConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Template => {
                "the template may hold {expires}, {uri}, {remote_addr}, {secret} and literal \
                 text, and must hold {secret}"
            }
            Self::ParamName => "parameter names must be distinct, non-empty and alphanumeric",
            Self::UnsafeSecret => {
                "the secret cannot be written safely in nginx's configuration syntax \
                 (it holds '$', a control character or invalid UTF-8)"
            }
            Self::UnsafePath => {
                "the location or alias holds '$' or a control character, or the upstream is \
                 not host:port"
            }
            Self::LegacyMode => "the legacy secure_link_secret mode has no generated config",
            Self::NotAbsolute => {
                "the location must start with '/' and the alias must be an absolute folder \
                 (for example /srv/private-files/)"
            }
        })
    }
}

impl std::error::Error for NginxConfigError {}

#[cfg(test)]
mod tests {
    use http::{Method, StatusCode};

    use super::*;
    use crate::{ManualClock, SecureLinkLayer};

    const NOW: u64 = 1_700_000_000;

    /// base64url(MD5(input)) without padding, straight from the formula.
    fn token(input: &str) -> String {
        URL_SAFE_NO_PAD.encode(Md5::digest(input.as_bytes()))
    }

    fn status(layer: &SecureLinkLayer, target: &str) -> StatusCode {
        match layer.check(&Method::GET, &target.parse().unwrap()) {
            Ok(_) => StatusCode::OK,
            Err(rejection) => rejection.status(),
        }
    }

    fn layer(scheme: NginxScheme) -> SecureLinkLayer {
        SecureLinkLayer::nginx(scheme)
            .unwrap()
            .with_private_prefix("/private/")
            .unwrap()
            .with_private_prefix("/p/")
            .unwrap()
            .with_clock(ManualClock::new(NOW))
    }

    #[test]
    fn known_answers_from_nginx() {
        let expiring = layer(NginxScheme::new("s3cr3t"));
        let never = layer(NginxScheme::new("s3cr3t").without_expiry());
        #[rustfmt::skip]
        let cases = [
            (&expiring, "/private/file.txt?token=y-b-DZ08RuyP0T-1_V0Tvg&expires=2147483647"),
            (&expiring, "/private/my%20file.pdf?token=Ea6jT3ijLZpU2LsQqB9GOg&expires=2147483647"),
            (&expiring, "/private/%C3%A9.txt?token=Olh85jB3zaA7zY2vro6QXA&expires=2147483647"),
            (&never, "/private/file.txt?token=lPrb-LCt4dDN0USaIre9dw"),
        ];
        for (layer, target) in cases {
            assert_eq!(status(layer, target), StatusCode::OK, "{target}");
        }
        // nginx-tests: `secure_link $arg_hash; secure_link_md5 secret$uri;` on every path.
        let scheme = NginxScheme::new("secret")
            .with_template("{secret}{uri}")
            .unwrap();
        let tests_style = SecureLinkLayer::nginx(
            scheme
                .with_param_names("hash", "expires")
                .unwrap()
                .without_expiry(),
        )
        .unwrap();
        assert_eq!(
            status(&tests_style, "/test.html?hash=q-5vpkjBkRXXtkUMXiJVHA=="),
            StatusCode::OK
        );
        assert_eq!(
            status(&tests_style, "/test.html?hash=q-5vpkjBkRXXtkUMXiJVHA"),
            StatusCode::OK
        );
        assert_eq!(
            status(&tests_style, "/test.html?hash=q-5vpkjBkRXXtkUMXiJVHAQQ"),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(
                &tests_style,
                "/test.html?hash=q-5vpkjBkRXXtkUMXiJVHA-TOOLONG"
            ),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(&tests_style, "/test.html?hash=BADHASHLENGTH"),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(&tests_style, "/test.html?hash=q-5vpkjBkRXXtkUMXiJVHX=="),
            StatusCode::FORBIDDEN
        );
        assert_eq!(status(&tests_style, "/test.html"), StatusCode::FORBIDDEN);
        let legacy = layer(NginxScheme::legacy_secret("secret"));
        assert_eq!(
            status(&legacy, "/p/181a8c6df88b74bb87b14f72df0a86f9/test.html"),
            StatusCode::OK
        );
        let minted = legacy.signer().sign("/p/test.html").unwrap();
        assert_eq!(minted, "/p/181a8c6df88b74bb87b14f72df0a86f9/test.html");
    }

    #[test]
    fn edge_cases_match_nginx() {
        let layer = layer(NginxScheme::new("s3cr3t"));
        let valid = token("2147483647/private/file.txt s3cr3t");
        let past = token("1600000000/private/file.txt s3cr3t");
        let now = token(&format!("{NOW}/private/file.txt s3cr3t"));
        let max = token("9223372036854775807/private/file.txt s3cr3t");
        let over = token("9223372036854775808/private/file.txt s3cr3t");
        let zero_padded = token("02147483647/private/file.txt s3cr3t");
        let raw_path = token("2147483647/private/%66ile.txt s3cr3t");
        let mut equivalent = valid.clone();
        equivalent.replace_range(21.., "h");
        let mut other_bits = valid.clone();
        other_bits.replace_range(21.., "A");
        let mut changed = valid.clone();
        changed.replace_range(3..4, if &valid[3..4] == "a" { "b" } else { "a" });
        let standard_alphabet = valid.replace('-', "+").replace('_', "/");
        let q = |t: &str, e: &str| format!("/private/file.txt?token={t}&expires={e}");
        #[rustfmt::skip]
        let cases: Vec<(&str, String, u16)> = vec![
            ("valid", q(&valid, "2147483647"), 200),
            ("expired", q(&past, "1600000000"), 410),
            ("expires equals now", q(&now, &NOW.to_string()), 200),
            ("one character changed", q(&changed, "2147483647"), 403),
            ("expires changed", q(&valid, "2147483646"), 403),
            ("other path", format!("/private/other.txt?token={valid}&expires=2147483647"), 403),
            ("no token and no expires", "/private/file.txt".into(), 403),
            ("token without expires", format!("/private/file.txt?token={valid}"), 403),
            ("empty expires", q(&valid, ""), 403),
            ("expires zero", q(&valid, "0"), 403),
            ("negative expires", q(&valid, "-1"), 403),
            ("plus sign", q(&valid, "+2147483647"), 403),
            ("letters", q(&valid, "12ab"), 403),
            ("escaped space", q(&valid, "2147483647%20"), 403),
            ("i64 max", q(&max, "9223372036854775807"), 200),
            ("over i64 max", q(&over, "9223372036854775808"), 403),
            ("twenty digits", q(&valid, "18446744073709551616"), 403),
            ("leading zero hashed", q(&zero_padded, "02147483647"), 200),
            ("leading zero not hashed", q(&valid, "02147483647"), 403),
            ("bad hash, past expiry", q(&changed, "1600000000"), 403),
            ("padding ==", q(&format!("{valid}=="), "2147483647"), 200),
            ("padding =", q(&format!("{valid}="), "2147483647"), 200),
            ("junk after =", q(&format!("{valid}=!"), "2147483647"), 200),
            ("escaped padding", q(&format!("{valid}%3D%3D"), "2147483647"), 403),
            ("two junk bytes", q(&format!("{valid}=xy"), "2147483647"), 403),
            ("two more characters", q(&format!("{valid}AA"), "2147483647"), 403),
            ("truncated to 21", q(&valid[..21], "2147483647"), 403),
            ("empty token", q("", "2147483647"), 403),
            ("equivalent last character", q(&equivalent, "2147483647"), 200),
            ("other top bits in the last character", q(&other_bits, "2147483647"), 403),
            ("standard alphabet", q(&standard_alphabet, "2147483647"), if standard_alphabet == valid { 200 } else { 403 }),
            ("upper-case names", format!("/private/file.txt?TOKEN={valid}&Expires=2147483647"), 200),
            ("extra arguments", format!("/private/file.txt?a=1&token={valid}&b=2&expires=2147483647"), 200),
            ("first duplicate wins", format!("/private/file.txt?token={valid}&token=x&expires=2147483647"), 200),
            ("first duplicate loses", format!("/private/file.txt?token=x&token={valid}&expires=2147483647"), 403),
            // nginx resolves these and admits them; the layer refuses them on purpose, because
            // a router in front of it may already have acted on the raw path (path rule 5).
            ("dot segment", format!("/private/./file.txt?token={valid}&expires=2147483647"), 400),
            ("double slash", format!("/private//file.txt?token={valid}&expires=2147483647"), 400),
            ("dot-dot", format!("/private/x/../file.txt?token={valid}&expires=2147483647"), 400),
            ("escaped letter", format!("/private/%66ile.txt?token={valid}&expires=2147483647"), 200),
            ("hashed over the raw path", format!("/private/%66ile.txt?token={raw_path}&expires=2147483647"), 403),
        ];
        for (name, target, want) in cases {
            assert_eq!(status(&layer, &target).as_u16(), want, "{name}: {target}");
        }
    }

    #[test]
    fn links_without_expiry() {
        let layer = layer(NginxScheme::new("s3cr3t").without_expiry());
        let t = token("/private/file.txt s3cr3t");
        let one = token("1/private/file.txt s3cr3t");
        #[rustfmt::skip]
        let cases = [
            (format!("/private/file.txt?token={t}"), 200),
            (format!("/private/file.txt?token={one},1"), 410),
            (format!("/private/file.txt?token={t},"), 403),
            (format!("/private/file.txt?token={t},abc"), 403),
            ("/private/file.txt?token=".to_owned(), 403),
        ];
        for (target, want) in cases {
            assert_eq!(status(&layer, &target).as_u16(), want, "{target}");
        }
        assert_eq!(
            layer.signer().sign("/private/file.txt").unwrap(),
            format!("/private/file.txt?token={t}")
        );
    }

    #[test]
    fn minting_matches_nginx() {
        let layer = layer(NginxScheme::new("s3cr3t"));
        let signer = layer.signer();
        let link = |target: &str, expires: &str| {
            signer
                .nginx_link(target)
                .expires_at_text(expires)
                .to_target()
                .unwrap()
        };
        assert_eq!(
            link("/private/my file.pdf", "2147483647"),
            "/private/my%20file.pdf?token=Ea6jT3ijLZpU2LsQqB9GOg&expires=2147483647"
        );
        assert_eq!(
            link("/private/é.txt", "2147483647"),
            "/private/%C3%A9.txt?token=Olh85jB3zaA7zY2vro6QXA&expires=2147483647"
        );
        let padded = link("/private/file.txt", "02147483647");
        assert!(padded.ends_with("&expires=02147483647"));
        assert_eq!(status(&layer, &padded), StatusCode::OK);
        for bad in ["0", "", "-1", "9223372036854775808", "1e9"] {
            assert!(
                signer
                    .nginx_link("/private/a")
                    .expires_at_text(bad)
                    .to_target()
                    .is_err(),
                "{bad}"
            );
        }
        assert!(signer
            .link("/private/a")
            .method(Method::PUT)
            .to_target()
            .is_err());
        assert!(signer.sign("/private/a?token=1").is_err());
        assert!(signer.sign("/private/a?Expires=1").is_err());
    }

    #[test]
    fn remote_addr_is_bound_when_the_template_asks() {
        let scheme = NginxScheme::new("secret")
            .with_template("{expires}{uri}{remote_addr} {secret}")
            .unwrap();
        assert!(SecureLinkLayer::nginx(scheme.clone()).is_err());
        let scheme = scheme.with_remote_addr(|extensions| extensions.get::<IpAddr>().copied());
        let layer = SecureLinkLayer::nginx(scheme)
            .unwrap()
            .with_clock(ManualClock::new(NOW));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let minted = layer
            .signer()
            .nginx_link("/private/x")
            .expires_at(2147483647)
            .client_ip(ip)
            .to_target()
            .unwrap();
        let mut request = http::Request::get(&minted).body(()).unwrap();
        assert!(
            layer.check_request(&request).is_err(),
            "no address: refused"
        );
        request.extensions_mut().insert(ip);
        assert!(layer.check_request(&request).is_ok());
        request
            .extensions_mut()
            .insert("10.0.0.1".parse::<IpAddr>().unwrap());
        assert!(layer.check_request(&request).is_err(), "another address");
        // The nginx documentation's example, `$secure_link_expires$uri$remote_addr secret`.
        let docs = layer
            .signer()
            .nginx_link("/s/link")
            .expires_at(2147483647)
            .client_ip(ip)
            .to_target();
        assert_eq!(
            docs.unwrap(),
            "/s/link?token=_e4Nc3iduzkWRm01TBBNYw&expires=2147483647"
        );
    }

    #[test]
    fn legacy_secret_mode() {
        let layer = layer(NginxScheme::legacy_secret("secret"));
        let good = "/p/181a8c6df88b74bb87b14f72df0a86f9/test.html";
        #[rustfmt::skip]
        let cases = [
            (good.to_owned(), 200),
            (good.to_uppercase().replace("/P/", "/p/").replace("TEST.HTML", "test.html"), 200),
            (format!("/p/{:x}/test.html", Md5::digest(b"fake")), 403),
            ("/p/foo/test.html".to_owned(), 403),
            (format!("/p/{}/test.html", "x".repeat(32)), 403),
            ("/p/test.html".to_owned(), 403),
            ("/p/181a8c6df88b74bb87b14f72df0a86f9/".to_owned(), 403),
        ];
        for (target, want) in cases {
            assert_eq!(status(&layer, &target).as_u16(), want, "{target}");
        }
    }

    #[test]
    fn config_block_escapes_or_refuses_the_secret() {
        let block = NginxScheme::new(r#"a "quoted" \ secret"#)
            .location_block("/private/", "/srv/files/")
            .unwrap();
        assert!(
            block.contains(r#"secure_link_md5 "$secure_link_expires$uri a \"quoted\" \\ secret";"#),
            "{block}"
        );
        assert!(block.contains("secure_link $arg_token,$arg_expires;"));
        assert!(block.contains(r#"alias "/srv/files/";"#));
        for unsafe_secret in ["a$b", "new\nline", "tab\there"] {
            let err = NginxScheme::new(unsafe_secret)
                .location_block("/p/", "/x/")
                .unwrap_err();
            assert_eq!(err, NginxConfigError::UnsafeSecret, "{unsafe_secret:?}");
        }
        let never = NginxScheme::new("s")
            .without_expiry()
            .location_block("/p/", "/x/")
            .unwrap();
        assert!(never.contains("secure_link $arg_token;"));
        assert!(!never.contains("$secure_link_expires"));
        let debug = format!("{:?}", NginxScheme::new("hunter2hunter2"));
        assert!(!debug.contains("hunter2"));
    }
}
