//! Where a webhook may be sent. Unless the operator allows private targets
//! (`MASTHEAD_WEBHOOK_ALLOW_PRIVATE`), a hook's URL must reach only public (globally routable)
//! addresses: checked when the hook is created or changed, and again at every delivery after
//! DNS resolution, so a name that later resolves to an internal address (DNS rebinding) is not
//! followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use url::{Host, Url};

/// How long the check at create/update time waits for DNS.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `ip` is a public, globally routable unicast address. Anything else — loopback,
/// unspecified, private, shared (CGNAT), link-local, documentation, benchmarking, multicast,
/// broadcast, reserved, and IPv6 forms that embed such an IPv4 address — is not.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

/// IPv4 ranges that are not public (IANA special-purpose registry, RFC 6890 and successors).
const NOT_PUBLIC_V4: [([u8; 4], u32); 15] = [
    ([0, 0, 0, 0], 8),       // "this network", incl. unspecified
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local, incl. cloud metadata services
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, incl. broadcast
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    !NOT_PUBLIC_V4
        .iter()
        .any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // Forms that carry an IPv4 address are judged by it: IPv4-mapped (::ffff:0:0/96),
    // IPv4-compatible (::/96, incl. :: and ::1), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
    if s[..5] == [0; 5] && (s[5] == 0 || s[5] == 0xffff) {
        return is_public_v4(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded(s[1], s[2]));
    }
    // Global unicast is 2000::/3; everything outside it (ULA fc00::/7, link-local fe80::/10,
    // site-local fec0::/10, multicast ff00::/8, discard 100::/64, local NAT64 64:ff9b:1::/48,
    // reserved ranges) is not public.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    // Inside it: IETF protocol assignments 2001::/23 (incl. Teredo, which embeds addresses),
    // documentation 2001:db8::/32 and 3fff::/20.
    let ietf = s[0] == 0x2001 && s[1] < 0x0200;
    let documentation = (s[0] == 0x2001 && s[1] == 0x0db8) || s[0] & 0xfff0 == 0x3ff0;
    !(ietf || documentation)
}

/// Why a webhook target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("must be an http or https URL with a host")]
    NotAUrl,
    #[error("{0} is not a public address (private webhook targets are not allowed)")]
    Address(IpAddr),
    #[error("{0} resolves to {1}, which is not a public address (private webhook targets are not allowed)")]
    Resolves(String, IpAddr),
    #[error("{0} resolves to no address")]
    NoAddress(String),
    #[error("{0} could not be resolved in time")]
    Timeout(String),
}

/// `localhost` and its subdomains are loopback by definition (RFC 6761), whatever DNS says.
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The host of an http(s) URL: an IP address (in whatever notation the URL used, normalised by
/// the WHATWG parser reqwest also uses: `0x7f000001`, `127.1`, `[::ffff:127.0.0.1]`…) or a name.
pub enum Target {
    Ip(IpAddr),
    Name(String),
}

pub fn target_of(raw: &str) -> Result<Target, Refused> {
    let url = Url::parse(raw.trim()).map_err(|_| Refused::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::NotAUrl);
    }
    match url.host() {
        Some(Host::Ipv4(ip)) => Ok(Target::Ip(IpAddr::V4(ip))),
        Some(Host::Ipv6(ip)) => Ok(Target::Ip(IpAddr::V6(ip))),
        Some(Host::Domain(name)) if !name.is_empty() => Ok(Target::Name(name.to_string())),
        _ => Err(Refused::NotAUrl),
    }
}

/// The addresses `name` resolves to, by the system resolver (as reqwest's own default does).
async fn lookup(name: String) -> Result<Vec<IpAddr>, Refused> {
    let for_lookup = name.clone();
    let found = tokio::task::spawn_blocking(move || {
        (for_lookup.as_str(), 0)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect::<Vec<_>>())
    })
    .await;
    match found {
        Ok(Ok(ips)) if !ips.is_empty() => Ok(ips),
        _ => Err(Refused::NoAddress(name)),
    }
}

/// The check when a hook is created or changed: the URL's host, and every address a name
/// resolves to now, must be public. A name that does not resolve is refused too (it could not
/// be checked).
pub async fn check_public(raw: &str) -> Result<(), Refused> {
    match target_of(raw)? {
        Target::Ip(ip) if is_public(ip) => Ok(()),
        Target::Ip(ip) => Err(Refused::Address(ip)),
        Target::Name(name) if is_localhost(&name) => {
            Err(Refused::Resolves(name, IpAddr::V4(Ipv4Addr::LOCALHOST)))
        }
        Target::Name(name) => {
            let ips = tokio::time::timeout(RESOLVE_TIMEOUT, lookup(name.clone()))
                .await
                .map_err(|_| Refused::Timeout(name.clone()))??;
            match ips.into_iter().find(|ip| !is_public(*ip)) {
                Some(ip) => Err(Refused::Resolves(name, ip)),
                None => Ok(()),
            }
        }
    }
}

/// The check before a delivery to an IP-literal URL (reqwest connects to those without asking
/// the resolver). Names are checked by [`PublicOnly`] instead.
pub fn check_literal(raw: &str) -> Result<(), Refused> {
    match target_of(raw)? {
        Target::Ip(ip) if !is_public(ip) => Err(Refused::Address(ip)),
        _ => Ok(()),
    }
}

/// The deliveries' DNS resolver: resolves with the system resolver and keeps only public
/// addresses, failing when none is left, so a connection is only ever made to a public address.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(public_addresses(name.as_str().to_string()))
    }
}

// No shortcut for `localhost` here: it resolves to loopback and is filtered like any other
// name, which is also how the tests see this filter at work.
async fn public_addresses(
    name: String,
) -> Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let ips = lookup(name.clone()).await?;
    let public: Vec<SocketAddr> = ips
        .iter()
        .filter(|ip| is_public(**ip))
        .map(|ip| SocketAddr::new(*ip, 0))
        .collect();
    match ips.first() {
        Some(ip) if public.is_empty() => Err(Box::new(Refused::Resolves(name, *ip))),
        _ => Ok(Box::new(public.into_iter())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_global_unicast_addresses_are_public() {
        let cases: &[(&str, bool)] = &[
            // IPv4
            ("93.184.216.34", true),
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.32.0.1", true),
            ("198.20.0.1", true),
            ("223.255.255.255", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("10.1.2.3", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("169.254.169.254", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("192.88.99.1", false),
            ("192.168.1.1", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            // IPv6
            ("2606:2800:220:1:248:1893:25c8:1946", true),
            ("2a00:1450:4001:82a::200e", true),
            ("2001:4860:4860::8888", true),
            ("::", false),
            ("::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:93.184.216.34", true),
            ("::127.0.0.1", false),
            ("::93.184.216.34", true),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b::5db8:d822", true),
            ("64:ff9b:1::1", false),
            ("2002:7f00:1::1", false),
            ("2002:c0a8:101::1", false),
            ("2002:5db8:d822::1", true),
            ("100::1", false),
            ("2001::1", false),
            ("2001:db8::1", false),
            ("3fff::1", false),
            ("fc00::1", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("5f00::1", false),
        ];
        for (ip, public) in cases {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(is_public(parsed), *public, "{ip}");
        }
    }

    #[test]
    fn hosts_are_read_in_every_notation_the_url_parser_accepts() {
        let cases: &[(&str, Option<&str>)] = &[
            ("http://127.0.0.1/", Some("127.0.0.1")),
            ("http://0x7f000001/", Some("127.0.0.1")),
            ("http://2130706433/", Some("127.0.0.1")),
            ("http://017700000001/", Some("127.0.0.1")),
            ("http://127.1/", Some("127.0.0.1")),
            ("http://0/", Some("0.0.0.0")),
            (
                "HTTP://user:pw@[::ffff:127.0.0.1]:8080/x",
                Some("::ffff:127.0.0.1"),
            ),
            ("https://[fd00::1]/", Some("fd00::1")),
            ("https://93.184.216.34/", Some("93.184.216.34")),
            ("https://hooks.example.org/", None),
        ];
        for (url, ip) in cases {
            let got = match target_of(url) {
                Ok(Target::Ip(ip)) => Some(ip),
                Ok(Target::Name(_)) => None,
                Err(e) => panic!("{url}: {e}"),
            };
            assert_eq!(got, ip.map(|i| i.parse().unwrap()), "{url}");
        }
        assert!(target_of("ftp://example.org/").is_err());
        assert!(target_of("http://").is_err());
    }

    #[test]
    fn localhost_names_are_loopback_without_asking_dns() {
        for name in ["localhost", "LOCALHOST.", "api.localhost", "a.b.localhost."] {
            assert!(is_localhost(name), "{name}");
        }
        for name in ["localhost.example.org", "notlocalhost", "example.org"] {
            assert!(!is_localhost(name), "{name}");
        }
    }

    #[tokio::test]
    async fn private_literals_and_localhost_are_refused_before_any_lookup() {
        for url in [
            "http://0x7f000001/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost./",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            assert!(check_public(url).await.is_err(), "{url}");
        }
        assert_eq!(check_public("https://93.184.216.34/").await, Ok(()));
        assert_eq!(check_literal("https://hooks.example.org/"), Ok(()));
        assert!(check_literal("http://10.1.2.3/").is_err());
    }
}
