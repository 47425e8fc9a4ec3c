//! What one operator app's callback costs against channels' own webhooks (Messenger): Meta
//! batches entries of many Pages into one POST, and the app's callback verifies and parses it
//! in one plugin instance, where per-channel webhooks take one instance per Page. In the same
//! run: the native baseline (HMAC check + parse of the same batch in Rust).
//! Run: `cargo bench -p switchboard --bench provider_app`. Medians of batches; compare ratios.

mod support;

use support::measure;

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard::runtime::types::{AppContext, ChannelContext, HttpRequest};
use switchboard::runtime::{HostServices, Limits, Runtime};

const APP_SECRET: &str = "9f3c2b1a0d8e7f6a5b4c3d2e1f0a9b8c";
/// Pages in one batch.
const PAGES: usize = 10;

fn entry(page: usize) -> Value {
    let page_id = format!("1047293829{page:05}");
    json!({"id": page_id, "time": 1763600000000u64, "messaging": [{
        "sender": {"id": format!("65123840712{page:05}")}, "recipient": {"id": page_id}, "timestamp": 1763600000000u64,
        "message": {"mid": format!("m_AG5Hm8aXz0p{page}"), "text": "Halo kak, apakah pesanan saya nomor 10293 sudah dikirim? Terima kasih."}
    }]})
}

fn signed(body: &[u8]) -> HttpRequest {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    HttpRequest {
        method: "POST".into(),
        path: String::new(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-hub-signature-256".into(), format!("sha256={}", hex::encode(mac.finalize().into_bytes()))),
        ],
        body: body.to_vec(),
    }
}

/// The native baseline: the signature check and a parse of every entry's messages.
fn native(request: &HttpRequest) -> usize {
    use subtle::ConstantTimeEq;
    let given = request.headers[1].1.strip_prefix("sha256=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(&request.body);
    assert!(bool::from(hex::encode(mac.finalize().into_bytes()).as_bytes().ct_eq(given.as_bytes())));
    let delivery: Value = serde_json::from_slice(&request.body).unwrap();
    let mut texts = 0;
    for entry in delivery["entry"].as_array().unwrap() {
        for item in entry["messaging"].as_array().unwrap() {
            let tagged = (entry["id"].as_str().unwrap().to_owned(), item["sender"]["id"].as_str().unwrap().to_owned(), item["message"]["text"].as_str().map(str::to_owned));
            texts += std::hint::black_box(tagged).2.map_or(0, |t| t.len());
        }
    }
    texts
}



fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let runtime = Runtime::new(Limits::default(), Vec::new(), HostServices::none(), None).unwrap();
    let (_, bytes) = switchboard::plugins::FIRST_PARTY_PLUGINS.iter().find(|(name, _)| name.contains("messenger")).expect("messenger is built in");
    let plugin = rt.block_on(runtime.load(bytes.to_vec())).unwrap();

    let batch = signed(json!({"object": "page", "entry": (0..PAGES).map(entry).collect::<Vec<_>>()}).to_string().as_bytes());
    let app = AppContext {
        callback_url: "https://example.test/webhooks/apps/messenger".into(),
        verify_token: "bench-verify-token".into(),
        settings: vec![("app_id".into(), "1517394850012345".into()), ("app_secret".into(), APP_SECRET.into())],
    };
    let singles: Vec<(ChannelContext, HttpRequest)> = (0..PAGES)
        .map(|page| {
            let entry = entry(page);
            let ctx = ChannelContext {
                channel_id: format!("ch_bench{page}"),
                webhook_url: format!("https://example.test/webhooks/ch_bench{page}"),
                webhook_secret: "bench-verify-token".into(),
                settings: vec![
                    ("page_id".into(), entry["id"].as_str().unwrap().to_owned()),
                    ("page_access_token".into(), "EAAPbench".into()),
                    ("app_secret".into(), APP_SECRET.into()),
                ],
            };
            (ctx, signed(json!({"object": "page", "entry": [entry]}).to_string().as_bytes()))
        })
        .collect();
    let outcome = rt.block_on(plugin.handle_app_webhook(&app, &batch)).expect("the batch is accepted");
    assert_eq!(outcome.events.len(), PAGES, "one message per Page");
    for (ctx, request) in &singles {
        assert_eq!(rt.block_on(plugin.handle_webhook(ctx, request)).unwrap().events.len(), 1);
    }

    let app_callback = measure(21, 20, || {
        rt.block_on(plugin.handle_app_webhook(&app, &batch)).unwrap();
    });
    let per_channel = measure(21, 2, || {
        for (ctx, request) in &singles {
            rt.block_on(plugin.handle_webhook(ctx, request)).unwrap();
        }
    });
    let natively = measure(21, 2_000, || {
        native(&batch);
    });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("Messenger: {PAGES} Pages' messages ({} byte batch), medians of 21 batches:", batch.body.len());
    println!("  one app callback POST (one instance):        {:>9.2} µs", us(app_callback));
    println!("  {PAGES} channel webhook POSTs ({PAGES} instances):    {:>9.2} µs", us(per_channel));
    println!("  natively in Rust (verify + parse the batch): {:>9.2} µs", us(natively));
    println!("  ratio app callback / native:                 {:>9.1}x", app_callback.as_secs_f64() / natively.as_secs_f64());
    println!("  ratio channel webhooks / app callback:       {:>9.1}x", per_channel.as_secs_f64() / app_callback.as_secs_f64());
}
