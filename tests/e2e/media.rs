//! Media in: customers' files downloaded through their channel's plugin after the webhook was
//! stored, kept by their SHA-256 with the type sniffed from the bytes, served to the people of
//! the workspace only (pictures in place with ranges, everything else as a download, never
//! sniffed or run), failures recorded with the reason, and deleted with their channel.

use std::time::Duration;

use reqwest::header;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard::store::Db;
use switchboard::store::model::Role;
use switchboard_e2e::fake_telegram::FakeTelegram;
use switchboard_e2e::fake_whatsapp_cloud::{FakeGraph, PHONE_NUMBER_ID};
use switchboard_e2e::{HostOptions, PATIENCE, TestHost, conversations, messages};

use crate::telegram::{GOOD_TOKEN, connect as connect_telegram, registered_secret};
use crate::whatsapp_cloud::{APP_SECRET, CUSTOMER, TOKEN, connect as connect_cloud, deliver, envelope, now_seconds};

/// A PNG's first bytes (what the type is told by), then bytes of no meaning.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    bytes.extend((0..len).map(|i| (i * 7 % 251) as u8));
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The attachment's `file` once its download settled (stored or failed).
async fn settled_file(host: &TestHost, conversation: i64, message: usize, attachment: usize) -> Value {
    let settled = host
        .eventually(PATIENCE, || async {
            let list = messages(host, conversation).await;
            let file = list.get(message)?["content"]["attachments"][attachment]["file"].clone();
            (file["state"] == "stored" || file["state"] == "failed").then_some(file)
        })
        .await;
    match settled {
        Some(file) => file,
        None => panic!("the download did not settle: {:#}", json!(messages(host, conversation).await)),
    }
}

async fn download(host: &TestHost, url: &str, token: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = host.http.get(format!("{}{url}", host.base)).bearer_auth(token);
    if let Some(range) = range {
        request = request.header(header::RANGE, range);
    }
    request.send().await.unwrap()
}

fn telegram_photo(update_id: i64, file_id: &str) -> String {
    json!({"update_id": update_id, "message": {
        "message_id": update_id + 100, "from": {"id": 77, "is_bot": false, "first_name": "Budi"}, "chat": {"id": 77, "type": "private"},
        "date": 1_763_600_100, "caption": "paketnya rusak",
        "photo": [{"file_id": format!("{file_id}-small"), "file_unique_id": "s", "width": 90, "height": 90},
                  {"file_id": file_id, "file_unique_id": "l", "width": 1280, "height": 960}]
    }})
    .to_string()
}

async fn telegram_host(media_max_mb: Option<u64>) -> (TestHost, FakeTelegram, String, String) {
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![fake.authority.clone()], media_max_mb, ..Default::default() }).await;
    let channel = connect_telegram(&host, &fake).await["id"].as_str().unwrap().to_owned();
    let secret = registered_secret(&fake);
    (host, fake, channel, secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_photo_is_kept_by_its_hash_served_in_place_with_ranges_and_only_to_its_workspace() {
    let (host, fake, channel, secret) = telegram_host(None).await;
    let photo = png(300_000);
    fake.add_file("AgACphoto1", "photos/file_12.jpg", &photo);
    let (status, _) = host.webhook(&channel, &[("x-telegram-bot-api-secret-token", &secret)], telegram_photo(40, "AgACphoto1")).await;
    assert_eq!(status, 200);
    let conversation = conversations(&host).await[0]["id"].as_i64().unwrap();
    let file = settled_file(&host, conversation, 0, 0).await;
    assert_eq!(file["state"], "stored", "{file}");
    assert_eq!(file["sha256"], sha256(&photo));
    assert_eq!(file["size"], photo.len());
    // Telegram says `application/octet-stream`: the bytes say PNG.
    assert_eq!(file["mime_type"], "image/png");

    let url = file["url"].as_str().unwrap();
    let whole = download(&host, url, &host.agent, None).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(whole.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(whole.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("inline"));
    assert_eq!(whole.bytes().await.unwrap().as_ref(), photo.as_slice());

    let part = download(&host, url, &host.agent, Some("bytes=100-199")).await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()[header::CONTENT_RANGE], format!("bytes 100-199/{}", photo.len()));
    assert_eq!(part.bytes().await.unwrap().as_ref(), &photo[100..200]);
    let beyond = download(&host, url, &host.agent, Some(&format!("bytes={}-", photo.len() + 10))).await;
    assert_eq!(beyond.status(), 416);
    assert_eq!(beyond.headers()[header::CONTENT_RANGE], format!("bytes */{}", photo.len()), "the length, to ask again");
    let beyond: serde_json::Value = beyond.json().await.unwrap();
    assert_eq!(beyond["error"], "range_not_satisfiable", "{beyond}");

    // Another business's people get 404, as for a file that does not exist.
    let (status, other) = host.post("/api/v1/workspaces", &host.operator, json!({"name": "Warung Siti"})).await;
    assert_eq!(status, 201, "{other}");
    let stranger = Db::open(host.data_path()).unwrap().create_token(Role::Admin, other["id"].as_i64()).unwrap();
    let refused = download(&host, url, &stranger, None).await;
    assert_eq!(refused.status(), 404);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "not_found", "{body}");
    assert_eq!(download(&host, "/api/v1/media/999999", &host.admin, None).await.status(), 404);

    // The plugin asked Telegram where the file is; the host fetched it with the bot's token.
    let asked = fake.calls("getFile");
    assert_eq!(asked.len(), 1, "one file, one getFile");
    assert_eq!(asked[0].body["file_id"], "AgACphoto1", "the largest photo size");

    // A redelivery of the same update neither stores the message again nor fetches again.
    let (status, _) = host.webhook(&channel, &[("x-telegram-bot-api-secret-token", &secret)], telegram_photo(40, "AgACphoto1")).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.calls("getFile").len(), 1);

    // Disconnecting the channel deletes its conversations and their files.
    let stored_at = host.data_path().join("media").join(&sha256(&photo)[..2]).join(sha256(&photo));
    assert!(stored_at.exists(), "kept under the data dir by its hash");
    let deleted = host.http.delete(format!("{}/api/v1/channels/{channel}", host.base)).bearer_auth(&host.admin).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert!(!stored_at.exists(), "the file went with its channel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_limit_and_one_telegram_will_not_give_are_recorded_as_failed_with_the_reason() {
    let (host, fake, channel, secret) = telegram_host(Some(1)).await;
    fake.add_file("big", "documents/file_1.pdf", &png(1_200_000));
    fake.add_file("huge", "documents/file_2.pdf", &png(21 << 20));
    for (update, file_id) in [(50, "big"), (51, "huge")] {
        let (status, _) = host.webhook(&channel, &[("x-telegram-bot-api-secret-token", &secret)], telegram_photo(update, file_id)).await;
        assert_eq!(status, 200);
    }
    let conversation = conversations(&host).await[0]["id"].as_i64().unwrap();
    let big = settled_file(&host, conversation, 0, 0).await;
    assert_eq!((big["state"].as_str(), big["error"].as_str()), (Some("failed"), Some("the file is larger than the 1 MB limit")), "{big}");
    let huge = settled_file(&host, conversation, 1, 0).await;
    assert_eq!(huge["state"], "failed", "{huge}");
    assert!(huge["error"].as_str().unwrap().contains("file is too big"), "Telegram's reason: {huge}");
    let refused = download(&host, big["url"].as_str().unwrap(), &host.admin, None).await;
    assert_eq!(refused.status(), 404);
    let body: Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("larger than the 1 MB limit"), "{body}");
    assert_eq!(std::fs::read_dir(host.data_path().join("media/incoming")).unwrap().count(), 0, "nothing half-written is left");
}

fn cloud_media(id: &str, kind: &str, media_id: &str, mime_type: &str, filename: Option<&str>) -> Value {
    let mut media = json!({"id": media_id, "mime_type": mime_type, "sha256": "ignored"});
    if let Some(name) = filename {
        media["filename"] = json!(name);
    }
    json!({
        "contacts": [{"profile": {"name": "Siti Rahma"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": id, "timestamp": now_seconds().to_string(), "type": kind, kind: media}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_media_is_fetched_with_the_token_typed_by_its_bytes_and_an_expired_one_fails() {
    let graph = FakeGraph::start(TOKEN, APP_SECRET).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![graph.authority.clone()], ..Default::default() }).await;
    let channel = connect_cloud(&host, &graph).await["id"].as_str().unwrap().to_owned();
    let photo = png(5_000);
    let page = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>".to_vec();
    // Meta says JPEG; the bytes are a PNG. The "document" is an HTML page.
    graph.add_media("1001", &photo, "image/jpeg");
    graph.add_media("1002", &page, "text/html");
    graph.add_media("1003", &png(10), "image/jpeg");
    graph.expire_media("1003");
    for (id, kind, media_id, mime, name) in [("wamid.M1", "image", "1001", "image/jpeg", None), ("wamid.M2", "document", "1002", "text/html", Some("invoice.html")), ("wamid.M3", "image", "1003", "image/jpeg", None)] {
        let (status, body) = deliver(&host, &channel, APP_SECRET, &envelope(PHONE_NUMBER_ID, cloud_media(id, kind, media_id, mime, name))).await;
        assert_eq!(status, 200, "{body}");
    }
    let conversation = conversations(&host).await[0]["id"].as_i64().unwrap();

    let image = settled_file(&host, conversation, 0, 0).await;
    assert_eq!((image["state"].as_str(), image["mime_type"].as_str()), (Some("stored"), Some("image/png")), "{image}");
    assert_eq!(image["sha256"], sha256(&photo));

    let document = settled_file(&host, conversation, 1, 0).await;
    assert_eq!(document["state"], "stored", "{document}");
    let served = download(&host, document["url"].as_str().unwrap(), &host.admin, None).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()[header::CONTENT_TYPE], "text/html");
    assert_eq!(served.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(served.headers()[header::CONTENT_DISPOSITION], "attachment; filename=\"invoice.html\"; filename*=UTF-8''invoice.html");
    assert!(served.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("sandbox"));
    assert_eq!(served.bytes().await.unwrap().as_ref(), page.as_slice());

    let expired = settled_file(&host, conversation, 2, 0).await;
    assert_eq!(expired["state"], "failed", "{expired}");
    assert_eq!(expired["error"], "gone at the provider (HTTP 404): it expired or was deleted");

    // Each download asked Graph for the URL with the token, then fetched it with the token.
    let lookups = graph.calls("GET", "1001");
    assert!(!lookups.is_empty(), "the media id was looked up");
    assert_eq!(lookups[0].authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(lookups[0].query.get("phone_number_id").map(String::as_str), Some(PHONE_NUMBER_ID));
}

/// A PDF's first bytes, then bytes of no meaning.
fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec();
    bytes.extend((0..len).map(|i| (i * 13 % 241) as u8));
    bytes
}

/// Uploads `bytes` as an agent would; the file's JSON.
async fn upload(host: &TestHost, token: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (u16, Value) {
    let response = host
        .http
        .post(format!("{}/api/v1/media?filename={filename}", host.base))
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, content_type)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn sent(host: &TestHost, conversation: i64, message: i64) -> Value {
    switchboard_e2e::until_status(host, conversation, message, "sent").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_pdf_reaches_telegram_by_a_signed_link_with_the_same_bytes_and_a_wrong_link_gets_nothing() {
    let (host, fake, channel, secret) = telegram_host(Some(2)).await;
    fake.fetch_links(switchboard_e2e::PUBLIC_URL, &host.base);
    let (status, _) = host.webhook(&channel, &[("x-telegram-bot-api-secret-token", &secret)], crate::telegram::text_update(60, 77, "Minta fakturnya kak")).await;
    assert_eq!(status, 200);
    let conversation = conversations(&host).await[0]["id"].as_i64().unwrap();

    let invoice = pdf(40_000);
    let (status, file) = upload(&host, &host.agent, "faktur-001.pdf", "application/octet-stream", &invoice).await;
    assert_eq!(status, 201, "{file}");
    assert_eq!((file["mime_type"].as_str(), file["filename"].as_str(), file["sha256"].as_str()), (Some("application/pdf"), Some("faktur-001.pdf"), Some(sha256(&invoice).as_str())));
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"file_id": file["id"], "text": "Ini fakturnya"})).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["content"]["attachments"][0]["file"]["sha256"], sha256(&invoice), "the inbox shows the file at once: {queued}");
    sent(&host, conversation, queued["id"].as_i64().unwrap()).await;

    let document = fake.calls("sendDocument");
    assert_eq!(document.len(), 1);
    assert_eq!(document[0].body["caption"], "Ini fakturnya");
    let link = document[0].body["document"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("{}/media/", switchboard_e2e::PUBLIC_URL)), "{link}");
    let downloaded = fake.downloaded_links();
    assert_eq!(downloaded.len(), 1);
    assert_eq!((downloaded[0].0.as_str(), sha256(&downloaded[0].1)), (link.as_str(), sha256(&invoice)), "Telegram got the same bytes");

    // A link with another signature, or naming another file, serves nothing.
    let path = link.trim_start_matches(switchboard_e2e::PUBLIC_URL);
    let mut parts: Vec<String> = path.split('/').map(str::to_owned).collect();
    let signature = parts[5].clone();
    parts[5] = format!("{}{}", &signature[..signature.len() - 1], if signature.ends_with('0') { '1' } else { '0' });
    let forged = host.http.get(format!("{}{}", host.base, parts.join("/"))).send().await.unwrap();
    assert_eq!(forged.status(), 404);
    parts[5] = signature;
    parts[3] = (file["id"].as_i64().unwrap() + 1000).to_string();
    assert_eq!(host.http.get(format!("{}{}", host.base, parts.join("/"))).send().await.unwrap().status(), 404);

    // Over the limit (2 MB here): refused before anything is kept.
    let (status, refused) = upload(&host, &host.agent, "video.mp4", "video/mp4", &pdf(2 << 20)).await;
    assert_eq!(status, 413, "{refused}");
    assert_eq!(refused["message"], "the file is larger than the 2 MB limit");
    // Unknown files and empty requests get a clear 4xx.
    let (status, body) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"file_id": 987654})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("unknown_file")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_without_media_refuses_a_file_before_queueing_it() {
    let host = TestHost::start(HostOptions { extra_plugins: vec![switchboard_e2e::test_plugin(env!("ECHO_V1_WASM"))], ..Default::default() }).await;
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo", "settings": {}})).await;
    assert_eq!(status, 201, "{channel}");
    assert_eq!(host.webhook(channel["id"].as_str().unwrap(), &[], json!({"id": "p1", "text": "halo"}).to_string()).await.0, 200);
    let conversation = conversations(&host).await[0]["id"].as_i64().unwrap();
    let (status, file) = upload(&host, &host.agent, "a.pdf", "application/pdf", &pdf(100)).await;
    assert_eq!(status, 201, "{file}");
    let (status, body) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"file_id": file["id"]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["message"], "Echo channels cannot send files");
    assert_eq!(messages(&host, conversation).await.len(), 1, "nothing was queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_pdf_reaches_whatsapp_as_a_document_link_and_line_as_a_link_in_text() {
    // WhatsApp Cloud: a `document` with the link and the file name.
    let graph = FakeGraph::start(TOKEN, APP_SECRET).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![graph.authority.clone()], ..Default::default() }).await;
    graph.fetch_links(switchboard_e2e::PUBLIC_URL, &host.base);
    let (_, conversation) = crate::whatsapp_cloud::conversation_with_customer(&host, &graph, 60).await;
    let invoice = pdf(30_000);
    let (status, file) = upload(&host, &host.agent, "faktur.pdf", "application/pdf", &invoice).await;
    assert_eq!(status, 201, "{file}");
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"file_id": file["id"], "text": "Fakturnya kak"})).await;
    assert_eq!(status, 202, "{queued}");
    sent(&host, conversation, queued["id"].as_i64().unwrap()).await;
    let send = graph.sends().pop().unwrap();
    assert_eq!(send.body["type"], "document", "{}", send.body);
    assert_eq!((send.body["document"]["filename"].as_str(), send.body["document"]["caption"].as_str()), (Some("faktur.pdf"), Some("Fakturnya kak")));
    let downloaded = graph.downloaded_links();
    assert_eq!(downloaded.len(), 1);
    assert_eq!(downloaded[0].0, send.body["document"]["link"].as_str().unwrap());
    assert_eq!(sha256(&downloaded[0].1), sha256(&invoice), "Meta got the same bytes");

    // LINE: no file message; the link goes in a text.
    let (host, line) = crate::line::host_and_fake().await;
    line.fetch_links(switchboard_e2e::PUBLIC_URL, &host.base);
    let channel = crate::line::connect(&host, &line).await;
    let event = crate::line::text_event("01MEDIAOUT", crate::line::user(crate::line::SITI), "Fakturnya mana kak?", None, crate::line::now_ms());
    let conversation = crate::line::customer_writes(&host, &channel, event).await;
    let (status, file) = upload(&host, &host.agent, "faktur.pdf", "application/pdf", &invoice).await;
    assert_eq!(status, 201, "{file}");
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"file_id": file["id"]})).await;
    assert_eq!(status, 202, "{queued}");
    sent(&host, conversation, queued["id"].as_i64().unwrap()).await;
    let downloaded = line.downloaded_links();
    assert_eq!(downloaded.len(), 1, "the fake followed the link in the text");
    assert_eq!(sha256(&downloaded[0].1), sha256(&invoice), "the customer gets the same bytes");
}

/// A real 1×1 PNG (browsers decode it).
fn tiny_png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
        .unwrap()
}

/// One second of 8 kHz mono 8-bit PCM silence, as a WAV file (browsers play it).
fn one_second_wav() -> Vec<u8> {
    let samples = 8000u32;
    let mut wav = Vec::new();
    wav.extend(b"RIFF");
    wav.extend((36 + samples).to_le_bytes());
    wav.extend(b"WAVEfmt ");
    wav.extend(16u32.to_le_bytes());
    wav.extend(1u16.to_le_bytes()); // PCM
    wav.extend(1u16.to_le_bytes()); // mono
    wav.extend(8000u32.to_le_bytes());
    wav.extend(8000u32.to_le_bytes()); // bytes per second
    wav.extend(1u16.to_le_bytes()); // block align
    wav.extend(8u16.to_le_bytes()); // bits per sample
    wav.extend(b"data");
    wav.extend(samples.to_le_bytes());
    wav.extend(std::iter::repeat_n(128u8, samples as usize));
    wav
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_the_inbox_shows_the_photo_plays_the_voice_note_and_an_agent_attaches_a_pdf() {
    use base64::Engine;
    let graph = FakeGraph::start(TOKEN, APP_SECRET).await;
    let host = TestHost::start(HostOptions { allow_outbound: vec![graph.authority.clone()], ..Default::default() }).await;
    graph.fetch_links(switchboard_e2e::PUBLIC_URL, &host.base);
    let (channel, conversation) = crate::whatsapp_cloud::conversation_with_customer(&host, &graph, 60).await;
    graph.add_media("2001", &tiny_png(), "image/png");
    graph.add_media("2002", &one_second_wav(), "audio/ogg");
    graph.add_media("2003", &png(10), "image/jpeg");
    graph.expire_media("2003");
    for (id, kind, media_id, mime) in [("wamid.P1", "image", "2001", "image/png"), ("wamid.A1", "audio", "2002", "audio/ogg"), ("wamid.X1", "image", "2003", "image/jpeg")] {
        let (status, body) = deliver(&host, &channel, APP_SECRET, &envelope(PHONE_NUMBER_ID, cloud_media(id, kind, media_id, mime, None))).await;
        assert_eq!(status, 200, "{body}");
    }
    for message in 1..=3 {
        settled_file(&host, conversation, message, 0).await;
    }
    let invoice = pdf(20_000);
    let output = switchboard_e2e::browser::run_script(
        "media.mjs",
        &[
            ("BASE", host.base.clone()),
            ("ADMIN_TOKEN", host.admin.clone()),
            ("CONVERSATION", conversation.to_string()),
            ("PDF_B64", base64::engine::general_purpose::STANDARD.encode(&invoice)),
        ],
    )
    .await;
    assert!(output.contains("media: ok"), "{output}");
    let downloaded = graph.downloaded_links();
    assert_eq!(downloaded.len(), 1, "the attached file was offered to WhatsApp once");
    assert_eq!(sha256(&downloaded[0].1), sha256(&invoice), "the file chosen in the browser reached the provider unchanged");
    let send = graph.sends().pop().unwrap();
    assert_eq!((send.body["type"].as_str(), send.body["document"]["filename"].as_str()), (Some("document"), Some("faktur-001.pdf")), "{}", send.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_premises_messenger_and_x_files_arrive_with_their_own_authentication() {
    // WhatsApp On-Premises: `GET /v1/media/{id}` with the (login) bearer token.
    let (host, client) = crate::whatsapp_onprem::host_and_client().await;
    crate::whatsapp_onprem::connect(&host, &client).await;
    let voice = one_second_wav();
    client.add_media("f043afd0-a0b1-4c2d-9e8f-0a1b2c3d4e5f", &voice, "audio/ogg; codecs=opus");
    let body = json!({
        "contacts": [{"profile": {"name": "Siti Rahma"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": "ABGGFlA5FpafAgo6EhhwRS", "timestamp": now_seconds().to_string(), "type": "voice",
                      "voice": {"id": "f043afd0-a0b1-4c2d-9e8f-0a1b2c3d4e5f", "mime_type": "audio/ogg; codecs=opus"}}]
    });
    assert_eq!(crate::whatsapp_onprem::deliver(&host, &client, &body).await, 200);
    let conversation = conversations(&host).await[0]["id"].as_i64().unwrap();
    let file = settled_file(&host, conversation, 0, 0).await;
    assert_eq!((file["state"].as_str(), file["mime_type"].as_str()), (Some("stored"), Some("audio/x-wav")), "{file}");
    assert_eq!(file["sha256"], sha256(&voice));
    let fetched = client.calls("GET", "/v1/media/f043afd0-a0b1-4c2d-9e8f-0a1b2c3d4e5f");
    assert!(fetched[0].authorization.as_deref().is_some_and(|a| a.starts_with("Bearer ")), "with the API client's token");

    // Messenger: the webhook's CDN URL, downloaded at once; an expired one fails with the reason.
    let (host, meta) = crate::messenger::host_and_fake().await;
    let channel = crate::messenger::connect(&host, &meta).await["id"].as_str().unwrap().to_owned();
    let photo = png(2_000);
    let url = meta.add_cdn_file("t39.1997-6/851557_1.jpg", &photo);
    let gone = meta.add_cdn_file("t39.1997-6/851557_2.jpg", &png(5));
    meta.expire_cdn_file("t39.1997-6/851557_2.jpg");
    let message = json!({"mid": "m_photo1", "attachments": [
        {"type": "image", "payload": {"url": url}},
        {"type": "image", "payload": {"url": gone}}
    ]});
    let body = meta.customer_writes(crate::messenger::PAGE_ID, crate::messenger::SITI, message, switchboard_e2e::fake_meta::now_ms());
    assert_eq!(crate::messenger::deliver(&host, &channel, &body).await, 200);
    let conversation = conversations(&host).await[0]["id"].as_i64().unwrap();
    let kept = settled_file(&host, conversation, 0, 0).await;
    assert_eq!((kept["state"].as_str(), kept["sha256"].as_str()), (Some("stored"), Some(sha256(&photo).as_str())), "{kept}");
    let expired = settled_file(&host, conversation, 0, 1).await;
    assert_eq!(expired["error"], "gone at the provider (HTTP 404): it expired or was deleted", "{expired}");

    // X: the DM's media URL answers only a request signed with OAuth 1.0a as the account.
    let (host, x) = crate::twitter::host_and_fake().await;
    let channel = crate::twitter::connect(&host, &x).await;
    let picture = png(3_000);
    let url = x.add_dm_media("1864001", "1864002", &picture);
    let mut event = crate::twitter::dm("1864001", crate::twitter::SITI, "lihat ini https://t.co/abc");
    event["message_create"]["message_data"]["attachment"] = json!({"type": "media", "media": {"id_str": "1864002", "media_url_https": url, "type": "photo"}});
    assert_eq!(crate::twitter::deliver(&host, &channel, &crate::twitter::delivery(vec![event])).await, 200);
    let conversation = conversations(&host).await[0]["id"].as_i64().unwrap();
    let file = settled_file(&host, conversation, 0, 0).await;
    assert_eq!((file["state"].as_str(), file["sha256"].as_str()), (Some("stored"), Some(sha256(&picture).as_str())), "{file}");
    assert_eq!(x.media_downloads(), (1, 0), "one signed download, none refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_photo_reaches_messenger_by_a_signed_link_with_the_same_bytes() {
    use crate::messenger::{PAGE_ID, SITI};
    let (host, meta) = crate::messenger::host_and_fake().await;
    meta.fetch_links(switchboard_e2e::PUBLIC_URL, &host.base);
    let channel = crate::messenger::connect(&host, &meta).await["id"].as_str().unwrap().to_owned();
    let conversation = crate::messenger::customer_writes(&host, &meta, &channel, PAGE_ID, SITI, "m_media_1", switchboard_e2e::fake_meta::now_ms()).await;
    let photo = tiny_png();
    let (status, file) = upload(&host, &host.agent, "contoh.png", "image/png", &photo).await;
    assert_eq!(status, 201, "{file}");
    let (status, queued) = host.post(&format!("/api/v1/conversations/{conversation}/messages"), &host.agent, json!({"file_id": file["id"], "text": "Seperti ini kak"})).await;
    assert_eq!(status, 202, "{queued}");
    sent(&host, conversation, queued["id"].as_i64().unwrap()).await;
    let downloaded = meta.downloaded_links();
    assert_eq!(downloaded.len(), 1, "Meta fetched the image once");
    assert_eq!(sha256(&downloaded[0].1), sha256(&photo));
    assert!(downloaded[0].0.starts_with(&format!("{}/media/", switchboard_e2e::PUBLIC_URL)), "{}", downloaded[0].0);
}
