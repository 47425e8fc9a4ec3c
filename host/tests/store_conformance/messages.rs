//! Messages: inbound messages stored once across nodes, the messaging window, delivery statuses.

use std::sync::Arc;

use switchboard::store::backend::Store;
use switchboard::store::model::{AttachmentContent, ContactInfo, DeliveryStatus, EventRecord, FileRecord, LocationContent, NewInbound, NewOutbound, StoredBytes};
use switchboard::store::{Scope, now_ms};

use crate::each_backend;

pub(crate) fn inbound(update: i64, chat: &str, at_ms: i64) -> NewInbound {
    NewInbound {
        provider_message_id: format!("{chat}:{update}"),
        conversation_external_id: chat.to_owned(),
        conversation_name: Some(format!("Chat {chat}")),
        sender: ContactInfo { external_id: format!("user-{chat}"), name: Some("Siti Rahayu".into()), handle: Some("siti".into()) },
        provider_timestamp: at_ms,
        text: Some(format!("Halo, pesanan {update} sudah dikirim?")),
        content: Default::default(),
        properties: vec![("reply_token".into(), format!("rt-{update}"))],
        reply_to: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_message_is_stored_once_read_back_whole_and_moves_the_window_forward_only() {
    each_backend(async |backend| {
        let (store, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let earlier = now_ms() - 60_000;
        // With what a message can carry besides its text: a shared place, and the message it answers.
        let mut carrying = inbound(1, "100", earlier);
        // (A coordinate with all of an f64's 17 digits: what a read parses is what was written.)
        let place = LocationContent { latitude: -6.175392, longitude: 106.82715312345679, name: Some("Monas".into()), address: Some("Gambir, Jakarta Pusat".into()) };
        carrying.content.attachments = vec![AttachmentContent { kind: "location".into(), location: Some(place), ..Default::default() }];
        carrying.reply_to = Some("100:0".into());
        let first = store.record_inbound(channel, &carrying).await.unwrap().unwrap_or_else(|| panic!("{name}: stored"));
        assert_eq!(first.direction, "inbound");
        assert_eq!(first.text.as_deref(), Some("Halo, pesanan 1 sudah dikirim?"));
        assert_eq!(first.properties, vec![("reply_token".to_owned(), "rt-1".to_owned())], "{name}");
        assert_eq!((&first.content, first.provider_timestamp, first.reply_to.as_deref()), (&carrying.content, Some(earlier), Some("100:0")), "{name}");
        // What storing answers is what a read finds, field by field.
        let read = store.message(first.id).await.unwrap().unwrap();
        assert_eq!(serde_json::to_value(&first).unwrap(), serde_json::to_value(&read).unwrap(), "{name}");
        assert_eq!(first.properties, read.properties, "{name}");

        assert!(store.record_inbound(channel, &inbound(1, "100", earlier)).await.unwrap().is_none(), "{name}: a redelivery is not stored again");
        assert_eq!(store.last_inbound_at(channel, "100").await.unwrap(), Some(earlier));

        // An older message arriving late does not move the window back.
        store.record_inbound(channel, &inbound(2, "100", earlier - 30_000)).await.unwrap().unwrap();
        assert_eq!(store.last_inbound_at(channel, "100").await.unwrap(), Some(earlier), "{name}");
        // A provider clock ahead of ours does not stretch it.
        let before = now_ms();
        store.record_inbound(channel, &inbound(3, "100", before + 3_600_000)).await.unwrap().unwrap();
        let window = store.last_inbound_at(channel, "100").await.unwrap().unwrap();
        assert!(window >= before && window <= now_ms(), "{name}: {window} is capped at the time we received it");
        assert!(store.message(i64::MAX).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_updates_sent_to_every_node_at_once_are_each_stored_exactly_once() {
    each_backend(async |backend| {
        let name = backend.name;
        let channel: Arc<str> = backend.channel.as_str().into();
        let at = now_ms() - 1_000;
        // 40 updates over 8 chats, each sent to all three nodes at the same moment.
        let mut sends = Vec::new();
        for node in &backend.nodes {
            for update in 0..40 {
                let (node, channel) = (node.clone(), channel.clone());
                sends.push(tokio::spawn(async move { node.record_inbound(&channel, &inbound(update, &format!("{}", update % 8), at)).await }));
            }
        }
        let mut stored = Vec::new();
        for send in sends {
            if let Some(message) = send.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}")) {
                stored.push(message.provider_message_id.unwrap());
            }
        }
        stored.sort();
        let mut unique = stored.clone();
        unique.dedup();
        assert_eq!(stored.len(), 40, "{name}: every update stored, none twice ({} stored)", stored.len());
        assert_eq!(unique.len(), 40, "{name}");
    })
    .await;
}

/// `count` replies in chat `chat`, each accepted by the provider as `<chat>-p<n>`; their ids.
async fn sent_replies(store: &Arc<dyn Store>, channel: &str, chat: &str, count: usize) -> Vec<i64> {
    let conversation = store.record_inbound(channel, &inbound(0, chat, now_ms() - 5_000)).await.unwrap().unwrap().conversation_id;
    let mut ids = Vec::new();
    for n in 0..count {
        let outbound = NewOutbound { conversation_id: conversation, text: Some(format!("balasan {n}")), content: Default::default(), reply_to: None, file: None, sent_by: None };
        let queued = store.queue_outbound(channel, Scope::Every, &outbound).await.unwrap();
        assert_eq!(queued.status, DeliveryStatus::Queued);
        store.delivery_succeeded(queued.id, &format!("{chat}-p{n}")).await.unwrap();
        ids.push(queued.id);
    }
    ids
}

async fn status_of(store: &Arc<dyn Store>, id: i64) -> DeliveryStatus {
    store.message(id).await.unwrap().unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_statuses_only_move_forward_one_by_one_or_by_watermark_and_a_failed_message_stays_failed() {
    each_backend(async |backend| {
        let (store, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let ids = sent_replies(store, channel, "200", 3).await;
        assert_eq!(status_of(store, ids[0]).await, DeliveryStatus::Sent, "{name}");
        let matched = store.record_status(channel, "200-p1", DeliveryStatus::Delivered, None).await.unwrap();
        assert_eq!(matched.map(|(id, _)| id), Some(ids[1]), "{name}");
        // A late `sent` does not undo `delivered`.
        store.record_status(channel, "200-p1", DeliveryStatus::Sent, None).await.unwrap();
        assert_eq!(status_of(store, ids[1]).await, DeliveryStatus::Delivered, "{name}");
        assert!(store.record_status(channel, "nobody's", DeliveryStatus::Read, None).await.unwrap().is_none(), "{name}");
        // The third failed after the provider took it (WhatsApp's 131047, say): a watermark leaves it failed.
        store.record_status(channel, "200-p2", DeliveryStatus::Failed, Some("re-engagement window closed")).await.unwrap();
        let changed = store.record_status_watermark(channel, "200", now_ms(), DeliveryStatus::Read).await.unwrap();
        assert_eq!(changed, 2, "{name}: the sent and the delivered reply are read now");
        assert_eq!(status_of(store, ids[0]).await, DeliveryStatus::Read, "{name}");
        assert_eq!(status_of(store, ids[1]).await, DeliveryStatus::Read, "{name}");
        let failed = store.message(ids[2]).await.unwrap().unwrap();
        assert_eq!((failed.status, failed.error.as_deref()), (DeliveryStatus::Failed, Some("re-engagement window closed")), "{name}");
        // After `read`, a late `delivered` changes nothing.
        store.record_status(channel, "200-p0", DeliveryStatus::Delivered, None).await.unwrap();
        assert_eq!(status_of(store, ids[0]).await, DeliveryStatus::Read, "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_arriving_at_every_node_at_once_in_any_order_end_at_the_furthest() {
    each_backend(async |backend| {
        let name = backend.name;
        let channel: Arc<str> = backend.channel.as_str().into();
        let ids = sent_replies(&backend.nodes[0], &channel, "300", 20).await;
        // Each node gets every kind of status at once: delivered and read per message, and watermarks.
        let mut updates = Vec::new();
        for (n, node) in backend.nodes.iter().enumerate() {
            for m in 0..20 {
                for status in [DeliveryStatus::Read, DeliveryStatus::Sent, DeliveryStatus::Delivered] {
                    let (node, channel) = (node.clone(), channel.clone());
                    updates.push(tokio::spawn(async move { node.record_status(&channel, &format!("300-p{m}"), status, None).await.map(|_| ()) }));
                }
            }
            let (node, channel) = (node.clone(), channel.clone());
            let watermark = if n % 2 == 0 { DeliveryStatus::Delivered } else { DeliveryStatus::Read };
            updates.push(tokio::spawn(async move { node.record_status_watermark(&channel, "300", now_ms(), watermark).await.map(|_| ()) }));
        }
        for update in updates {
            update.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for id in ids {
            assert_eq!(status_of(&backend.nodes[1], id).await, DeliveryStatus::Read, "{name}: message {id} ended at the furthest status");
        }
    })
    .await;
}

/// One webhook's worth of events: a new message with a file the plugin kept and one to fetch,
/// a status for an earlier reply, a read watermark, and a contact's new name.
fn webhook_batch(chat: &str, update: i64, reply_provider_id: &str) -> Vec<EventRecord> {
    let kept = StoredBytes { sha256: "ab".repeat(32), size: 70, mime_type: "image/png".into() };
    vec![
        EventRecord::Message {
            inbound: inbound(update, chat, now_ms() - 1_000),
            files: vec![
                FileRecord::Kept { position: 0, filename: Some("paket.png".into()), bytes: kept },
                FileRecord::Fetch { position: 1, filename: Some("resi.pdf".into()) },
            ],
        },
        EventRecord::Status { provider_message_id: reply_provider_id.into(), status: DeliveryStatus::Delivered, error: None },
        EventRecord::Watermark { conversation_external_id: chat.into(), up_to_ms: now_ms(), status: DeliveryStatus::Read },
        EventRecord::Contact(ContactInfo { external_id: format!("user-{chat}"), name: Some("Siti R.".into()), handle: None }),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhooks_events_are_recorded_together_with_their_files_and_a_redelivery_to_every_node_adds_nothing() {
    each_backend(async |backend| {
        let (name, channel) = (backend.name, backend.channel.as_str());
        let replies = sent_replies(&backend.nodes[0], channel, "400", 1).await;

        let recorded = backend.nodes[1].record_events(channel, webhook_batch("400", 7, "400-p0")).await.unwrap();
        assert_eq!(recorded.messages.len(), 1, "{name}");
        assert_eq!(recorded.fetches, 1, "{name}: the file to fetch is queued, the kept one is stored");
        let conversation = recorded.messages[0].conversation_id;
        assert!(recorded.statuses.contains(&(conversation, Some(replies[0]))) && recorded.statuses.contains(&(conversation, None)), "{name}: {:?}", recorded.statuses);
        assert_eq!(status_of(&backend.nodes[2], replies[0]).await, DeliveryStatus::Read, "{name}: delivered, then read by the watermark");
        let mut files = backend.texts(&format!("SELECT state || ':' || COALESCE(filename, '') FROM media WHERE message_id = {} ORDER BY position", recorded.messages[0].id)).await;
        files.sort();
        assert_eq!(files, vec!["pending:resi.pdf", "stored:paket.png"], "{name}");
        assert_eq!(backend.texts("SELECT name FROM contacts WHERE external_id = 'user-400'").await, vec!["Siti R."], "{name}");

        // The provider sends the same webhook again, to every node at once.
        let mut again = Vec::new();
        for node in &backend.nodes {
            let (node, channel) = (node.clone(), channel.to_owned());
            again.push(tokio::spawn(async move { node.record_events(&channel, webhook_batch("400", 7, "400-p0")).await }));
        }
        for redelivery in again {
            let recorded = redelivery.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(recorded.messages.is_empty() && recorded.fetches == 0, "{name}: nothing new");
        }
        assert_eq!(backend.texts("SELECT filename FROM media").await.len(), 2, "{name}: no file recorded twice");
        assert!(backend.nodes[0].record_events(channel, Vec::new()).await.unwrap().messages.is_empty(), "{name}");
    })
    .await;
}

/// A customer's message whose channel was deleted meanwhile (here: one never made) is refused
/// as "deleted", not as the storage failing: the API answers 404/409 for it, not 503 and
/// "send it again".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_for_a_channel_deleted_meanwhile_is_refused_as_deleted_not_as_a_failure() {
    each_backend(async |backend| {
        let (store, name) = (&backend.nodes[0], backend.name);
        let refused = store.record_inbound("ch_deletedmeanwhile", &inbound(1, "700", now_ms())).await.expect_err("no channel");
        assert!(refused.is_foreign_key_violation(), "{name}: {refused}");
        assert!(!refused.is_unique_violation(), "{name}");
        let refused = store
            .record_events("ch_deletedmeanwhile", vec![EventRecord::Message { inbound: inbound(2, "700", now_ms()), files: vec![] }])
            .await
            .expect_err("no channel");
        assert!(refused.is_foreign_key_violation(), "{name}: {refused}");
    })
    .await;
}
