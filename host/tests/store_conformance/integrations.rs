//! Provider apps and provider logins: an operator's app secrets sealed at rest and read on any
//! node, and a login ("Connect with Facebook") started on one node, finished on another, moved
//! once however many nodes try at the same moment.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchboard::store::model::{AppRemoval, FlowAccount, FlowStatus, NewFlow, Role, SettingValue};
use switchboard::store::{Scope, StoreError, now_ms};
use switchboard::store::oauth::FLOW_LIFETIME_MS;

use crate::each_backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_apps_secrets_are_sealed_at_rest_opened_on_another_node_replaced_and_removed() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        assert!(node1.provider_app("messenger").await.unwrap().is_none(), "{name}: no app yet");
        let settings = [
            SettingValue { key: "app_secret", value: "fb-rahasia-1", secret: true },
            SettingValue { key: "app_id", value: "987654321012345", secret: false },
        ];
        let set = node1.set_provider_app("messenger", &settings, None).await.unwrap();
        // Two operators' first saves at once: the second finds the app set meanwhile, and its
        // settings are not written over the first's.
        let second_first = [SettingValue { key: "app_secret", value: "fb-lain", secret: true }];
        assert!(matches!(node2.set_provider_app("messenger", &second_first, None).await, Err(StoreError::ChangedMeanwhile)), "{name}");
        assert_eq!(set.verify_token.len(), 32, "{name}: the host made the verify token");

        let read = node2.provider_app("messenger").await.unwrap().unwrap_or_else(|| panic!("{name}: set on another node"));
        assert_eq!((read.plugin.as_str(), read.settings["app_secret"].as_str(), read.settings["app_id"].as_str()), ("messenger", "fb-rahasia-1", "987654321012345"), "{name}");
        assert_eq!(read.verify_token, set.verify_token, "{name}");
        let at_rest = backend.texts("SELECT settings || verify_token FROM provider_apps").await.join("\n");
        assert!(!at_rest.contains("fb-rahasia") && !at_rest.contains(&set.verify_token), "{name}: {at_rest}");
        assert!(at_rest.contains("987654321012345"), "{name}: plain settings stay readable");

        // The operator replaces the secret through another node: the verify token the provider's
        // webhook subscription was made with stays.
        let replaced = node3.set_provider_app("messenger", &[SettingValue { key: "app_secret", value: "fb-rahasia-2", secret: true }], Some(read.updated_at)).await.unwrap();
        assert_eq!((replaced.verify_token.as_str(), replaced.created_at), (set.verify_token.as_str(), set.created_at), "{name}");
        let reread = node1.provider_app("messenger").await.unwrap().unwrap();
        assert_eq!(reread.settings, BTreeMap::from([("app_secret".to_owned(), "fb-rahasia-2".to_owned())]), "{name}: the settings replaced whole");
        assert!(reread.updated_at > set.updated_at, "{name}: a change in the same millisecond moves it forward too");
        // A save merged with the app as it was before that change (its kept secret the old one)
        // is refused, and the new secret stays.
        let stale = [SettingValue { key: "app_secret", value: "fb-rahasia-1", secret: true }];
        assert!(matches!(node2.set_provider_app("messenger", &stale, Some(read.updated_at)).await, Err(StoreError::ChangedMeanwhile)), "{name}");
        let unchanged = node1.provider_app("messenger").await.unwrap().unwrap();
        assert_eq!((unchanged.settings["app_secret"].as_str(), unchanged.updated_at), ("fb-rahasia-2", reread.updated_at), "{name}: nothing written");
        assert!(node1.provider_app("instagram").await.unwrap().is_none(), "{name}: one app per plugin");

        // A Messenger channel still connecting (a login's pick in progress may be going through
        // the app): the app stays, and the channel is named.
        let connecting = node1.create_channel(1, "messenger", "Toko Budi", &[]).await.unwrap();
        assert_eq!(
            node2.delete_provider_app("messenger").await.unwrap(),
            AppRemoval::InUse(vec![(connecting.id.clone(), "Toko Budi".to_owned())]),
            "{name}"
        );
        assert!(node3.provider_app("messenger").await.unwrap().is_some(), "{name}: kept");
        assert!(node1.delete_channel(&connecting.id, Scope::Every).await.unwrap());
        assert_eq!(node2.delete_provider_app("messenger").await.unwrap(), AppRemoval::Removed, "{name}");
        assert_eq!(node1.delete_provider_app("messenger").await.unwrap(), AppRemoval::NotFound, "{name}: gone already");
        assert!(node3.provider_app("messenger").await.unwrap().is_none(), "{name}");
        assert!(backend.texts("SELECT plugin FROM provider_apps").await.is_empty(), "{name}");
    })
    .await;
}

fn new_flow<'a>(state: &'a str, settings: &'a BTreeMap<String, String>, properties: &'a [(String, String)]) -> NewFlow<'a> {
    NewFlow {
        workspace_id: 1,
        state,
        plugin: "messenger",
        channel_id: None,
        name: Some("Toko Budi"),
        settings,
        properties,
        redirect_url: "https://switchboard.test/oauth/callback",
        started_by: None,
        channel_updated_at: None,
        browser_key_sha256: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_started_on_one_node_is_finished_on_another_its_tokens_sealed_and_dropped_once_used() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let settings = BTreeMap::from([("app_secret".to_owned(), "APPSECRET-rahasia".to_owned())]);
        let properties = vec![("code_verifier".to_owned(), "pkce-rahasia".to_owned())];
        // Started by a signed-in admin, reconnecting a channel at the version it read.
        let admin = node1.create_person(Some(1), "admin-login@tokobudi.co.id", "Budi", Role::Admin).await.unwrap().id;
        let flow = NewFlow { started_by: Some(admin), channel_updated_at: Some(1_764_000_000_123), browser_key_sha256: Some("ab12"), ..new_flow("st4te-satu", &settings, &properties) };
        let started = node1.create_flow(&flow).await.unwrap();
        assert_eq!((started.started_by, started.channel_updated_at), (Some(admin), Some(1_764_000_000_123)), "{name}");
        assert_eq!((started.status, started.workspace_id, started.name.as_deref()), (FlowStatus::Waiting, 1, Some("Toko Budi")), "{name}");
        assert_eq!((started.settings.clone(), started.properties.clone()), (settings.clone(), properties.clone()), "{name}");
        assert_eq!(started.expires_at - started.created_at, FLOW_LIFETIME_MS, "{name}");
        assert!(started.accounts.is_empty() && started.error.is_none(), "{name}");

        // The provider's callback reaches node 2, which finishes the login.
        assert!(node2.transition_flow("st4te-satu", FlowStatus::Waiting, FlowStatus::Finishing).await.unwrap(), "{name}");
        let accounts = vec![
            FlowAccount { id: "104".into(), name: "Toko Budi".into(), settings: vec![("page_access_token".into(), "EAAPAGE-rahasia-1".into())] },
            FlowAccount { id: "105".into(), name: "Toko Budi Cabang".into(), settings: vec![("page_access_token".into(), "EAAPAGE-rahasia-2".into())] },
        ];
        node2.flow_ready("st4te-satu", &accounts).await.unwrap();
        let ready = node3.flow("st4te-satu", Scope::Every).await.unwrap().unwrap_or_else(|| panic!("{name}: readable on another node"));
        assert_eq!((ready.status, ready.accounts.clone()), (FlowStatus::Ready, accounts.clone()), "{name}");
        assert_eq!((ready.started_by, ready.channel_updated_at, ready.browser_key_sha256.as_deref()), (Some(admin), Some(1_764_000_000_123), Some("ab12")), "{name}: who started it, read on another node");
        // Workspace 1's login, which another workspace's caller does not find.
        assert!(node3.flow("st4te-satu", Scope::Workspace(2)).await.unwrap().is_none(), "{name}: another workspace's login");
        assert_eq!(node3.flow("st4te-satu", Scope::Workspace(1)).await.unwrap().map(|f| f.status), Some(FlowStatus::Ready), "{name}");
        assert_eq!(ready.settings["app_secret"], "APPSECRET-rahasia", "{name}");
        let at_rest = backend.texts("SELECT settings || properties || COALESCE(accounts, '') FROM oauth_flows").await.join("\n");
        assert!(!at_rest.contains("rahasia"), "{name}: app secret, PKCE verifier and page tokens sealed: {at_rest}");

        // The admin picks a page on node 3: the flow makes its channel, and what it held goes.
        assert!(node3.transition_flow("st4te-satu", FlowStatus::Ready, FlowStatus::Connecting).await.unwrap(), "{name}");
        node3.flow_connected("st4te-satu", &backend.channel).await.unwrap();
        let done = node1.flow("st4te-satu", Scope::Every).await.unwrap().unwrap();
        assert_eq!((done.status, done.connected_channel_id.as_deref()), (FlowStatus::Connected, Some(backend.channel.as_str())), "{name}");
        assert!(done.accounts.is_empty() && done.settings.is_empty() && done.properties.is_empty(), "{name}: tokens dropped once used");

        // Used once: a replayed callback and a second connect change nothing.
        assert!(!node1.transition_flow("st4te-satu", FlowStatus::Waiting, FlowStatus::Finishing).await.unwrap(), "{name}");
        assert!(!node2.transition_flow("st4te-satu", FlowStatus::Ready, FlowStatus::Connecting).await.unwrap(), "{name}");
        assert_eq!(node2.flow("st4te-satu", Scope::Every).await.unwrap().unwrap().status, FlowStatus::Connected, "{name}");
        assert!(node2.flow("nobody's", Scope::Every).await.unwrap().is_none(), "{name}");
        assert!(!node2.transition_flow("nobody's", FlowStatus::Waiting, FlowStatus::Finishing).await.unwrap(), "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_past_its_lifetime_moves_no_further_and_is_gone_on_every_node() {
    each_backend(async |backend| {
        let (node1, node2, node3, name) = (&backend.nodes[0], &backend.nodes[1], &backend.nodes[2], backend.name);
        let settings = BTreeMap::new();
        node1.create_flow(&new_flow("st4te-lama", &settings, &[])).await.unwrap();
        node1.create_flow(&new_flow("st4te-baru", &settings, &[])).await.unwrap();
        backend.execute(&format!("UPDATE oauth_flows SET expires_at = {} WHERE state = 'st4te-lama'", now_ms() - 1)).await;

        assert!(!node2.transition_flow("st4te-lama", FlowStatus::Waiting, FlowStatus::Finishing).await.unwrap(), "{name}: expired");
        assert!(node3.flow("st4te-lama", Scope::Every).await.unwrap().is_none(), "{name}: gone");
        assert_eq!(backend.texts("SELECT state FROM oauth_flows").await, vec!["st4te-baru".to_owned()], "{name}: deleted once expired, the live one kept");
        assert!(node3.transition_flow("st4te-baru", FlowStatus::Waiting, FlowStatus::Finishing).await.unwrap(), "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_callback_reaching_three_nodes_at_once_moves_the_flow_once_and_a_failed_login_keeps_its_error() {
    each_backend(async |backend| {
        let name = backend.name;
        let (settings, properties): (BTreeMap<String, String>, Vec<(String, String)>) = (BTreeMap::new(), Vec::new());
        for round in 0..10 {
            let state: Arc<str> = format!("balapan-{round}").into();
            backend.nodes[round % 3].create_flow(&new_flow(&state, &settings, &properties)).await.unwrap();
            let mut moves = Vec::new();
            for node in &backend.nodes {
                let (node, state) = (node.clone(), state.clone());
                moves.push(tokio::spawn(async move { node.transition_flow(&state, FlowStatus::Waiting, FlowStatus::Finishing).await }));
            }
            let mut won = 0;
            for attempt in moves {
                won += usize::from(attempt.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}")));
            }
            assert_eq!(won, 1, "{name}: round {round}: exactly one node finishes the login");
        }

        // The login a node was finishing failed: any node reads why, and it goes no further.
        let error = "The user cancelled the login (access_denied)";
        backend.nodes[1].flow_failed("balapan-0", error).await.unwrap();
        let failed = backend.nodes[2].flow("balapan-0", Scope::Every).await.unwrap().unwrap();
        assert_eq!((failed.status, failed.error.as_deref()), (FlowStatus::Failed, Some(error)), "{name}");
        assert!(!backend.nodes[0].transition_flow("balapan-0", FlowStatus::Finishing, FlowStatus::Ready).await.unwrap(), "{name}");
        assert!(!backend.nodes[0].transition_flow("balapan-0", FlowStatus::Waiting, FlowStatus::Finishing).await.unwrap(), "{name}");
        let still = backend.nodes[0].flow("balapan-0", Scope::Every).await.unwrap().unwrap();
        assert_eq!((still.status, still.error.as_deref()), (FlowStatus::Failed, Some(error)), "{name}");
        assert_eq!(backend.nodes[0].flow("balapan-1", Scope::Every).await.unwrap().unwrap().status, FlowStatus::Finishing, "{name}: the others are untouched");
    })
    .await;
}
