//! "Connect with Facebook" end to end, driven over HTTP the way the admin's browser drives it:
//! start the login, open the provider's URL (the fake dialog answers as after "Continue"),
//! follow its redirect to the host's callback, pick an account, get the channel. Also: wrong
//! and replayed states, a refused login, bad app settings, reconnecting a channel.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use switchboard_e2e::fake_meta::{APP_ID, APP_SECRET, FakeMeta, GRAPH_VERSION, now_ms};
use switchboard_e2e::{PUBLIC_URL, TestHost};

use crate::messenger::{
    HOUR_MS, IG_ID, OUTLET_ID, PAGE_ID, PAGE_TOKEN, SITI, SUBSCRIBED_FIELDS, WARUNG_ID, WARUNG_IG_ID, WARUNG_TOKEN, channel,
    customer_writes, host_and_fake, reply, revoked_channel, until_status,
};
use crate::people::{Browser, invited_and_signed_in};

fn app_settings(fake: &FakeMeta) -> Value {
    json!({"app_id": APP_ID, "app_secret": APP_SECRET, "api_base_url": fake.base_url})
}

pub async fn start(host: &TestHost, plugin: &str, body: Value) -> (u16, Value) {
    host.post(&format!("/api/v1/oauth/{plugin}/start"), &host.admin, body).await
}

pub async fn flow(host: &TestHost, state: &str) -> Value {
    let (status, flow) = host.get(&format!("/api/v1/oauth/flows/{state}"), &host.admin).await;
    assert_eq!(status, 200, "{flow}");
    flow
}

pub async fn pick(host: &TestHost, state: &str, body: Value) -> (u16, Value) {
    host.post(&format!("/api/v1/oauth/flows/{state}/connect"), &host.admin, body).await
}

/// The admin's browser, which does not follow redirects by itself here so each hop is seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Opens the login URL: Facebook's dialog (the admin approves) redirects to our callback.
/// Returns that callback URL as the browser requests it (without the `#_=_` fragment).
async fn approve(authorize_url: &str) -> String {
    let dialog = browser().get(authorize_url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(dialog.status(), 302, "{}", dialog.text().await.unwrap());
    let location = dialog.headers()["location"].to_str().unwrap().to_owned();
    let callback = location.split('#').next().unwrap().to_owned();
    assert!(callback.starts_with(&format!("{PUBLIC_URL}/oauth/callback?")), "{location}");
    callback
}

/// The browser lands on the callback (the public URL is this host behind its TLS proxy): the
/// browser of an admin of the workspace, signed in to Switchboard, as the logins these tests
/// start with the admin's API token need.
async fn land(host: &TestHost, callback: &str) -> (u16, String) {
    let admin = admins_browser(host).await;
    land_as(host, callback, Some(admin.cookie())).await
}

/// The browser lands on the callback sending `cookie` (none: not signed in).
async fn land_as(host: &TestHost, callback: &str, cookie: Option<&str>) -> (u16, String) {
    let local = callback.replacen(PUBLIC_URL, &host.base, 1);
    let mut request = browser().get(local).header("accept", "text/html,application/xhtml+xml");
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A browser signed in as a new admin of the host's workspace.
pub async fn admins_browser(host: &TestHost) -> Browser {
    static ADMINS: AtomicUsize = AtomicUsize::new(0);
    let username = format!("admin-{}@tokobudi.co.id", ADMINS.fetch_add(1, Ordering::Relaxed));
    invited_and_signed_in(host, &username, "admin").await.1
}

/// Starts a login and approves it; returns the state once the accounts are listed.
pub async fn log_in(host: &TestHost, plugin: &str, body: Value) -> String {
    let (status, started) = start(host, plugin, body).await;
    assert_eq!(status, 201, "{started}");
    let callback = approve(started["authorize_url"].as_str().unwrap()).await;
    let (status, page) = land(host, &callback).await;
    assert_eq!(status, 200, "{page}");
    started["state"].as_str().unwrap().to_owned()
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn param(query: &[(String, String)], name: &str) -> String {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no `{name}` in {query:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_facebook_lists_the_pages_and_connects_the_one_picked() {
    let (host, fake) = host_and_fake().await;
    let body = json!({"name": "Toko Budi Messenger", "settings": app_settings(&fake)});
    let (status, refused) = host.post("/api/v1/oauth/messenger/start", &host.agent, body.clone()).await;
    assert_eq!(status, 403, "only an admin connects channels: {refused}");
    let (status, refused) = start(&host, "messenger", json!({"name": "Toko Budi\nMessenger", "settings": app_settings(&fake)})).await;
    assert_eq!((status, &refused["fields"]["name"]), (422, &json!("must be one line of at most 100 characters")), "{refused}");

    let (status, started) = start(&host, "messenger", body).await;
    assert_eq!(status, 201, "{started}");
    let state = started["state"].as_str().unwrap().to_owned();
    let redirect_url = format!("{PUBLIC_URL}/oauth/callback");
    assert_eq!(started["redirect_url"], redirect_url.as_str(), "the URL to register as a valid OAuth redirect URI");
    let authorize_url = started["authorize_url"].as_str().unwrap();
    assert!(authorize_url.starts_with(&format!("{}/{GRAPH_VERSION}/dialog/oauth?", fake.base_url)), "{authorize_url}");
    let query = query_of(authorize_url);
    assert_eq!(param(&query, "client_id"), APP_ID);
    assert_eq!(param(&query, "redirect_uri"), redirect_url);
    assert_eq!(param(&query, "state"), state);
    assert_eq!(param(&query, "response_type"), "code");
    assert_eq!(flow(&host, &state).await["status"], "waiting_for_login");

    let callback = approve(authorize_url).await;
    assert_eq!(param(&query_of(&callback), "state"), state);
    assert!(fake.scopes()[0].contains("pages_messaging"), "{:?}", fake.scopes());
    let (status, page) = land(&host, &callback).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Login complete") && page.contains("3 account(s)"), "{page}");

    let listed = flow(&host, &state).await;
    assert_eq!(listed["status"], "ready", "{listed}");
    assert_eq!(listed["name"], "Toko Budi Messenger");
    let accounts: Vec<(&str, &str)> =
        listed["accounts"].as_array().unwrap().iter().map(|a| (a["id"].as_str().unwrap(), a["name"].as_str().unwrap())).collect();
    assert_eq!(accounts, [(PAGE_ID, "Toko Budi"), (OUTLET_ID, "Toko Budi Outlet"), (WARUNG_ID, "Warung Siti")], "every Page, across paged results");
    assert!(!listed.to_string().contains("EAA"), "no token is shown: {listed}");
    let exchanges = fake.calls("GET", "oauth/access_token");
    assert_eq!(exchanges.len(), 2, "the code, then the long-lived token: {exchanges:?}");
    assert_eq!(exchanges[0].query["redirect_uri"], redirect_url, "the same redirect URI as the dialog's");
    assert_eq!(exchanges[1].query["grant_type"], "fb_exchange_token");

    // The callback is good once.
    let (status, replayed) = land(&host, &callback).await;
    assert_eq!(status, 409, "{replayed}");
    assert!(replayed.contains("already come back once"), "{replayed}");

    let (status, body) = pick(&host, &state, json!({"account_id": "999"})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["account_id"].as_str().unwrap().contains(PAGE_ID), "{body}");
    let (status, body) = pick(&host, &state, json!({})).await;
    assert_eq!((status, body["fields"]["account_id"].as_str()), (422, Some("field is required")), "{body}");

    let (status, channel) = pick(&host, &state, json!({"account_id": PAGE_ID})).await;
    assert_eq!(status, 201, "{channel}");
    let id = channel["id"].as_str().unwrap().to_owned();
    assert_eq!((channel["plugin"].as_str(), channel["name"].as_str()), (Some("messenger"), Some("Toko Budi Messenger")));
    assert_eq!((channel["external_account_id"].as_str(), channel["status"].as_str()), (Some(PAGE_ID), Some("active")));
    assert_eq!(channel["settings"]["page_id"]["value"], PAGE_ID);
    assert_eq!(channel["settings"]["app_id"]["value"], APP_ID);
    assert_eq!(channel["settings"]["page_access_token"]["value"], "********");
    assert_eq!(fake.subscription(PAGE_ID).as_deref(), Some(SUBSCRIBED_FIELDS));
    assert!(channel["setup"].as_array().unwrap().iter().any(|i| i["key"] == "verify_token"), "{channel}");
    let done = flow(&host, &state).await;
    assert_eq!((done["status"].as_str(), done["connected_channel_id"].as_str()), (Some("connected"), Some(id.as_str())));
    assert_eq!(done["accounts"], json!([]), "the other Pages' tokens are not kept");
    let (status, again) = pick(&host, &state, json!({"account_id": OUTLET_ID})).await;
    assert_eq!((status, again["error"].as_str()), (409, Some("state_used")), "{again}");

    // The channel works: webhooks verified with the app secret, replies with the Page's
    // long-lived token (not the short-lived one a short-lived user token would have given).
    let conversation = customer_writes(&host, &fake, &id, PAGE_ID, SITI, "m_siti", now_ms() - HOUR_MS).await;
    let (status, queued) = reply(&host, conversation, "Halo kak, ada yang bisa dibantu?").await;
    assert_eq!(status, 202, "{queued}");
    until_status(&host, conversation, queued["id"].as_i64().unwrap(), "sent").await;
    assert_eq!(fake.sent()[0].token, PAGE_TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instagram_login_offers_the_accounts_linked_to_the_pages() {
    let (host, fake) = host_and_fake().await;
    let state = log_in(&host, "instagram", json!({"settings": app_settings(&fake)})).await;
    assert!(fake.scopes()[0].contains("instagram_manage_messages"), "{:?}", fake.scopes());
    let listed = flow(&host, &state).await;
    let accounts: Vec<(&str, &str)> =
        listed["accounts"].as_array().unwrap().iter().map(|a| (a["id"].as_str().unwrap(), a["name"].as_str().unwrap())).collect();
    assert_eq!(accounts, [(IG_ID, "@tokobudi"), (WARUNG_IG_ID, "@warungsiti")], "Pages without Instagram offer nothing");

    let (status, channel) = pick(&host, &state, json!({"account_id": WARUNG_IG_ID})).await;
    assert_eq!(status, 201, "{channel}");
    assert_eq!((channel["plugin"].as_str(), channel["name"].as_str()), (Some("instagram"), Some("@warungsiti")), "named after the account");
    assert_eq!(channel["external_account_id"], WARUNG_IG_ID);
    assert!(fake.subscription(WARUNG_ID).is_some(), "the linked Page is subscribed");

    let id = channel["id"].as_str().unwrap();
    let conversation = customer_writes(&host, &fake, id, WARUNG_IG_ID, "7301234567890999", "aWdfOTk", now_ms() - HOUR_MS).await;
    let (_, queued) = reply(&host, conversation, "Ready, kak").await;
    until_status(&host, conversation, queued["id"].as_i64().unwrap(), "sent").await;
    let sent = &fake.sent()[0];
    assert_eq!((sent.account_id.as_str(), sent.token.as_str()), (WARUNG_IG_ID, WARUNG_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_replayed_state_is_refused_and_a_refused_login_says_why() {
    let (host, fake) = host_and_fake().await;
    let (status, started) = start(&host, "messenger", json!({"settings": app_settings(&fake)})).await;
    assert_eq!(status, 201, "{started}");
    let state = started["state"].as_str().unwrap().to_owned();
    let callback = approve(started["authorize_url"].as_str().unwrap()).await;

    // A forged callback: the right code, another state.
    let forged = callback.replace(&format!("state={state}"), "state=Xk3v9QmTz0aBcDeFgHiJkLmNoPqRsTuV");
    let (status, page) = land(&host, &forged).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("unknown or expired login"), "{page}");
    let without_state = callback.split("&state=").next().unwrap().to_owned();
    let (status, page) = land(&host, &without_state).await;
    assert_eq!(status, 400, "{page}");
    let (status, body) = host.get("/oauth/callback?code=x&state=nope", &host.admin).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_state")), "JSON for API clients: {body}");
    assert_eq!(flow(&host, &state).await["status"], "waiting_for_login", "the real flow is untouched");

    assert_eq!(land(&host, &callback).await.0, 200);
    let (status, page) = land(&host, &callback).await;
    assert_eq!(status, 409, "replayed: {page}");
    assert_eq!(fake.calls("GET", "oauth/access_token").len(), 2, "the replay reached nobody");

    // The admin says "Not now" at Facebook.
    fake.refuse_next_login();
    let (_, started) = start(&host, "messenger", json!({"settings": app_settings(&fake)})).await;
    let refused_state = started["state"].as_str().unwrap().to_owned();
    let callback = approve(started["authorize_url"].as_str().unwrap()).await;
    assert_eq!(param(&query_of(&callback), "error"), "access_denied");
    let (status, page) = land(&host, &callback).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Permissions error"), "{page}");
    let failed = flow(&host, &refused_state).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("the Facebook login was not completed"), "{failed}");
    let (status, body) = pick(&host, &refused_state, json!({"account_id": PAGE_ID})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("login_failed")), "{body}");

    let (status, _) = host.get("/api/v1/oauth/flows/Xk3v9QmTz0aBcDeFgHiJkLmNoPqRsTuV", &host.admin).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_needs_the_app_settings_and_a_plugin_that_has_one() {
    let (host, fake) = host_and_fake().await;
    let (status, body) = start(&host, "messenger", json!({"settings": {}})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"]["app_id"], "field is required", "{body}");
    assert_eq!(body["fields"]["app_secret"], "field is required", "{body}");

    let (status, body) = start(&host, "messenger", json!({"settings": {"app_id": APP_ID, "app_secret": "x", "colour": "red"}})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["colour"].as_str().unwrap().contains("unknown"), "{body}");

    let (status, body) = start(&host, "telegram", json!({"settings": {}})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("unsupported")), "{body}");
    assert_eq!(start(&host, "nope", json!({})).await.0, 404);

    // A wrong app secret is found when Facebook is asked to exchange the code.
    let mut settings = app_settings(&fake);
    settings["app_secret"] = "0000000000000000000000000000beef".into();
    let (status, started) = start(&host, "messenger", json!({"settings": settings})).await;
    assert_eq!(status, 201, "{started}");
    let callback = approve(started["authorize_url"].as_str().unwrap()).await;
    let (status, page) = land(&host, &callback).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("app_secret") && page.contains("Error validating client secret"), "{page}");
    assert_eq!(flow(&host, started["state"].as_str().unwrap()).await["status"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_reconnects_a_channel_whose_token_was_revoked() {
    let (host, fake) = host_and_fake().await;
    let (id, conversation) = revoked_channel(&host, &fake).await;
    assert_eq!(channel(&host, &id).await["status"], "needs_reconnect");

    // The admin logs in again; Facebook hands out a new Page token.
    fake.rotate_token(PAGE_ID, "EAAPtokobudiPageTokenAfterLogin0003");
    // The app secret and API base are the channel's; only the app id is new.
    let state = log_in(&host, "messenger", json!({"channel_id": id, "settings": {"app_id": APP_ID}})).await;
    assert_eq!(flow(&host, &state).await["channel_id"], id.as_str());

    let (status, body) = pick(&host, &state, json!({"account_id": OUTLET_ID})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["page_id"].as_str().unwrap().contains("read-only"), "a channel keeps its Page: {body}");

    let (status, reconnected) = pick(&host, &state, json!({"account_id": PAGE_ID})).await;
    assert_eq!(status, 200, "{reconnected}");
    assert_eq!((reconnected["id"].as_str(), reconnected["status"].as_str()), (Some(id.as_str()), Some("active")));
    assert_eq!(reconnected["status_reason"], Value::Null);
    let (_, channels) = host.get("/api/v1/channels", &host.admin).await;
    assert_eq!(channels.as_array().unwrap().len(), 1, "the same channel, not a new one");

    let (_, queued) = reply(&host, conversation, "Halo lagi, kak").await;
    until_status(&host, conversation, queued["id"].as_i64().unwrap(), "sent").await;
    assert_eq!(fake.sent()[0].token, "EAAPtokobudiPageTokenAfterLogin0003");
}

/// The state alone finishes no login: an admin of one business could send their login's link
/// to another business's Page admin, whose approval would hand the first business that Page.
/// The callback is finished only in a browser signed in as whoever started the login (for a
/// login started with an API token: an admin of its workspace); refused, it waits for that
/// browser, the provider's code unused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_is_finished_only_in_a_browser_signed_in_as_whoever_started_it() {
    let (host, fake) = host_and_fake().await;
    // Started with the admin's API token, as a browser signed in with it does: the start's
    // answer gives that browser the login's key.
    let started = host
        .http
        .post(format!("{}/api/v1/oauth/messenger/start", host.base))
        .bearer_auth(&host.admin)
        .json(&json!({"settings": app_settings(&fake)}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    let set_cookie = started.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax") && set_cookie.contains("Path=/oauth/callback"), "{set_cookie}");
    let starters_key = set_cookie.split(';').next().unwrap().to_owned();
    let started: Value = started.json().await.unwrap();
    let state = started["state"].as_str().unwrap().to_owned();
    let callback = approve(started["authorize_url"].as_str().unwrap()).await;

    // The link opened anywhere else: another business's Page admin, not signed in here.
    let (status, page) = land_as(&host, &callback, None).await;
    assert_eq!(status, 403, "a browser that did not start it: {page}");
    assert!(page.contains("started in another browser"), "{page}");
    let (name, _) = starters_key.split_once('=').unwrap();
    let (status, _) = land_as(&host, &callback, Some(&format!("{name}=a-key-of-its-own-making"))).await;
    assert_eq!(status, 403, "a key of its own making");
    let (_, agent) = invited_and_signed_in(&host, "agen@tokobudi.co.id", "agent").await;
    let (status, page) = land_as(&host, &callback, Some(agent.cookie())).await;
    assert_eq!(status, 403, "an agent of the workspace: {page}");
    assert!(page.contains("started by someone else"), "{page}");
    assert_eq!(flow(&host, &state).await["status"], "waiting_for_login");
    assert!(fake.calls("GET", "oauth/access_token").is_empty(), "no code was exchanged");
    // The browser that started it finishes it, with the same callback.
    assert_eq!(land_as(&host, &callback, Some(&starters_key)).await.0, 200);
    assert_eq!(flow(&host, &state).await["status"], "ready");

    // Started by a signed-in admin, finished in another browser of theirs: signed in as them
    // it is theirs, signed in as another admin it is not.
    let siti = admins_browser(&host).await;
    let (status, started) =
        siti.request(&host, reqwest::Method::POST, "/api/v1/oauth/messenger/start", Some(json!({"settings": app_settings(&fake)})), true, None).await;
    assert_eq!(status, 201, "{started}");
    let callback = approve(started["authorize_url"].as_str().unwrap()).await;
    let other_admin = admins_browser(&host).await;
    let (status, page) = land_as(&host, &callback, Some(other_admin.cookie())).await;
    assert_eq!(status, 403, "another admin of the workspace: {page}");
    assert!(page.contains("started by someone else"), "{page}");
    let (status, page) = land_as(&host, &callback, Some(siti.cookie())).await;
    assert_eq!(status, 200, "{page}");
}

/// A reconnect's login carries the channel's settings as they were when it started: a change
/// made to the channel while the admin was at the provider is not undone by them (409), and a
/// login started again reconnects it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_does_not_undo_a_change_made_while_the_admin_was_at_the_provider() {
    let (host, fake) = host_and_fake().await;
    let id = crate::messenger::connect(&host, &fake).await["id"].as_str().unwrap().to_owned();
    let state = log_in(&host, "messenger", json!({"channel_id": id, "settings": {"app_id": APP_ID}})).await;
    let (status, renamed) =
        host.call(reqwest::Method::PATCH, &format!("/api/v1/channels/{id}"), Some(&host.admin), Some(json!({"name": "Toko Budi Pusat"}))).await;
    assert_eq!(status, 200, "{renamed}");

    let (status, body) = pick(&host, &state, json!({"account_id": PAGE_ID})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("changed_meanwhile")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("start the login again"), "{body}");
    let kept = channel(&host, &id).await;
    assert_eq!(kept["name"].as_str(), Some("Toko Budi Pusat"), "{kept}");

    let state = log_in(&host, "messenger", json!({"channel_id": id, "settings": {"app_id": APP_ID}})).await;
    let (status, reconnected) = pick(&host, &state, json!({"account_id": PAGE_ID})).await;
    assert_eq!(status, 200, "{reconnected}");
    assert_eq!((reconnected["name"].as_str(), reconnected["status"].as_str()), (Some("Toko Budi Pusat"), Some("active")), "{reconnected}");
}
