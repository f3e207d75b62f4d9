//! The client networks a link may be bound to (`sl_ip`): IPv4 and IPv6 CIDR blocks, each
//! written one way, so a value has exactly one spelling.

use std::fmt;
use std::net::IpAddr;

/// The most networks one link names.
pub(crate) const MAX_NETWORKS: usize = 16;

/// One CIDR block: an address with its host bits zero, and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Network {
    addr: IpAddr,
    len: u8,
}

/// Why a network was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetworkError {
    /// Not an address, or not `address/length` with a length the family allows.
    Syntax,
    /// Bits set past the prefix length (`203.0.113.7/24`): a typo more often than not.
    HostBits,
    /// An IPv4 address written as IPv6 (`::ffff:203.0.113.7`): write the IPv4 form.
    Mapped,
}

impl Network {
    /// `address` (a single host: /32 or /128) or `address/length`.
    pub(crate) fn parse(text: &str) -> Result<Self, NetworkError> {
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| NetworkError::Syntax)?;
        if let IpAddr::V6(v6) = addr {
            if v6.to_ipv4_mapped().is_some() {
                return Err(NetworkError::Mapped);
            }
        }
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            // Digits only: `u8::from_str` would also take a `+`.
            Some(len) if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) => {
                len.parse::<u8>().map_err(|_| NetworkError::Syntax)?
            }
            Some(_) => return Err(NetworkError::Syntax),
        };
        if len > max {
            return Err(NetworkError::Syntax);
        }
        let network = Self { addr, len };
        if network.masked(addr) != bits(addr) {
            return Err(NetworkError::HostBits);
        }
        Ok(network)
    }

    /// Whether `ip` lies in this block (an IPv4-mapped IPv6 address counts as its IPv4 form).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmapped(ip);
        ip.is_ipv4() == self.addr.is_ipv4() && self.masked(ip) == bits(self.addr)
    }

    /// `ip`'s bits under this block's prefix length.
    fn masked(&self, ip: IpAddr) -> u128 {
        let width = if ip.is_ipv4() { 32 } else { 128 };
        let shift = width - u32::from(self.len);
        let mask = if shift >= 128 {
            0
        } else {
            (u128::MAX >> (128 - width)) >> shift << shift
        };
        bits(ip) & mask
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The IPv4 address an IPv4-mapped IPv6 address stands for (what a dual-stack socket reports
/// for an IPv4 client); any other address as it is.
pub(crate) fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Whether `value` is an `sl_ip` value in canonical form: 1 to [`MAX_NETWORKS`] networks,
/// each `address/length` as [`Network`]'s `Display` writes it, separated by `,`.
pub(crate) fn is_networks(value: &str) -> bool {
    let mut count = 0;
    value.split(',').all(|text| {
        count += 1;
        count <= MAX_NETWORKS
            && Network::parse(text).is_ok_and(|network| {
                // Display writes the canonical text; a length is always written.
                text.contains('/') && network.to_string() == text
            })
    })
}

/// Whether `ip` lies in one of the networks of a canonical `sl_ip` value.
pub(crate) fn networks_contain(value: &str, ip: IpAddr) -> bool {
    value
        .split(',')
        .filter_map(|text| Network::parse(text).ok())
        .any(|network| network.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_have_one_spelling() {
        #[rustfmt::skip]
        let cases = [
            ("an IPv4 block", "203.0.113.0/24", true),
            ("an IPv4 host", "203.0.113.7/32", true),
            ("everything IPv4", "0.0.0.0/0", true),
            ("an IPv6 block", "2001:db8::/32", true),
            ("an IPv6 host", "2001:db8::1/128", true),
            ("two networks", "203.0.113.0/24,2001:db8::/32", true),
            ("no length", "203.0.113.7", false),
            ("host bits", "203.0.113.7/24", false),
            ("upper-case IPv6", "2001:DB8::/32", false),
            ("uncompressed IPv6", "2001:db8:0:0:0:0:0:0/32", false),
            ("leading zero", "203.0.113.07/32", false),
            ("length too long", "203.0.113.0/33", false),
            ("a plus sign", "203.0.113.0/+24", false),
            ("a leading-zero length", "203.0.113.0/024", false),
            ("IPv4-mapped", "::ffff:203.0.113.7/128", false),
            ("a space", "203.0.113.0/24, 2001:db8::/32", false),
            ("empty", "", false),
            ("a trailing comma", "203.0.113.0/24,", false),
        ];
        for (name, value, canonical) in cases {
            assert_eq!(is_networks(value), canonical, "{name}: {value}");
        }
        let many = vec!["10.0.0.0/8"; MAX_NETWORKS].join(",");
        assert!(is_networks(&many));
        assert!(!is_networks(&format!("{many},10.0.0.0/8")));
    }

    #[test]
    fn addresses_match_by_family_and_prefix() {
        #[rustfmt::skip]
        let cases = [
            ("inside", "203.0.113.0/24", "203.0.113.200", true),
            ("outside", "203.0.113.0/24", "203.0.114.1", false),
            ("the host itself", "198.51.100.7/32", "198.51.100.7", true),
            ("its neighbour", "198.51.100.7/32", "198.51.100.8", false),
            ("everything", "0.0.0.0/0", "192.0.2.1", true),
            ("IPv4-mapped client", "203.0.113.0/24", "::ffff:203.0.113.9", true),
            ("IPv6 inside", "2001:db8::/32", "2001:db8:ffff::1", true),
            ("IPv6 outside", "2001:db8::/32", "2001:db9::1", false),
            ("IPv4 client, IPv6 block", "::/0", "192.0.2.1", false),
            ("IPv6 client, IPv4 block", "0.0.0.0/0", "2001:db8::1", false),
            ("an odd length", "2001:db8:8000::/33", "2001:db8:8000::1", true),
            ("just past it", "2001:db8:8000::/33", "2001:db8:7fff::1", false),
        ];
        for (name, networks, ip, inside) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(networks_contain(networks, ip), inside, "{name}");
        }
    }
}
