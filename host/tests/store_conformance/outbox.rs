//! The outbox as one node sees it: a conversation's replies handed out one at a time in order,
//! what is being sent or paused left out, and each outcome (sent, retried with its reason,
//! held, failed) where the agent and the next claim see it. Several nodes claiming at once are
//! in `host/tests/postgres.rs` (on SQLite there is one node).

use std::time::Duration;

use switchboard::store::model::{DeliveryStatus, NewOutbound};
use switchboard::store::{Scope, now_ms};

use crate::each_backend;
use crate::messages::inbound;

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_handed_out_in_each_conversations_order_and_every_outcome_is_kept() {
    each_backend(async |backend| {
        let (store, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let queue = async |chat: &str, count: usize| {
            let conversation = store.record_inbound(channel, &inbound(0, chat, now_ms() - 5_000)).await.unwrap().unwrap().conversation_id;
            let mut ids = Vec::new();
            for n in 0..count {
                let reply = NewOutbound { conversation_id: conversation, text: Some(format!("balasan {n}")), content: Default::default(), reply_to: None, file: None, sent_by: None };
                ids.push(store.queue_outbound(channel, Scope::Every, &reply).await.unwrap().id);
            }
            ids
        };
        let a = queue("500", 3).await;
        let b = queue("501", 1).await;
        let ids = |claimed: Vec<switchboard::store::model::PendingDelivery>| claimed.into_iter().map(|d| d.message_id).collect::<Vec<_>>();

        assert_eq!(ids(store.claim_deliveries(10, LEASE, &[], &[]).await.unwrap()), vec![a[0], b[0]], "{name}: the oldest of each conversation");
        assert_eq!(store.outbox_summary().await.unwrap().0, 4, "{name}");
        assert!(store.claim_deliveries(10, LEASE, &[a[0], b[0]], &[]).await.unwrap().is_empty(), "{name}: the next waits for the one being sent");
        assert!(store.claim_deliveries(10, LEASE, &[], &[channel.to_owned()]).await.unwrap().is_empty(), "{name}: a paused channel starts nothing");

        // What a plugin reports comes from a provider and may hold a NUL, which Postgres keeps
        // in no text: kept as U+FFFD (as ingest does), the outcome is recorded, not lost (the
        // message would be sent again at every lapsed claim).
        store.delivery_succeeded(a[0], "tg-1\0").await.unwrap();
        assert_eq!(ids(store.claim_deliveries(10, LEASE, &[b[0]], &[]).await.unwrap()), vec![a[1]], "{name}: sent, so the next of its conversation");

        // A 429: the reason is on the message, it waits, and the one after it waits too.
        store.delivery_retry(a[1], now_ms() + 60_000, "Telegram said 429:\0 retry after 60 s").await.unwrap();
        let retrying = store.message(a[1]).await.unwrap().unwrap();
        assert_eq!((retrying.status, retrying.error.as_deref()), (DeliveryStatus::Queued, Some("Telegram said 429:\u{fffd} retry after 60 s")), "{name}");
        assert!(store.claim_deliveries(10, LEASE, &[b[0]], &[]).await.unwrap().is_empty(), "{name}: {:?}", a);

        store.delivery_failed(b[0], "the chat was deleted\0").await.unwrap();
        let failed = store.message(b[0]).await.unwrap().unwrap();
        assert_eq!((failed.status, failed.error.as_deref()), (DeliveryStatus::Failed, Some("the chat was deleted\u{fffd}")), "{name}");
        // Outcomes reported late by a node whose claim lapsed while another sent it: a failure
        // leaves a sent message sent; the provider taking a failed one makes it sent.
        store.delivery_failed(a[0], "timed out").await.unwrap();
        let sent = store.message(a[0]).await.unwrap().unwrap();
        assert_eq!((sent.status, sent.error.as_deref(), sent.provider_message_id.as_deref()), (DeliveryStatus::Sent, None, Some("tg-1\u{fffd}")), "{name}: still sent");
        store.delivery_succeeded(b[0], "tg-2").await.unwrap();
        let taken = store.message(b[0]).await.unwrap().unwrap();
        assert_eq!((taken.status, taken.error.as_deref()), (DeliveryStatus::Sent, None), "{name}: the provider took it after all");
        let (waiting, oldest) = store.outbox_summary().await.unwrap();
        assert_eq!(waiting, 2, "{name}: the retrying reply and the one behind it");
        assert!(oldest.is_some_and(|at| at <= now_ms()), "{name}");

        // Held (its workspace suspended, say): due again, its attempt not counted.
        store.delivery_held(a[1], now_ms() - 1, "the workspace is suspended").await.unwrap();
        let claimed = store.claim_deliveries(10, LEASE, &[], &[]).await.unwrap();
        assert_eq!(claimed.iter().map(|d| (d.message_id, d.attempts)).collect::<Vec<_>>(), vec![(a[1], 1)], "{name}: one counted attempt, the 429");
        assert!(store.next_delivery_at(&[]).await.unwrap().is_some(), "{name}");
        assert_eq!(store.next_delivery_at(&[channel.to_owned()]).await.unwrap(), None, "{name}: nothing of other channels waits");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_reads_its_message_channel_conversation_and_the_customers_last_message_in_one_call() {
    each_backend(async |backend| {
        let (store, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let earlier = now_ms() - 60_000;
        store.record_inbound(channel, &inbound(1, "600", earlier)).await.unwrap().unwrap();
        let last = store.record_inbound(channel, &inbound(2, "600", earlier + 1_000)).await.unwrap().unwrap();
        // Another conversation's newer message is not this one's last.
        store.record_inbound(channel, &inbound(3, "601", earlier + 2_000)).await.unwrap().unwrap();
        let reply = NewOutbound { conversation_id: last.conversation_id, text: Some("Sudah, resi JNE 123".into()), content: Default::default(), reply_to: None, file: None, sent_by: None };
        let queued = store.queue_outbound(channel, Scope::Every, &reply).await.unwrap();

        let context = store.delivery_context(queued.id, channel).await.unwrap().unwrap_or_else(|| panic!("{name}: the queued reply is there"));
        assert_eq!((context.message.id, context.message.text.as_deref()), (queued.id, Some("Sudah, resi JNE 123")), "{name}");
        assert_eq!(context.channel.as_ref().map(|c| c.id.as_str()), Some(channel), "{name}");
        assert!(!context.workspace_suspended, "{name}");
        let conversation = context.conversation.unwrap_or_else(|| panic!("{name}: the reply's conversation"));
        assert_eq!((conversation.id, conversation.external_id.as_str(), conversation.last_inbound_at), (last.conversation_id, "600", Some(earlier + 1_000)), "{name}");
        let last_inbound = context.last_inbound.unwrap_or_else(|| panic!("{name}: the customer's last message"));
        assert_eq!((last_inbound.id, last_inbound.properties.clone()), (last.id, vec![("reply_token".to_owned(), "rt-2".to_owned())]), "{name}");
        assert!(context.files.is_empty(), "{name}: a text reply has no file");

        // A channel read for another channel's id finds none; a message that is not there is `None`.
        assert!(store.delivery_context(queued.id, "no-such-channel").await.unwrap().unwrap().channel.is_none(), "{name}");
        assert!(store.delivery_context(queued.id + 1_000, channel).await.unwrap().is_none(), "{name}");
    })
    .await;
}
