//! Event webhooks' rows: endpoints in the caller's scope, the deliveries the schema's triggers
//! write with each event (only for subscribed, enabled endpoints of the event's workspace), a
//! conversation's deliveries due one after the other, claims one node wins, retries, giving up
//! (which disables the endpoint), redelivery with the same event id, a ping.

use std::time::Duration;

use switchboard::store::Scope;
use switchboard::store::model::{AsRead, Attempt, DeliveryStatus, EndpointChange, NewEndpoint, NewOutbound, Outcome, Redeliver};

use crate::each_backend;
use crate::messages::inbound;

fn endpoint(workspace_id: i64, events: &[&str]) -> NewEndpoint {
    NewEndpoint {
        workspace_id,
        url: "https://crm.example/hook".into(),
        description: "CRM".into(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        bot_channels: Vec::new(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    }
}

fn answered(status: i64) -> Attempt {
    Attempt { at: switchboard::store::now_ms(), status: Some(status), latency_ms: 3, response: "ok".into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_write_deliveries_for_subscribed_endpoints_which_go_out_in_order_are_claimed_once_retried_given_up_and_sent_again() {
    each_backend(async |backend| {
        let (node1, node2, name, channel) = (&backend.nodes[0], &backend.nodes[1], backend.name, backend.channel.as_str());
        let other = node1.create_workspace("Other shop").await.unwrap().id;
        let messages = node1.create_webhook_endpoint(&endpoint(1, &["message.received", "conversation.resolved"])).await.unwrap();
        let elsewhere = node1.create_webhook_endpoint(&endpoint(other, &["message.received"])).await.unwrap();
        assert_eq!(messages.events, vec!["conversation.resolved", "message.received"], "{name}");
        assert_eq!(messages.secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "{name}: sealed at rest, opened when read");
        let sealed = backend.texts("SELECT secret FROM webhook_endpoints ORDER BY id").await;
        assert!(!sealed[0].contains("MfKQ9r8"), "{name}: the secret is sealed at rest");
        assert_eq!(node2.webhook_endpoints(Scope::Workspace(1)).await.unwrap().len(), 1, "{name}: one workspace's");
        assert!(node2.webhook_endpoint(elsewhere.id, Scope::Workspace(1)).await.unwrap().is_none(), "{name}: not another's");
        assert!(node2.update_webhook_endpoint(elsewhere.id, Scope::Workspace(1), &EndpointChange { enabled: Some(false), ..Default::default() }).await.unwrap().is_none(), "{name}");
        assert!(node2.delete_webhook_endpoint(elsewhere.id, Scope::Workspace(1)).await.unwrap().is_none(), "{name}");

        // Three messages of one conversation, one of another: a delivery each, for workspace 1's endpoint only.
        let now = switchboard::store::now_ms();
        for (update, chat) in [(1, "700"), (2, "700"), (3, "701"), (4, "700")] {
            node1.record_inbound(channel, &inbound(update, chat, now)).await.unwrap().unwrap();
        }
        let due = node2.due_webhook_deliveries(10, &[]).await.unwrap();
        let first_of_each: Vec<_> = due.iter().map(|d| (d.endpoint_id, d.event_type.as_str(), d.attempts)).collect();
        assert_eq!(first_of_each, vec![(messages.id, "message.received", 0), (messages.id, "message.received", 0)], "{name}: the first of each conversation is due, the others wait");
        assert!(due.iter().all(|d| d.workspace_id == 1 && d.channel_id.as_deref() == Some(channel) && d.event_id.starts_with("evt_")), "{name}: {due:?}");
        let (first, other_conversation) = (due[0].clone(), due[1].clone());
        assert_ne!(first.conversation_id, other_conversation.conversation_id, "{name}");

        // Of two Postgres nodes racing for a delivery, one wins, and it is not due for the other.
        // SQLite is one node: its worker's list of sends in flight does that, a claim always succeeds.
        let lease = Duration::from_secs(30);
        let (a, b) = (node1.claim_webhook_delivery(first.id, lease), node2.claim_webhook_delivery(first.id, lease));
        let (a, b) = tokio::join!(a, b);
        let (a, b) = (a.unwrap(), b.unwrap());
        let (holder, other) = if a { (node1, node2) } else { (node2, node1) };
        if name == "postgres" {
            assert!(a ^ b, "{name}: exactly one claim wins");
            assert!(node2.due_webhook_deliveries(10, &[]).await.unwrap().iter().all(|d| d.id != first.id), "{name}: claimed is not due");
            // The holder renews its claim; the other node holds nothing to renew.
            assert_eq!(holder.renew_webhook_claims(&[first.id], lease).await.unwrap(), 1, "{name}");
            assert_eq!(other.renew_webhook_claims(&[first.id], lease).await.unwrap(), 0, "{name}");
            // An outcome from the node that does not hold it (one whose claim lapsed and was
            // taken over) changes nothing of the delivery.
            other.webhook_attempted(&first, &answered(503), &Outcome::Failed { disable_endpoint: None }, messages.updated_at).await.unwrap();
            let listed = node1.webhook_deliveries(messages.id, Scope::Every, 10).await.unwrap();
            let (shown, _) = listed.iter().find(|(d, _)| d.id == first.id).unwrap();
            assert_eq!((shown.state.as_str(), shown.attempts), ("pending", 0), "{name}: a late outcome of a lapsed claim");
        } else {
            assert!(a && b, "{name}");
        }

        // A failure: retried later, with the attempt kept; then delivered, and the next of its conversation is due.
        holder.webhook_attempted(&first, &answered(500), &Outcome::Retry { at: now + 60_000 }, messages.updated_at).await.unwrap();
        assert!(node2.due_webhook_deliveries(10, &[]).await.unwrap().iter().all(|d| d.conversation_id != first.conversation_id), "{name}: its conversation waits for it");
        assert!(holder.claim_webhook_delivery(first.id, lease).await.unwrap(), "{name}");
        holder.webhook_attempted(&first, &answered(200), &Outcome::Delivered, messages.updated_at).await.unwrap();
        let due = node2.due_webhook_deliveries(10, &[other_conversation.id]).await.unwrap();
        assert_eq!((due.len(), due[0].conversation_id, due[0].message_id > first.message_id), (1, first.conversation_id, true), "{name}: the next message of the conversation, {due:?}");
        let listed = node1.webhook_deliveries(messages.id, Scope::Every, 10).await.unwrap();
        let (shown, attempts) = listed.iter().find(|(d, _)| d.id == first.id).unwrap();
        // (On Postgres the lapsed claim's attempt is in its history too.)
        let kept = attempts.iter().map(|a| a.status).filter(|status| *status != Some(503)).collect::<Vec<_>>();
        assert_eq!((shown.state.as_str(), shown.attempts, kept), ("delivered", 2, vec![Some(500), Some(200)]), "{name}");

        // An admin changed the endpoint while its last attempt went to what it was: that
        // attempt's failure past the horizon does not turn it off.
        let given_up = Outcome::Failed { disable_endpoint: Some("retry horizon passed".into()) };
        assert!(node1.claim_webhook_delivery(other_conversation.id, lease).await.unwrap(), "{name}");
        let as_read = node1.webhook_endpoint(messages.id, Scope::Every).await.unwrap().unwrap().updated_at;
        node2.update_webhook_endpoint(messages.id, Scope::Workspace(1), &EndpointChange { description: Some("CRM baru".into()), ..Default::default() }).await.unwrap().unwrap();
        let attempted = node1.webhook_attempted(&other_conversation, &answered(503), &given_up, as_read).await.unwrap();
        assert!(!attempted.disabled && node2.webhook_endpoint(messages.id, Scope::Every).await.unwrap().unwrap().enabled, "{name}: changed since it was read");

        // Given up: failed, and the endpoint disabled with the reason; nothing of it is due.
        node1.redeliver_webhooks(messages.id, Scope::Every, Redeliver::One(other_conversation.id)).await.unwrap();
        let again = node2.due_webhook_deliveries(10, &[]).await.unwrap().into_iter().find(|d| d.conversation_id == other_conversation.conversation_id).unwrap();
        assert!(node1.claim_webhook_delivery(again.id, lease).await.unwrap(), "{name}");
        let as_read = node1.webhook_endpoint(messages.id, Scope::Every).await.unwrap().unwrap().updated_at;
        let attempted = node1.webhook_attempted(&again, &answered(503), &given_up, as_read).await.unwrap();
        assert!(attempted.disabled && attempted.handed.is_empty(), "{name}: no bot, no conversation handed over");
        let disabled = node2.webhook_endpoint(messages.id, Scope::Every).await.unwrap().unwrap();
        assert_eq!((disabled.enabled, disabled.disabled_reason.as_deref()), (false, Some("retry horizon passed")), "{name}");
        assert!(node2.due_webhook_deliveries(10, &[]).await.unwrap().is_empty(), "{name}: a disabled endpoint's deliveries wait");
        node1.record_inbound(channel, &inbound(5, "700", now)).await.unwrap().unwrap();
        let (enabled, _) = node2.update_webhook_endpoint(messages.id, Scope::Workspace(1), &EndpointChange { enabled: Some(true), ..Default::default() }).await.unwrap().unwrap();
        assert_eq!((enabled.enabled, enabled.disabled_reason), (true, None), "{name}");
        assert_eq!(node2.webhook_deliveries(messages.id, Scope::Every, 50).await.unwrap().len(), 5, "{name}: four and the one sent again; none written while it was disabled");

        // Sent again with the same event id; a resolved conversation is an event too.
        assert_eq!(node1.redeliver_webhooks(messages.id, Scope::Every, Redeliver::One(first.id)).await.unwrap(), 1, "{name}");
        assert_eq!(node1.redeliver_webhooks(messages.id, Scope::Every, Redeliver::One(due[0].id)).await.unwrap(), 0, "{name}: a pending one is not copied");
        let copies: Vec<_> = node1.webhook_deliveries(messages.id, Scope::Every, 50).await.unwrap().into_iter().filter(|(d, _)| d.event_id == first.event_id).collect();
        assert_eq!(copies.len(), 2, "{name}");
        node1.update_conversation(first.conversation_id.unwrap(), Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap();
        let kinds: Vec<String> = node1.webhook_deliveries(messages.id, Scope::Every, 50).await.unwrap().into_iter().map(|(d, _)| d.event_type).collect();
        assert_eq!(kinds.iter().filter(|k| *k == "conversation.resolved").count(), 1, "{name}: {kinds:?}");

        // A ping: claimed by this node at once, not due for another.
        let ping = node2.ping_webhook(messages.id, lease).await.unwrap().unwrap();
        assert_eq!((ping.event_type.as_str(), ping.workspace_id), ("webhook.ping", 1), "{name}");
        assert!(node1.due_webhook_deliveries(50, &[]).await.unwrap().iter().all(|d| d.id != ping.id), "{name}");

        // Rotation keeps the old secret valid until its time; deleting takes the deliveries.
        let rotated = node1.rotate_webhook_secret(messages.id, Scope::Workspace(1), "whsec_bmV3LXNlY3JldC1mb3ItdGhlLWNybS1ob29r", now + 1_000).await.unwrap().unwrap();
        assert_eq!(rotated.signing_secrets(now), vec!["whsec_bmV3LXNlY3JldC1mb3ItdGhlLWNybS1ob29r", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "{name}");
        assert_eq!(rotated.signing_secrets(now + 2_000).len(), 1, "{name}");
        assert_eq!(node2.delete_webhook_endpoint(messages.id, Scope::Workspace(1)).await.unwrap(), Some(Vec::new()), "{name}: deleted, no bot: nothing handed over");
        assert!(node1.webhook_deliveries(messages.id, Scope::Every, 50).await.unwrap().is_empty(), "{name}");
    })
    .await;
}

/// A customer's choice (contract 0.1.4) is `choice.made` besides `message.received`, written by
/// the schema's trigger in the transaction that stores it, before it; a plain message is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_choice_is_also_the_choice_made_event() {
    each_backend(async |backend| {
        let (node, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let crm = node.create_webhook_endpoint(&endpoint(1, &["choice.made", "message.received"])).await.unwrap();
        let now = switchboard::store::now_ms();
        let plain = node.record_inbound(channel, &inbound(1, "900", now)).await.unwrap().unwrap();
        let mut picked = inbound(2, "900", now);
        picked.text = Some("Belum".into());
        picked.content.choice = Some(switchboard::store::model::ChoiceContent {
            id: "missing:A-17".into(),
            title: Some("Belum".into()),
            message_id: None,
            answers: None,
            by: switchboard::store::model::ChoiceSource::Tap,
        });
        let stored = node.record_inbound(channel, &picked).await.unwrap().unwrap();
        // Newest first, as the admin sees them.
        let written = node.webhook_deliveries(crm.id, switchboard::store::Scope::Every, 10).await.unwrap();
        let made: Vec<_> = written.iter().rev().map(|(d, _)| (d.event_type.as_str(), d.message_id)).collect();
        assert_eq!(
            made,
            vec![("message.received", Some(plain.id)), ("choice.made", Some(stored.id)), ("message.received", Some(stored.id))],
            "{name}: in the order they were written"
        );
    })
    .await;
}

/// Every event a message or a conversation makes is written once, when its change happens, and
/// a write that changes nothing the events name writes none: a second message of an open
/// conversation (its status set to itself), a status a message already has, an assignee set
/// again. The ingest path runs these triggers for every message, so Postgres runs each trigger's
/// function only when its event can happen (migration 0013): this pins what they still write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_written_once_when_it_happens_and_a_write_that_changes_nothing_writes_none() {
    each_backend(async |backend| {
        let (node, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let all = node.create_webhook_endpoint(&endpoint(1, switchboard::store::webhook_endpoints::EVENT_TYPES)).await.unwrap();
        let events = async || -> Vec<String> {
            let mut listed = node.webhook_deliveries(all.id, Scope::Every, 100).await.unwrap();
            listed.sort_by_key(|(d, _)| d.id);
            listed.into_iter().map(|(d, _)| d.event_type).collect()
        };
        let now = switchboard::store::now_ms();
        let first = node.record_inbound(channel, &inbound(1, "960", now)).await.unwrap().unwrap();
        assert_eq!(events().await, vec!["conversation.created", "message.received"], "{name}");
        node.record_inbound(channel, &inbound(2, "960", now)).await.unwrap().unwrap();
        assert_eq!(events().await[2..], ["message.received"], "{name}: no conversation event for a message of an open one");
        assert!(node.record_inbound(channel, &inbound(2, "960", now)).await.unwrap().is_none(), "{name}: a webhook sent again");
        assert_eq!(events().await.len(), 3, "{name}: a message stored once is one event");

        let conversation = first.conversation_id;
        let ani = node.create_person(Some(1), "ani-events", "Ani", switchboard::store::model::Role::Agent).await.unwrap().id;
        node.update_conversation(conversation, Scope::Every, Some(Some(ani)), None, AsRead::Anything).await.unwrap();
        node.update_conversation(conversation, Scope::Every, Some(Some(ani)), Some("open"), AsRead::Anything).await.unwrap();
        assert_eq!(events().await[3..], ["conversation.assigned"], "{name}: assigned once, the same assignee and status again are no event");
        node.update_conversation(conversation, Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap();
        node.record_inbound(channel, &inbound(3, "960", now)).await.unwrap().unwrap();
        // The message and the reopening are one write; each backend stores them in its own order.
        let mut reopened = events().await[4..].to_vec();
        reopened[1..].sort();
        assert_eq!(reopened, ["conversation.resolved", "conversation.reopened", "message.received"], "{name}: a customer writing again opens it");

        let reply = NewOutbound { conversation_id: conversation, text: Some("Sudah dikirim kak".into()), content: Default::default(), reply_to: None, file: None, sent_by: Some(ani) };
        let queued = node.queue_outbound(channel, Scope::Every, &reply).await.unwrap();
        assert_eq!(events().await.len(), 7, "{name}: a reply queued is no event yet");
        node.delivery_succeeded(queued.id, "960-p1").await.unwrap();
        node.record_status(channel, "960-p1", DeliveryStatus::Delivered, None).await.unwrap();
        node.record_status(channel, "960-p1", DeliveryStatus::Delivered, None).await.unwrap();
        node.record_status(channel, "960-p1", DeliveryStatus::Sent, None).await.unwrap();
        assert_eq!(events().await[7..], ["message.sent", "message.delivered"], "{name}: each status once, none moving back");
    })
    .await;
}
