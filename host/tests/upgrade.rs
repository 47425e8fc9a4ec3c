//! An upgrade in place: what the last release wrote (`fixtures/release-04db791`, made by
//! `fixtures/make-release-data-dir.sh` with that release's binary) served by this build: a SQLite data dir (schema
//! 13) and a Postgres database (schema 3, its `pg_dump`). Each holds a website chat channel, a visitor's text and
//! photo, an agent's text and file reply, an admin token and a person with a password. Everything stored before
//! reads back as it was: channel settings sealed by the old key, messages with their content (stored as JSON by the
//! release, typed now), files by their bytes, the token, the password; and new replies are sent.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::postgres::Postgres;
use support::{Server, json_of, request, request_with, status_of};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/release-04db791");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURE).join(name)).unwrap().trim().to_owned()
}

fn get(port: u16, token: &str, path: &str) -> Value {
    let response = request(port, "GET", path, Some(token), None).unwrap();
    assert_eq!(status_of(&response), 200, "GET {path}: {response}");
    json_of(&response)
}

/// A file's bytes from the API (binary: not read as text).
fn download(port: u16, token: &str, path: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    response[split + 4..].to_vec()
}

#[test]
fn a_data_dir_of_the_last_release_is_served_with_everything_it_held() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["switchboard.db", "secret.key"] {
        std::fs::copy(Path::new(FIXTURE).join(name), dir.path().join(name)).unwrap();
    }
    copy_dir(&Path::new(FIXTURE).join("media"), &dir.path().join("media"));
    let server = Server::start(dir.path(), &[]);
    served_as_before(&server, &fixture_text("admin.token"), &fixture_text("channel.id"));
}

#[test]
fn a_postgres_database_of_the_last_release_is_served_with_everything_it_held() {
    let postgres = Postgres::start();
    let url = postgres.create_database("release");
    postgres.load("release", &Path::new(FIXTURE).join("postgres.sql"));
    // The node's data dir holds the key the release's nodes shared.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(Path::new(FIXTURE).join("postgres.secret.key"), dir.path().join("secret.key")).unwrap();
    let server = Server::start(dir.path(), &[("SWITCHBOARD_DATABASE_URL", &url)]);
    served_as_before(&server, &fixture_text("postgres.admin.token"), &fixture_text("postgres.channel.id"));
}

/// What the release stored, read through this build's API; then a new reply sent.
fn served_as_before(server: &Server, admin: &str, channel: &str) {
    server.wait_ready();
    let port = server.port;

    // The channel, its settings opened with the release's key.
    let channels = get(port, admin, "/api/v1/channels");
    let listed = channels.as_array().unwrap().iter().find(|c| c["id"] == channel).unwrap_or_else(|| panic!("{channels}"));
    assert_eq!((listed["plugin"].as_str(), listed["status"].as_str()), (Some("webchat"), Some("active")), "{listed}");
    assert_eq!(listed["settings"]["domain"]["value"], "tokobudi.co.id", "{listed}");

    // The conversation's four messages, each with the content the release stored.
    let conversations = get(port, admin, "/api/v1/conversations");
    let conversation = conversations[0]["id"].as_i64().unwrap_or_else(|| panic!("{conversations}"));
    let messages = get(port, admin, &format!("/api/v1/conversations/{conversation}/messages"));
    let by_text = |text: &str| messages.as_array().unwrap().iter().find(|m| m["text"] == text).cloned().unwrap_or_else(|| panic!("no `{text}` in {messages}"));
    let hello = by_text("Halo, paket saya belum sampai");
    assert_eq!((hello["direction"].as_str(), hello["content"].clone()), (Some("inbound"), serde_json::json!({})), "{hello}");
    let photo = by_text("Begini kondisinya");
    let attachment = &photo["content"]["attachments"][0];
    assert_eq!((attachment["kind"].as_str(), attachment["filename"].as_str(), attachment["mime_type"].as_str()), (Some("image"), Some("paket.png"), Some("image/png")), "{photo}");
    let photo_file = attachment["file"]["id"].as_i64().unwrap_or_else(|| panic!("the photo's file: {photo}"));
    assert_eq!(download(port, admin, &format!("/api/v1/media/{photo_file}")), std::fs::read(Path::new(FIXTURE).join("photo.png")).unwrap());
    let reply = by_text("Baik kak, kami cek dulu");
    assert_eq!((reply["direction"].as_str(), reply["status"].as_str()), (Some("outbound"), Some("sent")), "{reply}");
    let invoice = by_text("Ini fakturnya");
    assert_eq!(invoice["content"]["media"]["kind"], "document", "{invoice}");
    assert_eq!(invoice["content"]["media"]["filename"], "invoice.pdf", "{invoice}");
    let invoice_file = invoice["content"]["attachments"][0]["file"]["id"].as_i64().unwrap_or_else(|| panic!("the invoice's file: {invoice}"));
    assert_eq!(download(port, admin, &format!("/api/v1/media/{invoice_file}")), std::fs::read(Path::new(FIXTURE).join("invoice.pdf")).unwrap());

    // The person invited then signs in with the password set under the release.
    let signed_in = request_with(port, "POST", "/api/v1/session", &[], r#"{"username":"sari@tokobudi.co.id","password":"kata-sandi-panjang-sekali"}"#).unwrap();
    assert_eq!(status_of(&signed_in), 200, "{signed_in}");

    // New work goes on beside the old: a reply in the same conversation is queued and sent.
    let sent = request(port, "POST", &format!("/api/v1/conversations/{conversation}/messages"), Some(admin), Some(r#"{"text":"Sudah dikirim hari ini"}"#)).unwrap();
    assert_eq!(status_of(&sent), 202, "queued: {sent}");
    let id = json_of(&sent)["id"].as_i64().unwrap();
    support::wait_for(
        || {
            let messages = get(port, admin, &format!("/api/v1/conversations/{conversation}/messages"));
            messages.as_array().unwrap().iter().any(|m| m["id"] == id && m["status"] == "sent").then_some(())
        },
        || format!("the new reply was not sent\n{}", server.log.lock().unwrap()),
    );
}
