//! The Activity figures over HTTP: what customers wrote, what a person answered and resolved,
//! what the provider refused, read back as JSON and as CSV; who may read them; the operator's
//! figures of plugins and workspaces.

use serde_json::{Value, json};
use switchboard_e2e::{PATIENCE, conversations, messages, until_status};

use crate::people::invited_and_signed_in;
use crate::telegram::{connect, host_and_fake, registered_secret, text_update};

fn sum(values: &Value) -> i64 {
    values.as_array().expect("a number per day").iter().map(|n| n.as_i64().unwrap()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_figures_count_what_customers_people_and_the_provider_did() {
    let (host, fake) = host_and_fake().await;
    let channel = connect(&host, &fake).await;
    let id = channel["id"].as_str().unwrap();
    let secret = registered_secret(&fake);
    for (update, chat) in [(60, 4242), (61, 4343), (62, 4242)] {
        host.webhook(id, &[("x-telegram-bot-api-secret-token", &secret)], text_update(update, chat, "Halo kak")).await;
    }
    let listed = conversations(&host).await;
    assert_eq!(listed.len(), 2);
    let (first, second) = (listed[0]["id"].as_i64().unwrap(), listed[1]["id"].as_i64().unwrap());

    // Ani answers both customers (Telegram refuses the second answer), an integration answers
    // through a token, and Ani resolves the first conversation as hers.
    let (ani, browser) = invited_and_signed_in(&host, "ani@toko.id", "agent").await;
    let (status, answer) = browser.request(&host, reqwest::Method::POST, &format!("/api/v1/conversations/{first}/messages"), Some(json!({"text": "Siap kak"})), true, None).await;
    assert_eq!(status, 202, "{answer}");
    // Sent before Telegram is told to refuse the next one, so the refusal meets the second.
    until_status(&host, first, answer["id"].as_i64().unwrap(), "sent").await;
    fake.fail_next_send(403, "Forbidden: bot was blocked by the user", None);
    let (status, refused) = browser.request(&host, reqwest::Method::POST, &format!("/api/v1/conversations/{second}/messages"), Some(json!({"text": "Halo"})), true, None).await;
    assert_eq!(status, 202, "{refused}");
    // Recorded before anything else is sent: a reply queued meanwhile (the integration's, below)
    // could reach Telegram first and meet the refusal meant for this one.
    let error = host
        .eventually(PATIENCE, || async {
            let failed = messages(&host, second).await.into_iter().find(|m| m["id"] == refused["id"] && m["status"] == "failed");
            failed.map(|m| m["error"].as_str().unwrap().to_owned())
        })
        .await
        .expect("Telegram's refusal is recorded");
    let (status, body) = host.post(&format!("/api/v1/conversations/{first}/messages"), &host.agent, json!({"text": "Pesanan dikirim"})).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = browser
        .request(&host, reqwest::Method::PATCH, &format!("/api/v1/conversations/{first}"), Some(json!({"assignee_id": ani, "status": "resolved"})), true, None)
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, activity) = host.get("/api/v1/activity?utc_offset=420", &host.admin).await;
    assert_eq!(status, 200, "{activity}");
    assert_eq!(activity["days"].as_array().unwrap().len(), 30);
    assert_eq!(activity["utc_offset"], 420);
    let channels = activity["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1);
    assert_eq!((channels[0]["id"].as_str(), channels[0]["plugin"].as_str()), (Some(id), Some("telegram")));
    assert_eq!((sum(&channels[0]["received"]), sum(&channels[0]["sent"])), (3, 3), "{activity}");
    assert_eq!(activity["failures"], json!([{"reason": error, "count": 1}]));
    let agents = activity["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "only a person's replies and resolutions count: {activity}");
    assert_eq!((agents[0]["person_id"].as_i64(), agents[0]["name"].as_str()), (Some(ani), Some("Siti Rahma")), "by the display name");
    assert_eq!((agents[0]["first_response"]["conversations"].as_i64(), agents[0]["resolution"]["conversations"].as_i64()), (Some(2), Some(1)));
    assert!(agents[0]["first_response"]["median_seconds"].as_f64().unwrap() >= 0.0);

    // The same figures as CSV tables.
    let (status, csv) = host.get("/api/v1/activity/messages.csv?utc_offset=420", &host.admin).await;
    assert_eq!(status, 200);
    let csv = csv.as_str().unwrap().to_owned();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("day,channel_id,channel_name,plugin,received,sent"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 30, "a row per day for the one channel");
    assert_eq!(rows.iter().map(|r| r[4].parse::<i64>().unwrap()).sum::<i64>(), 3);
    assert_eq!(rows.iter().map(|r| r[5].parse::<i64>().unwrap()).sum::<i64>(), 3);
    let (_, failures) = host.get("/api/v1/activity/failures.csv", &host.supervisor).await;
    assert_eq!(failures.as_str().unwrap().lines().nth(1).map(|l| l.ends_with(",1")), Some(true), "{failures}");
    let (_, people) = host.get("/api/v1/activity/agents.csv", &host.admin).await;
    assert!(people.as_str().unwrap().lines().nth(1).unwrap().starts_with(&format!("{ani},Siti Rahma,2,")), "{people}");

    // Who may read, and what is refused.
    let (status, body) = host.get("/api/v1/activity", &host.agent).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = host.get("/api/v1/activity?days=0&utc_offset=5000", &host.admin).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"]["days"].is_string() && body["fields"]["utc_offset"].is_string(), "{body}");
    let (status, body) = host.get("/api/v1/activity?days=many", &host.admin).await;
    assert_eq!((status, body["error"].is_string()), (400, true), "{body}");
    let (status, body) = host.get("/api/v1/activity/everything.csv", &host.admin).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = host.get("/api/v1/operations", &host.admin).await;
    assert_eq!(status, 403, "{body}");

    // The operator: plugins' calls on this node, each workspace's volume.
    let (status, operations) = host.get("/api/v1/operations", &host.operator).await;
    assert_eq!(status, 200, "{operations}");
    let telegram = operations["plugins"].as_array().unwrap().iter().find(|p| p["plugin"] == "telegram").expect("telegram's calls").clone();
    assert!(telegram["calls"].as_u64().unwrap() >= 6, "three webhooks and three sends at least: {telegram}");
    assert!(telegram["median_ms"].as_f64().unwrap() > 0.0, "{telegram}");
    let workspace = operations["workspaces"].as_array().unwrap().iter().find(|w| w["id"] == 1).expect("workspace 1").clone();
    assert_eq!((sum(&workspace["received"]), sum(&workspace["sent"])), (3, 3));
    let (status, plugins) = host.get("/api/v1/operations/plugins.csv", &host.operator).await;
    assert_eq!(status, 200);
    assert!(plugins.as_str().unwrap().starts_with("plugin,calls,errors,median_ms,p95_ms\n") && plugins.as_str().unwrap().contains("\ntelegram,"), "{plugins}");
    let response = host.http.get(format!("{}/api/v1/operations/workspaces.csv", host.base)).bearer_auth(&host.operator).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("workspaces.csv"));
}
