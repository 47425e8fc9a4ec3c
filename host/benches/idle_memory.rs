//! Resident memory of `switchboard serve` with the nine first-party plugins loaded and nothing
//! to do: after a cold start (empty data folder, every plugin compiled) and after a warm one
//! (the same folder again, compilations cached), each measured 5 s after `/readyz` answered
//! 200, with how long that took. Run: `cargo bench -p switchboard --bench idle_memory`.
//!
//! What an idle server keeps varies from start to start by a few MiB (the file pages of the code
//! serving faulted back in, see `resident.rs`), more than a cold start differs from a warm one. So
//! the bench measures `IDLE_MEMORY_PAIRS` pairs (default 3), a cold start and then a warm one in
//! a fresh data folder each, and ends with the medians and cold ÷ warm, in all and of the
//! anonymous memory alone (the heap, which start-up work could leave behind).
//! `IDLE_MEMORY_BEFORE=<another switchboard binary>` measures that one too, in the same run,
//! alternating with this one pair by pair: a change's before and after.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = write!(stream, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// (seconds until ready, the `/proc/<pid>/status` lines that say what is resident).
fn start_and_measure(bin: &str, data: &std::path::Path) -> (f64, Vec<String>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !ready(port) {
        assert!(started.elapsed() < Duration::from_secs(120), "the server did not get ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    let ready_after = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(5));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let resident = status.lines().filter(|l| ["VmRSS", "RssAnon", "RssFile", "RssShmem"].iter().any(|k| l.starts_with(k))).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    child.kill().unwrap();
    child.wait().unwrap();
    (ready_after, resident)
}

/// One reading of `/proc/<pid>/status`: its `Vm*`/`Rss*` line named `key`, in KiB.
fn kib(resident: &[String], key: &str) -> u64 {
    resident
        .iter()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {resident:?}"))
}

/// One binary's readings after one kind of start, a pair at a time (KiB).
#[derive(Default)]
struct Readings {
    rss: Vec<u64>,
    anonymous: Vec<u64>,
}

fn median(mut values: Vec<u64>) -> f64 {
    values.sort_unstable();
    let n = values.len();
    if n % 2 == 1 { values[n / 2] as f64 } else { (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0 }
}

fn main() {
    let mut binaries = vec![("this build", BIN.to_owned())];
    if let Ok(before) = std::env::var("IDLE_MEMORY_BEFORE") {
        binaries.insert(0, ("before", before));
    }
    let pairs: usize = std::env::var("IDLE_MEMORY_PAIRS").ok().and_then(|n| n.parse().ok()).filter(|&n| n > 0).unwrap_or(3);
    // Per binary: after its cold starts, and after its warm ones.
    let mut readings: Vec<[Readings; 2]> = binaries.iter().map(|_| Default::default()).collect();
    println!("switchboard serve, nine first-party plugins, idle 5 s after ready, {pairs} cold and warm pairs:");
    for pair in 1..=pairs {
        for ((name, bin), kept) in binaries.iter().zip(&mut readings) {
            let data = tempfile::tempdir().unwrap();
            for (start, readings) in ["cold (empty data folder)", "warm (compilations cached)"].into_iter().zip(kept.iter_mut()) {
                let (ready_after, resident) = start_and_measure(bin, data.path());
                readings.rss.push(kib(&resident, "VmRSS"));
                readings.anonymous.push(kib(&resident, "RssAnon"));
                println!("  {pair}: {name:<10} {start:<28} ready after {ready_after:.2} s; {}", resident.join(", "));
            }
        }
    }
    println!("medians of the {pairs} pairs:");
    for ((name, _), [cold, warm]) in binaries.iter().zip(readings) {
        let colder = cold.rss.iter().zip(&warm.rss).filter(|(cold, warm)| cold <= warm).count();
        let (cold_rss, warm_rss, cold_anon, warm_anon) = (median(cold.rss), median(warm.rss), median(cold.anonymous), median(warm.anonymous));
        println!(
            "  {name:<10} cold {:.1} MiB (anonymous {:.1}), warm {:.1} MiB (anonymous {:.1}); cold ÷ warm {:.3}x (anonymous {:.3}x); cold <= warm in {colder} of {pairs} pairs",
            cold_rss / 1024.0,
            cold_anon / 1024.0,
            warm_rss / 1024.0,
            warm_anon / 1024.0,
            cold_rss / warm_rss,
            cold_anon / warm_anon,
        );
    }
}
