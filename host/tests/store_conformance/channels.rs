//! Channels and plugin state: the lifecycle an admin drives, secrets sealed at rest, and state
//! a plugin on one node keeps for the next call on another.

use switchboard::store::{Scope, StoreError};
use switchboard::store::model::{ChannelStatus, Connected, SettingValue};

use crate::each_backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_is_listed_once_connected_its_secrets_sealed_at_rest_and_deleted_with_its_state() {
    each_backend(async |backend| {
        let (node1, node2, name) = (&backend.nodes[0], &backend.nodes[1], backend.name);
        let settings = [
            SettingValue { key: "bot_token", value: "123456:AAH-rahasia", secret: true },
            SettingValue { key: "api_base_url", value: "http://127.0.0.1:9", secret: false },
        ];
        tokio::time::sleep(std::time::Duration::from_millis(3)).await; // a later creation time than the setup's channel
        let two = node1.create_workspace("Toko Sari").await.unwrap().id;
        let created = node1.create_channel(two, "telegram", "Toko Sari", &settings).await.unwrap();
        assert!(created.id.starts_with("ch_") && created.webhook_secret.len() == 32, "{name}: {}", created.id);
        assert_eq!((created.status, created.workspace_id), (ChannelStatus::Connecting, two), "{name}");
        let listed: Vec<String> = node2.channels(Scope::Every).await.unwrap().into_iter().map(|c| c.id).collect();
        assert!(!listed.contains(&created.id), "{name}: a channel still connecting is not listed");

        let setup = [switchboard::store::model::SetupEntry { key: "webhook".into(), label: "Webhook".into(), value: "set".into() }];
        node2.mark_connected(&created.id, &Connected { display_name: "@tokosari_bot", external_account_id: "777", setup: &setup }).await.unwrap();
        let read = node1.channel(&created.id, Scope::Every).await.unwrap().unwrap();
        assert_eq!((read.status, read.display_name.as_deref(), read.setup.as_slice()), (ChannelStatus::Active, Some("@tokosari_bot"), setup.as_slice()), "{name}");
        assert_eq!(read.settings["bot_token"], "123456:AAH-rahasia", "{name}: opened on another node");
        assert_eq!(read.webhook_secret, created.webhook_secret, "{name}");
        let listed: Vec<String> = node1.channels(Scope::Every).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(listed, vec![backend.channel.clone(), created.id.clone()], "{name}: oldest first");
        // A workspace's reads see its own channels only; another's is not there at all.
        let setup_workspace = node1.channel(&backend.channel, Scope::Every).await.unwrap().unwrap().workspace_id;
        assert_ne!(setup_workspace, two, "{name}: the setup's channel is in another workspace");
        let in_2: Vec<String> = node2.channels(Scope::Workspace(two)).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(in_2, vec![created.id.clone()], "{name}: workspace 2's channels");
        let in_setup: Vec<String> = node1.channels(Scope::Workspace(setup_workspace)).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(in_setup, vec![backend.channel.clone()], "{name}: the setup workspace's channels");
        assert!(node1.channel(&created.id, Scope::Workspace(setup_workspace)).await.unwrap().is_none(), "{name}: another workspace's channel by id");
        assert!(node2.channel(&created.id, Scope::Workspace(two)).await.unwrap().is_some(), "{name}: its own by id");
        let of_account = node2.channels_of_account("telegram", "777").await.unwrap();
        assert_eq!(of_account.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec![created.id.as_str()], "{name}");
        assert!(node2.channels_of_account("line", "777").await.unwrap().is_empty(), "{name}: another plugin's account");

        let at_rest = backend.texts("SELECT settings || webhook_secret FROM channels").await.join("\n");
        assert!(!at_rest.contains("AAH-rahasia") && !at_rest.contains(&created.webhook_secret), "{name}: {at_rest}");
        assert!(at_rest.contains("http://127.0.0.1:9"), "{name}: plain settings stay readable");

        node2.update_channel(&created.id, Scope::Every, "Toko Sari Pusat", &settings[..1], None).await.unwrap();
        let renamed = node1.channel(&created.id, Scope::Every).await.unwrap().unwrap();
        assert_eq!((renamed.name.as_str(), renamed.settings.len()), ("Toko Sari Pusat", 1), "{name}");
        assert!(matches!(node1.update_channel("ch_nobody", Scope::Every, "x", &[], None).await, Err(StoreError::NotFound)), "{name}");
        // A change decided on the channel as it was before another change stored meanwhile is
        // refused, and the other change stays; decided on the channel as it is, it is made.
        let read = node1.channel(&created.id, Scope::Every).await.unwrap().unwrap();
        node1.update_channel(&created.id, Scope::Every, "Toko Sari Cabang", &settings[..1], Some(read.updated_at)).await.unwrap();
        let stale = node2.update_channel(&created.id, Scope::Every, "Toko Sari Lama", &settings[..1], Some(read.updated_at)).await;
        assert!(matches!(stale, Err(StoreError::ChangedMeanwhile)), "{name}: {stale:?}");
        let now = node1.channel(&created.id, Scope::Every).await.unwrap().unwrap();
        assert_eq!(now.name, "Toko Sari Cabang", "{name}: the change stored meanwhile stays");
        node2.update_channel(&created.id, Scope::Every, "Toko Sari Pusat", &settings[..1], Some(now.updated_at)).await.unwrap();
        assert!(matches!(node1.update_channel("ch_nobody", Scope::Every, "x", &[], Some(now.updated_at)).await, Err(StoreError::NotFound)), "{name}");

        node1.state_set(&created.id, "login_token", "eyJ.rahasia").await.unwrap();
        assert!(node1.delete_channel(&created.id, Scope::Every).await.unwrap(), "{name}");
        assert!(!node2.delete_channel(&created.id, Scope::Every).await.unwrap(), "{name}: gone already");
        assert!(node2.channel(&created.id, Scope::Every).await.unwrap().is_none(), "{name}");
        assert!(backend.texts("SELECT key FROM channel_state").await.is_empty(), "{name}: its state went with it");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_state_kept_on_one_node_is_read_on_another_sealed_and_listed_by_prefix() {
    each_backend(async |backend| {
        let (node1, node3, name, channel) = (&backend.nodes[0], &backend.nodes[2], backend.name, backend.channel.as_str());
        node1.state_set(channel, "login_token", "eyJ.first").await.unwrap();
        node3.state_set(channel, "login_token", "eyJ.renewed").await.unwrap();
        assert_eq!(node1.state_get(channel, "login_token").await.unwrap().as_deref(), Some("eyJ.renewed"), "{name}");
        assert_eq!(node1.state_get(channel, "nothing").await.unwrap(), None, "{name}");
        let at_rest = backend.texts("SELECT value FROM channel_state").await.join("\n");
        assert!(!at_rest.contains("eyJ"), "{name}: {at_rest}");

        // A prefix with LIKE's wildcards matches only itself; keys come back in byte order.
        for key in ["media:b", "media:A", "media:a", "media_x", "mediaZ", "other"] {
            node1.state_set(channel, key, "1").await.unwrap();
        }
        assert_eq!(node3.state_keys(channel, "media:").await.unwrap(), vec!["media:A", "media:a", "media:b"], "{name}");
        assert_eq!(node3.state_keys(channel, "media_").await.unwrap(), vec!["media_x"], "{name}");
        node3.state_remove(channel, "media:a").await.unwrap();
        assert_eq!(node1.state_keys(channel, "media:").await.unwrap(), vec!["media:A", "media:b"], "{name}");
    })
    .await;
}
