//! Assignment: supervisors assign anyone's conversations to anyone of the workspace; an agent
//! takes unassigned ones (and gives back their own), sees "mine" / "unassigned" / "all", and
//! anyone resolves or reopens; a customer's new message reopens a resolved conversation.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_e2e::{HostOptions, TestHost, test_plugin};

use crate::people::{Browser, invited_and_signed_in};

const ECHO_V1: &str = env!("ECHO_V1_WASM");


async fn ids(browser: &Browser, host: &TestHost, filter: &str) -> Vec<i64> {
    let (status, list) = browser.request(host, Method::GET, &format!("/api/v1/conversations?assigned={filter}"), None, false, None).await;
    assert_eq!(status, 200, "{list}");
    let mut ids: Vec<i64> = list.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    ids.sort();
    ids
}

async fn change(browser: &Browser, host: &TestHost, conversation: i64, body: Value) -> (u16, Value) {
    browser.request(host, Method::PATCH, &format!("/api/v1/conversations/{conversation}"), Some(body), true, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_assign_agents_take_unassigned_and_anyone_resolves() {
    let host = TestHost::start(HostOptions { extra_plugins: vec![test_plugin(ECHO_V1)], ..Default::default() }).await;
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo", "settings": {}})).await;
    assert_eq!(status, 201, "{channel}");
    let channel = channel["id"].as_str().unwrap().to_owned();
    // Two customers (echo names every ping's conversation "echo-chat": use two channels' worth of pings
    // by varying the id; one conversation is enough for echo, so connect a second channel).
    let (_, second) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo 2", "settings": {}})).await;
    let second = second["id"].as_str().unwrap().to_owned();
    for (id, ping) in [(&channel, "a1"), (&second, "b1")] {
        assert_eq!(host.webhook(id, &[], json!({"id": ping, "text": "halo"}).to_string()).await.0, 200);
    }
    let (_, all) = host.get("/api/v1/conversations", &host.agent).await;
    let mut conversations: Vec<i64> = all.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    conversations.sort();
    let (first, other) = (conversations[0], conversations[1]);

    let (budi_id, budi) = invited_and_signed_in(&host, "budi@tokobudi.co.id", "supervisor").await;
    let (siti_id, siti) = invited_and_signed_in(&host, "siti@tokobudi.co.id", "agent").await;
    let (rina_id, rina) = invited_and_signed_in(&host, "rina@tokobudi.co.id", "agent").await;
    let _ = budi_id;

    // The supervisor assigns the first to Siti.
    let (status, assigned) = change(&budi, &host, first, json!({"assignee_id": siti_id})).await;
    assert_eq!((status, assigned["assignee_id"].as_i64()), (200, Some(siti_id)), "{assigned}");
    assert_eq!(ids(&siti, &host, "mine").await, [first]);
    assert_eq!(ids(&siti, &host, "unassigned").await, [other]);
    assert_eq!(ids(&siti, &host, "all").await, [first, other]);

    // Rina may not take Siti's, nor assign anyone; she takes the unassigned one.
    let (status, body) = change(&rina, &host, first, json!({"assignee_id": rina_id})).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = change(&rina, &host, other, json!({"assignee_id": siti_id})).await;
    assert_eq!(status, 403, "agents do not assign others");
    let (status, taken) = change(&rina, &host, other, json!({"assignee_id": rina_id})).await;
    assert_eq!((status, taken["assignee_id"].as_i64()), (200, Some(rina_id)), "{taken}");
    assert_eq!(ids(&rina, &host, "mine").await, [other]);
    assert_eq!(ids(&rina, &host, "unassigned").await, Vec::<i64>::new());

    // The supervisor reassigns anyone's; a person of no workspace of ours is refused.
    assert_eq!(change(&budi, &host, other, json!({"assignee_id": siti_id})).await.0, 200);
    assert_eq!(ids(&siti, &host, "mine").await, [first, other]);
    let (status, body) = change(&budi, &host, other, json!({"assignee_id": 99999})).await;
    assert_eq!(status, 422, "{body}");
    // Siti gives one back; an agent resolves; the customer's next message reopens it.
    let (status, back) = change(&siti, &host, other, json!({"assignee_id": null})).await;
    assert_eq!((status, back["assignee_id"].clone()), (200, Value::Null), "{back}");
    let (status, resolved) = change(&siti, &host, first, json!({"status": "resolved"})).await;
    assert_eq!((status, resolved["status"].as_str()), (200, Some("resolved")), "{resolved}");
    let (status, body) = change(&siti, &host, first, json!({"status": "closed-ish"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(host.webhook(&channel, &[], json!({"id": "a2", "text": "masih ada?"}).to_string()).await.0, 200);
    let (_, reopened) = host.get(&format!("/api/v1/conversations/{first}"), &host.agent).await;
    assert_eq!(reopened["status"], "open", "a new message reopens it: {reopened}");

    // "mine" needs a person.
    let (status, body) = host.get("/api/v1/conversations?assigned=mine", &host.agent).await;
    assert_eq!(status, 422, "{body}");
}

/// Four agents take one unassigned conversation at once: one takes it; each other is refused,
/// 409 `changed_meanwhile` when it read the conversation before that take was stored, 403 (no
/// longer unassigned) when after; none is made over the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_four_agents_taking_one_conversation_at_once_one_takes_it() {
    let host = TestHost::start(HostOptions { extra_plugins: vec![test_plugin(ECHO_V1)], ..Default::default() }).await;
    let (status, channel) = host.post("/api/v1/channels", &host.admin, json!({"plugin": "echo", "name": "Echo", "settings": {}})).await;
    assert_eq!(status, 201, "{channel}");
    let channel = channel["id"].as_str().unwrap().to_owned();
    let mut agents = Vec::new();
    for name in ["siti", "rina", "dewi", "eka"] {
        agents.push(invited_and_signed_in(&host, &format!("{name}@tokobudi.co.id"), "agent").await);
    }
    for round in 0..3 {
        assert_eq!(host.webhook(&channel, &[], json!({"id": format!("ping-{round}"), "text": "halo"}).to_string()).await.0, 200);
        let (_, unassigned) = agents[0].1.request(&host, Method::GET, "/api/v1/conversations?assigned=unassigned", None, false, None).await;
        let conversation = unassigned[0]["id"].as_i64().unwrap();
        let takes = agents.iter().map(|(id, browser)| change(browser, &host, conversation, json!({"assignee_id": id})));
        let answers = futures_util::future::join_all(takes).await;
        let took: Vec<i64> = agents.iter().zip(&answers).filter(|(_, (status, _))| *status == 200).map(|((id, _), _)| *id).collect();
        assert_eq!(took.len(), 1, "round {round}: {answers:?}");
        for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
            match status {
                409 => assert_eq!(body["error"], "changed_meanwhile", "{body}"),
                403 => {}
                _ => panic!("round {round}: neither taken nor refused: {answers:?}"),
            }
        }
        let (_, now) = host.get(&format!("/api/v1/conversations/{conversation}"), &host.agent).await;
        assert_eq!(now["assignee_id"].as_i64(), Some(took[0]), "the one answered 200 holds it: {now}");
        // Given back for the next round (echo keeps one conversation per channel).
        let holder = agents.iter().find(|(id, _)| *id == took[0]).unwrap();
        assert_eq!(change(&holder.1, &host, conversation, json!({"assignee_id": null})).await.0, 200);
    }
}
