//! People who sign in: an admin invites, the invitation link sets a password once, sign-in
//! gives an HttpOnly session cookie whose writes need the CSRF token, wrong passwords lock the
//! account out for a while without saying whether it exists, deactivation and resets end
//! sessions at once, a workspace's people and tokens stay in it, and no password is ever
//! returned or stored in clear.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_e2e::TestHost;

pub const PASSWORD: &str = "kopi-susu-gula-aren";

/// A browser's view of one session: the cookie and the CSRF token sign-in gave.
pub struct Browser {
    cookie: String,
    csrf: String,
}

pub async fn invite(host: &TestHost, token: &str, username: &str, role: &str) -> (i64, String) {
    let (status, invited) = host.post("/api/v1/people", token, json!({"username": username, "display_name": "Siti Rahma", "role": role})).await;
    assert_eq!(status, 201, "{invited}");
    let url = invited["invitation_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/#/invitation/", switchboard_e2e::PUBLIC_URL)) || url.starts_with(&format!("{}/#/invitation/", host.base)), "the link starts with the public URL: {url}");
    (invited["person"]["id"].as_i64().unwrap(), url.rsplit('/').next().unwrap().to_owned())
}

pub async fn accept(host: &TestHost, link_token: &str, password: &str) -> (u16, Value) {
    host.call(reqwest::Method::POST, &format!("/api/v1/invitations/{link_token}"), None, Some(json!({ "password": password }))).await
}

async fn sign_in(host: &TestHost, username: &str, password: &str) -> (u16, Value, Option<String>) {
    sign_in_from(&host.http, host, username, password).await
}

/// A sign-in sent by `client` (which may be bound to an address of its own); `Retry-After`, if
/// any, is put in the body as `retry_after`.
async fn sign_in_from(client: &reqwest::Client, host: &TestHost, username: &str, password: &str) -> (u16, Value, Option<String>) {
    let response = client.post(format!("{}/api/v1/session", host.base)).json(&json!({"username": username, "password": password})).send().await.unwrap();
    let status = response.status().as_u16();
    let cookie = response.headers().get("set-cookie").map(|c| c.to_str().unwrap().to_owned());
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let mut body: Value = response.json().await.unwrap();
    if let Some(wait) = retry_after {
        body["retry_after"] = wait.into();
    }
    (status, body, cookie)
}

pub async fn signed_in(host: &TestHost, username: &str) -> Browser {
    let (status, body, cookie) = sign_in(host, username, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(cookie.contains("Secure"), "the public URL is https: {cookie}");
    Browser { cookie: cookie.split(';').next().unwrap().to_owned(), csrf: body["csrf_token"].as_str().unwrap().to_owned() }
}

/// A person of `role` invited by the admin, with a password set, signed in: their id and browser.
pub async fn invited_and_signed_in(host: &TestHost, username: &str, role: &str) -> (i64, Browser) {
    let (id, link) = invite(host, &host.admin, username, role).await;
    assert_eq!(accept(host, &link, PASSWORD).await.0, 200);
    (id, signed_in(host, username).await)
}

impl Browser {
    /// The `Cookie` header this browser sends.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    pub async fn request(&self, host: &TestHost, method: reqwest::Method, path: &str, body: Option<Value>, csrf: bool, origin: Option<&str>) -> (u16, Value) {
        let mut request = host.http.request(method, format!("{}{path}", host.base)).header("cookie", &self.cookie);
        if csrf {
            request = request.header("x-csrf-token", &self.csrf);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_person_sets_a_password_once_and_signs_in_with_a_cookie_guarded_against_csrf() {
    let host = TestHost::start(Default::default()).await;
    let (status, _) = host.post("/api/v1/people", &host.agent, json!({"username": "x@y.id", "display_name": "X", "role": "agent"})).await;
    assert_eq!(status, 403, "only an admin invites");
    let (status, body) = host.post("/api/v1/people", &host.admin, json!({"username": "not-an-email", "display_name": "", "role": "boss"})).await;
    assert_eq!(status, 422, "{body}");
    for field in ["username", "display_name", "role"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }

    let (id, link) = invite(&host, &host.admin, "Siti@TokoBudi.co.id", "agent").await;
    let (status, body) = host.post("/api/v1/people", &host.admin, json!({"username": "siti@tokobudi.co.id", "display_name": "Siti", "role": "agent"})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("username_taken")), "{body}");
    let (status, who) = host.call(reqwest::Method::GET, &format!("/api/v1/invitations/{link}"), None, None).await;
    assert_eq!((status, who["username"].as_str()), (200, Some("siti@tokobudi.co.id")), "{who}");

    // Before the password is set, nothing signs in.
    assert_eq!(sign_in(&host, "siti@tokobudi.co.id", PASSWORD).await.0, 401);
    let (status, body) = accept(&host, &link, "short").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["password"].as_str().unwrap().contains("at least 10"), "{body}");
    assert_eq!(accept(&host, &link, PASSWORD).await.0, 200);
    let (status, body) = accept(&host, &link, "another-password-1").await;
    assert_eq!((status, body["error"].as_str()), (410, Some("invitation_used")), "one use only: {body}");
    assert_eq!(accept(&host, "not-a-link", PASSWORD).await.0, 404);

    let siti = signed_in(&host, "siti@tokobudi.co.id").await;
    let (status, me) = siti.request(&host, reqwest::Method::GET, "/api/v1/me", None, false, None).await;
    assert_eq!((status, me["role"].as_str(), me["person"]["id"].as_i64()), (200, Some("agent"), Some(id)), "{me}");
    assert!(me["person"].get("password_hash").is_none(), "{me}");
    assert_eq!(siti.request(&host, reqwest::Method::GET, "/api/v1/channels", None, false, None).await.0, 200, "reads need no CSRF token");

    // A write with the cookie alone is refused; with the token it goes; from another site's page never.
    let path = "/api/v1/me/password";
    let change = json!({"current_password": PASSWORD, "new_password": "teh-manis-dingin-99"});
    let (status, body) = siti.request(&host, reqwest::Method::PUT, path, Some(change.clone()), false, None).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("csrf_refused")), "{body}");
    let (status, body) = siti.request(&host, reqwest::Method::PUT, path, Some(change.clone()), true, Some("https://evil.example")).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("csrf_refused")), "{body}");
    let wrong = json!({"current_password": "not-it-at-all", "new_password": "teh-manis-dingin-99"});
    let (status, body) = siti.request(&host, reqwest::Method::PUT, path, Some(wrong), true, Some(switchboard_e2e::PUBLIC_URL)).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = siti.request(&host, reqwest::Method::PUT, path, Some(change), true, Some(switchboard_e2e::PUBLIC_URL)).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(sign_in(&host, "siti@tokobudi.co.id", PASSWORD).await.0, 401, "the old password is gone");
    assert_eq!(sign_in(&host, "siti@tokobudi.co.id", "teh-manis-dingin-99").await.0, 200);

    // Signing out ends the session.
    assert_eq!(siti.request(&host, reqwest::Method::DELETE, "/api/v1/session", None, true, None).await.0, 204);
    let (status, body) = siti.request(&host, reqwest::Method::GET, "/api/v1/channels", None, false, None).await;
    assert_eq!(status, 401, "{body}");

    // No password in clear anywhere on disk.
    let database = std::fs::read(host.data_path().join("switchboard.db")).unwrap();
    let wal = std::fs::read(host.data_path().join("switchboard.db-wal")).unwrap_or_default();
    for secret in [PASSWORD, "teh-manis-dingin-99"] {
        for bytes in [&database, &wal] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} is stored in clear");
        }
    }
    host.assert_store_calls_off_workers().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_an_account_out_without_telling_whether_it_exists() {
    let host = TestHost::start(Default::default()).await;
    let (_, link) = invite(&host, &host.admin, "budi@tokobudi.co.id", "supervisor").await;
    assert_eq!(accept(&host, &link, PASSWORD).await.0, 200);

    let (status, known, _) = sign_in(&host, "budi@tokobudi.co.id", "wrong-password-1").await;
    let (status2, unknown, _) = sign_in(&host, "nobody@tokobudi.co.id", "wrong-password-1").await;
    assert_eq!((status, status2), (401, 401));
    assert_eq!(known, unknown, "the same answer for a wrong password and an unknown username");
    for _ in 0..4 {
        assert_eq!(sign_in(&host, "budi@tokobudi.co.id", "wrong-password-1").await.0, 401);
    }
    let (status, body, _) = sign_in(&host, "budi@tokobudi.co.id", PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("too_many_attempts")), "locked out even with the right password: {body}");
    let wait: u64 = body["retry_after"].as_str().unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    let (status, _, _) = sign_in(&host, "nobody@tokobudi.co.id", "x").await;
    assert_eq!(status, 401, "another account is not locked by Budi's failures");
}

/// A client connecting from loopback address 127.0.0.`last` (Linux answers on all of
/// 127.0.0.0/8), as an attacker spread over many addresses would. Sign-in counts the address of
/// the connection (or the one a proxy on this machine forwards; these send none).
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::from([127, 0, 0, last])).timeout(Duration::from_secs(60)).build().unwrap()
}

/// How many answers had each status: (checked and wrong: 401, refused by the lockout: 429).
fn checked_and_refused(statuses: &[u16]) -> (usize, usize) {
    (statuses.iter().filter(|s| **s == 401).count(), statuses.iter().filter(|s| **s == 429).count())
}

/// The failed sign-ins the operator's audit log shows for usernames `matching`.
async fn failed_sign_ins_audited(host: &TestHost, matching: impl Fn(&str) -> bool) -> Vec<Value> {
    let (status, audit) = host.get("/api/v1/audit?limit=1000", &host.operator).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit.as_array().unwrap().iter();
    entries.filter(|e| e["action"] == "session.sign_in_failed" && e["target"].as_str().is_some_and(|target| matching(target))).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_wrong_passwords_sent_at_once_from_thirty_addresses_check_only_five_and_lock_the_account() {
    let host = TestHost::start(Default::default()).await;
    let budi = "budi@tokobudi.co.id";
    let (_, link) = invite(&host, &host.admin, budi, "supervisor").await;
    assert_eq!(accept(&host, &link, PASSWORD).await.0, 200);

    let clients: Vec<reqwest::Client> = (10..40).map(client_from).collect();
    let answers = futures_util::future::join_all(clients.iter().map(|client| sign_in_from(client, &host, budi, "wrong-password-1"))).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _, _)| *status).collect();
    assert_eq!(checked_and_refused(&statuses), (5, 25), "five passwords checked (the account's limit), the rest refused unchecked: {statuses:?}");
    for (status, body, _) in answers.iter().filter(|(status, _, _)| *status == 429) {
        assert_eq!(body["error"].as_str(), Some("too_many_attempts"), "{status}: {body}");
        let wait: u64 = body["retry_after"].as_str().unwrap().parse().unwrap();
        assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    }

    // The right password is refused now, from yet another address too.
    let (status, body, _) = sign_in_from(&client_from(99), &host, budi, PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("too_many_attempts")), "{body}");

    // What the operator sees: five failed sign-ins, each from its own address.
    let failed = failed_sign_ins_audited(&host, |target| target == budi).await;
    assert_eq!(failed.len(), 5, "{failed:?}");
    let addresses: HashSet<&str> = failed.iter().map(|e| e["address"].as_str().unwrap()).collect();
    assert_eq!(addresses.len(), 5, "{addresses:?}");
    assert!(addresses.iter().all(|a| a.starts_with("127.0.0.") && *a != "127.0.0.1"), "the clients' own addresses: {addresses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_wrong_sign_ins_sent_at_once_from_one_address_check_only_twenty_and_lock_that_address_only() {
    let host = TestHost::start(Default::default()).await;
    let budi = "budi@tokobudi.co.id";
    let (_, link) = invite(&host, &host.admin, budi, "supervisor").await;
    assert_eq!(accept(&host, &link, PASSWORD).await.0, 200);

    let usernames: Vec<String> = (0..30).map(|n| format!("nobody{n}@tokobudi.co.id")).collect();
    let answers = futures_util::future::join_all(usernames.iter().map(|username| sign_in(&host, username, "wrong-password-1"))).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _, _)| *status).collect();
    assert_eq!(checked_and_refused(&statuses), (20, 10), "twenty passwords checked (the address's limit): {statuses:?}");
    let audited = failed_sign_ins_audited(&host, |target| target.starts_with("nobody")).await;
    assert_eq!(audited.len(), 20, "what the operator sees: {audited:?}");

    // This address is locked out, even with Budi's right password; Budi from elsewhere is not.
    let (status, body, _) = sign_in(&host, budi, PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("too_many_attempts")), "{body}");
    let (status, body, _) = sign_in_from(&client_from(99), &host, budi, PASSWORD).await;
    assert_eq!(status, 200, "{body}");

    // Behind a proxy on the same machine (the TLS proxy "Operating Switchboard" advises) every
    // connection comes from 127.0.0.1: the client's address is the one it forwards, so Budi
    // through it, from another address, is not locked out by the failures above.
    let through_proxy = host
        .http
        .post(format!("{}/api/v1/session", host.base))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"username": budi, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(through_proxy.status(), 200);
    let (_, audit) = host.get("/api/v1/audit?action=session.sign_in&limit=10", &host.operator).await;
    assert_eq!(audit[0]["address"], "203.0.113.7", "the audit log names the client's address: {audit}");
}

/// `PUT /api/v1/me/password` from a signed-in browser; `Retry-After`, if any, is put in the
/// body as `retry_after`.
async fn change_password(host: &TestHost, browser: &Browser, current: &str) -> (u16, Value) {
    change_password_to(host, browser, current, "teh-manis-dingin-99").await
}

async fn change_password_to(host: &TestHost, browser: &Browser, current: &str, new: &str) -> (u16, Value) {
    let response = host
        .http
        .put(format!("{}/api/v1/me/password", host.base))
        .header("cookie", &browser.cookie)
        .header("x-csrf-token", &browser.csrf)
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let mut body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if let Some(wait) = retry_after {
        body["retry_after"] = wait.into();
    }
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_on_a_password_change_are_locked_out_as_sign_ins_are() {
    let host = TestHost::start(Default::default()).await;
    let siti_name = "siti@tokobudi.co.id";
    let (_, link) = invite(&host, &host.admin, siti_name, "agent").await;
    assert_eq!(accept(&host, &link, PASSWORD).await.0, 200);
    let siti = signed_in(&host, siti_name).await;

    let guesses: Vec<String> = (0..30).map(|n| format!("guess-number-{n:02}")).collect();
    let answers = futures_util::future::join_all(guesses.iter().map(|guess| change_password(&host, &siti, guess))).await;
    let wrong: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 422).map(|(_, body)| body).collect();
    let refused: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 429).map(|(_, body)| body).collect();
    assert_eq!((wrong.len(), refused.len()), (5, 25), "five guesses checked (the account's limit): {answers:?}");
    assert!(wrong.iter().all(|body| body["fields"]["current_password"].is_string()), "{wrong:?}");
    for body in &refused {
        assert_eq!(body["error"].as_str(), Some("too_many_attempts"), "{body}");
        assert!(body["retry_after"].as_str().unwrap().parse::<u64>().unwrap() > 0, "{body}");
    }

    // The account is locked: the right current password is refused, and so is signing in.
    let (status, body) = change_password(&host, &siti, PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("too_many_attempts")), "{body}");
    let (status, signing_in, _) = sign_in_from(&client_from(99), &host, siti_name, PASSWORD).await;
    assert_eq!((status, signing_in["error"].as_str()), (429, Some("too_many_attempts")), "the same counter as sign-in: {signing_in}");
    assert!(body["message"].as_str().unwrap().starts_with("too many failed sign-ins"), "the same refusal as sign-in's: {body}");
    assert!(signing_in["message"].as_str().unwrap().starts_with("too many failed sign-ins"), "{signing_in}");
}

/// Four of a person's sessions change the password at once, each checking the same current one:
/// one change is made, and the others are refused (409 when they checked it before that change
/// was stored, 422 when after), never made over it unchecked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_changes_sent_at_once_from_four_sessions_make_exactly_one_change() {
    let host = TestHost::start(Default::default()).await;
    let siti_name = "siti@tokobudi.co.id";
    let (_, link) = invite(&host, &host.admin, siti_name, "agent").await;
    assert_eq!(accept(&host, &link, PASSWORD).await.0, 200);
    let mut browsers = Vec::new();
    for _ in 0..4 {
        browsers.push(signed_in(&host, siti_name).await);
    }
    let news: Vec<String> = (0..4).map(|n| format!("teh-manis-dingin-{n}{n}")).collect();
    let answers = futures_util::future::join_all(browsers.iter().zip(&news).map(|(browser, new)| change_password_to(&host, browser, PASSWORD, new))).await;
    let made: Vec<usize> = (0..4).filter(|&n| answers[n].0 == 204).collect();
    assert_eq!(made.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 204) {
        match status {
            409 => {
                assert_eq!(body["error"].as_str(), Some("password_changed_meanwhile"), "{body}");
                assert!(body["message"].as_str().unwrap().contains("current_password"), "says what to send: {body}");
            }
            422 => assert!(body["fields"]["current_password"].is_string(), "{body}"),
            _ => panic!("neither made nor refused as changed meanwhile: {answers:?}"),
        }
    }
    let winner = made[0];
    assert_eq!(sign_in(&host, siti_name, &news[winner]).await.0, 200, "the change made is the one in force");
    let (status, _) = browsers[winner].request(&host, reqwest::Method::GET, "/api/v1/me", None, false, None).await;
    assert_eq!(status, 200, "the session the change came from stays");
    for (n, browser) in browsers.iter().enumerate().filter(|(n, _)| *n != winner) {
        let (status, _) = browser.request(&host, reqwest::Method::GET, "/api/v1/me", None, false, None).await;
        assert_eq!(status, 401, "session {n} ended by the change made");
    }
}

/// The same person invited four times at once: one invitation is made, the others are told
/// the username has an account, as one after the other would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_username_invited_four_times_at_once_is_made_once() {
    let host = TestHost::start(Default::default()).await;
    for round in 0..3 {
        let username = format!("kasir{round}@tokobudi.co.id");
        let body = json!({"username": username, "display_name": "Kasir", "role": "agent"});
        let answers = futures_util::future::join_all((0..4).map(|_| host.post("/api/v1/people", &host.admin, body.clone()))).await;
        assert_eq!(answers.iter().filter(|(status, _)| *status == 201).count(), 1, "round {round}: {answers:?}");
        for (status, answer) in answers.iter().filter(|(status, _)| *status != 201) {
            assert_eq!((*status, answer["error"].as_str()), (409, Some("username_taken")), "round {round}: {answer}");
        }
        let (_, people) = host.get("/api/v1/people", &host.admin).await;
        assert_eq!(people.as_array().unwrap().iter().filter(|p| p["username"] == username.as_str()).count(), 1, "{people}");
    }
}

/// Two admins demote each other at the same moment: one change is made and the workspace keeps
/// an admin, as one change after the other would (the second admin is no longer one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let host = TestHost::start(Default::default()).await;
    let mut admins = Vec::new();
    for name in ["ani@tokobudi.co.id", "budi@tokobudi.co.id"] {
        admins.push(invited_and_signed_in(&host, name, "admin").await);
    }
    for round in 0..3 {
        let paths = [format!("/api/v1/people/{}", admins[1].0), format!("/api/v1/people/{}", admins[0].0)];
        let demote = |by: usize| admins[by].1.request(&host, reqwest::Method::PATCH, &paths[by], Some(json!({"role": "agent"})), true, None);
        let answers = futures_util::future::join_all([demote(0), demote(1)]).await;
        assert_eq!(answers.iter().filter(|(status, _)| *status == 200).count(), 1, "round {round}: {answers:?}");
        for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
            match status {
                409 => assert_eq!(body["error"], "changed_meanwhile", "{body}"),
                403 => {}
                _ => panic!("round {round}: neither made nor refused: {answers:?}"),
            }
        }
        let (_, people) = host.get("/api/v1/people", &host.admin).await;
        let left: Vec<&Value> = people.as_array().unwrap().iter().filter(|p| admins.iter().any(|(id, _)| p["id"] == *id) && p["role"] == "admin").collect();
        assert_eq!(left.len(), 1, "round {round}: one of the two is admin: {people}");
        for (id, _) in &admins {
            let (status, body) = host.call(reqwest::Method::PATCH, &format!("/api/v1/people/{id}"), Some(&host.admin), Some(json!({"role": "admin"}))).await;
            assert_eq!(status, 200, "{body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_and_resets_end_sessions_and_people_and_tokens_stay_in_their_workspace() {
    let host = TestHost::start(Default::default()).await;
    let (id, rina) = invited_and_signed_in(&host, "rina@tokobudi.co.id", "agent").await;

    // Another workspace's admin finds no Rina.
    let (status, warung) = host.post("/api/v1/workspaces", &host.operator, json!({"name": "Warung"})).await;
    assert_eq!(status, 201);
    let other_admin = switchboard::store::Db::open(host.data_path())
        .unwrap()
        .create_token(switchboard::store::model::Role::Admin, warung["id"].as_i64())
        .unwrap();
    for (method, path) in [("PATCH", format!("/api/v1/people/{id}")), ("POST", format!("/api/v1/people/{id}/invitation"))] {
        let (status, body) = host.call(method.parse().unwrap(), &path, Some(&other_admin), Some(json!({"active": false}))).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let (_, listed) = host.get("/api/v1/people", &other_admin).await;
    assert_eq!(listed, json!([]));
    assert_eq!(rina.request(&host, reqwest::Method::GET, "/api/v1/channels", None, false, None).await.0, 200, "still signed in");

    // Role change, then deactivation: the session ends at once.
    let path = format!("/api/v1/people/{id}");
    let (status, changed) = host.call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(json!({"role": "supervisor"}))).await;
    assert_eq!((status, changed["role"].as_str()), (200, Some("supervisor")), "{changed}");
    let (status, _) = host.call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(json!({"active": false}))).await;
    assert_eq!(status, 200);
    assert_eq!(rina.request(&host, reqwest::Method::GET, "/api/v1/channels", None, false, None).await.0, 401);
    assert_eq!(sign_in(&host, "rina@tokobudi.co.id", PASSWORD).await.0, 401, "inactive people cannot sign in");
    assert_eq!(host.call(reqwest::Method::PATCH, &path, Some(&host.admin), Some(json!({"active": true}))).await.0, 200);

    // A reset: the old password stops working, the new link sets a new one.
    let rina = signed_in(&host, "rina@tokobudi.co.id").await;
    let (status, reset) = host.post(&format!("/api/v1/people/{id}/invitation"), &host.admin, json!({})).await;
    assert_eq!(status, 201, "{reset}");
    assert_eq!(rina.request(&host, reqwest::Method::GET, "/api/v1/channels", None, false, None).await.0, 401, "sessions end");
    assert_eq!(sign_in(&host, "rina@tokobudi.co.id", PASSWORD).await.0, 401);
    let link = reset["invitation_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(accept(&host, &link, "es-teh-manis-ok").await.0, 200);
    assert_eq!(sign_in(&host, "rina@tokobudi.co.id", "es-teh-manis-ok").await.0, 200);

    // API tokens for machines: labelled, listed without the token, revocable.
    let (status, made) = host.post("/api/v1/tokens", &host.admin, json!({"label": "CRM sync", "role": "agent"})).await;
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_owned();
    assert_eq!(host.get("/api/v1/conversations", &token).await.0, 200);
    let (_, listed) = host.get("/api/v1/tokens", &host.admin).await;
    let entry = listed.as_array().unwrap().iter().find(|t| t["label"] == "CRM sync").unwrap().clone();
    assert_eq!(entry["prefix"].as_str().unwrap(), &token[..10]);
    assert!(!listed.to_string().contains(&token), "tokens are never listed");
    let (_, others) = host.get("/api/v1/tokens", &other_admin).await;
    assert!(others.as_array().unwrap().iter().all(|t| t["label"] != "CRM sync"), "{others}");
    let revoke = format!("/api/v1/tokens/{}", entry["id"]);
    assert_eq!(host.call(reqwest::Method::DELETE, &revoke, Some(&other_admin), None).await.0, 404, "not another workspace's to revoke");
    assert_eq!(host.call(reqwest::Method::DELETE, &revoke, Some(&host.admin), None).await.0, 204);
    assert_eq!(host.get("/api/v1/conversations", &token).await.0, 401);
    host.assert_store_calls_off_workers().await;
}

/// The pages' language is remembered for the person (any browser they sign in from), checked
/// against the languages the pages have; a token has no person to remember it for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_s_page_language_is_remembered_and_only_a_language_the_pages_have() {
    let host = TestHost::start(Default::default()).await;
    let (_, browser) = invited_and_signed_in(&host, "wulan@toko.id", "agent").await;
    let (status, me) = browser.request(&host, reqwest::Method::GET, "/api/v1/me", None, false, None).await;
    assert_eq!((status, &me["person"]["language"]), (200, &Value::Null), "{me}");

    let choose = |language: Value| browser.request(&host, reqwest::Method::PUT, "/api/v1/me/language", Some(json!({"language": language})), true, None);
    assert_eq!(choose(json!("id")).await.0, 204);
    // Another browser: a new session, the same choice.
    let elsewhere = signed_in(&host, "wulan@toko.id").await;
    let (_, me) = elsewhere.request(&host, reqwest::Method::GET, "/api/v1/me", None, false, None).await;
    assert_eq!(me["person"]["language"], "id", "{me}");

    let (status, refused) = choose(json!("fr")).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["fields"]["language"].as_str().unwrap().contains("en, id"), "{refused}");
    let (_, me) = browser.request(&host, reqwest::Method::GET, "/api/v1/me", None, false, None).await;
    assert_eq!(me["person"]["language"], "id", "a refused choice changes nothing: {me}");

    assert_eq!(choose(Value::Null).await.0, 204);
    let (_, me) = browser.request(&host, reqwest::Method::GET, "/api/v1/me", None, false, None).await;
    assert_eq!(me["person"]["language"], Value::Null, "back to the browser's: {me}");

    let response = host.http.put(format!("{}/api/v1/me/language", host.base)).bearer_auth(&host.admin).json(&json!({"language": "id"})).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 422);
    assert!(response.text().await.unwrap().contains("not_a_person"));
}

/// No email address is longer than 254 characters (RFC 5321): a longer username is the client's
/// mistake at sign-in and on invitation, on either backend (on Postgres the sign-in's lockout key
/// is a key of an index, which takes at most about 2.7 kB).
async fn a_username_longer_than_any_email_address_is_refused(backend: switchboard_e2e::Backend) {
    let host = TestHost::start(switchboard_e2e::HostOptions { backend, ..Default::default() }).await;
    // Not compressible: Postgres compresses a long repeated key under the index's limit.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let local: String = (0..3000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            char::from(b'a' + (seed >> 59) as u8 % 26)
        })
        .collect();
    let username = format!("{local}@tokobudi.co.id");
    let (status, body) = host.post("/api/v1/people", &host.admin, json!({"username": username, "display_name": "Siti", "role": "agent"})).await;
    assert_eq!((status, &body["fields"]["username"]), (422, &json!("an email address is at most 254 characters")), "{body}");
    let (status, body, _) = sign_in(&host, &username, "rahasia-sekali").await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_fields")), "{body}");
    assert_eq!(body["fields"]["username"], "an email address is at most 254 characters", "{body}");
    // Sign-in still works for everyone else.
    let (status, _, _) = sign_in(&host, "nobody@tokobudi.co.id", "rahasia-sekali").await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_longer_than_any_email_address_is_refused_on_sqlite() {
    a_username_longer_than_any_email_address_is_refused(switchboard_e2e::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_longer_than_any_email_address_is_refused_on_postgres() {
    a_username_longer_than_any_email_address_is_refused(switchboard_e2e::Backend::Postgres).await;
}
