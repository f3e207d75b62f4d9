//! Which address a request comes from, for links bound to client networks.
//!
//! The peer of the connection is the client, unless it is one of the configured trusted
//! proxies: then the proxy's forwarding header names the hops, and the client is the right-most
//! address in it that is not itself a trusted proxy. Anything left of that address was written
//! by the client and proves nothing; a header from a peer that is not trusted is never read (the
//! classic bug is trusting any `X-Forwarded-For`). When no address can be found (including when
//! every hop is a trusted proxy), a link bound to networks is refused: the layer fails closed.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::header::FORWARDED;
use http::{Extensions, HeaderMap};

use crate::token::{unmapped, Network};

/// Reads the peer address from a request's extensions.
pub(crate) type PeerReader = Arc<dyn Fn(&Extensions) -> Option<IpAddr> + Send + Sync>;

/// How the layer finds a request's client address.
#[derive(Clone, Default)]
pub(crate) struct ClientAddrRule {
    /// Peers whose forwarding header is believed; empty: the peer is always the client.
    pub(crate) trusted: Vec<Network>,
    /// Read RFC 7239 `Forwarded` rather than `X-Forwarded-For`.
    pub(crate) forwarded: bool,
    /// Where the peer address is; `None`: a `SocketAddr` or an `IpAddr` in the extensions.
    pub(crate) reader: Option<PeerReader>,
}

impl fmt::Debug for ClientAddrRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAddrRule")
            .field("trusted", &self.trusted)
            .field("forwarded", &self.forwarded)
            .field("reader", &self.reader.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl ClientAddrRule {
    /// The client's address, or `None` when the layer cannot tell.
    pub(crate) fn client(&self, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = unmapped(self.peer(extensions)?);
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let name = if self.forwarded {
            FORWARDED.as_str()
        } else {
            "x-forwarded-for"
        };
        // Every field line in order, as one list: a proxy may append a line of its own.
        let mut hops = Vec::new();
        for value in headers.get_all(name) {
            let text = value.to_str().ok()?;
            for element in text.split(',') {
                let hop = if self.forwarded {
                    forwarded_for(element)
                } else {
                    plain_hop(element)
                };
                // A hop that reads as no address ends the chain: the layer cannot tell who sent it.
                hops.push(hop);
            }
        }
        let mut client = peer;
        for hop in hops.iter().rev() {
            if !self.is_trusted(client) {
                break;
            }
            client = unmapped((*hop)?);
        }
        // Every hop a proxy: the client is not named (a proxy that forwards nothing, or a
        // request from the proxies' own network), and a proxy's address must not stand in for
        // it, or a link bound to the proxies' range would admit everyone behind them.
        (!self.is_trusted(client)).then_some(client)
    }

    fn peer(&self, extensions: &Extensions) -> Option<IpAddr> {
        match &self.reader {
            Some(read) => read(extensions),
            None => extensions
                .get::<SocketAddr>()
                .map(SocketAddr::ip)
                .or_else(|| extensions.get::<IpAddr>().copied()),
        }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|network| network.contains(ip))
    }
}

/// One `X-Forwarded-For` element: an address, optionally with a port (`[v6]:port`, `v4:port`).
fn plain_hop(element: &str) -> Option<IpAddr> {
    address_with_port(element.trim())
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http`,
/// `for="[2001:db8::1]:4711"`); `None` for `unknown`, an obfuscated name or no `for`.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then_some(value.trim())
    })?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    address_with_port(value)
}

fn address_with_port(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|port| port.parse::<u16>().is_ok());
        return if port_ok { ip.parse().ok() } else { None };
    }
    text.parse::<SocketAddr>().ok().map(|addr| addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header lines, as (name, value) pairs.
    type Lines<'a> = &'a [(&'a str, &'a str)];

    fn rule(trusted: &[&str], forwarded: bool) -> ClientAddrRule {
        ClientAddrRule {
            trusted: trusted.iter().map(|t| Network::parse(t).unwrap()).collect(),
            forwarded,
            reader: None,
        }
    }

    fn client(rule: &ClientAddrRule, peer: &str, header: &[(&str, &str)]) -> Option<String> {
        let mut extensions = Extensions::new();
        extensions.insert(peer.parse::<SocketAddr>().unwrap());
        let mut headers = HeaderMap::new();
        for (name, value) in header {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        rule.client(&extensions, &headers).map(|ip| ip.to_string())
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let xff = "x-forwarded-for";
        let proxies = rule(&["10.0.0.0/8", "2001:db8:ffff::/48"], false);
        #[rustfmt::skip]
        let cases: [(&str, &ClientAddrRule, &str, Lines, Option<&str>); 13] = [
            ("no proxies: the peer", &rule(&[], false), "198.51.100.7:4000", &[(xff, "203.0.113.1")], Some("198.51.100.7")),
            ("an untrusted peer's header is ignored", &proxies, "198.51.100.7:4000", &[(xff, "203.0.113.1")], Some("198.51.100.7")),
            ("one trusted proxy", &proxies, "10.0.0.2:4000", &[(xff, "203.0.113.1")], Some("203.0.113.1")),
            ("a spoofed hop left of the client", &proxies, "10.0.0.2:4000", &[(xff, "192.0.2.66, 203.0.113.1")], Some("203.0.113.1")),
            ("a chain of proxies", &proxies, "10.0.0.2:4000", &[(xff, "192.0.2.66, 203.0.113.1, 10.1.1.1, 10.2.2.2")], Some("203.0.113.1")),
            ("two header lines, one list", &proxies, "10.0.0.2:4000", &[(xff, "192.0.2.66, 203.0.113.1"), (xff, "10.1.1.1")], Some("203.0.113.1")),
            ("a trusted peer with no header: nobody named", &proxies, "10.0.0.2:4000", &[], None),
            ("every hop trusted: nobody named", &proxies, "10.0.0.2:4000", &[(xff, "10.9.9.9, 10.1.1.1")], None),
            ("garbage where the client should be", &proxies, "10.0.0.2:4000", &[(xff, "203.0.113.1, nonsense")], None),
            ("garbage left of the client is never read", &proxies, "10.0.0.2:4000", &[(xff, "nonsense, 203.0.113.1")], Some("203.0.113.1")),
            ("IPv6 through an IPv6 proxy", &proxies, "[2001:db8:ffff::2]:443", &[(xff, "2001:db8:1::7")], Some("2001:db8:1::7")),
            ("an IPv4-mapped peer is its IPv4 form", &proxies, "[::ffff:10.0.0.2]:443", &[(xff, "203.0.113.1")], Some("203.0.113.1")),
            ("a hop with a port", &proxies, "10.0.0.2:4000", &[(xff, "[2001:db8:1::7]:5555")], Some("2001:db8:1::7")),
        ];
        for (name, rule, peer, header, expect) in cases {
            assert_eq!(client(rule, peer, header).as_deref(), expect, "{name}");
        }
    }

    #[test]
    fn forwarded_names_the_client_in_for() {
        let proxies = rule(&["10.0.0.0/8"], true);
        let fwd = "forwarded";
        #[rustfmt::skip]
        let cases: [(&str, Lines, Option<&str>); 6] = [
            ("for with proto", &[(fwd, "for=203.0.113.1;proto=https")], Some("203.0.113.1")),
            ("quoted IPv6 with a port", &[(fwd, "for=\"[2001:db8::1]:4711\"")], Some("2001:db8::1")),
            ("a chain", &[(fwd, "for=192.0.2.66, for=203.0.113.1, for=10.1.1.1")], Some("203.0.113.1")),
            ("unknown ends the chain", &[(fwd, "for=203.0.113.1, for=unknown")], None),
            ("an X-Forwarded-For is not read", &[("x-forwarded-for", "203.0.113.1")], None),
            ("FOR in upper case", &[(fwd, "FOR=203.0.113.1")], Some("203.0.113.1")),
        ];
        for (name, header, expect) in cases {
            assert_eq!(
                client(&proxies, "10.0.0.2:1", header).as_deref(),
                expect,
                "{name}"
            );
        }
    }

    #[test]
    fn no_peer_no_client() {
        let rule = rule(&[], false);
        assert_eq!(rule.client(&Extensions::new(), &HeaderMap::new()), None);
    }
}
