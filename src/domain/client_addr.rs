//! Who a request comes from: the client's address behind trusted reverse proxies, and the key
//! a rate limit counts that client under.
//!
//! A proxy that forwards a request appends the address it received it from to
//! `X-Forwarded-For`; everything to the left of what a trusted proxy wrote is whatever the
//! client chose to send. So the client is found from the right: the right-most address that no
//! trusted proxy stands for. The left-most one can be anything the client likes.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;
use sha2::{Digest, Sha256};

/// Whether `peer` (the address of the TCP connection) is a proxy whose forwarding headers are
/// believed: `trust_proxy` is on and `peer` is within one of `trusted`.
pub fn is_trusted_proxy(peer: Option<IpAddr>, trust_proxy: bool, trusted: &[IpNet]) -> bool {
    trust_proxy && peer.is_some_and(|p| within(p.to_canonical(), trusted))
}

fn within(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// The client's address. Without `trust_proxy`, or when the peer is not a trusted proxy, it is
/// the peer and `X-Forwarded-For` is ignored. Otherwise the header's entries (every line of it,
/// in order, each a comma list) are walked from the right, passing over trusted proxies: the
/// first address that is not one is the client; when all are, the left-most.
///
/// An entry that is not an address (`unknown`, a host name, garbage, a line that is not UTF-8)
/// ends the walk, and the client is the last address passed (a trusted proxy, or the peer): it
/// is the nearest one known, and a client cannot choose it. Empty list elements are skipped,
/// as HTTP's list syntax allows them. IPv4-mapped IPv6 addresses come back as IPv4, so
/// blocklists and rate limits see one form.
pub fn client_ip<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl IntoIterator<Item = &'a [u8]>,
    trust_proxy: bool,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer.map(|p| p.to_canonical());
    if !is_trusted_proxy(peer, trust_proxy, trusted) {
        return peer;
    }
    let mut entries: Vec<Option<&str>> = Vec::new();
    for line in forwarded_for {
        match std::str::from_utf8(line) {
            Ok(text) => entries.extend(text.split(',').map(Some)),
            Err(_) => entries.push(None),
        }
    }
    let mut client = peer;
    for entry in entries.into_iter().rev() {
        let Some(raw) = entry else { break };
        if raw.trim().is_empty() {
            continue;
        }
        let Some(addr) = parse_forwarded_addr(raw) else {
            break;
        };
        let addr = addr.to_canonical();
        client = Some(addr);
        if !within(addr, trusted) {
            break;
        }
    }
    client
}

/// `203.0.113.7`, `2001:db8::1`, `203.0.113.7:51234`, `[2001:db8::1]:51234` or `[2001:db8::1]`.
fn parse_forwarded_addr(raw: &str) -> Option<IpAddr> {
    let t = raw.trim();
    t.parse::<IpAddr>()
        .ok()
        .or_else(|| t.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            t.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| r.parse::<Ipv6Addr>().ok())
                .map(IpAddr::V6)
        })
}

/// The prefix length an IPv6 client is counted under: one /64 is what a single subscriber or
/// host is routinely given, and it holds more addresses than any limit could count one by one.
pub const IPV6_RATE_PREFIX: u8 = 64;

/// What a rate limit counts `ip` under: an IPv4 address itself, an IPv6 address's /64 network
/// (written `2001:db8:1:2::/64`), so a client cannot escape a limit by rotating through the
/// addresses of its own network.
pub fn rate_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & (u128::MAX << (128 - u32::from(IPV6_RATE_PREFIX)));
            format!("{}/{IPV6_RATE_PREFIX}", Ipv6Addr::from(bits))
        }
    }
}

/// `rate_key(ip)` hashed (SHA-256, hex) under `purpose`, for a table that must count a client
/// without keeping its address readable.
pub fn hashed_rate_key(purpose: &str, ip: IpAddr) -> String {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update([0u8]);
    hasher.update(rate_key(ip).as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn defaults() -> Vec<IpNet> {
        crate::config::default_trusted_proxies()
    }

    /// `client_ip` with the peer 127.0.0.1 (a trusted proxy by default) and one header line.
    fn behind_loopback(xff: &str) -> Option<IpAddr> {
        client_ip(Some(ip("127.0.0.1")), [xff.as_bytes()], true, &defaults())
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let cases = [
            // (X-Forwarded-For, client) with the peer a trusted proxy.
            ("203.0.113.7", "203.0.113.7"),
            // A client prepends what it likes; the proxy appends the real address.
            ("8.8.8.8, 203.0.113.7", "203.0.113.7"),
            ("spoofed, 203.0.113.7", "203.0.113.7"),
            ("1.1.1.1,8.8.8.8,203.0.113.7", "203.0.113.7"),
            // Trusted proxies on the way are passed over.
            ("203.0.113.7, 10.0.0.1", "203.0.113.7"),
            (
                "198.51.100.9, 203.0.113.7, 10.0.0.1, 192.168.1.1",
                "203.0.113.7",
            ),
            ("203.0.113.7:51234, 10.0.0.1", "203.0.113.7"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            // All trusted: the left-most.
            ("10.0.0.5, 10.0.0.1", "10.0.0.5"),
            // Garbage ends the walk at the last address passed (or the peer).
            ("203.0.113.7, unknown", "127.0.0.1"),
            ("203.0.113.7, unknown, 10.0.0.1", "10.0.0.1"),
            ("unknown, 203.0.113.7", "203.0.113.7"),
            ("<script>", "127.0.0.1"),
            ("proxy.internal, 10.0.0.2", "10.0.0.2"),
            ("fe80::1%eth0", "127.0.0.1"),
            // Empty elements are allowed by the list syntax and skipped.
            ("203.0.113.7,, ", "203.0.113.7"),
            ("", "127.0.0.1"),
            (",", "127.0.0.1"),
        ];
        for (xff, want) in cases {
            assert_eq!(behind_loopback(xff), Some(ip(want)), "{xff:?}");
        }
    }

    #[test]
    fn every_header_line_counts_in_order() {
        let peer = Some(ip("10.0.0.1"));
        let lines: [&[u8]; 2] = [b"8.8.8.8, 203.0.113.7", b"10.0.0.9"];
        assert_eq!(
            client_ip(peer, lines, true, &defaults()),
            Some(ip("203.0.113.7"))
        );
        let lines: [&[u8]; 2] = [b"203.0.113.7", b"198.51.100.4"];
        assert_eq!(
            client_ip(peer, lines, true, &defaults()),
            Some(ip("198.51.100.4"))
        );
        // A line that is not UTF-8 is garbage too.
        let lines: [&[u8]; 2] = [b"203.0.113.7", b"\xff10.0.0.3"];
        assert_eq!(client_ip(peer, lines, true, &defaults()), peer);
        assert_eq!(client_ip(peer, [], true, &defaults()), peer);
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let outside = Some(ip("192.0.2.1"));
        // Trust off, or a peer outside the trusted ranges: the peer, whatever the header says.
        assert_eq!(
            client_ip(outside, [b"203.0.113.7".as_slice()], true, &defaults()),
            outside
        );
        let loopback = Some(ip("127.0.0.1"));
        assert_eq!(
            client_ip(loopback, [b"203.0.113.7".as_slice()], false, &defaults()),
            loopback
        );
        // Only the configured ranges are trusted.
        let only: Vec<IpNet> = vec!["192.0.2.0/24".parse().unwrap()];
        assert_eq!(
            client_ip(outside, [b"203.0.113.7".as_slice()], true, &only),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client_ip(loopback, [b"203.0.113.7".as_slice()], true, &only),
            loopback
        );
        // A forwarded address in a trusted range is passed over: with only 192.0.2.0/24
        // trusted, 10.0.0.1 is a client.
        assert_eq!(
            client_ip(outside, [b"203.0.113.7, 10.0.0.1".as_slice()], true, &only),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(
            client_ip(None, [b"203.0.113.7".as_slice()], true, &only),
            None
        );
        let mapped = Some(IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()));
        assert_eq!(client_ip(mapped, [], false, &defaults()), outside);
        assert!(is_trusted_proxy(mapped, true, &only));
        assert!(!is_trusted_proxy(mapped, false, &only));
        assert!(!is_trusted_proxy(None, true, &only));
        let v6 = Some(ip("::1"));
        assert_eq!(client_ip(v6, [], true, &defaults()), v6);
    }

    #[test]
    fn rate_keys_group_ipv6_by_64() {
        let cases = [
            ("203.0.113.7", "203.0.113.7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("::1", "::/64"),
        ];
        for (addr, want) in cases {
            assert_eq!(rate_key(ip(addr)), want, "{addr}");
        }
        let a = hashed_rate_key("login", ip("2001:db8:1:2::1"));
        assert_eq!(a, hashed_rate_key("login", ip("2001:db8:1:2:aaaa::9")));
        assert_ne!(a, hashed_rate_key("login", ip("2001:db8:1:3::1")));
        assert_ne!(a, hashed_rate_key("comments", ip("2001:db8:1:2::1")));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("2001"));
    }
}
