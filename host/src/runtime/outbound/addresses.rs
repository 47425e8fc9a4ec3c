//! Where a plugin may connect: the table of addresses a declared host must not resolve to,
//! and the resolver seam (the system's DNS in production; an attacker's answers in tests).

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

/// An address a declared host must not resolve to: anything not plainly on the public
/// internet (IANA's special-purpose registries), IPv4 embedded in IPv6 judged as the IPv4.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network", 0.0.0.0/8
        || a == 10 // private
        || a == 100 && (b & 0xc0) == 64 // carrier-grade NAT, 100.64.0.0/10
        || a == 127 // loopback
        || a == 169 && b == 254 // link-local (cloud metadata services)
        || a == 172 && (b & 0xf0) == 16 // private
        || a == 192 && b == 0 && c == 0 // IETF protocol assignments, 192.0.0.0/24
        || a == 192 && b == 0 && c == 2 // documentation (TEST-NET-1)
        || a == 192 && b == 88 && c == 99 // 6to4 relay anycast
        || a == 192 && b == 168 // private
        || a == 198 && (b & 0xfe) == 18 // benchmarking, 198.18.0.0/15
        || a == 198 && b == 51 && c == 100 // documentation (TEST-NET-2)
        || a == 203 && b == 0 && c == 113 // documentation (TEST-NET-3)
        || a >= 224 // multicast 224.0.0.0/4, reserved 240.0.0.0/4, broadcast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded = |high: u16, low: u16| Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4); // ::ffff:a.b.c.d
    }
    if s[..6] == [0; 6] {
        return true; // ::, ::1 and IPv4-compatible ::a.b.c.d (deprecated, never routed)
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_internal_v4(embedded(s[6], s[7])); // NAT64 well-known prefix 64:ff9b::/96
    }
    if s[0] == 0x2002 {
        return is_internal_v4(embedded(s[1], s[2])); // 6to4 2002:a.b.c.d::/48
    }
    s[0] == 0x64 && s[1] == 0xff9b // local-use NAT64 64:ff9b:1::/48
        || s[0] == 0x100 && s[1..4] == [0, 0, 0] // discard-only 100::/64
        || s[0] == 0x2001 && s[1] == 0 // Teredo 2001::/32 (embeds an obfuscated IPv4)
        || s[0] == 0x2001 && s[1] == 0xdb8 // documentation
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised_in_every_form() {
        let internal = [
            "127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.5", "172.31.255.255", "169.254.169.254", "100.64.0.1", "0.0.0.0",
            "0.1.2.3", "192.0.0.8", "198.18.0.1", "198.19.255.255", "240.0.0.1", "255.255.255.255", "224.0.0.1", "192.0.2.10",
            "::", "::1", "fd00::1", "fe80::1", "fec0::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1",
            "::8.8.8.8", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::1", "2002:7f00:1::", "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1", "100::1",
        ];
        for ip in internal {
            assert!(is_internal(ip.parse().unwrap()), "{ip} is internal");
        }
        let public = ["149.154.167.220", "8.8.8.8", "172.32.0.1", "100.128.0.1", "198.20.0.1", "2001:4860:4860::8888", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"];
        for ip in public {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} is public");
        }
    }
}
