//! Which host a request is for, read the way HTTP defines it, and the request targets the layer
//! cannot read at all.
//!
//! Folder session cookies are bound to a host, so the layer must agree with the rest of the
//! stack about which host a request names. HTTP says:
//!
//! - the authority of an absolute-form target (`GET http://example.com/x HTTP/1.1`) is the host,
//!   whatever `Host` says (RFC 9112 3.2.2); on HTTP/2, `:authority` plays that part;
//! - a request with more than one `Host` field is answered with 400 (RFC 9112 3.2);
//! - an HTTP/2 request whose `host` names another entity than its `:authority` is malformed
//!   (RFC 9113 8.3.1).
//!
//! The layer cannot tell an HTTP/1.1 absolute-form target from an HTTP/2 `:authority` (both
//! arrive as the URI's authority), so it applies the stricter rule to both: a `Host` that names
//! another host or port than the authority is [`AmbiguousHost`](RejectionKind::AmbiguousHost),
//! rather than silently ignored. Host names compare case-blind, and a missing port equals the
//! scheme's default one (`http://h/` with `Host: h:80`).
//!
//! An authority-form target (`GET 127.0.0.1:8080 HTTP/1.1`, meant for `CONNECT` to a proxy) has
//! no path at all. Passed on, it reached `ServeDir`, which answered 500 when it failed to build
//! a redirect from it; the layer refuses it with
//! [`MalformedTarget`](RejectionKind::MalformedTarget) instead, whatever the method.
//!
//! A request may name no host: HTTP/1.0 without `Host`, or a `Host` that is empty, not ASCII or
//! no valid authority. A cookie bound to "no host" would work wherever the host is missing, so
//! for cookies such a request has none ([`Host::usable`]) and gets no session.

use http::header::HOST;
use http::{HeaderMap, Uri};

use crate::rejection::RejectionKind;

/// The host a request names, as chosen by [`request_host`]; not yet checked for use in a cookie.
// No `Debug`: it would print the headers, cookies and all.
#[derive(Clone, Copy)]
pub(crate) struct Host<'r> {
    named: Named<'r>,
}

#[derive(Clone, Copy)]
enum Named<'r> {
    /// The target's authority, as the URI holds it (userinfo and all: left off when read).
    Authority(&'r str),
    /// The target has no authority: the one `Host` field among these headers, if there is one.
    /// Read only when something needs the host, so that deciding costs no lookup.
    HostField(&'r HeaderMap),
}

/// Checks the target's form and the host fields of a request, and names its host: the target's
/// authority when it has one, else its single `Host` field.
///
/// Refuses an authority-form target ([`MalformedTarget`](RejectionKind::MalformedTarget)), two
/// `Host` fields, or a `Host` that differs from the authority
/// ([`AmbiguousHost`](RejectionKind::AmbiguousHost)). It runs for every request, public ones
/// too, so the usual one (origin form, no field name repeated) costs two length reads; a
/// repeated field name or an authority costs one header lookup more.
pub(crate) fn request_host<'r>(
    uri: &'r Uri,
    headers: &'r HeaderMap,
) -> Result<Host<'r>, RejectionKind> {
    let Some(authority) = uri.authority() else {
        // As many values as names: no name repeats, so neither does `Host`.
        let repeats = headers.len() != headers.keys_len();
        if repeats && headers.get_all(HOST).iter().nth(1).is_some() {
            return Err(RejectionKind::AmbiguousHost);
        }
        return Ok(Host {
            named: Named::HostField(headers),
        });
    };
    if uri.scheme().is_none() {
        return Err(RejectionKind::MalformedTarget);
    }
    let authority = authority.as_str();
    let mut fields = headers.get_all(HOST).iter();
    if let Some(header) = fields.next() {
        let host = without_userinfo(authority);
        if fields.next().is_some() || !same_host(uri.scheme_str(), host, header.as_bytes()) {
            return Err(RejectionKind::AmbiguousHost);
        }
    }
    Ok(Host {
        named: Named::Authority(authority),
    })
}

impl<'r> Host<'r> {
    /// The host of a request that [`request_host`] already accepted, from the parts a link
    /// format sees (the URI's authority, the headers). Two `Host` fields name nothing here, so a
    /// caller that skipped the check still fails closed.
    pub(crate) fn accepted(authority: Option<&'r str>, headers: &'r HeaderMap) -> Self {
        let named = match authority {
            Some(authority) => Named::Authority(authority),
            None => Named::HostField(headers),
        };
        Self { named }
    }

    /// The host as text when something may be bound to it: visible ASCII, and a valid
    /// `host[:port]` with a name and a numeric port, without userinfo. `None` otherwise (no
    /// `Host`, two of them, or one of those), which for cookies means "no host".
    pub(crate) fn usable(self) -> Option<&'r str> {
        let text = match self.named {
            Named::Authority(authority) => without_userinfo(authority),
            Named::HostField(headers) => {
                let mut fields = headers.get_all(HOST).iter();
                match (fields.next(), fields.next()) {
                    (Some(header), None) => header.to_str().ok()?,
                    _ => return None,
                }
            }
        };
        let (name, port_text) = split_port(text.as_bytes());
        let valid = !name.is_empty()
            && !text.contains('@')
            && port(port_text, None).is_some()
            && text.parse::<http::uri::Authority>().is_ok();
        valid.then_some(text)
    }
}

/// The authority without `user:password@`, which names no host (RFC 9112 3.2 leaves it out of
/// `Host`).
fn without_userinfo(authority: &str) -> &str {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// Whether a `Host` field names the same host and port as the target's authority.
fn same_host(scheme: Option<&str>, authority: &str, header: &[u8]) -> bool {
    let authority = authority.as_bytes();
    if authority.eq_ignore_ascii_case(header) {
        return true;
    }
    let default = match scheme {
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => Some(80),
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => Some(443),
        _ => None,
    };
    let (authority_host, authority_port) = split_port(authority);
    let (header_host, header_port) = split_port(header);
    match (port(authority_port, default), port(header_port, default)) {
        (Some(a), Some(b)) => a == b && authority_host.eq_ignore_ascii_case(header_host),
        // A port that is no number never matches: strict, since nothing sends one.
        _ => false,
    }
}

/// `host[:port]` split at the port's colon; an IPv6 literal keeps the colons in its brackets.
fn split_port(authority: &[u8]) -> (&[u8], Option<&[u8]>) {
    let host_end = match authority.first() {
        Some(b'[') => authority
            .iter()
            .position(|&byte| byte == b']')
            .map_or(authority.len(), |at| at + 1),
        _ => authority
            .iter()
            .position(|&byte| byte == b':')
            .unwrap_or(authority.len()),
    };
    let (host, rest) = authority.split_at(host_end);
    match rest.split_first() {
        Some((b':', port)) => (host, Some(port)),
        // Nothing, or bytes after `]` that are no port: kept in the host so it cannot match.
        _ => (authority, None),
    }
}

/// A port as a number, a missing or empty one being the scheme's default (RFC 3986 6.2.3);
/// `None` for a port that is no number. `Some(None)`: no port and no known default.
fn port(port: Option<&[u8]>, default: Option<u16>) -> Option<Option<u16>> {
    match port {
        None | Some(b"") => Some(default),
        Some(digits) if digits.iter().all(u8::is_ascii_digit) => std::str::from_utf8(digits)
            .ok()?
            .parse::<u16>()
            .ok()
            .map(Some),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// What the layer makes of a request: refused, or the host a cookie may be bound to.
    fn outcome(target: &str, hosts: &[&[u8]]) -> Result<Option<String>, RejectionKind> {
        let uri: Uri = target.parse().unwrap();
        let mut alone = HeaderMap::new();
        for host in hosts {
            alone.append(HOST, HeaderValue::from_bytes(host).unwrap());
        }
        // The same `Host` fields among others, one of them repeated (no shortcut then).
        let mut among_others = alone.clone();
        for (name, value) in [("accept", "a"), ("accept", "b"), ("user-agent", "u")] {
            among_others.append(name, HeaderValue::from_static(value));
        }
        let decide = |headers: &HeaderMap| {
            let usable = request_host(&uri, headers)?.usable().map(str::to_owned);
            // What a link format sees of the same request agrees with the whole decision.
            let seen = Host::accepted(uri.authority().map(|a| a.as_str()), headers);
            assert_eq!(seen.usable().map(str::to_owned), usable, "{target}");
            Ok(usable)
        };
        let usable = decide(&alone);
        assert_eq!(decide(&among_others), usable, "{target} among other fields");
        usable
    }

    #[test]
    fn hosts_are_read_the_http_way() {
        type Expected = Result<Option<&'static str>, RejectionKind>;
        const NONE: Expected = Ok(None);
        const AMBIGUOUS: Expected = Err(RejectionKind::AmbiguousHost);
        const MALFORMED: Expected = Err(RejectionKind::MalformedTarget);
        let named = |host| -> Expected { Ok(Some(host)) };
        #[rustfmt::skip]
        let cases: &[(&str, &str, &[&[u8]], Expected)] = &[
            ("origin form, one Host", "/p/a", &[b"example.com"], named("example.com")),
            ("a Host with a port", "/p/a", &[b"example.com:8080"], named("example.com:8080")),
            ("a Host naming an IPv6 address", "/p/a", &[b"[::1]:3000"], named("[::1]:3000")),
            ("HTTP/1.0 without Host", "/p/a", &[], NONE),
            ("an empty Host", "/p/a", &[b""], NONE),
            ("a Host that is not ASCII", "/p/a", &[b"h\xc3\xa9.example"], NONE),
            ("a Host with userinfo", "/p/a", &[b"user@example.com"], NONE),
            ("a Host with a space", "/p/a", &[b"a b"], NONE),
            ("a Host with a path", "/p/a", &[b"example.com/p/public"], NONE),
            ("a Host whose port is no number", "/p/a", &[b"example.com:x"], NONE),
            ("a Host with a port and no name", "/p/a", &[b":80"], NONE),
            ("two Host fields", "/p/a", &[b"a.example", b"b.example"], AMBIGUOUS),
            ("two equal Host fields", "/p/a", &[b"a.example", b"a.example"], AMBIGUOUS),
            ("two Host fields, one empty", "/p/a", &[b"", b"a.example"], AMBIGUOUS),
            ("asterisk form", "*", &[b"example.com"], named("example.com")),
            // Absolute form (HTTP/1.1) or :authority (HTTP/2): the authority names the host.
            ("absolute form, no Host", "http://example.com/p/a", &[], named("example.com")),
            ("absolute form, the same Host", "http://example.com/p/a", &[b"example.com"], named("example.com")),
            ("absolute form, Host in another case", "http://Example.COM/p/a", &[b"example.com"], named("Example.COM")),
            ("absolute form, another Host", "http://evil.example/p/a", &[b"example.com"], AMBIGUOUS),
            ("absolute form, a Host with another port", "http://example.com:8080/p/a", &[b"example.com:8081"], AMBIGUOUS),
            ("absolute form, a Host without the port", "http://example.com:8080/p/a", &[b"example.com"], AMBIGUOUS),
            ("absolute form, a Host with the default port", "http://example.com/p/a", &[b"example.com:80"], named("example.com")),
            ("the default port in the target only", "http://example.com:80/p/a", &[b"example.com"], named("example.com:80")),
            ("https, a Host with 443", "https://example.com/p/a", &[b"example.com:443"], named("example.com")),
            ("https, a Host with 80", "https://example.com/p/a", &[b"example.com:80"], AMBIGUOUS),
            ("the default port with leading zeros", "http://example.com/p/a", &[b"example.com:080"], named("example.com")),
            ("an empty port is the default one", "http://example.com/p/a", &[b"example.com:"], named("example.com")),
            ("IPv6 with the default port", "http://[::1]/p/a", &[b"[::1]:80"], named("[::1]")),
            ("IPv6, another address", "http://[::1]/p/a", &[b"[::2]"], AMBIGUOUS),
            ("a scheme without a known default port", "ftp://example.com/p/a", &[b"example.com:21"], AMBIGUOUS),
            ("absolute form, an empty Host", "http://example.com/p/a", &[b""], AMBIGUOUS),
            ("absolute form, a Host that is not ASCII", "http://example.com/p/a", &[b"\xffexample.com"], AMBIGUOUS),
            ("absolute form, two Host fields", "http://example.com/p/a", &[b"example.com", b"example.com"], AMBIGUOUS),
            ("absolute form with userinfo", "http://user:pw@example.com/p/a", &[b"example.com"], named("example.com")),
            ("absolute form with userinfo, no Host", "http://user@example.com/p/a", &[], named("example.com")),
            ("a Host that repeats the userinfo", "http://user@example.com/p/a", &[b"user@example.com"], AMBIGUOUS),
            // Authority form: no path at all.
            ("authority form", "127.0.0.1:8080", &[b"127.0.0.1:8080"], MALFORMED),
            ("authority form, a short name", "a:1", &[], MALFORMED),
            ("authority form, no port", "example.com", &[b"example.com"], MALFORMED),
        ];
        for (name, target, hosts, expected) in cases {
            let got = outcome(target, hosts);
            assert_eq!(
                got.as_ref().map(Option::as_deref).map_err(|kind| *kind),
                *expected,
                "{name}: {target} with Host {:?}",
                hosts
                    .iter()
                    .map(|h| String::from_utf8_lossy(h))
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn ports_split_off_the_host() {
        type Split = (&'static [u8], Option<&'static [u8]>);
        let cases: &[(&[u8], Split)] = &[
            (b"h", (b"h", None)),
            (b"h:80", (b"h", Some(b"80"))),
            (b"h:", (b"h", Some(b""))),
            (b"[::1]", (b"[::1]", None)),
            (b"[::1]:8080", (b"[::1]", Some(b"8080"))),
            (b"[::1]x", (b"[::1]x", None)),
            (b"[::1", (b"[::1", None)),
            (b"", (b"", None)),
        ];
        for (authority, split) in cases {
            assert_eq!(split_port(authority), *split, "{authority:?}");
        }
    }
}
