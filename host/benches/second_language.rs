//! The JavaScript example plugin (`plugins-js/telegram-js`, componentize-js) against the Rust
//! Telegram plugin doing the same work, in the same run: component size, compile time (cold,
//! no cache), instance memory and the per-call cost of one webhook (verify + parse, a fresh
//! instance per call), with the native baseline. Builds the JS component first when missing
//! (Node.js and npm). Run: `cargo bench -p switchboard --bench second_language`.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::measure;
use switchboard::runtime::{HostServices, Limits, Runtime};

const SECRET: &str = "Zq8Yc2mN4pR7sT1vW3xA5bD6fG9hJ0kL";

fn js_component() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("target/js-plugins/telegram-js.wasm");
    if !out.is_file() {
        let status = Command::new("bash").arg(root.join("plugins-js/telegram-js/build.sh")).arg(&out).status().expect("bash runs");
        assert!(status.success(), "building the JavaScript plugin failed");
    }
    std::fs::read(out).unwrap()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (_, rust) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(name, _)| name.contains("telegram")).expect("telegram is built in");
    let js = js_component();
    let body = serde_json::json!({
        "update_id": 912345678,
        "message": {"message_id": 4321, "from": {"id": 424242, "is_bot": false, "first_name": "Siti", "last_name": "Rahma", "username": "sitirahma"},
                    "chat": {"id": 424242, "type": "private"}, "date": 1763600000, "text": "Halo kak, apakah pesanan saya nomor 10293 sudah dikirim?"}
    })
    .to_string()
    .into_bytes();
    let (ctx, request) = support::telegram::channel_and_delivery(SECRET, &body);
    let natively = measure(31, 20_000, || {
        let update: serde_json::Value = serde_json::from_slice(&body).unwrap();
        std::hint::black_box(update["message"]["text"].as_str().map(str::len));
    });
    println!("telegram webhook verify + parse, Rust plugin vs JavaScript plugin (medians of batches):");
    println!("  natively in Rust:                {:>10.2} µs", natively.as_secs_f64() * 1e6);
    let mut per_call = Vec::new();
    for (name, bytes) in [("Rust (plugins/telegram)", rust.to_vec()), ("JavaScript (plugins-js/telegram-js)", js)] {
        let runtime = Runtime::new(Limits::default(), Vec::new(), HostServices::none(), None).unwrap();
        let size = bytes.len();
        let started = Instant::now();
        let plugin = Arc::new(rt.block_on(runtime.load(bytes)).unwrap());
        let compile = started.elapsed();
        let outcome = rt.block_on(plugin.handle_webhook(&ctx, &request)).expect("the bench update is accepted");
        assert_eq!(outcome.events.len(), 1, "{name}");
        let call = measure(15, 40, || {
            rt.block_on(plugin.handle_webhook(&ctx, &request)).unwrap();
        });
        per_call.push(call);
        println!("  {name}:");
        println!("    component size:                {:>10.1} KiB", size as f64 / 1024.0);
        println!("    cold compile + load:           {:>10.0} ms", compile.as_secs_f64() * 1e3);
        println!("    one webhook through the host:  {:>10.2} µs, {:.1}x native", call.as_secs_f64() * 1e6, call.as_secs_f64() / natively.as_secs_f64());
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("  JavaScript per call / Rust per call: {:.1}x", ratio(per_call[1], per_call[0]));
}
