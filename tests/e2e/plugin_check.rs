//! `switchboard plugin check`: every first-party plugin passes; a component that is no plugin,
//! one that accepts deliveries without their credentials, one that traps and one that hangs
//! each fail the rule they break; the author's fixtures are replayed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use switchboard::plugins::FIRST_PARTY_PLUGINS;
use switchboard::plugins::call::{CallOptions, call};
use switchboard::plugins::check::check;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn first_party(package: &str) -> &'static [u8] {
    FIRST_PARTY_PLUGINS.iter().find(|(p, _)| *p == package).unwrap_or_else(|| panic!("no built-in {package}")).1
}

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_first_party_plugin_passes_the_conformance_check() {
    let dir = tempfile::tempdir().unwrap();
    for (package, bytes) in FIRST_PARTY_PLUGINS {
        let file = write(dir.path(), &format!("{package}.wasm"), bytes);
        let report = check(&file, None, &[], LIMIT).await.unwrap_or_else(|report| panic!("{package} fails the check:\n{report}"));
        assert!(report.ends_with("PASS (7 checks)\n"), "{report}");
        assert!(report.contains("ok    fuzz of malformed requests: 200 requests, every answer typed"), "{report}");
        println!("{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_plugins_fail_the_rule_they_break() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "core.wasm", b"\0asm\x01\0\0\0");
    let report = check(&junk, None, &[], LIMIT).await.unwrap_err();
    assert!(report.contains("FAIL  loads: not a WebAssembly component"), "{report}");

    // Traps on every webhook and send: out of memory.
    let hostile = Path::new(env!("HOSTILE_WASM"));
    let memory = [("mode".to_owned(), "memory".to_owned())];
    let report = check(hostile, None, &memory, LIMIT).await.unwrap_err();
    assert!(report.contains("FAIL  send, provider unreachable: no typed answer"), "{report}");
    assert!(report.contains("FAIL  fuzz of malformed requests: request 0"), "{report}");

    // Never answers: the time limit (short, as each looping check waits it out, yet far above
    // what the calls that answer take on a loaded machine).
    let endless = [("mode".to_owned(), "loop".to_owned())];
    let report = check(hostile, None, &endless, Duration::from_secs(2)).await.unwrap_err();
    assert!(report.contains("FAIL  unsigned webhook refused: no typed answer"), "{report}");
    assert!(report.lines().last() == Some("FAIL (3 of 7 checks)"), "{report}");

    // Accepts a delivery however it comes: its fixture shows it.
    let fixtures = dir.path().join("echo-fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    let ping = json!({"request": {"method": "POST", "headers": {"content-type": "application/json"}, "body": {"id": "p1", "text": "halo"}}, "expect": "accept"});
    write(&fixtures, "ping.json", ping.to_string().as_bytes());
    let report = check(Path::new(env!("ECHO_V1_WASM")), Some(&fixtures), &[], LIMIT).await.unwrap_err();
    assert!(report.contains("FAIL  fixtures: ping.json: accepted with its signature, secret and query taken away"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authors_fixtures_are_replayed_and_a_wrong_expectation_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = write(dir.path(), "telegram.wasm", first_party("switchboard-telegram"));
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    let secret = "S3cretTokenFromSetWebhook";
    let update = json!({"update_id": 7, "message": {"message_id": 1, "from": {"id": 5, "is_bot": false, "first_name": "Siti"}, "chat": {"id": 5, "type": "private"}, "date": 1_763_600_000, "text": "halo"}});
    let delivery = |token: &str, expect: &str| json!({"request": {"method": "POST", "headers": {"content-type": "application/json", "x-telegram-bot-api-secret-token": token}, "body": update}, "webhook_secret": secret, "expect": expect});
    write(&fixtures, "signed.json", delivery(secret, "accept").to_string().as_bytes());
    write(&fixtures, "forged.json", delivery("guessed", "refuse").to_string().as_bytes());
    let report = check(&telegram, Some(&fixtures), &[], LIMIT).await.unwrap_or_else(|r| panic!("{r}"));
    assert!(report.contains("ok    fixtures: 2 of 2 as expected"), "{report}");

    // Not as expected, either way: what it expected, what the plugin answered, and the hint
    // that a fixture must be in the plugin's own provider's format.
    write(&fixtures, "wrong.json", delivery("guessed", "accept").to_string().as_bytes());
    let report = check(&telegram, Some(&fixtures), &[], LIMIT).await.unwrap_err();
    assert!(report.contains("FAIL  fixtures: wrong.json: expected \"accept\", the plugin refused it (the provider refused the credentials: missing or wrong secret token)"), "{report}");
    assert!(report.contains("\n      hint: a fixture is one delivery exactly as your provider sends it") && report.contains("`switchboard serve --record-webhooks DIR`"), "{report}");
    write(&fixtures, "x-unwanted.json", delivery(secret, "refuse").to_string().as_bytes());
    write(&fixtures, "y-typo.json", delivery(secret, "accepted").to_string().as_bytes());
    let report = check(&telegram, Some(&fixtures), &[], LIMIT).await.unwrap_err();
    assert!(report.contains("; x-unwanted.json: expected \"refuse\", the plugin accepted it (HTTP 200, 1 event(s))"), "{report}");
    assert!(report.contains("; y-typo.json: \"expect\" must be \"accept\" or \"refuse\", not \"accepted\""), "{report}");
}

/// An author's plugin whose webhooks are not the example provider's (here Telegram's), checked
/// with the fixtures `plugin new` wrote: the signed ones fail by name, saying they are the example
/// provider's and what the plugin answered, with the hint to replace it; never silence or a PASS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scaffolds_fixtures_against_another_format_fail_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("sms-gateway");
    let created = switchboard::plugins::scaffold::create("sms-gateway", Some(crate_dir.as_path()), None).unwrap();
    assert!(created.contains("replace fixtures/*.json with your provider's deliveries"), "{created}");
    let telegram = write(dir.path(), "telegram.wasm", first_party("switchboard-telegram"));
    let report = check(&telegram, Some(&crate_dir.join("fixtures")), &[], LIMIT).await.unwrap_err();
    assert!(
        report.contains(
            "FAIL  fixtures: message.json (written by `plugin new` for its example provider: HMAC-SHA256 of the body in `x-signature`): \
             expected \"accept\", the plugin refused it ("
        ),
        "{report}"
    );
    assert!(
        report.contains("; tap.json (written by `plugin new` for its example provider: HMAC-SHA256 of the body in `x-signature`): expected \"accept\""),
        "the button tap is the example provider's too: {report}"
    );
    assert!(!report.contains("forged.json"), "the forged one is refused by any plugin, as it expects: {report}");
    assert!(report.contains("\n      hint: a fixture is one delivery exactly as your provider sends it"), "{report}");
    assert!(report.lines().last() == Some("FAIL (1 of 8 checks)"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_call_runs_one_export_on_a_fixture_and_prints_what_it_answered() {
    use switchboard_e2e::fake_telegram::FakeTelegram;
    let dir = tempfile::tempdir().unwrap();
    let telegram = write(dir.path(), "telegram.wasm", first_party("switchboard-telegram"));
    let secret = "S3cretTokenFromSetWebhook";
    let settings = [("webhook_secret".to_owned(), secret.to_owned())];
    let update = json!({"update_id": 7, "message": {"message_id": 1, "from": {"id": 5, "is_bot": false, "first_name": "Siti"}, "chat": {"id": 5, "type": "private"}, "date": 1_763_600_000, "text": "halo"}});
    let signed = json!({"headers": {"X-Telegram-Bot-Api-Secret-Token": secret, "content-type": "application/json"}, "body": update});
    let (answer, answered) = run(&telegram, "handle-webhook", Some(signed), &settings, &[]).await.unwrap();
    assert!(answered, "{answer}");
    let message = &answer["ok"]["events"][0]["Message"];
    assert_eq!((message["text"].as_str(), message["conversation"].as_str(), message["provider_message_id"].as_str()), (Some("halo"), Some("5"), Some("7")), "{answer:#}");
    let forged = json!({"headers": {"x-telegram-bot-api-secret-token": "guess"}, "body": update});
    let (answer, _) = run(&telegram, "handle-webhook", Some(forged), &settings, &[]).await.unwrap();
    assert!(answer["refused"]["Unauthorized"].is_string(), "{answer}");

    // `send` reaches the provider it is allowed to (here the fake Bot API) and prints the receipt.
    let fake = FakeTelegram::start(crate::telegram::GOOD_TOKEN).await;
    let settings = [("bot_token".to_owned(), crate::telegram::GOOD_TOKEN.to_owned()), ("api_base_url".to_owned(), fake.base_url.clone())];
    let (answer, answered) = run(&telegram, "send", Some(json!({"recipient": "5", "text": "Sudah dikirim"})), &settings, &[fake.authority.clone()]).await.unwrap();
    assert!(answered && answer["ok"]["provider_message_id"].is_string(), "{answer}");
    assert_eq!(fake.calls("sendMessage")[0].body["text"], "Sudah dikirim");
    // Without `--allow-outbound` the same call is denied by the outbound rules: a typed refusal.
    let (answer, answered) = run(&telegram, "send", Some(json!({"recipient": "5", "text": "x"})), &settings, &[]).await.unwrap();
    assert!(answered && answer["refused"].is_object(), "{answer}");

    // A plugin the host must stop: `failed`; unknown exports and bad input: clear errors.
    let hostile = Path::new(env!("HOSTILE_WASM"));
    let (answer, answered) = run(hostile, "handle-webhook", None, &[("mode".to_owned(), "memory".to_owned())], &[]).await.unwrap();
    assert!(!answered && answer["failed"].as_str().unwrap().contains("memory"), "{answer}");
    assert!(run(&telegram, "frobnicate", None, &[], &[]).await.unwrap_err().contains("not an export"));
    assert!(run(&telegram, "send", Some(json!({"to": 1})), &[], &[]).await.unwrap_err().contains("the input is not a message"));
}

/// `plugin call` as the CLI makes it, without a mock: the network (only to the hosts allowed).
async fn run(file: &Path, export: &str, input: Option<serde_json::Value>, settings: &[(String, String)], allow: &[String]) -> Result<(serde_json::Value, bool), String> {
    let options = CallOptions { settings: settings.to_vec(), allow_outbound: allow.to_vec(), call_timeout: LIMIT, memory_bytes: None, mock: None, cache_dir: None };
    call(file, export, input, options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_deliveries_hold_no_secret_and_replay_as_fixtures() {
    use crate::telegram::{GOOD_TOKEN, connect, registered_secret, text_update};
    use switchboard_e2e::fake_telegram::FakeTelegram;
    use switchboard_e2e::{HostOptions, TestHost};
    let recordings = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start(GOOD_TOKEN).await;
    let options = HostOptions { allow_outbound: vec![fake.authority.clone()], record_webhooks: Some(recordings.path().to_path_buf()), ..Default::default() };
    let host = TestHost::start(options).await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(41, 5, "halo, paket saya?")).await;
    assert_eq!(status, 200);
    let (status, _) = host.webhook(id, &[("x-telegram-bot-api-secret-token", "guessed")], text_update(42, 5, "forged")).await;
    assert_eq!(status, 401);

    let folder = recordings.path().join("telegram");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2, "one fixture per delivery");
    let texts: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    for text in &texts {
        assert!(!text.contains(&secret) && !text.contains(GOOD_TOKEN), "no secret in a recording: {text}");
    }
    let fixtures: Vec<serde_json::Value> = texts.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
    let expects: Vec<&str> = fixtures.iter().map(|f| f["expect"].as_str().unwrap()).collect();
    assert_eq!(expects, ["accept", "refuse"]);
    assert_eq!(fixtures[0]["request"]["headers"]["x-telegram-bot-api-secret-token"], "{{webhook_secret}}");
    assert!(fixtures[0]["request"]["body"].as_str().unwrap().contains("halo, paket saya?"));

    // Replayed by the check against a channel with another secret: as recorded.
    let dir = tempfile::tempdir().unwrap();
    let telegram = write(dir.path(), "telegram.wasm", first_party("switchboard-telegram"));
    let report = check(&telegram, Some(&folder), &[], LIMIT).await.unwrap_or_else(|r| panic!("{r}"));
    assert!(report.contains("ok    fixtures: 2 of 2 as expected"), "{report}");
    // And by `plugin call`, the fixture as its input.
    let (answer, _) = run(&telegram, "handle-webhook", Some(fixtures[0].clone()), &[], &[]).await.unwrap();
    assert_eq!(answer["ok"]["events"][0]["Message"]["text"], "halo, paket saya?", "{answer}");
}
