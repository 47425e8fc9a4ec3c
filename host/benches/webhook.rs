//! Per-webhook cost of Telegram verify + parse: through the host (a fresh plugin instance per
//! call, as in production) against the same work done natively in Rust, in the same run.
//! Each with wasmtime's pooling defaults, with the kept-resident memory wiped whole, and with
//! the host's tuning ([`PoolTuning`]: only the pages a call dirtied reset), one caller and two
//! at once. Then a send through the host with the provider answered in-process (a double, as
//! the test kit answers): the other call made at the rate of traffic. Run:
//! `cargo bench -p switchboard --bench webhook`. Figures are medians of batches; the ratio is
//! what to compare across machines.

mod support;

use support::measure;

use std::sync::Arc;
use std::time::Instant;

use switchboard::runtime::doubles::{DoubleMail, DoubleRequest, DoubleResponse, ImportDoubles};
use switchboard::runtime::types::{OutboundContent, OutboundMessage, WindowState};
use switchboard::runtime::{HostServices, Limits, PoolTuning, Runtime};

const SECRET: &str = "Zq8Yc2mN4pR7sT1vW3xA5bD6fG9hJ0kL";

fn update_body() -> Vec<u8> {
    serde_json::json!({
        "update_id": 912345678,
        "message": {
            "message_id": 4321,
            "from": {"id": 424242, "is_bot": false, "first_name": "Siti", "last_name": "Rahma", "username": "sitirahma", "language_code": "id"},
            "chat": {"id": 424242, "first_name": "Siti", "last_name": "Rahma", "username": "sitirahma", "type": "private"},
            "date": 1763600000,
            "text": "Halo kak, apakah pesanan saya nomor 10293 sudah dikirim? Terima kasih."
        }
    })
    .to_string()
    .into_bytes()
}

// The native baseline reads the same fields the plugin reads (`support::telegram`).
use support::telegram::Update;

fn native(secret_header: &str, body: &[u8]) -> usize {
    use subtle::ConstantTimeEq;
    assert!(bool::from(secret_header.as_bytes().ct_eq(SECRET.as_bytes())));
    let update: Update = serde_json::from_slice(body).unwrap();
    let message = update.message.unwrap();
    let name = message.from.map(|f| format!("{} {}", f.first_name, f.last_name.unwrap_or_default()));
    std::hint::black_box((update.update_id.to_string(), message.chat.id.to_string(), name, message.text)).3.map_or(0, |t| t.len())
}



fn main() {
    // The server's allocator settings (`switchboard serve` sets them first thing too).
    switchboard::heap::for_start_up();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (_, bytes) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(name, _)| name.contains("telegram")).expect("telegram is built in");
    let body = update_body();
    let (ctx, request) = support::telegram::channel_and_delivery(SECRET, &body);
    // And as it serves once its plugins are in (freed pages kept a while for reuse).
    switchboard::heap::after_start_up();
    let natively = measure(31, 20_000, || {
        native(SECRET, &body);
    });
    println!("telegram webhook verify + parse ({} byte update), medians of 31 batches:", body.len());
    println!("  natively in Rust (same checks and fields):  {:>9.2} µs", natively.as_secs_f64() * 1e6);
    // The pool's way of wiping a slot between calls: wasmtime's default against ours.
    // Earlier tuning, kept to show what the scan bought: the kept 1 MiB wiped whole with `memset`.
    let wipe_whole = PoolTuning { pagemap_scan: false, ..PoolTuning::default() };
    for (name, pool) in [
        ("wasmtime's pool defaults", PoolTuning::WASMTIME_DEFAULTS),
        ("kept 1 MiB wiped whole (memset)", wipe_whole),
        ("switchboard's pool tuning (dirty pages only)", PoolTuning::default()),
    ] {
        let runtime = Runtime::new(Limits { pool, ..Limits::default() }, Vec::new(), HostServices::none(), None).unwrap();
        let compile_started = Instant::now();
        let plugin = Arc::new(rt.block_on(runtime.load(bytes.to_vec())).unwrap());
        let compile = compile_started.elapsed();
        let outcome = rt.block_on(plugin.handle_webhook(&ctx, &request)).expect("the bench update is accepted");
        assert_eq!(outcome.events.len(), 1);
        let through_host = measure(31, 200, || {
            rt.block_on(plugin.handle_webhook(&ctx, &request)).unwrap();
        });
        // Two callers at once on the two cores, as concurrent webhooks run.
        let calls = 4000;
        let started = Instant::now();
        rt.block_on(async {
            let callers: Vec<_> = (0..2)
                .map(|_| {
                    let (plugin, ctx, request) = (plugin.clone(), ctx.clone(), request.clone());
                    tokio::spawn(async move {
                        for _ in 0..calls / 2 {
                            plugin.handle_webhook(&ctx, &request).await.unwrap();
                        }
                    })
                })
                .collect();
            for caller in callers {
                caller.await.unwrap();
            }
        });
        let per_second = calls as f64 / started.elapsed().as_secs_f64();
        println!("  {name}:");
        println!("    through the host (fresh instance per call): {:>9.2} µs, {:.1}x native", through_host.as_secs_f64() * 1e6, through_host.as_secs_f64() / natively.as_secs_f64());
        println!("    two callers at once:                        {per_second:>9.0} calls/s");
        println!("    (cold compile of the component: {:.0} ms, {} KiB)", compile.as_secs_f64() * 1e3, bytes.len() / 1024);
    }
    send(&rt, bytes);
}

/// The Bot API's `sendMessage`, answered at once in-process.
struct BotApi;

impl ImportDoubles for BotApi {
    fn http(&self, request: DoubleRequest) -> Result<DoubleResponse, String> {
        assert!(request.url.ends_with("/sendMessage"), "the bench sends text: {}", request.url);
        let body = br#"{"ok":true,"result":{"message_id":4322,"date":1763600001,"chat":{"id":424242,"type":"private"},"text":"Sudah kak"}}"#;
        Ok(DoubleResponse { status: 200, headers: vec![("content-type".into(), "application/json".into())], body: body.to_vec() })
    }
    fn smtp(&self, _: DoubleMail) -> Result<(), String> {
        Err("the bench sends no mail".into())
    }
    fn log(&self, _: &'static str, _: &str) {}
}

fn send(rt: &tokio::runtime::Runtime, component: &[u8]) {
    let services = HostServices { doubles: Some(Arc::new(BotApi)), ..HostServices::none() };
    let runtime = Runtime::new(Limits::default(), Vec::new(), services, None).unwrap();
    let plugin = rt.block_on(runtime.load(component.to_vec())).unwrap();
    let (ctx, _) = support::telegram::channel_and_delivery(SECRET, b"{}");
    let message = OutboundMessage {
        message_id: "4321".into(),
        conversation_id: "424242".into(),
        recipient: "424242".into(),
        content: OutboundContent::Text("Sudah kak, pesanan nomor 10293 dikirim hari ini. Terima kasih!".into()),
        reply_to: None,
        last_inbound: None,
        window: WindowState::Open,
        attempt: 1,
    };
    let receipt = rt.block_on(plugin.send(&ctx, &message)).expect("the double's answer is a sent message");
    assert_eq!(receipt.provider_message_id, "4322");
    let through_host = measure(31, 200, || {
        rt.block_on(plugin.send(&ctx, &message)).unwrap();
    });
    println!("telegram send through the host, the Bot API answered in-process (switchboard's pool tuning):");
    println!("  fresh instance per call, the request built and the answer read: {:>9.2} µs", through_host.as_secs_f64() * 1e6);
}
