//! Resident memory of `switchboard serve` with the nine first-party plugins loaded and nothing
//! to do: after a cold start (empty data folder, every plugin compiled) and after a warm one
//! (the same folder again, compilations cached), each measured 5 s after `/readyz` answered
//! 200, with how long that took. Run: `cargo bench -p switchboard --bench idle_memory`.
//! `IDLE_MEMORY_BEFORE=<another switchboard binary>` measures that one too, in the same run,
//! alternating with this one (each in a data folder of its own): a change's before and after.

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

fn main() {
    let mut binaries = vec![("this build", BIN.to_owned())];
    if let Ok(before) = std::env::var("IDLE_MEMORY_BEFORE") {
        binaries.insert(0, ("before", before));
    }
    let folders: Vec<_> = binaries.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    println!("switchboard serve, nine first-party plugins, idle 5 s after ready:");
    for start in ["cold (empty data folder)", "warm (compilations cached)"] {
        for ((name, bin), data) in binaries.iter().zip(&folders) {
            let (ready_after, resident) = start_and_measure(bin, data.path());
            println!("  {name:<10} {start:<28} ready after {ready_after:.2} s; {}", resident.join(", "));
        }
    }
}
