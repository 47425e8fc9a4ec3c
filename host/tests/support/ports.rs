//! Ports for the servers tests start as processes (`switchboard serve`, Postgres).

use std::sync::atomic::{AtomicU32, Ordering};

/// How many ports below the kernel's ephemeral range the tests draw from.
const SPAN: u32 = 10_000;

/// A free loopback port, below the kernel's ephemeral range (`ip_local_port_range`): no port-0
/// bind and no outgoing connection is given one there, so nothing else takes it between this
/// check and the server's own bind, or while a stopped server is started again on it. Each is
/// handed out once per process (its tests run in parallel), from a start that differs by
/// process. Where the range leaves no room below it, any free port.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(0);
    if ephemeral_start >= 1024 + SPAN {
        let first = ephemeral_start - SPAN;
        let offset = std::process::id().wrapping_mul(97);
        for _ in 0..SPAN {
            let port = (first + offset.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN) as u16;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
