//! The workspace boundary inside the store: every call on one row of a workspace's data takes
//! the caller's scope, and a row of another workspace is not there for it — not read, not
//! changed — whatever the handler checked before. The API's isolation suite probes the same
//! boundary from outside; this one holds it where the SQL is.

use switchboard::store::Scope;
use switchboard::store::StoreError;
use switchboard::store::model::{AsRead, Attempt, Connected, EventRecord, FileRecord, NewEndpoint, NewOutbound, Outcome, Redeliver, Role, StoredBytes};

use crate::each_backend;
use crate::messages::inbound;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_scoped_to_one_workspace_neither_reads_nor_changes_another_workspaces_rows() {
    each_backend(async |backend| {
        let (node1, node2, name) = (&backend.nodes[0], &backend.nodes[1], backend.name);
        // Workspace 1 is the caller's; everything below belongs to another workspace.
        let (mine, theirs) = (Scope::Workspace(1), node1.create_workspace("Warung Tini").await.unwrap().id);
        let own = Scope::Workspace(theirs);
        let channel = node1.create_channel(theirs, "telegram", "Warung Tini", &[]).await.unwrap().id;
        node1.mark_connected(&channel, &Connected { display_name: "@warungtini_bot", external_account_id: "43", setup: &[] }).await.unwrap();
        let message = node1.record_inbound(&channel, &inbound(1, "900", switchboard::store::now_ms())).await.unwrap().unwrap();
        let conversation = message.conversation_id;
        let tini = node1.create_person(Some(theirs), "tini@warungtini.id", "Tini", Role::Agent).await.unwrap();
        let bytes = StoredBytes { sha256: "ab".repeat(32), size: 4, mime_type: "image/png".into() };
        let file = node1.media_uploaded(theirs, Some("menu.png".into()), bytes).await.unwrap();
        let endpoint = NewEndpoint {
            workspace_id: theirs,
            url: "https://crm.example/hook".into(),
            description: "CRM".into(),
            events: vec!["conversation.resolved".into()],
            bot_channels: vec![channel.clone()],
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        };
        let endpoint = node1.create_webhook_endpoint(&endpoint).await.unwrap().id;
        node1.set_template_enabled(&channel, own, "promo_lebaran", false).await.unwrap();
        let read_at = node1.channel(&channel, Scope::Every).await.unwrap().unwrap().updated_at;
        node1.mark_needs_reconnect(&channel, "the bot token was revoked", read_at).await.unwrap();

        // Reads: nothing of theirs in my scope; all of it in theirs and in every workspace's.
        assert!(node2.messages(conversation, mine, None, 10).await.unwrap().is_empty(), "{name}: their messages");
        assert_eq!(node2.messages(conversation, own, None, 10).await.unwrap().len(), 1, "{name}");
        assert_eq!(node2.messages(conversation, Scope::Every, None, 10).await.unwrap().len(), 1, "{name}");
        assert!(node2.person(tini.id, mine).await.unwrap().is_none(), "{name}: their person");
        assert!(node2.person(tini.id, own).await.unwrap().is_some(), "{name}");
        assert!(node2.media_file(file, mine).await.unwrap().is_none(), "{name}: their file");
        assert!(node2.media_file(file, own).await.unwrap().is_some(), "{name}");
        assert!(node2.disabled_templates(&channel, mine).await.unwrap().is_empty(), "{name}: their template switches");
        assert!(node2.template_enabled(&channel, mine, "promo_lebaran").await.unwrap(), "{name}: no switch of theirs seen");
        assert!(!node2.template_enabled(&channel, own, "promo_lebaran").await.unwrap(), "{name}");
        assert!(node2.needs_reconnect(&channel, mine).await.unwrap().is_none(), "{name}: their channel's reconnect notice");
        assert!(node2.needs_reconnect(&channel, own).await.unwrap().is_some(), "{name}");
        assert!(node2.channel_bot(&channel, mine).await.unwrap().is_none(), "{name}: their channel's bot");
        assert_eq!(node2.channel_bot(&channel, own).await.unwrap().map(|bot| bot.id), Some(endpoint), "{name}");

        // Writes in my scope change nothing of theirs.
        assert!(!node2.update_conversation(conversation, mine, None, Some("resolved"), AsRead::Anything).await.unwrap(), "{name}: their conversation");
        assert!(!node2.mark_read(tini.id, conversation, mine, None).await.unwrap(), "{name}: a read mark on their conversation");
        assert!(!node2.update_person(tini.id, mine, Some(Role::Admin), Some("Bukan Tini"), Some(false), None).await.unwrap(), "{name}: their person");
        assert!(matches!(node2.create_invitation(tini.id, mine, 60_000, true).await, Err(StoreError::NotFound)), "{name}: a link for their person");
        assert!(matches!(node2.update_channel(&channel, mine, "Bukan Tini", &[], None).await, Err(StoreError::NotFound)), "{name}: their channel");
        assert!(!node2.delete_channel(&channel, mine).await.unwrap(), "{name}: their channel");
        assert!(matches!(node2.set_template_enabled(&channel, mine, "promo_lebaran", true).await, Err(StoreError::NotFound)), "{name}: their template switch");
        node2.forget_template(&channel, mine, "promo_lebaran").await.unwrap();
        assert_eq!(node1.disabled_templates(&channel, Scope::Every).await.unwrap().len(), 1, "{name}: their switch stays off");
        // A reply: not into their conversation from my scope, nor on my channel, nor with their file.
        let reply = NewOutbound { conversation_id: conversation, text: Some("Bukan dari kami".into()), content: Default::default(), reply_to: None, file: None, sent_by: None };
        assert!(matches!(node2.queue_outbound(&channel, mine, &reply).await, Err(StoreError::NotFound)), "{name}: a reply in their conversation");
        assert!(matches!(node2.queue_outbound(&backend.channel, mine, &reply).await, Err(StoreError::NotFound)), "{name}: my channel, their conversation");
        let with_their_file = NewOutbound { file: Some(file), ..reply.clone() };
        let my_conversation = node1.record_inbound(&backend.channel, &inbound(2, "901", switchboard::store::now_ms())).await.unwrap().unwrap().conversation_id;
        let my_reply = NewOutbound { conversation_id: my_conversation, ..with_their_file };
        assert!(matches!(node2.queue_outbound(&backend.channel, mine, &my_reply).await, Err(StoreError::NotFound)), "{name}: their file in my reply");
        assert_eq!(node1.messages(conversation, Scope::Every, None, 10).await.unwrap().len(), 1, "{name}: nothing was queued in theirs");
        assert_eq!(node1.messages(my_conversation, Scope::Every, None, 10).await.unwrap().len(), 1, "{name}: nor in mine");
        let queued = node2.queue_outbound(&channel, own, &reply).await.unwrap();
        assert_eq!((queued.conversation_id, queued.channel_id.as_str()), (conversation, channel.as_str()), "{name}: in their own scope");
        let unchanged = node1.person(tini.id, Scope::Every).await.unwrap().unwrap();
        assert_eq!((unchanged.role, unchanged.display_name.as_str(), unchanged.active), (Role::Agent, "Tini", true), "{name}");
        assert_eq!(node1.channel(&channel, Scope::Every).await.unwrap().unwrap().name, "Warung Tini", "{name}");
        assert_eq!(node1.conversation(conversation).await.unwrap().unwrap().status, "open", "{name}: still open");
        assert!(backend.texts("SELECT token_hash FROM invitations").await.is_empty(), "{name}: no link was made");

        // In their own scope the same calls work: the conversation resolved (an event for the endpoint).
        assert!(node2.mark_read(tini.id, conversation, own, None).await.unwrap(), "{name}");
        assert!(node2.update_conversation(conversation, own, None, Some("resolved"), AsRead::Anything).await.unwrap(), "{name}");
        let delivery = node2.due_webhook_deliveries(10, &[]).await.unwrap().into_iter().find(|d| d.endpoint_id == endpoint).expect("the resolution's delivery");
        let answered = Attempt { at: switchboard::store::now_ms(), status: Some(200), latency_ms: 3, response: "ok".into() };
        assert!(node1.claim_webhook_delivery(delivery.id, std::time::Duration::from_secs(30)).await.unwrap(), "{name}");
        let as_read = node1.webhook_endpoint(endpoint, Scope::Every).await.unwrap().unwrap().updated_at;
        node1.webhook_attempted(&delivery, &answered, &Outcome::Delivered, as_read).await.unwrap();
        assert!(node2.webhook_deliveries(endpoint, mine, 10).await.unwrap().is_empty(), "{name}: their endpoint's deliveries");
        assert_eq!(node2.webhook_deliveries(endpoint, own, 10).await.unwrap().len(), 1, "{name}");
        assert_eq!(node2.redeliver_webhooks(endpoint, mine, Redeliver::Since(0)).await.unwrap(), 0, "{name}: their deliveries sent again");
        assert_eq!(node2.redeliver_webhooks(endpoint, own, Redeliver::One(delivery.id)).await.unwrap(), 1, "{name}");
        assert!(node2.update_person(tini.id, own, None, Some("Tini Wulandari"), None, None).await.unwrap(), "{name}");
        node2.update_channel(&channel, own, "Warung Tini Pusat", &[], None).await.unwrap();
        assert!(node2.delete_channel(&channel, own).await.unwrap(), "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_tokens_scope_reaches_only_the_channels_it_is_the_bot_of() {
    each_backend(async |backend| {
        let (node1, node2, name, mine) = (&backend.nodes[0], &backend.nodes[1], backend.name, backend.channel.as_str());
        let other = node1.create_channel(1, "telegram", "Cabang", &[]).await.unwrap().id;
        node1.mark_connected(&other, &Connected { display_name: "@cabang_bot", external_account_id: "44", setup: &[] }).await.unwrap();
        let (token, _) = node1.create_bot_token(1, "FAQ", &[mine.to_owned()]).await.unwrap().unwrap();
        let (bot, stranger) = (Scope::Bot { workspace: 1, token }, Scope::Bot { workspace: 1, token: token + 1000 });
        let now = switchboard::store::now_ms();
        let with_photo = |update, chat| EventRecord::Message { inbound: inbound(update, chat, now), files: vec![FileRecord::Fetch { position: 0, filename: Some("foto.jpg".into()) }] };
        let its = node1.record_events(mine, vec![with_photo(1, "910")]).await.unwrap().messages[0].clone();
        let not_its = node1.record_events(&other, vec![with_photo(2, "911")]).await.unwrap().messages[0].clone();
        let file_of = async |message: i64| node1.media_of_messages(&[message]).await.unwrap()[0].id;
        let (its_file, not_its_file) = (file_of(its.id).await, file_of(not_its.id).await);

        // Its channel's conversation, messages and files: there; the other channel's: not there.
        assert!(node2.conversation_in_scope(its.conversation_id, bot).await.unwrap().is_some(), "{name}");
        assert!(node2.conversation_in_scope(not_its.conversation_id, bot).await.unwrap().is_none(), "{name}: another channel's conversation");
        assert!(node2.conversation_in_scope(not_its.conversation_id, Scope::Workspace(1)).await.unwrap().is_some(), "{name}: its workspace's people see it");
        assert_eq!(node2.messages(its.conversation_id, bot, None, 10).await.unwrap().len(), 1, "{name}");
        assert!(node2.messages(not_its.conversation_id, bot, None, 10).await.unwrap().is_empty(), "{name}: another channel's messages");
        assert!(node2.media_file(its_file, bot).await.unwrap().is_some(), "{name}");
        assert!(node2.media_file(not_its_file, bot).await.unwrap().is_none(), "{name}: another channel's file");
        assert!(node2.channel(mine, bot).await.unwrap().is_some() && node2.channel(&other, bot).await.unwrap().is_none(), "{name}: channels by id");
        let listed: Vec<String> = node2.channels(bot).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(listed, vec![mine.to_owned()], "{name}: its channels listed");
        // Another token's scope (none of these channels is its) reaches nothing.
        assert!(node2.conversation_in_scope(its.conversation_id, stranger).await.unwrap().is_none(), "{name}: another bot");
        assert!(node2.channels(stranger).await.unwrap().is_empty(), "{name}: another bot's channels");

        // Writes: a hand-over and a reply only in its own channel's conversation.
        assert!(!node2.update_conversation(not_its.conversation_id, bot, None, Some("resolved"), AsRead::Anything).await.unwrap(), "{name}");
        assert!(node2.update_conversation(its.conversation_id, bot, None, Some("open"), AsRead::Anything).await.unwrap(), "{name}");
        let reply = |conversation| NewOutbound { conversation_id: conversation, text: Some("Jam buka 08.00-17.00".into()), content: Default::default(), reply_to: None, file: None, sent_by: None };
        assert!(matches!(node2.queue_outbound(&other, bot, &reply(not_its.conversation_id)).await, Err(StoreError::NotFound)), "{name}: a reply on another channel");
        node2.queue_outbound(mine, bot, &reply(its.conversation_id)).await.unwrap();
        assert_eq!(node1.messages(not_its.conversation_id, Scope::Every, None, 10).await.unwrap().len(), 1, "{name}: nothing queued there");

        // A bot of workspace 1, token or endpoint, is never bound to another workspace's channel.
        let theirs = node1.create_workspace("Warung Tini").await.unwrap().id;
        let their_channel = node1.create_channel(theirs, "telegram", "Warung Tini", &[]).await.unwrap().id;
        assert_eq!(node2.create_bot_token(1, "Nyasar", &[their_channel.clone()]).await.unwrap(), Err(their_channel.clone()), "{name}: a token");
        let endpoint = NewEndpoint {
            workspace_id: 1,
            url: "https://bot.example/hook".into(),
            description: "Nyasar".into(),
            events: vec!["message.received".into()],
            bot_channels: vec![their_channel.clone()],
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        };
        // Refused as the token is (the API says "no such channel in this workspace" before).
        match node2.create_webhook_endpoint(&endpoint).await {
            Err(switchboard::store::StoreError::BotChannelTaken(refused)) => assert_eq!(refused, their_channel, "{name}"),
            other => panic!("{name}: an endpoint: {other:?}"),
        }
        assert!(node1.channel_bot(&their_channel, Scope::Every).await.unwrap().is_none(), "{name}: neither bound");
    })
    .await;
}
