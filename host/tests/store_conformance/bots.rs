//! Bots on both backends: a bot token made with its channels (one bot per channel, of either
//! kind), whose channels' new conversations start in status `bot`, listed for it alone; and
//! revoking it hands them to people in the same transaction, naming them (for the live inbox),
//! as an endpoint bot's are when the endpoint is turned off (by an admin or past the retry
//! horizon), no longer the bot of their channel, or deleted.

use switchboard::store::model::{AsRead, Attempt, BotKind, ChannelBot, ConversationFilter, EndpointChange, HandedOver, NewEndpoint, Outcome, Role};
use switchboard::store::now_ms;
use switchboard::store::Scope;

use crate::messages::inbound;
use crate::{active_channel, each_backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_token_owns_its_channels_new_conversations_until_it_is_revoked() {
    each_backend(async |backend| {
        let (node1, node2, name, channel) = (&backend.nodes[0], &backend.nodes[1], backend.name, backend.channel.as_str());
        let other = active_channel(node1).await;
        let third = active_channel(node1).await;

        // Made with its channel, in workspace 1; a second bot for the channel makes nothing.
        let (id, token) = node1.create_bot_token(1, "Asisten pesanan", &[channel.to_owned()]).await.unwrap().unwrap_or_else(|taken| panic!("{name}: {taken} taken"));
        let owner = node2.token_owner(&token).await.unwrap().unwrap_or_else(|| panic!("{name}: the token is known"));
        assert_eq!((owner.id, owner.role, owner.workspace), (id, Role::Bot, Some(1)), "{name}");
        let refused = node2.create_bot_token(1, "Bot kedua", &[third.clone(), channel.to_owned()]).await.unwrap();
        assert_eq!(refused, Err(channel.to_owned()), "{name}: the channel that has a bot is named");
        let labels: Vec<String> = node1.tokens(1).await.unwrap().into_iter().map(|t| t.label).collect();
        assert_eq!(labels, vec!["Asisten pesanan"], "{name}: nothing made of the refused one");
        assert_eq!(node1.channel_bot(&third, Scope::Every).await.unwrap(), None, "{name}: nor its binding of the free channel");
        assert_eq!(
            node2.channel_bot(channel, Scope::Every).await.unwrap(),
            Some(ChannelBot { kind: BotKind::Token, id, name: "Asisten pesanan".into(), enabled: true }),
            "{name}"
        );
        assert_eq!(node2.bot_token_channels(id).await.unwrap(), vec![channel.to_owned()], "{name}");

        // An endpoint cannot take the token's channel (should the API's check be raced): it is
        // refused whole, naming the channel, rather than made without it.
        let mut endpoint = NewEndpoint {
            workspace_id: 1,
            url: "https://bot.example/hook".into(),
            description: "FAQ bot".into(),
            events: vec!["message.received".into()],
            bot_channels: vec![other.clone(), channel.to_owned()],
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        };
        match node1.create_webhook_endpoint(&endpoint).await {
            Err(switchboard::store::StoreError::BotChannelTaken(taken)) => assert_eq!(taken, channel, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        assert!(node2.webhook_endpoints(Scope::Every).await.unwrap().is_empty(), "{name}: nothing made of the refused one");
        assert_eq!(node2.channel_bot(&other, Scope::Every).await.unwrap(), None, "{name}: nor its binding of the free channel");
        assert_eq!(node2.channel_bot(channel, Scope::Every).await.unwrap().map(|b| b.kind), Some(BotKind::Token), "{name}: the token's binding stays");
        endpoint.bot_channels = vec![other.clone()];
        let endpoint = node1.create_webhook_endpoint(&endpoint).await.unwrap();
        assert_eq!(
            node2.channel_bot(&other, Scope::Every).await.unwrap(),
            Some(ChannelBot { kind: BotKind::Endpoint, id: endpoint.id, name: "FAQ bot".into(), enabled: true }),
            "{name}"
        );

        // Customers write: each bot's channel's conversation is the bot's; the token lists its own.
        let now = now_ms();
        let mine = node1.record_inbound(channel, &inbound(1, "800", now)).await.unwrap().unwrap().conversation_id;
        let waiting = node1.record_inbound(channel, &inbound(2, "801", now)).await.unwrap().unwrap().conversation_id;
        let endpoints = node1.record_inbound(&other, &inbound(3, "802", now)).await.unwrap().unwrap().conversation_id;
        let free = node1.record_inbound(&third, &inbound(4, "803", now)).await.unwrap().unwrap().conversation_id;
        let status = async |conversation: i64| node2.conversation(conversation).await.unwrap().unwrap().status;
        assert_eq!([status(mine).await, status(waiting).await, status(endpoints).await, status(free).await], ["bot", "bot", "bot", "open"], "{name}");
        let filter = ConversationFilter { workspace_id: Some(1), bot: Some(id), ..Default::default() };
        let mut listed: Vec<i64> = node2.conversations(&filter, 100).await.unwrap().into_iter().map(|c| c.conversation.id).collect();
        listed.sort();
        assert_eq!(listed, vec![mine, waiting], "{name}: the bot's channels' conversations only");

        // One handed over by the bot; then the token is revoked: the other is the people's at once.
        node1.update_conversation(mine, Scope::Every, None, Some("open"), AsRead::Anything).await.unwrap();
        assert_eq!(node1.revoke_token(id, 2).await.unwrap(), None, "{name}: another workspace's admin revokes nothing, hands over nothing");
        assert_eq!(status(waiting).await, "bot", "{name}");
        let handed = node1.revoke_token(id, 1).await.unwrap().unwrap_or_else(|| panic!("{name}: revoked"));
        assert_eq!(handed, vec![HandedOver { channel_id: channel.to_owned(), conversation_id: waiting }], "{name}: the one still the bot's, named to announce");
        assert_eq!(status(waiting).await, "open", "{name}: revoking the token hands its conversations over");
        assert_eq!(status(endpoints).await, "bot", "{name}: another bot's stay its");
        assert_eq!(node2.channel_bot(channel, Scope::Every).await.unwrap(), None, "{name}: the channel has no bot now");
        assert!(node2.bot_token_channels(id).await.unwrap().is_empty(), "{name}");
        assert!(node2.token_owner(&token).await.unwrap().is_none(), "{name}");
        let later = node1.record_inbound(channel, &inbound(5, "804", now)).await.unwrap().unwrap().conversation_id;
        assert_eq!(status(later).await, "open", "{name}: a new conversation there is open");

        // The endpoint turned off hands its over too, named, and its channel's new ones are open.
        let turned_off = EndpointChange { enabled: Some(false), ..Default::default() };
        assert!(node1.update_webhook_endpoint(endpoint.id, Scope::Workspace(2), &turned_off).await.unwrap().is_none(), "{name}: not another workspace's admin");
        assert_eq!(status(endpoints).await, "bot", "{name}");
        let (off, handed) = node1.update_webhook_endpoint(endpoint.id, Scope::Workspace(1), &turned_off).await.unwrap().unwrap_or_else(|| panic!("{name}: found"));
        assert!(!off.enabled, "{name}");
        assert_eq!(handed, vec![HandedOver { channel_id: other.clone(), conversation_id: endpoints }], "{name}: the one still its bot's, named to announce");
        assert_eq!(status(endpoints).await, "open", "{name}");
        assert_eq!(node2.channel_bot(&other, Scope::Every).await.unwrap().map(|b| b.enabled), Some(false), "{name}: still its bot, turned off");

        // The freed channel can have a new bot token.
        assert!(node2.create_bot_token(1, "Asisten baru", &[channel.to_owned()]).await.unwrap().is_ok(), "{name}");

        // Turned on again, the endpoint hands over nothing; taken out of its bot channels, the
        // conversation it has there goes to people, named.
        let turned_on = EndpointChange { enabled: Some(true), ..Default::default() };
        let (_, handed) = node1.update_webhook_endpoint(endpoint.id, Scope::Workspace(1), &turned_on).await.unwrap().unwrap();
        assert!(handed.is_empty(), "{name}");
        let left = node1.record_inbound(&other, &inbound(6, "805", now)).await.unwrap().unwrap().conversation_id;
        assert_eq!(status(left).await, "bot", "{name}");
        let no_channels = EndpointChange { bot_channels: Some(Vec::new()), ..Default::default() };
        let (changed, handed) = node1.update_webhook_endpoint(endpoint.id, Scope::Workspace(1), &no_channels).await.unwrap().unwrap();
        assert!(changed.bot_channels.is_empty(), "{name}");
        assert_eq!(handed, vec![HandedOver { channel_id: other.clone(), conversation_id: left }], "{name}: the channel it left, named");
        assert_eq!(status(left).await, "open", "{name}");

        // Its bot again: disabled past the retry horizon, it hands over its conversation, named.
        let bot_again = EndpointChange { bot_channels: Some(vec![other.clone()]), ..Default::default() };
        let (_, handed) = node1.update_webhook_endpoint(endpoint.id, Scope::Workspace(1), &bot_again).await.unwrap().unwrap();
        assert!(handed.is_empty(), "{name}");
        let given_up = node1.record_inbound(&other, &inbound(7, "806", now)).await.unwrap().unwrap().conversation_id;
        assert_eq!(status(given_up).await, "bot", "{name}");
        let delivery = node2.due_webhook_deliveries(50, &[]).await.unwrap().into_iter().find(|d| d.endpoint_id == endpoint.id).unwrap_or_else(|| panic!("{name}: a delivery due"));
        let failed = Attempt { at: now_ms(), status: Some(503), latency_ms: 3, response: "down".into() };
        assert!(node1.claim_webhook_delivery(delivery.id, std::time::Duration::from_secs(30)).await.unwrap(), "{name}");
        let as_read = node1.webhook_endpoint(endpoint.id, Scope::Every).await.unwrap().unwrap().updated_at;
        let handed = node1.webhook_attempted(&delivery, &failed, &Outcome::Failed { disable_endpoint: Some("retry horizon passed".into()) }, as_read).await.unwrap().handed;
        assert_eq!(handed, vec![HandedOver { channel_id: other.clone(), conversation_id: given_up }], "{name}: disabled, its conversation named");
        assert_eq!(status(given_up).await, "open", "{name}");

        // Turned on and deleted: the conversation it has then goes to people, named.
        node1.update_webhook_endpoint(endpoint.id, Scope::Workspace(1), &turned_on).await.unwrap().unwrap();
        let last = node1.record_inbound(&other, &inbound(8, "807", now)).await.unwrap().unwrap().conversation_id;
        assert_eq!(status(last).await, "bot", "{name}");
        assert_eq!(node1.delete_webhook_endpoint(endpoint.id, Scope::Workspace(2)).await.unwrap(), None, "{name}: not another workspace's admin");
        assert_eq!(status(last).await, "bot", "{name}");
        let handed = node1.delete_webhook_endpoint(endpoint.id, Scope::Workspace(1)).await.unwrap();
        assert_eq!(handed, Some(vec![HandedOver { channel_id: other.clone(), conversation_id: last }]), "{name}: deleted, its conversation named");
        assert_eq!(status(last).await, "open", "{name}");
        assert_eq!(node2.channel_bot(&other, Scope::Every).await.unwrap(), None, "{name}: the channel has no bot now");
    })
    .await;
}

/// A conversation that starts while its channel's bot is being unbound (on another node) ends
/// with the people, never in status `bot` with no bot left to answer it: whichever commits
/// first, the unbinding hands it over or the conversation starts open. Raced many times, in
/// each way a bot stops being one (revoked, turned off, taken out of the channel, deleted),
/// with another channel written to at once; neither side may fail (a lock cycle would end one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_started_while_its_bot_is_unbound_ends_with_the_people() {
    const ROUNDS: i64 = 25;
    each_backend(async |backend| {
        let (node1, node2, name) = (&backend.nodes[0], &backend.nodes[1], backend.name);
        // A channel of the workspace with no bot, written to at the same moment: its event is
        // one the endpoint subscribes to (a delivery row naming the endpoint), often in the same
        // group-commit batch as the bot channel's.
        let beside = active_channel(node1).await;
        for round in 0..ROUNDS {
            for (way, kind) in ["revoked", "turned off", "taken out", "deleted"].into_iter().enumerate() {
                let channel = active_channel(node1).await;
                // A token is the bot of two channels, both written to as it is revoked.
                let (token, beside) = match way {
                    0 => {
                        let second = active_channel(node1).await;
                        (Some(node1.create_bot_token(1, "Asisten", &[channel.clone(), second.clone()]).await.unwrap().unwrap().0), second)
                    }
                    _ => (None, beside.clone()),
                };
                let endpoint = NewEndpoint {
                    workspace_id: 1,
                    url: "https://bot.example/hook".into(),
                    description: "FAQ bot".into(),
                    events: vec!["message.received".into()],
                    bot_channels: if token.is_none() { vec![channel.clone()] } else { Vec::new() },
                    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
                };
                let endpoint = node1.create_webhook_endpoint(&endpoint).await.unwrap().id;
                let unbind = async {
                    match way {
                        0 => assert!(node2.revoke_token(token.unwrap(), 1).await.unwrap().is_some()),
                        1 => drop(node2.update_webhook_endpoint(endpoint, Scope::Workspace(1), &EndpointChange { enabled: Some(false), ..Default::default() }).await.unwrap().unwrap()),
                        2 => drop(node2.update_webhook_endpoint(endpoint, Scope::Workspace(1), &EndpointChange { bot_channels: Some(Vec::new()), ..Default::default() }).await.unwrap().unwrap()),
                        _ => assert!(node2.delete_webhook_endpoint(endpoint, Scope::Workspace(1)).await.unwrap().is_some()),
                    }
                };
                let (message, other) = (inbound(round, &format!("race-{round}-{way}"), now_ms()), inbound(round, &format!("beside-{round}-{way}"), now_ms()));
                let (written_beside, started, ()) = tokio::join!(node1.record_inbound(&beside, &other), node1.record_inbound(&channel, &message), unbind);
                let beside_conversation = written_beside.unwrap_or_else(|e| panic!("{name}: round {round}, bot {kind}: {e}")).unwrap().conversation_id;
                let beside_status = node2.conversation(beside_conversation).await.unwrap().unwrap().status;
                assert_eq!(beside_status, "open", "{name}: round {round}, the other channel's conversation as the bot was {kind}");
                let conversation = started.unwrap().unwrap().conversation_id;
                let status = node2.conversation(conversation).await.unwrap().unwrap().status;
                assert_eq!(status, "open", "{name}: round {round}, bot {kind} as the conversation started");
            }
        }
    })
    .await;
}
