//! The inbox as agents see it, whichever node serves them: the conversation list (order,
//! filters, search, unread counts), a conversation's messages page by page, read markers that
//! never move back, assignment and status, template switches, provider resources held once,
//! channels that need reconnecting, and the audit log.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use switchboard::store::model::{AsRead, Assigned, AuditFilter, Connected, ContactInfo, ConversationFilter, DeliveryStatus, Hold, NewAuditEntry, NewInbound, NewOutbound};
use switchboard::store::backend::Store;
use switchboard::store::{Scope, StoreError, now_ms};

use crate::messages::inbound;
use crate::{Backend, each_backend};

/// A customer's message `text` in chat `chat`, from the chat's contact `contact` (the
/// conversation is named after them), sent `ago_ms` before now.
fn said(update: i64, chat: &str, contact: &str, text: &str, ago_ms: i64) -> NewInbound {
    NewInbound {
        conversation_name: Some(contact.to_owned()),
        sender: ContactInfo { external_id: format!("user-{chat}"), name: Some(contact.to_owned()), handle: None },
        text: Some(text.to_owned()),
        ..inbound(update, chat, now_ms() - ago_ms)
    }
}

/// A person of workspace 1 (people are another aggregate's: added as a row here); their id.
async fn person(backend: &Backend, username: &str) -> i64 {
    let sql = format!(
        "INSERT INTO people (workspace_id, username, display_name, role, created_at, updated_at)
         VALUES (1, '{username}', '{username}', 'agent', 0, 0) RETURNING CAST(id AS TEXT)"
    );
    backend.texts(&sql).await[0].parse().unwrap()
}

/// A later activity time than anything before it.
async fn pause() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

/// The ids of the conversations `filter` lists, in the list's order.
async fn listed(store: &Arc<dyn Store>, filter: &ConversationFilter<'_>) -> Vec<i64> {
    store.conversations(filter, 50).await.unwrap().into_iter().map(|c| c.conversation.id).collect()
}

/// The ids of the conversations a search finds, in the list's order.
async fn found(store: &Arc<dyn Store>, search: &str) -> Vec<i64> {
    listed(store, &ConversationFilter { search: Some(search), ..Default::default() }).await
}

/// How many customer messages of a conversation `person` has not read, as their list shows it.
async fn unread(store: &Arc<dyn Store>, person: i64, conversation: i64) -> Option<i64> {
    let filter = ConversationFilter { reader: Some(person), ..Default::default() };
    let listed = store.conversations(&filter, 50).await.unwrap();
    listed.into_iter().find(|c| c.conversation.id == conversation).unwrap_or_else(|| panic!("conversation {conversation} listed")).conversation.unread
}

async fn second_channel(store: &Arc<dyn Store>, workspace: i64, name: &str) -> String {
    let channel = store.create_channel(workspace, "whatsapp-cloud", name, &[]).await.unwrap().id;
    store.mark_connected(&channel, &Connected { display_name: name, external_account_id: name, setup: &[] }).await.unwrap();
    channel
}

/// A change decided on what was read is made only while the conversation is still so: of three
/// agents taking one conversation at once on three nodes, one takes it and the others are told
/// it changed meanwhile; a bot's hand-over of a conversation resolved meanwhile changes nothing.
/// Outside the caller's scope it is "not there", whatever it holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_is_taken_by_one_of_three_agents_taking_it_at_once_and_changes_wait_for_what_they_read() {
    each_backend(async |backend| {
        let (node1, node2, name, channel) = (&backend.nodes[0], &backend.nodes[1], backend.name, backend.channel.as_str());
        let agents = [person(backend, "dewi@toko.id").await, person(backend, "eka@toko.id").await, person(backend, "fajar@toko.id").await];
        for round in 0..5 {
            let chat = format!("71{round}");
            let conversation = node1.record_inbound(channel, &said(round + 1, &chat, "Ani Wijaya", "Halo", 1_000)).await.unwrap().unwrap().conversation_id;
            let mut takes = Vec::new();
            for (node, agent) in backend.nodes.iter().zip(agents) {
                let node = node.clone();
                takes.push(tokio::spawn(async move { (agent, node.update_conversation(conversation, Scope::Workspace(1), Some(Some(agent)), None, AsRead::Assignee(None)).await) }));
            }
            let mut took = Vec::new();
            for take in takes {
                match take.await.unwrap() {
                    (agent, Ok(true)) => took.push(agent),
                    (_, Err(StoreError::ChangedMeanwhile)) => {}
                    (agent, other) => panic!("{name}: round {round}: agent {agent}: {other:?}"),
                }
            }
            assert_eq!(took.len(), 1, "{name}: round {round}: {took:?}");
            assert_eq!(node2.conversation(conversation).await.unwrap().unwrap().assignee_id, Some(took[0]), "{name}: round {round}");
            // The same take sent again (a double click) finds it as asked: made, to nothing new.
            assert!(node2.update_conversation(conversation, Scope::Workspace(1), Some(Some(took[0])), None, AsRead::Assignee(None)).await.unwrap(), "{name}");
        }

        // A bot hands over only what it still handles: one people took meanwhile is as asked
        // already; one resolved meanwhile changes nothing.
        let conversation = node1.record_inbound(channel, &said(9, "799", "Rina", "Halo", 1_000)).await.unwrap().unwrap().conversation_id;
        backend.execute(&format!("UPDATE conversations SET status = 'bot' WHERE id = {conversation}")).await;
        assert!(node1.update_conversation(conversation, Scope::Every, Some(Some(agents[0])), None, AsRead::Anything).await.unwrap(), "{name}");
        assert!(node2.update_conversation(conversation, Scope::Every, None, Some("open"), AsRead::Status("bot")).await.unwrap(), "{name}: taken by people already");
        let taken = node2.conversation(conversation).await.unwrap().unwrap();
        assert_eq!((taken.status.as_str(), taken.assignee_id), ("open", Some(agents[0])), "{name}");
        backend.execute(&format!("UPDATE conversations SET status = 'bot' WHERE id = {conversation}")).await;
        assert!(node1.update_conversation(conversation, Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap(), "{name}");
        let handed = node2.update_conversation(conversation, Scope::Every, None, Some("open"), AsRead::Status("bot")).await;
        assert!(matches!(handed, Err(StoreError::ChangedMeanwhile)), "{name}: resolved meanwhile: {handed:?}");
        assert_eq!(node2.conversation(conversation).await.unwrap().unwrap().status, "resolved", "{name}: nothing changed");
        // Another workspace's caller, or no such conversation: not there, not "changed".
        assert!(!node2.update_conversation(conversation, Scope::Workspace(2), None, Some("open"), AsRead::Status("bot")).await.unwrap(), "{name}");
        assert!(!node2.update_conversation(i64::MAX, Scope::Every, Some(None), None, AsRead::Assignee(Some(agents[0]))).await.unwrap(), "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_are_listed_newest_activity_first_and_filtered_by_channel_workspace_assignee_and_status() {
    each_backend(async |backend| {
        let (node1, node2, node3, name, channel) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name, backend.channel.as_str());
        let two = node1.create_workspace("Toko Dua").await.unwrap().id;
        let other = second_channel(node1, two, "Toko Dua").await;
        let dewi = person(backend, "dewi@toko.id").await;
        let mut ids = Vec::new();
        for (chat, contact) in [("700", "Budi Santoso"), ("701", "Ani Wijaya"), ("702", "Rina Kusuma")] {
            ids.push(node1.record_inbound(channel, &said(1, chat, contact, "Selamat pagi", 1_000)).await.unwrap().unwrap().conversation_id);
            pause().await;
        }
        let elsewhere = node2.record_inbound(&other, &said(1, "6281311111111", "Joko", "Halo kak", 1_000)).await.unwrap().unwrap().conversation_id;
        pause().await;
        // Budi writes again: his conversation goes to the top.
        node3.record_inbound(channel, &said(2, "700", "Budi Santoso", "Masih ada stok?", 500)).await.unwrap().unwrap();
        let (budi, ani, rina) = (ids[0], ids[1], ids[2]);

        let everything = ConversationFilter::default();
        assert_eq!(listed(node2, &everything).await, vec![budi, elsewhere, rina, ani], "{name}: newest activity first");
        let first_two: Vec<i64> = node3.conversations(&everything, 2).await.unwrap().into_iter().map(|c| c.conversation.id).collect();
        assert_eq!(first_two, vec![budi, elsewhere], "{name}: the limit keeps the newest");
        assert_eq!(listed(node1, &ConversationFilter { channel_id: Some(other.as_str()), ..Default::default() }).await, vec![elsewhere], "{name}");
        assert_eq!(listed(node1, &ConversationFilter { workspace_id: Some(1), ..Default::default() }).await, vec![budi, rina, ani], "{name}");
        assert_eq!(listed(node1, &ConversationFilter { workspace_id: Some(two), ..Default::default() }).await, vec![elsewhere], "{name}");
        assert!(node2.conversations(&everything, 50).await.unwrap().iter().all(|c| c.conversation.unread.is_none()), "{name}: no reader, no unread counts");
        // Each listed with its channel's plugin, read by the list itself.
        let plugin_of = node1.channel(channel, Scope::Every).await.unwrap().unwrap().plugin;
        let plugins: Vec<(i64, String)> = node2.conversations(&everything, 50).await.unwrap().into_iter().map(|c| (c.conversation.id, c.plugin)).collect();
        let expected = vec![(budi, plugin_of.clone()), (elsewhere, "whatsapp-cloud".to_owned()), (rina, plugin_of.clone()), (ani, plugin_of)];
        assert_eq!(plugins, expected, "{name}: each conversation with its channel's plugin");
        // One conversation with its channel: found in its own workspace's scope and the
        // operator's, never in another workspace's.
        let (found, its_channel) = node3.conversation_in_scope(elsewhere, Scope::Workspace(two)).await.unwrap().expect("in its workspace");
        assert_eq!((found.id, found.external_id.as_str(), its_channel.id.as_str(), its_channel.name.as_str()), (elsewhere, "6281311111111", other.as_str(), "Toko Dua"), "{name}");
        assert_eq!(node3.conversation_in_scope(elsewhere, Scope::Every).await.unwrap().map(|(c, ch)| (c.id, ch.workspace_id)), Some((elsewhere, two)), "{name}");
        assert!(node3.conversation_in_scope(elsewhere, Scope::Workspace(1)).await.unwrap().is_none(), "{name}: another workspace's conversation is not found");
        assert!(node3.conversation_in_scope(budi, Scope::Workspace(two)).await.unwrap().is_none(), "{name}");
        assert!(node3.conversation_in_scope(i64::MAX, Scope::Every).await.unwrap().is_none(), "{name}: no such conversation");

        // Dewi takes Ani's conversation on one node; the others see it.
        node2.update_conversation(ani, Scope::Every, Some(Some(dewi)), None, AsRead::Anything).await.unwrap();
        assert_eq!(listed(node3, &ConversationFilter { assigned: Assigned::To(dewi), ..Default::default() }).await, vec![ani], "{name}");
        assert_eq!(listed(node3, &ConversationFilter { assigned: Assigned::Nobody, ..Default::default() }).await, vec![budi, elsewhere, rina], "{name}");
        let taken = node1.conversation(ani).await.unwrap().unwrap();
        assert_eq!((taken.assignee_id, taken.status.as_str(), taken.external_id.as_str()), (Some(dewi), "open", "701"), "{name}");
        let contact = taken.contact.unwrap();
        assert_eq!((contact.external_id.as_str(), contact.name.as_deref()), ("user-701", Some("Ani Wijaya")), "{name}");

        // Resolving keeps the assignee; unassigning keeps the status.
        node1.update_conversation(ani, Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap();
        node3.update_conversation(rina, Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap();
        let resolved = ConversationFilter { status: Some("resolved"), ..Default::default() };
        assert_eq!(listed(node2, &resolved).await, vec![rina, ani], "{name}: resolving is not activity");
        assert_eq!(node2.conversation(ani).await.unwrap().unwrap().assignee_id, Some(dewi), "{name}");
        node2.update_conversation(ani, Scope::Every, Some(None), None, AsRead::Anything).await.unwrap();
        let unassigned = node3.conversation(ani).await.unwrap().unwrap();
        assert_eq!((unassigned.assignee_id, unassigned.status.as_str()), (None, "resolved"), "{name}");
        let mine_resolved = ConversationFilter { status: Some("resolved"), assigned: Assigned::To(dewi), ..Default::default() };
        assert!(listed(node1, &mine_resolved).await.is_empty(), "{name}");

        // Rina writes again: her conversation opens and goes to the top.
        pause().await;
        node1.record_inbound(channel, &said(2, "702", "Rina Kusuma", "Maaf, satu lagi", 100)).await.unwrap().unwrap();
        assert_eq!(listed(node2, &resolved).await, vec![ani], "{name}");
        assert_eq!(listed(node2, &everything).await, vec![rina, budi, elsewhere, ani], "{name}");

        // No such conversation: nothing found, nothing changed.
        assert!(node1.conversation(i64::MAX).await.unwrap().is_none(), "{name}");
        assert!(!node1.update_conversation(i64::MAX, Scope::Every, Some(Some(dewi)), Some("resolved"), AsRead::Anything).await.unwrap(), "{name}: no such conversation");
        assert_eq!(node2.conversation_at(channel, "701").await.unwrap().map(|c| c.id), Some(ani), "{name}");
        assert!(node2.conversation_at(channel, "799").await.unwrap().is_none(), "{name}");
        assert!(node2.conversation_at(&other, "701").await.unwrap().is_none(), "{name}: another channel's address");

        // A contact refreshed without a name keeps it.
        let refreshed = ContactInfo { external_id: "user-701".into(), name: None, handle: Some("ani_w".into()) };
        assert_eq!(node3.upsert_contact(channel, &refreshed).await.unwrap(), contact.id, "{name}");
        let contact = node1.conversation(ani).await.unwrap().unwrap().contact.unwrap();
        assert_eq!((contact.name.as_deref(), contact.handle.as_deref()), (Some("Ani Wijaya"), Some("ani_w")), "{name}");
        let new = node3.upsert_contact(channel, &ContactInfo { external_id: "user-900".into(), name: Some("Sari".into()), handle: None }).await.unwrap();
        assert_ne!(new, contact.id, "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_is_found_by_its_address_in_any_ascii_case_on_every_channel_that_has_it() {
    each_backend(async |backend| {
        let (store, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let other = second_channel(store, 1, "Surel").await;
        store.record_inbound(channel, &said(1, "Tiket-9F@Toko.ID", "Budi", "Halo", 1_000)).await.unwrap().unwrap();
        store.record_inbound(&other, &said(1, "tiket-9f@toko.id", "Budi", "Halo", 1_000)).await.unwrap().unwrap();
        let mut channels = backend.nodes[1].channels_with_conversation("TIKET-9F@toko.id").await.unwrap();
        channels.sort();
        let mut expected = vec![channel.to_owned(), other];
        expected.sort();
        assert_eq!(channels, expected, "{name}");
        assert!(backend.nodes[2].channels_with_conversation("tiket-9").await.unwrap().is_empty(), "{name}: the whole address only");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_finds_conversations_by_a_word_or_its_beginning_in_a_message_or_by_a_name() {
    each_backend(async |backend| {
        let (store, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let budi = store.record_inbound(channel, &said(1, "800", "Budi Santoso", "Paket saya rusak waktu sampai", 3_000)).await.unwrap().unwrap().conversation_id;
        pause().await;
        let ani = store.record_inbound(channel, &said(1, "801", "Ani Wijaya", "Apakah kopi arabika masih ada?", 2_000)).await.unwrap().unwrap().conversation_id;
        pause().await;
        let rina = store.record_inbound(channel, &said(1, "802", "Rina Kusuma", "Terima kasih, pesanan sudah diterima", 1_000)).await.unwrap().unwrap().conversation_id;
        pause().await;
        store.record_inbound(channel, &said(2, "800", "Budi Santoso", "Apakah bisa diganti?", 500)).await.unwrap().unwrap();

        let search = &backend.nodes[1];
        assert_eq!(found(search, "rusak").await, vec![budi], "{name}: a word of a message");
        assert_eq!(found(search, "arab").await, vec![ani], "{name}: a word's beginning");
        assert_eq!(found(search, "PESANAN").await, vec![rina], "{name}: in any case");
        assert_eq!(found(search, "paket rusak").await, vec![budi], "{name}: every word, in one message");
        assert!(found(search, "paket kopi").await.is_empty(), "{name}: words of different conversations");
        assert_eq!(found(search, "apakah").await, vec![budi, ani], "{name}: newest activity first, an older message counts");
        assert_eq!(found(search, "wijaya").await, vec![ani], "{name}: the contact's name");
        assert_eq!(found(search, "santoso").await, vec![budi], "{name}");
        assert!(found(search, "tidak").await.is_empty(), "{name}");
        // Query syntax in the search is not syntax, and punctuation alone finds nothing.
        assert_eq!(found(search, "rusak'").await, vec![budi], "{name}");
        assert!(found(search, "\"kopi\" OR text:x*").await.is_empty(), "{name}: every word is required");
        assert!(found(search, "100%_x").await.is_empty(), "{name}");
        assert!(found(search, " ?! ").await.is_empty(), "{name}");
        // With the other filters.
        let resolved = ConversationFilter { search: Some("apakah"), status: Some("resolved"), ..Default::default() };
        assert!(listed(search, &resolved).await.is_empty(), "{name}");
        let this_channel = ConversationFilter { search: Some("kopi"), channel_id: Some(channel), ..Default::default() };
        assert_eq!(listed(search, &this_channel).await, vec![ani], "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversations_messages_page_back_from_the_newest_oldest_first_on_every_page() {
    each_backend(async |backend| {
        let (store, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let mut ids = Vec::new();
        for update in 1..=3 {
            ids.push(store.record_inbound(channel, &said(update, "810", "Dewi", &format!("pesan {update}"), 60_000 - update * 1_000)).await.unwrap().unwrap().id);
        }
        let conversation = store.message(ids[0]).await.unwrap().unwrap().conversation_id;
        let reply = NewOutbound { conversation_id: conversation, text: Some("Baik, kami cek dulu".into()), content: Default::default(), reply_to: None, file: None, sent_by: None };
        ids.push(store.queue_outbound(channel, Scope::Every, &reply).await.unwrap().id);
        // The fourth arrives after the fifth though sent before it.
        ids.push(store.record_inbound(channel, &said(5, "810", "Dewi", "pesan 5", 20_000)).await.unwrap().unwrap().id);
        ids.push(store.record_inbound(channel, &said(4, "810", "Dewi", "pesan 4", 30_000)).await.unwrap().unwrap().id);

        let reader = &backend.nodes[2];
        let page = async |before: Option<i64>| reader.messages(conversation, Scope::Every, before, 2).await.unwrap().into_iter().map(|m| m.id).collect::<Vec<_>>();
        let all: Vec<i64> = reader.messages(conversation, Scope::Every, None, 100).await.unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(all, ids, "{name}: oldest first");
        assert_eq!(page(None).await, ids[4..6].to_vec(), "{name}: the newest two");
        assert_eq!(page(Some(ids[4])).await, ids[2..4].to_vec(), "{name}");
        assert_eq!(page(Some(ids[2])).await, ids[0..2].to_vec(), "{name}");
        assert!(page(Some(ids[0])).await.is_empty(), "{name}: nothing before the first");
        let replied = reader.messages(conversation, Scope::Every, Some(ids[4]), 1).await.unwrap();
        assert_eq!((replied[0].direction.as_str(), replied[0].status), ("outbound", DeliveryStatus::Queued), "{name}");
        assert!(reader.messages(i64::MAX, Scope::Every, None, 10).await.unwrap().is_empty(), "{name}");

        // The customer's latest message by their clock, not the last stored, and never a reply.
        let last = backend.nodes[1].last_inbound(conversation).await.unwrap().unwrap();
        assert_eq!((last.id, last.text.as_deref()), (ids[4], Some("pesan 5")), "{name}");
        assert!(backend.nodes[1].last_inbound(i64::MAX).await.unwrap().is_none(), "{name}");

        // What a tap or a typed reply answers: the replies among the last messages, by address.
        let recent = async |last: u32| backend.nodes[1].recent_outbound_at(channel, "810", last).await.unwrap().into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(recent(10).await, [ids[3]], "{name}: the one reply");
        assert!(recent(2).await.is_empty(), "{name}: not among the last two");
        assert!(backend.nodes[1].recent_outbound_at(channel, "no-such-chat", 10).await.unwrap().is_empty(), "{name}");
        assert!(backend.nodes[1].recent_outbound_at("another-channel", "810", 10).await.unwrap().is_empty(), "{name}");

        // A channel offers options once it sent interactive content (the schema's trigger records it).
        assert!(!backend.nodes[2].offers_choices(channel).await.unwrap(), "{name}: text replies offer nothing");
        let interactive = serde_json::from_value(serde_json::json!({"body": "Sudah sampai?", "reply_buttons": [{"id": "yes", "title": "Sudah"}]})).unwrap();
        let content = switchboard::store::model::MessageContent { interactive: Some(interactive), ..Default::default() };
        let offer = NewOutbound { conversation_id: conversation, text: Some("Sudah sampai?\n\n1. Sudah".into()), content, reply_to: None, file: None, sent_by: None };
        store.queue_outbound(channel, Scope::Every, &offer).await.unwrap();
        assert!(backend.nodes[2].offers_choices(channel).await.unwrap(), "{name}");
        assert!(!backend.nodes[2].offers_choices("another-channel").await.unwrap(), "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_marker_set_on_one_node_is_seen_on_the_others_and_never_moves_back() {
    each_backend(async |backend| {
        let (node1, node2, node3, name, channel) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name, backend.channel.as_str());
        let (dewi, agus) = (person(backend, "dewi@toko.id").await, person(backend, "agus@toko.id").await);
        let mut ids = Vec::new();
        for update in 1..=3 {
            ids.push(node1.record_inbound(channel, &inbound(update, "820", now_ms() - 10_000 + update)).await.unwrap().unwrap().id);
        }
        let conversation = node1.message(ids[0]).await.unwrap().unwrap().conversation_id;
        assert_eq!(unread(node2, dewi, conversation).await, Some(3), "{name}: nothing read yet");

        node1.mark_read(dewi, conversation, Scope::Every, Some(ids[1])).await.unwrap();
        assert_eq!(unread(node2, dewi, conversation).await, Some(1), "{name}: read up to the second, on another node");
        // A page that lagged marks the first read: the marker stays.
        node3.mark_read(dewi, conversation, Scope::Every, Some(ids[0])).await.unwrap();
        assert_eq!(unread(node2, dewi, conversation).await, Some(1), "{name}: never moved back");
        assert_eq!(unread(node2, agus, conversation).await, Some(3), "{name}: every person has their own");
        // A message the conversation does not have (another's, or none yet) marks nothing: a mark
        // past its messages would hide every one still to come.
        let elsewhere = node1.record_inbound(channel, &inbound(9, "821", now_ms() - 5_000)).await.unwrap().unwrap().id;
        for not_its in [elsewhere, elsewhere + 1000] {
            let refused = node2.mark_read(agus, conversation, Scope::Every, Some(not_its)).await;
            assert!(matches!(refused, Err(StoreError::NotFound)), "{name}: {refused:?}");
        }
        assert_eq!(unread(node2, agus, conversation).await, Some(3), "{name}: nothing marked");

        // The agent's reply is not unread; reading everything reads it too.
        let reply = NewOutbound { conversation_id: conversation, text: Some("Sudah kami kirim kak".into()), content: Default::default(), reply_to: None, file: None, sent_by: None };
        node2.queue_outbound(channel, Scope::Every, &reply).await.unwrap();
        assert_eq!(unread(node3, dewi, conversation).await, Some(1), "{name}");
        // Whoever replies has read the conversation up to the reply (in the reply's own write).
        let answer = NewOutbound { sent_by: Some(agus), text: Some("Ditunggu ya kak".into()), ..reply.clone() };
        node3.queue_outbound(channel, Scope::Every, &answer).await.unwrap();
        assert_eq!(unread(node1, agus, conversation).await, Some(0), "{name}: the one who replied read it all");
        assert_eq!(unread(node1, dewi, conversation).await, Some(1), "{name}: no one else did");
        node2.mark_read(dewi, conversation, Scope::Every, None).await.unwrap();
        assert_eq!(unread(node1, dewi, conversation).await, Some(0), "{name}");
        let newest = node3.record_inbound(channel, &inbound(4, "820", now_ms() - 1_000)).await.unwrap().unwrap().id;
        assert_eq!(unread(node1, dewi, conversation).await, Some(1), "{name}: a new message is unread");

        // Three nodes mark at once, in any order: the newest mark wins, first marker included.
        for round in 0..5 {
            let mut marks = Vec::new();
            for (node, up_to) in backend.nodes.iter().zip([ids[0], newest, ids[2]]) {
                let node = node.clone();
                marks.push(tokio::spawn(async move { node.mark_read(agus, conversation, Scope::Every, Some(up_to)).await }));
            }
            for mark in marks {
                mark.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            assert_eq!(unread(node2, agus, conversation).await, Some(0), "{name}: round {round}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_enabled_until_switched_off_per_channel_and_a_forgotten_one_starts_enabled() {
    each_backend(async |backend| {
        let (node1, node2, node3, name, channel) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name, backend.channel.as_str());
        let other = second_channel(node1, 1, "Toko Dua").await;
        assert!(node1.template_enabled(channel, Scope::Every, "konfirmasi_pesanan").await.unwrap(), "{name}");
        node1.set_template_enabled(channel, Scope::Every, "konfirmasi_pesanan", false).await.unwrap();
        assert!(!node2.template_enabled(channel, Scope::Every, "konfirmasi_pesanan").await.unwrap(), "{name}: switched off on another node");
        assert!(node2.template_enabled(&other, Scope::Every, "konfirmasi_pesanan").await.unwrap(), "{name}: another channel's of the same name");
        node2.set_template_enabled(channel, Scope::Every, "promo_lebaran", false).await.unwrap();
        let both = BTreeSet::from(["konfirmasi_pesanan".to_owned(), "promo_lebaran".to_owned()]);
        assert_eq!(node3.disabled_templates(channel, Scope::Every).await.unwrap(), both, "{name}");
        node3.set_template_enabled(channel, Scope::Every, "konfirmasi_pesanan", true).await.unwrap();
        assert_eq!(node1.disabled_templates(channel, Scope::Every).await.unwrap(), BTreeSet::from(["promo_lebaran".to_owned()]), "{name}");
        assert!(node1.template_enabled(channel, Scope::Every, "konfirmasi_pesanan").await.unwrap(), "{name}");
        node1.forget_template(channel, Scope::Every, "promo_lebaran").await.unwrap();
        assert!(node2.template_enabled(channel, Scope::Every, "promo_lebaran").await.unwrap(), "{name}");
        assert!(node2.disabled_templates(channel, Scope::Every).await.unwrap().is_empty(), "{name}");

        node2.set_template_enabled(&other, Scope::Every, "promo_lebaran", false).await.unwrap();
        assert!(node3.delete_channel(&other, Scope::Every).await.unwrap());
        // Checked at rest: the scoped read finds nothing of a deleted channel whatever is left.
        assert!(backend.texts(&format!("SELECT name FROM template_switches WHERE channel_id = '{other}'")).await.is_empty(), "{name}: switches go with their channel");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_held_by_every_node_at_once_is_held_once_and_only_its_last_holder_releases_it_for_good() {
    each_backend(async |backend| {
        let (name, messenger) = (backend.name, backend.channel.clone());
        let instagram = second_channel(&backend.nodes[0], 1, "Instagram Toko").await;
        // Those who hold it, not those tearing it down.
        let holders = async |resource: &str| {
            let mut channels = backend.texts(&format!("SELECT channel_id FROM resource_holds WHERE resource = '{resource}' AND releasing_until IS NULL")).await;
            channels.sort();
            channels
        };

        let mut holds = Vec::new();
        for node in &backend.nodes {
            for channel in [&messenger, &instagram, &messenger] {
                let (node, channel) = (node.clone(), channel.clone());
                holds.push(tokio::spawn(async move { node.hold_resource(&channel, "meta:page:1").await }));
            }
        }
        for hold in holds {
            assert_eq!(hold.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}")), Hold::Held, "{name}");
        }
        let mut expected = vec![messenger.clone(), instagram.clone()];
        expected.sort();
        assert_eq!(holders("meta:page:1").await, expected, "{name}: one hold per channel");

        // Both holders release at once, on different nodes: exactly one is told it was the last.
        let mut releases = Vec::new();
        for (node, channel) in backend.nodes.iter().zip([&messenger, &instagram]) {
            let (node, channel) = (node.clone(), channel.clone());
            releases.push(tokio::spawn(async move { node.release_resource(&channel, "meta:page:1", now_ms() + 60_000).await }));
        }
        let mut others_hold = Vec::new();
        for release in releases {
            others_hold.push(release.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        others_hold.sort();
        assert_eq!(others_hold, vec![false, true], "{name}");
        assert!(holders("meta:page:1").await.is_empty(), "{name}");
        assert!(!backend.nodes[2].release_resource(&messenger, "meta:page:1", now_ms() + 60_000).await.unwrap(), "{name}: releasing again finds no other holder");

        backend.nodes[1].hold_resource(&messenger, "meta:page:2").await.unwrap();
        backend.nodes[2].hold_resource(&instagram, "meta:page:2").await.unwrap();
        assert!(backend.nodes[0].delete_channel(&instagram, Scope::Every).await.unwrap());
        assert!(!backend.nodes[1].release_resource(&messenger, "meta:page:2", now_ms() + 60_000).await.unwrap(), "{name}: the deleted channel's hold went with it");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_hold_waits_while_the_last_holder_tears_the_resource_down_until_its_channel_is_deleted() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let messenger = backend.channel.clone();
        let instagram = second_channel(node1, 1, "Instagram Toko").await;
        let outlet = second_channel(node1, 1, "Messenger Outlet").await;

        assert_eq!(node1.hold_resource(&messenger, "meta:page:7").await.unwrap(), Hold::Held);
        assert!(!node2.release_resource(&messenger, "meta:page:7", now_ms() + 60_000).await.unwrap(), "{name}: the last holder");
        // While Messenger unsubscribes the Page, Instagram's hold (on any node) waits.
        for node in [node1, node2, node3] {
            assert_eq!(node.hold_resource(&instagram, "meta:page:7").await.unwrap(), Hold::Releasing { by: messenger.clone() }, "{name}");
        }
        assert_eq!(node3.hold_resource(&messenger, "meta:page:8").await.unwrap(), Hold::Held, "{name}: another resource is not held up");
        // Messenger's channel is deleted after its disconnect: the teardown is over.
        assert!(node1.delete_channel(&messenger, Scope::Every).await.unwrap());
        assert_eq!(node2.hold_resource(&instagram, "meta:page:7").await.unwrap(), Hold::Held, "{name}");

        // A teardown whose channel was never deleted (its node died) holds nobody up once its mark lapses, and its
        // hold no longer counts as a holder.
        assert!(!node3.release_resource(&instagram, "meta:page:7", now_ms() - 1).await.unwrap(), "{name}");
        assert_eq!(node1.hold_resource(&outlet, "meta:page:7").await.unwrap(), Hold::Held, "{name}");
        assert!(!node2.release_resource(&outlet, "meta:page:7", now_ms() + 60_000).await.unwrap(), "{name}: the last holder");
        // A channel holding again after its own release (its disconnect failed, it is connected again) holds it.
        assert_eq!(node2.hold_resource(&outlet, "meta:page:7").await.unwrap(), Hold::Held, "{name}");
        assert_eq!(node3.hold_resource(&instagram, "meta:page:7").await.unwrap(), Hold::Held, "{name}");
        assert!(node1.release_resource(&outlet, "meta:page:7", now_ms() + 60_000).await.unwrap(), "{name}: Instagram holds it again");

        // A release and a new hold at the same moment on two nodes take turns: either the hold came
        // first and the release is not the last, or the release came first and the hold waits. Never
        // both a teardown and a hold that does not wait for it.
        for round in 0..10 {
            let resource = format!("meta:page:race-{round}");
            let releaser = second_channel(node1, 1, &format!("Messenger {round}")).await;
            let newcomer = second_channel(node1, 1, &format!("Instagram {round}")).await;
            assert_eq!(node1.hold_resource(&releaser, &resource).await.unwrap(), Hold::Held);
            let release = tokio::spawn({
                let (node, channel, resource) = (node2.clone(), releaser.clone(), resource.clone());
                async move { node.release_resource(&channel, &resource, now_ms() + 60_000).await.unwrap() }
            });
            let hold = tokio::spawn({
                let (node, channel, resource) = (node3.clone(), newcomer.clone(), resource.clone());
                async move { node.hold_resource(&channel, &resource).await.unwrap() }
            });
            let (others_hold, held) = (release.await.unwrap(), hold.await.unwrap());
            match (others_hold, held) {
                (true, Hold::Held) => {}
                (false, Hold::Releasing { by }) => assert_eq!(by, releaser, "{name}: round {round}"),
                outcome => panic!("{name}: round {round}: a teardown and a hold that does not wait for it: {outcome:?}"),
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_needs_reconnecting_from_its_first_refusal_until_cleared_or_deleted_whichever_node_saw_it() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let channel = backend.channel.clone();
        assert_eq!(node1.needs_reconnect(&channel, Scope::Every).await.unwrap(), None, "{name}");
        let read_at = node1.channel(&channel, Scope::Every).await.unwrap().unwrap().updated_at;

        // Every node's send is refused at once.
        let mut marks = Vec::new();
        for node in &backend.nodes {
            let (node, channel) = (node.clone(), channel.clone());
            marks.push(tokio::spawn(async move { node.mark_needs_reconnect(&channel, "token revoked", read_at).await }));
        }
        for mark in marks {
            mark.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let first = node2.needs_reconnect(&channel, Scope::Every).await.unwrap().unwrap_or_else(|| panic!("{name}: marked"));
        assert_eq!(first.reason, "token revoked", "{name}");
        assert!(first.since <= now_ms(), "{name}");

        pause().await;
        node3.mark_needs_reconnect(&channel, "token expired", read_at).await.unwrap();
        let again = node1.needs_reconnect(&channel, Scope::Every).await.unwrap().unwrap();
        assert_eq!((again.reason.as_str(), again.since), ("token expired", first.since), "{name}: the reason updated, the first time kept");

        node2.clear_needs_reconnect(&channel).await.unwrap();
        assert_eq!(node3.needs_reconnect(&channel, Scope::Every).await.unwrap(), None, "{name}: reconnected");
        node1.clear_needs_reconnect(&channel).await.unwrap();
        pause().await;
        node1.mark_needs_reconnect(&channel, "token revoked", read_at).await.unwrap();
        assert!(node2.needs_reconnect(&channel, Scope::Every).await.unwrap().unwrap().since > first.since, "{name}: a new refusal starts anew");

        // The admin gives the channel new credentials while a send with the old ones is refused:
        // the refusal, of credentials no longer the channel's, does not mark it again.
        node1.clear_needs_reconnect(&channel).await.unwrap();
        pause().await;
        node2.update_channel(&channel, Scope::Every, "Toko Sari", &[], None).await.unwrap();
        node3.mark_needs_reconnect(&channel, "token revoked", read_at).await.unwrap();
        assert_eq!(node1.needs_reconnect(&channel, Scope::Every).await.unwrap(), None, "{name}: a refusal of the old credentials");
        let reconnected_at = node1.channel(&channel, Scope::Every).await.unwrap().unwrap().updated_at;
        node3.mark_needs_reconnect(&channel, "token revoked", reconnected_at).await.unwrap();
        assert!(node2.needs_reconnect(&channel, Scope::Every).await.unwrap().unwrap().since > first.since, "{name}: a new refusal starts anew");

        assert!(node3.delete_channel(&channel, Scope::Every).await.unwrap(), "{name}");
        // The read finds nothing once the channel is gone whatever is left; what is at rest says whether the notice went.
        assert!(backend.texts("SELECT channel_id FROM channel_reconnect").await.is_empty(), "{name}: gone with its channel");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_lists_newest_first_per_workspace_and_pages_back_by_id() {
    each_backend(async |backend| {
        let name = backend.name;
        let record = async |node: usize, workspace: Option<i64>, action: &str, target: &str| {
            let entry = NewAuditEntry { workspace_id: workspace, actor: "person 7 dewi@toko.id", address: Some("203.0.113.9"), action, target: Some(target), detail: None };
            backend.nodes[node].record_audit(entry).await.unwrap();
        };
        for n in 0..5 {
            record(n % 3, Some(1), "conversation.assign", &format!("percakapan {n}")).await;
        }
        record(0, Some(2), "channel.connect", "ch_dua").await;
        record(1, None, "plugin.approve", "telegram").await;
        record(2, Some(2), "template.disable", "promo_lebaran").await;

        let everything = backend.nodes[1].audit_log(&AuditFilter::default(), 100).await.unwrap();
        let targets: Vec<&str> = everything.iter().map(|e| e.target.as_deref().unwrap()).collect();
        assert_eq!(
            targets,
            vec!["promo_lebaran", "telegram", "ch_dua", "percakapan 4", "percakapan 3", "percakapan 2", "percakapan 1", "percakapan 0"],
            "{name}: newest first"
        );
        assert!(everything.windows(2).all(|pair| pair[0].id > pair[1].id && pair[0].at >= pair[1].at), "{name}");
        let assigned = everything.last().unwrap();
        assert_eq!(
            (assigned.workspace_id, assigned.actor.as_str(), assigned.address.as_deref(), assigned.action.as_str(), assigned.detail.as_deref()),
            (Some(1), "person 7 dewi@toko.id", Some("203.0.113.9"), "conversation.assign", None),
            "{name}"
        );

        let page = async |node: usize, before: Option<i64>| backend.nodes[node].audit_log(&AuditFilter { workspace_id: Some(1), before, ..Default::default() }, 2).await.unwrap();
        let first = page(2, None).await;
        assert_eq!(first.iter().map(|e| e.target.clone().unwrap()).collect::<Vec<_>>(), ["percakapan 4", "percakapan 3"], "{name}");
        let second = page(0, Some(first[1].id)).await;
        assert_eq!(second.iter().map(|e| e.target.clone().unwrap()).collect::<Vec<_>>(), ["percakapan 2", "percakapan 1"], "{name}");
        let third = page(1, Some(second[1].id)).await;
        assert_eq!(third.iter().map(|e| e.target.clone().unwrap()).collect::<Vec<_>>(), ["percakapan 0"], "{name}");
        assert!(page(2, Some(third[0].id)).await.is_empty(), "{name}");
        let second_workspace: Vec<String> =
            backend.nodes[0].audit_log(&AuditFilter { workspace_id: Some(2), ..Default::default() }, 10).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(second_workspace, ["template.disable", "channel.connect"], "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_filters_by_action_actor_and_time_together_and_pages_with_them() {
    each_backend(async |backend| {
        let name = backend.name;
        let record = async |node: usize, workspace: Option<i64>, actor: &str, action: &str, target: &str| {
            let entry = NewAuditEntry { workspace_id: workspace, actor, address: None, action, target: Some(target), detail: None };
            backend.nodes[node].record_audit(entry).await.unwrap();
        };
        record(0, Some(1), "person 7 Dewi@Toko.id", "channel.connect", "a").await;
        record(1, Some(1), "admin token 12", "token.create", "b").await;
        record(2, None, "anonymous", "session.sign_in_failed", "c").await;
        pause().await;
        let middle = now_ms();
        pause().await;
        record(0, Some(2), "person 9 rina_100%", "channel.connect", "d").await;
        record(1, Some(1), "person 7 Dewi@Toko.id", "channel.connect", "e").await;
        record(2, Some(1), "admin token 120", "token.revoke", "f").await;

        let read = async |node: usize, filter: AuditFilter, limit: u32| {
            backend.nodes[node].audit_log(&filter, limit).await.unwrap().into_iter().map(|e| e.target.unwrap()).collect::<Vec<String>>()
        };
        let text = |value: &str| Some(value.to_owned());
        let all = AuditFilter::default;
        assert_eq!(read(0, AuditFilter { action: text("channel.connect"), ..all() }, 10).await, ["e", "d", "a"], "{name}: by action");
        assert_eq!(read(1, AuditFilter { actor: text("dewi@toko"), ..all() }, 10).await, ["e", "a"], "{name}: a part of the actor, in any case");
        assert_eq!(read(2, AuditFilter { actor: text("TOKEN 12"), ..all() }, 10).await, ["f", "b"], "{name}");
        assert_eq!(read(0, AuditFilter { actor: text("_"), ..all() }, 10).await, ["d"], "{name}: `_` is a character, not a wildcard");
        assert_eq!(read(0, AuditFilter { actor: text("%"), ..all() }, 10).await, ["d"], "{name}: so is `%`");
        assert_eq!(read(1, AuditFilter { since: Some(middle), ..all() }, 10).await, ["f", "e", "d"], "{name}: since, inclusive");
        assert_eq!(read(2, AuditFilter { until: Some(middle), ..all() }, 10).await, ["c", "b", "a"], "{name}: until, exclusive");
        assert_eq!(
            read(0, AuditFilter { workspace_id: Some(1), action: text("channel.connect"), since: Some(middle), ..all() }, 10).await,
            ["e"],
            "{name}: every filter at once"
        );
        assert!(read(1, AuditFilter { action: text("token.create"), since: Some(middle), ..all() }, 10).await.is_empty(), "{name}");

        // Paging back keeps the filter: one at a time, by the last id seen.
        let workspace_one = |before: Option<i64>| AuditFilter { workspace_id: Some(1), before, ..all() };
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = backend.nodes[seen.len() % 3].audit_log(&workspace_one(before), 2).await.unwrap();
            if page.is_empty() {
                break;
            }
            before = page.last().map(|e| e.id);
            seen.extend(page.into_iter().map(|e| e.target.unwrap()));
        }
        assert_eq!(seen, ["f", "e", "b", "a"], "{name}: workspace 1's, two at a time");
        let connects = |before: Option<i64>| AuditFilter { action: text("channel.connect"), before, ..all() };
        let first = backend.nodes[0].audit_log(&connects(None), 2).await.unwrap();
        let rest = read(1, connects(first.last().map(|e| e.id)), 2).await;
        assert_eq!(rest, ["a"], "{name}: the older page has only what the filter lets through");
    })
    .await;
}
