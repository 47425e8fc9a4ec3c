//! The audit log: each action of the list leaves one entry naming who (person or token),
//! from where, what and on what; an admin reads their workspace's, the operator everyone's;
//! no secret is in it. Filters by action, actor, time and (the operator) workspace combine, and
//! page back with `before`; bad ones are 422 naming the field.

use serde_json::{Value, json};
use switchboard::store::Db;
use switchboard::store::model::Role;
use switchboard_e2e::{HostOptions, TestHost};

use crate::telegram::{GOOD_TOKEN, connect, host_and_fake};

fn actions(entries: &Value) -> Vec<String> {
    entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

fn ids(entries: &Value) -> Vec<i64> {
    entries.as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

/// `GET /api/v1/audit` as `token`, the query made of `pairs` (encoded as a form would).
async fn audit(host: &TestHost, token: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    host.get(&format!("/api/v1/audit?{query}"), token).await
}

/// The same, answering 200: the entries.
async fn entries(host: &TestHost, token: &str, pairs: &[(&str, &str)]) -> Value {
    let (status, body) = audit(host, token, pairs).await;
    assert_eq!(status, 200, "{pairs:?}: {body}");
    body
}

/// A moment (ms) as RFC 3339, as a client would write it.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_recorded_with_who_and_where_and_no_secret() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let channel_id = channel["id"].as_str().unwrap();
    let (status, token) = host.post("/api/v1/tokens", &host.admin, json!({"label": "CRM sync", "role": "agent"})).await;
    assert_eq!(status, 201, "{token}");
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/tokens/{}", token["id"]), Some(&host.admin), None).await;
    assert_eq!(status, 204);
    let (status, invited) = host.post("/api/v1/people", &host.admin, json!({"username": "siti@tokobudi.co.id", "display_name": "Siti", "role": "agent"})).await;
    assert_eq!(status, 201, "{invited}");
    let wrong_password = "tebak-tebakan-123";
    let (status, _) = host.call(reqwest::Method::POST, "/api/v1/session", None, Some(json!({"username": "siti@tokobudi.co.id", "password": wrong_password}))).await;
    assert_eq!(status, 401);
    let app_secret = "9f3c2b1a0d8e7f6a5b4c3d2e1f0a9b8c";
    let (status, body) = host
        .call(reqwest::Method::PUT, "/api/v1/plugins/messenger/app", Some(&host.operator), Some(json!({"settings": {"app_id": "1517394850012345", "app_secret": app_secret}})))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = host.post("/api/v1/workspaces", &host.operator, json!({"name": "Warung Siti"})).await;
    assert_eq!(status, 201);
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/channels/{channel_id}"), Some(&host.admin), None).await;
    assert_eq!(status, 204);

    let (status, mine) = host.get("/api/v1/audit", &host.admin).await;
    assert_eq!(status, 200, "{mine}");
    let expected = ["channel.connect", "token.create", "token.revoke", "person.invite", "channel.disconnect"];
    let mut seen = actions(&mine);
    seen.reverse(); // newest first -> in order
    assert_eq!(seen, expected, "the workspace's own entries, in order: {mine}");
    let connect = &mine.as_array().unwrap().last().unwrap();
    assert!(connect["actor"].as_str().unwrap().starts_with("admin token "), "{connect}");
    assert_eq!(connect["address"], "127.0.0.1", "{connect}");
    assert!(connect["target"].as_str().unwrap().contains(channel_id), "{connect}");

    let (_, all) = host.get("/api/v1/audit", &host.operator).await;
    let all_actions = actions(&all);
    for action in ["session.sign_in_failed", "provider_app.set", "workspace.create", "channel.connect"] {
        assert!(all_actions.iter().any(|a| a == action), "the operator sees {action}: {all_actions:?}");
    }
    let failed = all.as_array().unwrap().iter().find(|e| e["action"] == "session.sign_in_failed").unwrap();
    assert_eq!((failed["actor"].as_str(), failed["target"].as_str()), (Some("anonymous"), Some("siti@tokobudi.co.id")), "{failed}");

    let text = all.to_string();
    for secret in [GOOD_TOKEN, app_secret, wrong_password, token["token"].as_str().unwrap(), invited["invitation_url"].as_str().unwrap()] {
        assert!(!text.contains(secret), "no secret in the audit log: {secret}");
    }
    let (status, _) = host.get("/api/v1/audit", &host.agent).await;
    assert_eq!(status, 403, "agents do not read the audit log");
    let (_, page) = host.get(&format!("/api/v1/audit?limit=2&before={}", mine[0]["id"]), &host.admin).await;
    assert_eq!(actions(&page), ["person.invite", "token.revoke"], "paging: older than the newest, two at a time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_changes_people_sign_ins_and_plugin_actions_are_recorded_too() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let channel_id = channel["id"].as_str().unwrap();
    let (status, _) = host.call(reqwest::Method::PATCH, &format!("/api/v1/channels/{channel_id}"), Some(&host.admin), Some(json!({"name": "Toko Budi"}))).await;
    assert_eq!(status, 200);
    let (person, link) = crate::people::invite(&host, &host.admin, "rina@tokobudi.co.id", "agent").await;
    let password = "kata-sandi-rina-2026";
    assert_eq!(crate::people::accept(&host, &link, password).await.0, 200);
    let (status, _) = host.call(reqwest::Method::POST, "/api/v1/session", None, Some(json!({"username": "rina@tokobudi.co.id", "password": password}))).await;
    assert_eq!(status, 200);
    let (status, _) = host.call(reqwest::Method::PATCH, &format!("/api/v1/people/{person}"), Some(&host.admin), Some(json!({"role": "supervisor"}))).await;
    assert_eq!(status, 200);
    let echo = std::fs::read(env!("ECHO_V1_WASM")).unwrap();
    let uploaded = host.http.post(format!("{}/api/v1/plugins", host.base)).bearer_auth(&host.operator).header("content-type", "application/wasm").body(echo).send().await.unwrap();
    assert_eq!(uploaded.status(), 202);
    let (status, _) = host.post("/api/v1/plugin-reviews/echo/approve", &host.operator, json!({})).await;
    assert_eq!(status, 201);
    let (status, _) = host.call(reqwest::Method::DELETE, "/api/v1/plugins/echo", Some(&host.operator), None).await;
    assert_eq!(status, 204);

    let (_, all) = host.get("/api/v1/audit", &host.operator).await;
    let recorded = actions(&all);
    for action in ["channel.change", "person.invite", "session.sign_in", "person.change", "plugin.upload_for_review", "plugin.approve", "plugin.remove"] {
        assert!(recorded.iter().any(|a| a == action), "{action} is recorded: {recorded:?}");
    }
    let sign_in = all.as_array().unwrap().iter().find(|e| e["action"] == "session.sign_in").unwrap();
    assert_eq!(sign_in["actor"].as_str(), Some(format!("person {person} rina@tokobudi.co.id").as_str()), "{sign_in}");
    let change = all.as_array().unwrap().iter().find(|e| e["action"] == "person.change").unwrap();
    assert!(change["target"].as_str().unwrap().contains("role=supervisor"), "{change}");
    assert!(!all.to_string().contains(password), "no password in the audit log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_filters_by_action_actor_time_and_workspace_together_and_pages_with_them() {
    let host = TestHost::start(HostOptions::default()).await;
    let (status, warung) = host.post("/api/v1/workspaces", &host.operator, json!({"name": "Warung Siti"})).await;
    assert_eq!(status, 201, "{warung}");
    let warung = warung["id"].as_i64().unwrap();
    let siti_admin = Db::open(host.data_path()).unwrap().create_token(Role::Admin, Some(warung)).unwrap();
    let token = async |as_who: &str, label: &str| {
        let (status, made) = host.post("/api/v1/tokens", as_who, json!({"label": label, "role": "agent"})).await;
        assert_eq!(status, 201, "{made}");
        made["id"].as_i64().unwrap()
    };
    let crm = token(host.admin.as_str(), "CRM sync").await;
    let (status, _) = host.call(reqwest::Method::DELETE, &format!("/api/v1/tokens/{crm}"), Some(&host.admin), None).await;
    assert_eq!(status, 204);
    // Later entries, a little later: the time filters have two sides to tell apart.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    token(host.admin.as_str(), "Kasir").await;
    token(siti_admin.as_str(), "Kasir Warung").await;
    let (status, _) = host.call(reqwest::Method::POST, "/api/v1/session", None, Some(json!({"username": "Budi@Toko.id", "password": "salah-tebak-1"}))).await;
    assert_eq!(status, 401);

    let all = entries(&host, &host.operator, &[]).await;
    assert_eq!(
        actions(&all),
        ["session.sign_in_failed", "token.create", "token.create", "token.revoke", "token.create", "workspace.create"],
        "{all}"
    );
    let mine = entries(&host, &host.admin, &[]).await;
    assert_eq!(actions(&mine), ["token.create", "token.revoke", "token.create"], "the admin reads workspace 1's: {mine}");
    let admin_actor = mine[0]["actor"].as_str().unwrap().to_owned();
    let siti_actor = all[1]["actor"].as_str().unwrap().to_owned();
    assert!(admin_actor.starts_with("admin token ") && siti_actor.starts_with("admin token ") && admin_actor != siti_actor, "{all}");

    // By action: exactly that one.
    let created = entries(&host, &host.operator, &[("action", "token.create")]).await;
    assert_eq!(ids(&created), [all[1]["id"].as_i64().unwrap(), all[2]["id"].as_i64().unwrap(), all[4]["id"].as_i64().unwrap()], "{created}");
    assert_eq!(actions(&entries(&host, &host.admin, &[("action", "token.create")]).await), ["token.create", "token.create"], "the admin's own only");
    assert_eq!(entries(&host, &host.operator, &[("action", "channel.connect")]).await, json!([]), "a known action nobody did");

    // By actor: a part of it, in any case; `%` and `_` are characters, not wildcards.
    let anonymous = entries(&host, &host.operator, &[("actor", "ANONYM")]).await;
    assert_eq!(actions(&anonymous), ["session.sign_in_failed"], "{anonymous}");
    assert_eq!(anonymous[0]["target"], "budi@toko.id", "the username tried, as the host compares it");
    let shouted = admin_actor.to_uppercase();
    let by_admin = entries(&host, &host.operator, &[("actor", shouted.as_str())]).await;
    assert_eq!(ids(&by_admin), ids(&mine), "the admin's token did workspace 1's three: {by_admin}");
    assert_eq!(entries(&host, &host.operator, &[("actor", "%")]).await, json!([]));
    assert_eq!(entries(&host, &host.operator, &[("actor", "_")]).await, json!([]));
    assert_eq!(entries(&host, &host.admin, &[("actor", "anonym")]).await, json!([]), "a failed sign-in is the installation's, not the admin's");

    // Both at once, and with the operator's workspace.
    let siti_created = entries(&host, &host.operator, &[("action", "token.create"), ("actor", siti_actor.as_str())]).await;
    assert_eq!(ids(&siti_created), [all[1]["id"].as_i64().unwrap()], "{siti_created}");
    let warung_id = warung.to_string();
    let in_warung = entries(&host, &host.operator, &[("workspace", warung_id.as_str())]).await;
    assert_eq!(ids(&in_warung), [all[1]["id"].as_i64().unwrap()], "{in_warung}");
    let in_one = entries(&host, &host.operator, &[("workspace", "1"), ("action", "token.create")]).await;
    assert!(in_one.as_array().unwrap().iter().all(|e| e["workspace_id"] == 1 && e["action"] == "token.create"), "{in_one}");
    assert_eq!(in_one.as_array().unwrap().len(), 2, "{in_one}");
    let (status, _) = audit(&host, &host.operator, &[("workspace", "99")]).await;
    assert_eq!(status, 200, "the operator may read a workspace that is gone");

    // An admin reads their own workspace only, whatever they name.
    let (status, body) = audit(&host, &host.admin, &[("workspace", warung_id.as_str())]).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = audit(&host, &siti_admin, &[("workspace", "1"), ("action", "token.create")]).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(ids(&entries(&host, &host.admin, &[("workspace", "1")]).await), ids(&mine), "naming their own is as naming none");
    let in_toko = host
        .http
        .get(format!("{}/api/v1/audit?workspace={warung}", host.base))
        .bearer_auth(&host.operator)
        .header("x-workspace", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(in_toko.status(), 404, "the operator inside workspace 1 is as its admin");

    // By time: since includes its moment, until does not; together a window.
    let at = |entry: &Value| entry["at"].as_i64().unwrap();
    let cut = at(&all[3]); // the revocation, before the pause
    let after_cut = rfc3339(cut + 1);
    let since = entries(&host, &host.operator, &[("since", after_cut.as_str())]).await;
    let expected: Vec<i64> = all.as_array().unwrap().iter().filter(|&e| at(e) > cut).map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids(&since), expected, "{since}");
    assert_eq!(actions(&since), ["session.sign_in_failed", "token.create", "token.create"], "what came after the pause");
    let until = entries(&host, &host.operator, &[("until", after_cut.as_str())]).await;
    let expected: Vec<i64> = all.as_array().unwrap().iter().filter(|&e| at(e) <= cut).map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids(&until), expected, "{until}");
    let at_cut = rfc3339(cut);
    let exactly = entries(&host, &host.operator, &[("since", at_cut.as_str()), ("until", after_cut.as_str()), ("action", "token.revoke")]).await;
    assert_eq!(ids(&exactly), [all[3]["id"].as_i64().unwrap()], "since is included: {exactly}");
    let in_jakarta = jiff::Timestamp::from_millisecond(cut + 1).unwrap().display_with_offset(jiff::tz::offset(7)).to_string();
    assert!(in_jakarta.ends_with("+07:00"), "{in_jakarta}");
    let with_offset = entries(&host, &host.operator, &[("since", in_jakarta.as_str())]).await;
    assert_eq!(ids(&with_offset), ids(&since), "an offset (its `+` encoded) is the same moment");

    // Paging keeps the filters: one at a time, then nothing.
    let mut seen = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let mut pairs = vec![("action", "token.create".to_owned()), ("limit", "1".to_owned())];
        pairs.extend(before.map(|id| ("before", id.to_string())));
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = entries(&host, &host.operator, &pairs).await;
        if page.as_array().unwrap().is_empty() {
            break;
        }
        assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
        before = page[0]["id"].as_i64();
        seen.extend(ids(&page));
        assert!(seen.len() <= 3, "paging ends: {seen:?}");
    }
    assert_eq!(seen, ids(&created), "every token.create, newest first, one a page");
    let newest = mine[0]["id"].to_string();
    let older = entries(&host, &host.admin, &[("actor", "ADMIN TOKEN"), ("before", newest.as_str()), ("limit", "1")]).await;
    assert_eq!(ids(&older), [mine[1]["id"].as_i64().unwrap()], "{older}");

    // Empty values are no filter; the limit stays clamped.
    assert_eq!(ids(&entries(&host, &host.operator, &[("action", ""), ("actor", " "), ("since", ""), ("until", "")]).await), ids(&all));
    assert_eq!(entries(&host, &host.operator, &[("limit", "0")]).await.as_array().unwrap().len(), 1, "at least one");
    assert_eq!(ids(&entries(&host, &host.operator, &[("limit", "5000")]).await), ids(&all), "at most 1000");

    // Refused, each problem under its field.
    let (status, body) = audit(&host, &host.operator, &[("action", "channel.explode")]).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_fields")), "{body}");
    let problem = body["fields"]["action"].as_str().unwrap();
    assert!(problem.contains("channel.connect") && problem.contains("`channel.explode`"), "{body}");
    let (status, body) = audit(&host, &host.admin, &[("since", "yesterday"), ("until", "2026-13-01T00:00:00Z")]).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&String> = body["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["since", "until"], "{body}");
    assert!(body["fields"]["since"].as_str().unwrap().contains("RFC 3339"), "{body}");
    let (status, body) = audit(&host, &host.admin, &[("since", "2026-05-02T00:00:00Z"), ("until", "2026-05-01T00:00:00Z")]).await;
    assert_eq!((status, body["fields"]["until"].as_str()), (422, Some("must be later than `since`")), "{body}");
    let (status, body) = audit(&host, &host.admin, &[("since", "2026-05-01T09:00:00")]).await;
    assert_eq!(status, 422, "a time without an offset is no moment: {body}");
    let in_indonesian = host
        .http
        .get(format!("{}/api/v1/audit?since=kemarin", host.base))
        .bearer_auth(&host.admin)
        .header("accept-language", "id")
        .send()
        .await
        .unwrap();
    assert_eq!(in_indonesian.status(), 422);
    let body: Value = in_indonesian.json().await.unwrap();
    assert_eq!(body["fields"]["since"], "harus berupa waktu RFC 3339 seperti 2026-05-01T09:00:00Z, bukan `kemarin`", "{body}");
}
