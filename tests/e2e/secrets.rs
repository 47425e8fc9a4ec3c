//! Secret-key rotation while serving: webhooks keep being verified (their secrets are sealed)
//! through the swap, every sealed value opens with the new key afterwards (also from a fresh
//! start), and the old key no longer opens the data dir, which says so plainly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::json;
use switchboard::store::Db;
use switchboard_e2e::{PATIENCE, TestHost};

use crate::telegram::{GOOD_TOKEN, connect, host_and_fake, registered_secret, text_update};

/// Waits until the load has sent more than ten webhooks beyond the first `from`.
async fn more_than_ten_sent_after(host: &TestHost, sent: &AtomicU64, from: u64) {
    host.eventually(PATIENCE, || async { (sent.load(Ordering::Relaxed) > from + 10).then_some(()) }).await.expect("the webhook load runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_key_under_webhook_load_leaves_everything_readable_and_the_old_key_useless() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap().to_owned();
    let secret = registered_secret(&fake);
    let app_secret = "9f3c2b1a0d8e7f6a5b4c3d2e1f0a9b8c";
    let settings = json!({"settings": {"app_id": "1517394850012345", "app_secret": app_secret}});
    let (status, _) = host.call(reqwest::Method::PUT, "/api/v1/plugins/messenger/app", Some(&host.operator), Some(settings)).await;
    assert_eq!(status, 200);
    let key_file = host.data_path().join("secret.key");
    let old_key = std::fs::read(&key_file).unwrap();

    let (stop, sent, refused) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (http, url, secret, stop, sent, refused) =
            (host.http.clone(), format!("{}/webhooks/{id}", host.base), secret.clone(), stop.clone(), sent.clone(), refused.clone());
        tokio::spawn(async move {
            let mut update = 1000;
            while !stop.load(Ordering::Relaxed) {
                update += 1;
                let response = http
                    .post(&url)
                    .header("x-telegram-bot-api-secret-token", &secret)
                    .header("content-type", "application/json")
                    .body(text_update(update, 424242, "masih ada?").to_string())
                    .send()
                    .await
                    .unwrap();
                sent.fetch_add(1, Ordering::Relaxed);
                if response.status() != 200 {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    // Webhooks flow before the rotation and after it, counted rather than timed.
    more_than_ten_sent_after(&host, &sent, 0).await;
    let (status, _) = host.post("/api/v1/secrets/rotate", &host.admin, json!({})).await;
    assert_eq!(status, 403, "rotation is the operator's");
    let (status, rotated) = host.post("/api/v1/secrets/rotate", &host.operator, json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    more_than_ten_sent_after(&host, &sent, sent.load(Ordering::Relaxed)).await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    assert!(sent.load(Ordering::Relaxed) > 20, "the load ran through the rotation");
    assert_eq!(refused.load(Ordering::Relaxed), 0, "no webhook failed during the rotation");
    // Channel settings, its webhook secret, the app's settings and verify token at least.
    assert!(rotated["resealed"].as_u64().unwrap() >= 4, "{rotated}");
    assert_ne!(std::fs::read(&key_file).unwrap(), old_key, "a new key file");

    let (status, app) = host.get("/api/v1/plugins/messenger/app", &host.operator).await;
    assert_eq!((status, app["settings"]["app_id"].as_str()), (200, Some("1517394850012345")), "{app}");
    let data_dir = host.data_path().to_path_buf();
    let keep = tempfile::tempdir().unwrap();
    // Keep the data dir past the host (its temp dir goes with it): copy what matters.
    for file in ["switchboard.db", "switchboard.db-wal", "secret.key"] {
        if data_dir.join(file).exists() {
            std::fs::copy(data_dir.join(file), keep.path().join(file)).unwrap();
        }
    }
    host.stop().await;

    let db = Db::open(keep.path()).expect("the new key opens the data dir");
    let channel = switchboard::store::backend::ChannelStore::channel(&db, &id, switchboard::store::Scope::Every).await.unwrap().unwrap();
    assert_eq!(channel.settings["bot_token"], GOOD_TOKEN, "sealed settings open after a fresh start");
    assert!(switchboard::store::backend::IntegrationStore::provider_app(&db, "messenger").await.unwrap().is_some());
    drop(db);
    std::fs::write(keep.path().join("secret.key"), &old_key).unwrap();
    let refused = Db::open(keep.path()).err().expect("the old key is refused at start");
    assert!(refused.to_string().contains("is not the key this database's secrets were sealed with"), "{refused}");
}
