//! Activity figures on both backends: what was received and sent per channel and day, failures
//! by reason, each person's first replies and resolutions, and nothing of another workspace.

use switchboard::store::model::{AsRead, Activity, Connected, NewOutbound, Role, Window};
use switchboard::store::{Scope, now_ms};

use crate::each_backend;
use crate::messages::inbound;

fn reply(conversation: i64, sent_by: Option<i64>) -> NewOutbound {
    NewOutbound { conversation_id: conversation, text: Some("Baik kak, kami cek".into()), content: Default::default(), reply_to: None, file: None, sent_by }
}

/// The window's totals: a day may turn while the test runs, so the days are summed.
fn totals(activity: &Activity, channel: &str) -> (i64, i64) {
    let of = activity.channels.iter().find(|c| c.id == channel).expect("the channel is listed");
    (of.received.iter().sum(), of.sent.iter().sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_counts_a_workspaces_messages_failures_and_each_persons_times() {
    each_backend(async |backend| {
        let (store, name, channel) = (&backend.nodes[0], backend.name, backend.channel.as_str());
        let ani = store.create_person(Some(1), "ani-activity", "Ani", Role::Agent).await.unwrap().id;
        let budi = store.create_person(Some(1), "budi-activity", "Budi", Role::Agent).await.unwrap().id;
        let mut conversations = Vec::new();
        for (update, chat) in [(1, "901"), (2, "902"), (3, "903"), (4, "901"), (5, "902")] {
            let message = store.record_inbound(channel, &inbound(update, chat, now_ms())).await.unwrap().expect("stored");
            if !conversations.contains(&message.conversation_id) {
                conversations.push(message.conversation_id);
            }
        }
        // A reply through an API token is no person's; a person's second reply is no first response.
        store.queue_outbound(channel, Scope::Every, &reply(conversations[0], None)).await.unwrap();
        store.queue_outbound(channel, Scope::Every, &reply(conversations[0], Some(ani))).await.unwrap();
        store.queue_outbound(channel, Scope::Every, &reply(conversations[1], Some(ani))).await.unwrap();
        store.queue_outbound(channel, Scope::Every, &reply(conversations[2], Some(budi))).await.unwrap();
        store.queue_outbound(channel, Scope::Every, &reply(conversations[2], Some(ani))).await.unwrap();
        let failed = store.queue_outbound(channel, Scope::Every, &reply(conversations[1], Some(budi))).await.unwrap();
        store.delivery_failed(failed.id, "Forbidden: bot was blocked by the user").await.unwrap();
        // Resolved while assigned (Ani), unassigned, and one resolved twice (reopened between).
        store.update_conversation(conversations[0], Scope::Every, Some(Some(ani)), Some("resolved"), AsRead::Anything).await.unwrap();
        store.update_conversation(conversations[2], Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap();
        store.update_conversation(conversations[1], Scope::Every, Some(Some(budi)), Some("resolved"), AsRead::Anything).await.unwrap();
        store.update_conversation(conversations[1], Scope::Every, None, Some("open"), AsRead::Anything).await.unwrap();
        store.update_conversation(conversations[1], Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap();

        // Another workspace's channel and messages stay its own.
        let other = store.create_workspace("Toko Lain").await.unwrap().id;
        let elsewhere = store.create_channel(other, "telegram", "Lain", &[]).await.unwrap().id;
        store.mark_connected(&elsewhere, &Connected { display_name: "@lain_bot", external_account_id: "4343", setup: &[] }).await.unwrap();
        store.record_inbound(&elsewhere, &inbound(1, "990", now_ms())).await.unwrap().expect("stored");

        let window = Window::ending_at(now_ms(), 30, 420);
        let activity = backend.nodes[2].activity(1, window).await.unwrap();
        assert_eq!(activity.days.len(), 30, "{name}");
        assert!(activity.channels.iter().all(|c| c.received.len() == 30 && c.sent.len() == 30), "{name}");
        assert_eq!(totals(&activity, channel), (5, 6), "{name}: received and sent");
        assert!(activity.channels.iter().all(|c| c.id != elsewhere), "{name}: not another workspace's channel");
        let failures: Vec<_> = activity.failures.iter().map(|f| (f.reason.as_str(), f.count)).collect();
        assert_eq!(failures, [("Forbidden: bot was blocked by the user", 1)], "{name}");
        let people: Vec<_> = activity
            .agents
            .iter()
            .map(|a| (a.name.as_deref(), a.first_response.conversations, a.resolution.conversations))
            .collect();
        assert_eq!(people, [(Some("Ani"), 2, 1), (Some("Budi"), 1, 2), (None, 0, 1)], "{name}: by name, the unassigned last");
        for agent in &activity.agents {
            for median in [agent.first_response.median_seconds, agent.resolution.median_seconds].into_iter().flatten() {
                assert!((0.0..60.0).contains(&median), "{name}: a median of {median} s for what took moments");
            }
        }
        assert_eq!(activity.agents[2].first_response.median_seconds, None, "{name}: no figure of nothing");

        let theirs = store.activity(other, window).await.unwrap();
        assert_eq!(totals(&theirs, &elsewhere), (1, 0), "{name}");
        assert!(theirs.agents.is_empty() && theirs.failures.is_empty(), "{name}");

        // The operator's view: every workspace's volume.
        let volume = backend.nodes[1].workspace_volume(window).await.unwrap();
        let of = |id: i64| volume.iter().find(|w| w.id == id).map(|w| (w.received.iter().sum::<i64>(), w.sent.iter().sum::<i64>()));
        assert_eq!((of(1), of(other)), (Some((5, 6)), Some((1, 0))), "{name}");
    })
    .await;
}
