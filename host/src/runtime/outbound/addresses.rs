//! Where a plugin may connect: the rule for the addresses a declared host may resolve to
//! (global unicast only), and the resolver seam (the system's DNS in production; an
//! attacker's answers in tests).

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;

/// Looks a host name up. Called once per outbound request: the connection goes to what this
/// answered and passed the check, never to a second lookup.
pub trait Resolver: Send + Sync {
    fn lookup<'a>(&'a self, host: &'a str, port: u16) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>>;
}

/// The operating system's resolver (getaddrinfo, through tokio).
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str, port: u16) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Why a declared host may not be reached at an address, e.g.
/// "::ffff:127.0.0.1 is loopback (IPv4 127.0.0.1 embedded)".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotGlobal {
    address: IpAddr,
    /// What the address is, or what the IPv4 address it carries is.
    what: &'static str,
    /// The IPv4 address an IPv6 one carries, when that is what was judged.
    embedded: Option<Ipv4Addr>,
}

impl fmt::Display for NotGlobal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.address, self.what)?;
        match self.embedded {
            Some(v4) => write!(f, " (IPv4 {v4} embedded)"),
            None => Ok(()),
        }
    }
}

/// Whether a declared host may be reached at `address`: only global unicast may (an
/// allowlist, so a form nobody thought of is refused, not let through).
///
/// IPv4: unicast space outside IANA's IPv4 special-purpose address registry
/// (<https://www.iana.org/assignments/iana-ipv4-special-registry>, RFC 6890); all of
/// 192.0.0.0/24 is refused, multicast and 240.0.0.0/4 too.
///
/// IPv6: 2000::/3 (RFC 4291) outside IANA's IPv6 special-purpose address registry
/// (<https://www.iana.org/assignments/iana-ipv6-special-registry>), all of 2001::/23 refused.
/// The forms that reach an IPv4 host are judged by that IPv4 address: IPv4-mapped
/// ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d (RFC 6052) and 6to4 2002:aabb:ccdd::/48 (RFC 3056).
/// Refused whatever IPv4 they carry: IPv4-compatible ::a.b.c.d and IPv4-translated
/// ::ffff:0:a.b.c.d (obsolete, never routed, but a local translator could take them inside),
/// local-use NAT64 64:ff9b:1::/48 (RFC 8215: a site's own translator, and where the IPv4
/// address sits depends on its prefix length), and Teredo 2001::/32 (RFC 4380: the relays are
/// gone and no service publishes one; decoding its obfuscated client would only add ways in).
pub fn check_global(address: IpAddr) -> Result<(), NotGlobal> {
    let refusal = match address {
        IpAddr::V4(v4) => not_global_v4(v4).map(|what| (what, None)),
        IpAddr::V6(v6) => not_global_v6(v6),
    };
    match refusal {
        None => Ok(()),
        Some((what, embedded)) => Err(NotGlobal { address, what, embedded }),
    }
}

/// IPv4 ranges that are not global, most specific first (the first match names the refusal).
/// What they leave is allocated unicast space, so refusing them is allowing only global.
const NOT_GLOBAL_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "in \"this network\" (0.0.0.0/8)"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "carrier-grade NAT space (100.64.0.0/10)"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"), // cloud metadata services live here
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "reserved for IETF protocol assignments (192.0.0.0/24)"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "reserved for documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "the deprecated 6to4 relay anycast (192.88.99.0/24)"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "reserved for benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "reserved for documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "reserved for documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(255, 255, 255, 255), 32, "broadcast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved (240.0.0.0/4)"),
];

/// IPv6 ranges refused with a name, most specific first. Those outside 2000::/3 are refused
/// anyway; they are listed so the refusal says what the address is.
const NOT_GLOBAL_V6: &[(Ipv6Addr, u8, &str)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, "unspecified"),
    (Ipv6Addr::LOCALHOST, 128, "loopback"),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96, "IPv4-compatible (deprecated, never routed)"),
    (Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96, "IPv4-translated (obsolete, never routed)"),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, "local-use NAT64 (64:ff9b:1::/48)"),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, "discard-only (100::/64)"),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, "Teredo (2001::/32), refused whatever it embeds"),
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48, "reserved for benchmarking (2001:2::/48)"),
    (Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28, "ORCHID (2001:10::/28, deprecated)"),
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28, "ORCHIDv2 (2001:20::/28), an identifier, not a locator"),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, "reserved for IETF protocol assignments (2001::/23)"),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, "reserved for documentation (2001:db8::/32)"),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, "reserved for documentation (3fff::/20)"),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "unique local (fc00::/7)"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local (fec0::/10, deprecated)"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
];

const GLOBAL_UNICAST_V6: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
const NAT64_WELL_KNOWN: (Ipv6Addr, u8) = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
const SIX_TO_FOUR: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

/// What `ip` is if it is not global; `None` for a global address.
fn not_global_v4(ip: Ipv4Addr) -> Option<&'static str> {
    NOT_GLOBAL_V4.iter().find(|&&(network, prefix, _)| in_v4(ip, network, prefix)).map(|&(_, _, what)| what)
}

/// What `ip` is if it is not global, with the IPv4 address judged in its place if any;
/// `None` for a global address.
fn not_global_v6(ip: Ipv6Addr) -> Option<(&'static str, Option<Ipv4Addr>)> {
    if let Some(v4) = reached_ipv4(ip) {
        return not_global_v4(v4).map(|what| (what, Some(v4)));
    }
    if let Some(&(_, _, what)) = NOT_GLOBAL_V6.iter().find(|&&(network, prefix, _)| in_v6(ip, network, prefix)) {
        return Some((what, None));
    }
    let (global, prefix) = GLOBAL_UNICAST_V6;
    (!in_v6(ip, global, prefix)).then_some(("not global unicast (outside 2000::/3)", None))
}

/// The IPv4 address a connection to `ip` ends up at, for the forms that carry one to the
/// internet: IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d (the last 32 bits) and
/// 6to4 2002:aabb:ccdd::/48 (bits 16..48).
fn reached_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if in_v6(ip, NAT64_WELL_KNOWN.0, NAT64_WELL_KNOWN.1) {
        Some(Ipv4Addr::from_bits(bits as u32))
    } else if in_v6(ip, SIX_TO_FOUR.0, SIX_TO_FOUR.1) {
        Some(Ipv4Addr::from_bits((bits >> 80) as u32))
    } else {
        None
    }
}

fn in_v4(ip: Ipv4Addr, network: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    ip.to_bits() & mask == network.to_bits() & mask
}

fn in_v6(ip: Ipv6Addr, network: Ipv6Addr, prefix: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    ip.to_bits() & mask == network.to_bits() & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOBAL: Option<&str> = None;
    const LOOPBACK: Option<&str> = Some("loopback");
    const PRIVATE: Option<&str> = Some("private");
    const LINK_LOCAL: Option<&str> = Some("link-local");
    const DOCUMENTATION: Option<&str> = Some("reserved for documentation");
    const COMPATIBLE: Option<&str> = Some("IPv4-compatible (deprecated, never routed)");
    const TRANSLATED: Option<&str> = Some("IPv4-translated (obsolete, never routed)");
    const LOCAL_NAT64: Option<&str> = Some("local-use NAT64 (64:ff9b:1::/48)");
    const TEREDO: Option<&str> = Some("Teredo (2001::/32), refused whatever it embeds");
    const IETF_V6: Option<&str> = Some("reserved for IETF protocol assignments (2001::/23)");
    const OUTSIDE_2000_3: Option<&str> = Some("not global unicast (outside 2000::/3)");

    /// Every address with its verdict: `None` global, otherwise what it (or the IPv4
    /// address it carries) is.
    const VERDICTS: &[(&str, Option<&str>)] = &[
        // IPv4: global, including the neighbours of refused ranges.
        ("8.8.8.8", GLOBAL),
        ("149.154.167.220", GLOBAL),
        ("9.255.255.255", GLOBAL),
        ("11.0.0.0", GLOBAL),
        ("100.63.255.255", GLOBAL),
        ("100.128.0.1", GLOBAL),
        ("172.15.255.255", GLOBAL),
        ("172.32.0.1", GLOBAL),
        ("192.0.1.1", GLOBAL),
        ("192.31.196.1", GLOBAL),
        ("198.17.255.255", GLOBAL),
        ("198.20.0.1", GLOBAL),
        ("223.255.255.255", GLOBAL),
        // IPv4: every special-purpose range.
        ("0.0.0.0", Some("in \"this network\" (0.0.0.0/8)")),
        ("0.1.2.3", Some("in \"this network\" (0.0.0.0/8)")),
        ("10.1.2.3", PRIVATE),
        ("100.64.0.1", Some("carrier-grade NAT space (100.64.0.0/10)")),
        ("100.127.255.255", Some("carrier-grade NAT space (100.64.0.0/10)")),
        ("127.0.0.1", LOOPBACK),
        ("127.255.255.254", LOOPBACK),
        ("169.254.169.254", LINK_LOCAL),
        ("172.16.5.5", PRIVATE),
        ("172.31.255.255", PRIVATE),
        ("192.0.0.8", Some("reserved for IETF protocol assignments (192.0.0.0/24)")),
        ("192.0.2.10", DOCUMENTATION),
        ("192.88.99.1", Some("the deprecated 6to4 relay anycast (192.88.99.0/24)")),
        ("192.168.0.1", PRIVATE),
        ("198.18.0.1", Some("reserved for benchmarking")),
        ("198.19.255.255", Some("reserved for benchmarking")),
        ("198.51.100.7", DOCUMENTATION),
        ("203.0.113.9", DOCUMENTATION),
        ("224.0.0.1", Some("multicast")),
        ("239.255.255.250", Some("multicast")),
        ("240.0.0.1", Some("reserved (240.0.0.0/4)")),
        ("255.255.255.254", Some("reserved (240.0.0.0/4)")),
        ("255.255.255.255", Some("broadcast")),
        // IPv6: global unicast, including the neighbours of refused ranges.
        ("2001:4860:4860::8888", GLOBAL),
        ("2606:4700:4700::1111", GLOBAL),
        ("2a00:1450:4001:80b::200e", GLOBAL),
        ("2001:200::1", GLOBAL),
        ("2001:db9::1", GLOBAL),
        ("3ffe:ffff::1", GLOBAL),
        // IPv4-mapped ::ffff:a.b.c.d: judged as the IPv4 address.
        ("::ffff:127.0.0.1", LOOPBACK),
        ("::ffff:10.0.0.1", PRIVATE),
        ("::ffff:169.254.169.254", LINK_LOCAL),
        ("::ffff:0.0.0.0", Some("in \"this network\" (0.0.0.0/8)")),
        ("::ffff:8.8.8.8", GLOBAL),
        // IPv4-translated ::ffff:0:a.b.c.d: refused whatever it carries.
        ("::ffff:0:127.0.0.1", TRANSLATED),
        ("::ffff:0:10.0.0.1", TRANSLATED),
        ("::ffff:0:8.8.8.8", TRANSLATED),
        // IPv4-compatible ::a.b.c.d: refused whatever it carries.
        ("::127.0.0.1", COMPATIBLE),
        ("::8.8.8.8", COMPATIBLE),
        // NAT64 well-known prefix 64:ff9b::/96: judged as the IPv4 address.
        ("64:ff9b::10.0.0.1", PRIVATE),
        ("64:ff9b::127.0.0.1", LOOPBACK),
        ("64:ff9b::169.254.169.254", LINK_LOCAL),
        ("64:ff9b::8.8.8.8", GLOBAL),
        // Local-use NAT64 64:ff9b:1::/48: refused whatever it carries.
        ("64:ff9b:1::10.0.0.1", LOCAL_NAT64),
        ("64:ff9b:1::8.8.8.8", LOCAL_NAT64),
        // 6to4 2002:aabb:ccdd::/48: judged as the IPv4 address in bits 16..48.
        ("2002:a00:1::", PRIVATE),
        ("2002:7f00:1::1", LOOPBACK),
        ("2002:a9fe:a9fe::1", LINK_LOCAL),
        ("2002:c058:6301::1", Some("the deprecated 6to4 relay anycast (192.88.99.0/24)")),
        ("2002:808:808::1", GLOBAL),
        // Teredo 2001::/32 (server IPv4 in bits 32..64, client IPv4 inverted in the last 32):
        // refused whatever it carries. Client 192.0.2.45; client 10.0.0.1; server 10.0.0.1;
        // server 65.54.227.120 and client 8.8.8.8, both global.
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", TEREDO),
        ("2001:0:4136:e378::f5ff:fffe", TEREDO),
        ("2001:0:a00:1::f7f7:f7f7", TEREDO),
        ("2001:0:4136:e378::f7f7:f7f7", TEREDO),
        // The rest of 2001::/23 and the documentation prefixes.
        ("2001:1::1", IETF_V6),
        ("2001:1ff:ffff::1", IETF_V6),
        ("2001:2::1", Some("reserved for benchmarking (2001:2::/48)")),
        ("2001:10::1", Some("ORCHID (2001:10::/28, deprecated)")),
        ("2001:20::1", Some("ORCHIDv2 (2001:20::/28), an identifier, not a locator")),
        ("2001:db8::1", Some("reserved for documentation (2001:db8::/32)")),
        ("3fff::1", Some("reserved for documentation (3fff::/20)")),
        ("3fff:fff:ffff::1", Some("reserved for documentation (3fff::/20)")),
        // Outside 2000::/3.
        ("::", Some("unspecified")),
        ("::1", LOOPBACK),
        ("100::1", Some("discard-only (100::/64)")),
        ("fc00::1", Some("unique local (fc00::/7)")),
        ("fd00::1", Some("unique local (fc00::/7)")),
        ("fe80::1", LINK_LOCAL),
        ("febf:ffff::1", LINK_LOCAL),
        ("fec0::1", Some("site-local (fec0::/10, deprecated)")),
        ("ff02::1", Some("multicast")),
        ("ff0e::1", Some("multicast")),
        ("1::1", OUTSIDE_2000_3),
        ("100:0:0:1::1", OUTSIDE_2000_3),
        ("4000::1", OUTSIDE_2000_3),
        ("5f00::1", OUTSIDE_2000_3),
    ];

    #[test]
    fn only_global_unicast_is_allowed_and_embedded_ipv4_is_judged_as_ipv4() {
        let wrong: Vec<String> = VERDICTS
            .iter()
            .filter_map(|&(text, expected)| {
                let address: IpAddr = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
                let verdict = check_global(address).err().map(|refusal| refusal.what);
                (verdict != expected).then(|| format!("{text}: expected {expected:?}, got {verdict:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
    }

    #[test]
    fn a_refusal_names_the_address_and_the_ipv4_address_judged_in_its_place() {
        let refusal = |text: &str| check_global(text.parse().unwrap()).unwrap_err().to_string();
        assert_eq!(refusal("::ffff:127.0.0.1"), "::ffff:127.0.0.1 is loopback (IPv4 127.0.0.1 embedded)");
        assert_eq!(refusal("64:ff9b::10.0.0.1"), "64:ff9b::a00:1 is private (IPv4 10.0.0.1 embedded)");
        assert_eq!(refusal("2002:a00:1::"), "2002:a00:1:: is private (IPv4 10.0.0.1 embedded)");
        assert_eq!(refusal("169.254.169.254"), "169.254.169.254 is link-local");
        assert_eq!(refusal("fd00::1"), "fd00::1 is unique local (fc00::/7)");
    }
}
