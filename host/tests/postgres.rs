//! The Postgres store against a real, throwaway Postgres: migrations once across nodes started
//! together, a schema newer than the node refused, a foreign secret key refused, and the
//! outbox's leased claims shared by nodes.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::PATIENCE;
use support::postgres::Postgres;
use switchboard::store::{Scope, SecretBox};
use switchboard::store::model::AsRead;
use switchboard::store::backend::{MessageStore, OutboxStore};
use switchboard::store::pg::PgStore;

fn key(dir: &tempfile::TempDir, name: &str) -> Arc<SecretBox> {
    Arc::new(SecretBox::load_or_create(&dir.path().join(name)).unwrap())
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// A throwaway Postgres with database `name` and `count` nodes on it sharing one secret key.
struct Cluster {
    url: String,
    nodes: Vec<Arc<PgStore>>,
    _postgres: Postgres,
    _keys: tempfile::TempDir,
}

async fn cluster(name: &str, count: usize) -> Cluster {
    let postgres = Postgres::start();
    let url = postgres.create_database(name);
    let keys = tempfile::tempdir().unwrap();
    let secrets = key(&keys, "shared.key");
    let mut nodes = Vec::new();
    for n in 1..=count {
        nodes.push(Arc::new(PgStore::connect(&url, &secrets, &format!("node-{n}")).await.unwrap()));
    }
    Cluster { url, nodes, _postgres: postgres, _keys: keys }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_started_together_migrate_once_and_a_newer_schema_or_another_key_is_refused() {
    let postgres = Postgres::start();
    let url = postgres.create_database("nodes");
    let keys = tempfile::tempdir().unwrap();
    let shared = key(&keys, "shared.key");
    let starts: Vec<_> = (1..=3)
        .map(|n| {
            let (url, shared) = (url.clone(), shared.clone());
            tokio::spawn(async move { PgStore::connect(&url, &shared, &format!("node-{n}")).await })
        })
        .collect();
    let mut nodes = Vec::new();
    for start in starts {
        nodes.push(start.await.unwrap().expect("every node starts"));
    }
    let history = nodes[2].schema_history().await.unwrap();
    assert_eq!(history.iter().map(|(version, _)| *version).collect::<Vec<_>>(), (1..=switchboard::store::pg::SCHEMA_VERSIONS as i32).collect::<Vec<_>>(), "every version applied once: {history:?}");
    assert!(history[0].1.starts_with("node-") && history.iter().all(|(_, by)| *by == history[0].1), "by one node: {history:?}");
    // The schema is all there: workspace 1 exists as in SQLite.
    let client = sql(&url).await;
    let workspaces: i64 = client.query_one("SELECT COUNT(*) FROM workspaces WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(workspaces, 1);

    // A fourth node with a key of its own refuses to start, and changes nothing.
    let stranger = key(&keys, "other.key");
    let refused = PgStore::connect(&url, &stranger, "node-4").await.err().expect("a foreign key is refused").to_string();
    assert!(refused.contains("secret key") && refused.contains("same key"), "{refused}");

    // A database a newer Switchboard migrated: refused with what to do.
    client.execute("INSERT INTO schema_versions (version, applied_at, applied_by) VALUES (99, 0, 'future')", &[]).await.unwrap();
    let refused = PgStore::connect(&url, &shared, "node-5").await.err().expect("a newer schema is refused").to_string();
    assert!(refused.contains("newer Switchboard") && refused.contains("schema 99"), "{refused}");
    assert_eq!(nodes[0].schema_history().await.unwrap().len(), switchboard::store::pg::SCHEMA_VERSIONS + 1, "the refusing node changed nothing (its versions and the future one)");
}

/// A channel with `conversations` conversations of `each` queued replies.
async fn queue_replies(client: &tokio_postgres::Client, conversations: i64, each: i64) -> HashMap<i64, Vec<i64>> {
    client
        .batch_execute(
            "INSERT INTO channels (id, plugin, name, status, settings, webhook_secret, created_at, updated_at)
             VALUES ('ch_1', 'line', 'LINE', 'active', '{}', 'sealed', 0, 0)",
        )
        .await
        .unwrap();
    let mut queued = HashMap::new();
    for c in 0..conversations {
        let conversation: i64 = client
            .query_one(
                "INSERT INTO conversations (channel_id, external_id, last_activity_at, created_at) VALUES ('ch_1', $1, 0, 0) RETURNING id",
                &[&format!("U{c}")],
            )
            .await
            .unwrap()
            .get(0);
        for n in 0..each {
            let message: i64 = client
                .query_one(
                    "INSERT INTO messages (conversation_id, channel_id, direction, text, status, created_at, updated_at)
                     VALUES ($1, 'ch_1', 'outbound', $2, 'queued', 0, 0) RETURNING id",
                    &[&conversation, &format!("balasan {n}")],
                )
                .await
                .unwrap()
                .get(0);
            client
                .execute("INSERT INTO outbox (message_id, channel_id, conversation_id, next_attempt_at) VALUES ($1, 'ch_1', $2, 0)", &[&message, &conversation])
                .await
                .unwrap();
            queued.entry(conversation).or_insert_with(Vec::new).push(message);
        }
    }
    queued
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_claim_each_delivery_once_in_each_conversations_order_and_take_over_a_dead_nodes_claims() {
    // A live node sends its claims one after another within their lease; a batch that outlasted
    // it (a busy machine) could have been claimed again by the other node, which proves nothing
    // about claims: then the scenario runs again, on a fresh database, with a longer lease.
    with_growing_leases(async |lease, attempt| {
        let Cluster { url, nodes, .. } = &cluster(&format!("outbox_{attempt}"), 3).await;
        let client = sql(&url).await;
        let queued = queue_replies(&client, 30, 4).await;
        let conversation_of: HashMap<i64, i64> = queued.iter().flat_map(|(c, ms)| ms.iter().map(move |m| (*m, *c))).collect();

        // Node 3 claims a batch and dies: its claims hold until their lease runs out.
        let dead_claims = nodes[2].claim_deliveries(5, lease, &[], &[]).await.unwrap();
        assert_eq!(dead_claims.len(), 5);

        // Nodes 1 and 2 deliver everything, claiming at once, each send taking a random moment;
        // they stop once every reply is sent (the dead node's five after their lease), not after a
        // guessed idle time.
        let sent = Arc::new(std::sync::Mutex::new(Vec::<(i64, String)>::new()));
        fn all_sent(sent: &std::sync::Mutex<Vec<(i64, String)>>) -> bool {
            sent.lock().unwrap().iter().map(|(m, _)| *m).collect::<HashSet<i64>>().len() >= 120
        }
        let workers: Vec<_> = nodes[..2]
            .iter()
            .cloned()
            .map(|node| {
                let sent = sent.clone();
                tokio::spawn(async move {
                    let deadline = std::time::Instant::now() + PATIENCE;
                    let mut slowest_batch = Duration::ZERO;
                    while !all_sent(&sent) {
                        assert!(std::time::Instant::now() < deadline, "not every reply was sent in {PATIENCE:?}");
                        let claimed_at = Instant::now();
                        let claimed = node.claim_deliveries(8, lease, &[], &[]).await.unwrap();
                        if claimed.is_empty() {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                        for delivery in claimed {
                            tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 10)).await;
                            sent.lock().unwrap().push((delivery.message_id, node.node.clone()));
                            node.delivery_succeeded(delivery.message_id, &format!("p{}", delivery.message_id)).await.unwrap();
                        }
                        slowest_batch = slowest_batch.max(claimed_at.elapsed());
                    }
                    slowest_batch
                })
            })
            .collect();
        let mut slowest_batch = Duration::ZERO;
        for worker in workers {
            slowest_batch = slowest_batch.max(worker.await.unwrap());
        }
        if slowest_batch >= lease {
            return Err(TooSlow(slowest_batch));
        }
        let sent = sent.lock().unwrap().clone();
        let unique: HashSet<i64> = sent.iter().map(|(m, _)| *m).collect();
        assert_eq!(sent.len(), unique.len(), "no delivery was claimed by two nodes");
        assert_eq!(unique.len(), 120, "every reply was sent, the dead node's five after their lease ran out");
        for claim in &dead_claims {
            assert!(unique.contains(&claim.message_id), "the dead node's claim {} was taken over", claim.message_id);
        }
        // Order within each conversation: sent in the order queued, whichever node sent them.
        let mut order: HashMap<i64, Vec<i64>> = HashMap::new();
        for (message, _) in &sent {
            order.entry(conversation_of[message]).or_default().push(*message);
        }
        for (conversation, messages) in &queued {
            assert_eq!(&order[conversation], messages, "conversation {conversation} kept its order");
        }
        let by_node: HashSet<&str> = sent.iter().map(|(_, node)| node.as_str()).collect();
        assert_eq!(by_node.len(), 2, "both live nodes delivered");
        let left: i64 = client.query_one("SELECT COUNT(*) FROM outbox", &[]).await.unwrap().get(0);
        assert_eq!(left, 0);
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_renewed_by_its_live_node_outlasts_its_lease_and_one_left_unrenewed_is_taken_over() {
    with_growing_leases(async |lease, attempt| {
        let Cluster { url, nodes, .. } = &cluster(&format!("renewal_{attempt}"), 2).await;
        let client = sql(&url).await;
        let queued = queue_replies(&client, 2, 1).await;
        let claimed: Vec<i64> = nodes[0].claim_deliveries(10, lease, &[], &[]).await.unwrap().iter().map(|d| d.message_id).collect();
        assert_eq!(claimed.len(), 2, "node 1 holds both conversations' replies");
        let (kept, left) = (claimed[0], claimed[1]);
        assert!(queued.values().flatten().any(|m| *m == kept));
        assert_eq!(nodes[1].renew_claims(&[kept, left], lease).await.unwrap(), 0, "a node renews only its own claims");

        // Node 1 keeps sending `kept`: it renews that claim right before each look node 2 takes, and never renews
        // `left`. Node 2 claims what it may until it has taken `left` and two leases have passed (so `kept` outlived
        // its lease twice).
        let started = Instant::now();
        let mut taken_by_node_2 = Vec::new();
        while !(taken_by_node_2.contains(&left) && started.elapsed() >= lease * 2) {
            assert!(started.elapsed() < PATIENCE, "node 2 did not take over the lapsed claim in {PATIENCE:?}: it took {taken_by_node_2:?}");
            let renewed = Instant::now();
            assert_eq!(nodes[0].renew_claims(&[kept], lease).await.unwrap(), 1, "the live node still holds its claim");
            // What node 2 took it is sending now (in flight: not claimed by it again).
            let taken = nodes[1].claim_deliveries(10, lease, &taken_by_node_2, &[]).await.unwrap();
            let ids: Vec<i64> = taken.iter().map(|d| d.message_id).collect();
            on_time(renewed, lease, ids.contains(&kept))?;
            taken_by_node_2.extend(ids);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(taken_by_node_2, vec![left], "the unrenewed claim was taken over once it lapsed; the renewed one never");
        assert_eq!(nodes[0].renew_claims(&[left], lease).await.unwrap(), 0, "node 1 learns that it lost `left`");
        Ok(())
    })
    .await;
}

/// A turn that outlasted its lease (a renewal, or a batch of sends): its claim could lapse before it was done.
struct TooSlow(Duration);

/// Whether a turn that renewed a claim at `renewed` checked what it meant to: the other node's look ended
/// within the lease. A late turn in which the renewed claim was taken proves nothing about renewals.
fn on_time(renewed: Instant, lease: Duration, renewed_claim_taken: bool) -> Result<(), TooSlow> {
    let turn = renewed.elapsed();
    if renewed_claim_taken && turn >= lease { Err(TooSlow(turn)) } else { Ok(()) }
}

/// Runs a scenario of claims with a 3 s lease, again on a fresh database with a lease twice as long whenever a turn
/// of it was slower than the lease (a busy machine): the scenario checks claims, not the machine's speed.
async fn with_growing_leases(scenario: impl AsyncFn(Duration, usize) -> Result<(), TooSlow>) {
    let mut lease = Duration::from_secs(3);
    for attempt in 0..4 {
        match scenario(lease, attempt).await {
            Ok(()) => return,
            Err(TooSlow(turn)) => eprintln!("a turn took {turn:?}, longer than the {lease:?} lease it renewed: again with a longer lease"),
        }
        lease *= 2;
    }
    panic!("every turn of four attempts outlasted its lease, the last {lease:?}");
}

fn inbound(update: i64) -> switchboard::store::model::NewInbound {
    switchboard::store::model::NewInbound {
        provider_message_id: update.to_string(),
        conversation_external_id: "628123".into(),
        conversation_name: None,
        sender: switchboard::store::model::ContactInfo { external_id: "628123".into(), name: Some("Budi".into()), handle: None },
        provider_timestamp: 1_795_000_000_000,
        text: Some(format!("pesan {update}")),
        content: Default::default(),
        properties: vec![],
        reply_to: None,
    }
}

async fn next_notice(heard: &mut tokio::sync::mpsc::UnboundedReceiver<Notice>) -> Notice {
    tokio::time::timeout(PATIENCE, heard.recv()).await.expect("a notice in time").expect("the listener is open")
}

use switchboard::store::pg::live::Notice;

/// An active WhatsApp channel, made through the store interface as the API makes one.
async fn whatsapp_channel(node: &PgStore) -> String {
    use switchboard::store::backend::ChannelStore;
    use switchboard::store::model::Connected;
    let channel = node.create_channel(1, "whatsapp-cloud", "WhatsApp", &[]).await.unwrap().id;
    node.mark_connected(&channel, &Connected { display_name: "+62 812 0000 0000", external_account_id: "1062", setup: &[] }).await.unwrap();
    channel
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_on_one_node_is_heard_on_every_node_a_redelivery_on_none_and_a_lost_listener_says_so() {
    let Cluster { url, nodes, .. } = &cluster("live", 3).await;
    let client = sql(&url).await;
    let channel = whatsapp_channel(&nodes[0]).await;
    let mut on_node_1 = nodes[0].listen().await.unwrap();
    let mut on_node_3 = nodes[2].listen().await.unwrap();

    let stored = nodes[1].record_inbound(&channel, &inbound(1)).await.unwrap().unwrap();
    let expected = Notice::Change { change: "message".into(), channel_id: channel.clone(), conversation_id: stored.conversation_id, message_id: Some(stored.id) };
    assert_eq!(next_notice(&mut on_node_1).await, expected);
    assert_eq!(next_notice(&mut on_node_3).await, expected);

    // A redelivery changes nothing and announces nothing: the next notice is the next message.
    assert!(nodes[2].record_inbound(&channel, &inbound(1)).await.unwrap().is_none());
    let second = nodes[2].record_inbound(&channel, &inbound(2)).await.unwrap().unwrap();
    for heard in [&mut on_node_1, &mut on_node_3] {
        match next_notice(heard).await {
            Notice::Change { message_id, .. } => assert_eq!(message_id, Some(second.id), "the redelivery was not announced"),
            other => panic!("{other:?}"),
        }
    }

    // The listeners' connections are cut (a Postgres restart, a network cut): each node hears it.
    client.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'", &[]).await.unwrap();
    assert_eq!(next_notice(&mut on_node_1).await, Notice::Lost);
    assert_eq!(next_notice(&mut on_node_3).await, Notice::Lost);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_installed_on_one_node_is_announced_to_the_others_with_its_bytes_and_a_downgrade_needs_force() {
    use switchboard::store::pg::plugins::ComponentInstall;
    let Cluster { nodes, .. } = &cluster("plugins", 3).await;
    let mut on_node_2 = nodes[1].listen().await.unwrap();
    let mut on_node_3 = nodes[2].listen().await.unwrap();
    let version = |v: &str| semver::Version::parse(v).unwrap();
    // 300 KB standing in for a component (the store keeps bytes; it does not read them).
    let first: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(nodes[0].install_component("telegram", &version("0.2.0"), &first, false).await.unwrap(), ComponentInstall::Stored);
    for heard in [&mut on_node_2, &mut on_node_3] {
        assert_eq!(next_notice(heard).await, Notice::Installed { plugin: "telegram".into(), version: "0.2.0".into() });
    }
    let (served, bytes) = nodes[2].current_component("telegram").await.unwrap().unwrap();
    assert_eq!((served, bytes.len()), (version("0.2.0"), first.len()));
    assert!(bytes == first, "node 3 loads the very bytes node 1 stored");

    // The same upload sent to two nodes at once: stored once, announced once.
    let v3 = version("0.3.0");
    let (a, b) = tokio::join!(
        nodes[0].install_component("telegram", &v3, b"v3", false),
        nodes[1].install_component("telegram", &v3, b"v3", false)
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [ComponentInstall::Stored, ComponentInstall::Unchanged]);
    assert_eq!(next_notice(&mut on_node_3).await, Notice::Installed { plugin: "telegram".into(), version: "0.3.0".into() });

    // Older versions uploaded to two nodes at once while 0.3.0 is current: both refused.
    let (older, oldest) = (version("0.2.5"), version("0.1.0"));
    let (a, b) = tokio::join!(
        nodes[1].install_component("telegram", &older, b"v2.5", false),
        nodes[2].install_component("telegram", &oldest, b"v1", false)
    );
    assert_eq!(a.unwrap(), ComponentInstall::Older { newest: version("0.3.0") });
    assert_eq!(b.unwrap(), ComponentInstall::Older { newest: version("0.3.0") });
    // The same version with other bytes is never stored in its place.
    assert_eq!(nodes[0].install_component("telegram", &version("0.3.0"), b"tampered", true).await.unwrap(), ComponentInstall::Conflict);
    // Forced, a downgrade to a stored version makes it current again on every node.
    assert_eq!(nodes[0].install_component("telegram", &version("0.2.0"), &first, true).await.unwrap(), ComponentInstall::Stored);
    assert_eq!(next_notice(&mut on_node_3).await, Notice::Installed { plugin: "telegram".into(), version: "0.2.0".into() });
    assert_eq!(nodes[1].current_component("telegram").await.unwrap().unwrap().0, version("0.2.0"));
    assert!(nodes[1].current_component("line").await.unwrap().is_none());
    // A node starting up loads each plugin's current component.
    nodes[0].install_component("line", &version("1.0.0"), b"line", false).await.unwrap();
    let current: Vec<(String, semver::Version, Vec<u8>)> = nodes[2].current_components().await.unwrap();
    assert_eq!(current, vec![("line".into(), version("1.0.0"), b"line".to_vec()), ("telegram".into(), version("0.2.0"), first.clone())]);
    // Removed through one node: announced, gone for a starting node, remembered until installed again.
    assert_eq!(next_notice(&mut on_node_3).await, Notice::Installed { plugin: "line".into(), version: "1.0.0".into() });
    assert!(nodes[1].remove_components("line").await.unwrap());
    assert_eq!(next_notice(&mut on_node_3).await, Notice::Removed { plugin: "line".into() });
    assert!(!nodes[0].remove_components("line").await.unwrap(), "nothing left to remove");
    assert_eq!(nodes[2].removed_plugins().await.unwrap(), vec!["line".to_owned()]);
    assert_eq!(nodes[2].current_components().await.unwrap().len(), 1, "only telegram");
    nodes[0].install_component("line", &version("1.0.1"), b"line 1.0.1", false).await.unwrap();
    assert!(nodes[2].removed_plugins().await.unwrap().is_empty(), "installed again");

    // Where each current component came from (a registry's repository, or a file: none), for
    // every node's record beside its copy; the same bytes from elsewhere move the record.
    let repository = "oci://registry.example/plugins/line";
    assert_eq!(next_notice(&mut on_node_3).await, Notice::Installed { plugin: "line".into(), version: "1.0.1".into() });
    assert_eq!(nodes[1].install_component_from("line", &version("1.0.2"), b"line 1.0.2", false, Some(repository)).await.unwrap(), ComponentInstall::Stored);
    assert_eq!(next_notice(&mut on_node_3).await, Notice::Installed { plugin: "line".into(), version: "1.0.2".into() });
    let sources = nodes[2].component_sources().await.unwrap();
    assert_eq!(sources, vec![("line".to_owned(), Some(repository.to_owned())), ("telegram".to_owned(), None)]);
    assert_eq!(nodes[0].install_component("line", &version("1.0.2"), b"line 1.0.2", false).await.unwrap(), ComponentInstall::Unchanged);
    assert_eq!(next_notice(&mut on_node_3).await, Notice::Installed { plugin: "line".into(), version: "1.0.2".into() }, "the record moved");
    assert_eq!(nodes[2].component_sources().await.unwrap()[0], ("line".to_owned(), None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_stored_through_one_node_is_read_on_another_and_a_delete_reaches_every_nodes_copy() {
    use switchboard::media::files::{MediaFiles, Spool};
    use switchboard::media::pg_files::PgFiles;
    use switchboard::store::backend::MediaStore;
    let media = cluster("media", 2).await;
    let caches = tempfile::tempdir().unwrap();
    let nodes: Vec<Arc<PgFiles>> =
        media.nodes.iter().enumerate().map(|(n, store)| Arc::new(PgFiles::open(store.clone(), caches.path().join(format!("node-{}", n + 1))).unwrap())).collect();
    // A 3 MB "video" arriving in chunks on node 1.
    let video: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let mut spool = Spool::new(nodes[0].as_ref(), 16 << 20).await.unwrap();
    for chunk in video.chunks(64 * 1024) {
        spool.write(chunk).await.unwrap();
    }
    let spooled = spool.finish().await.unwrap();
    let sha = spooled.sha256.clone();
    // Pinned as a put pins it (here, a pin already lapsed: the file naming it came and went).
    let blob = switchboard::store::model::StoredBytes { sha256: sha.clone(), size: video.len() as i64, mime_type: "video/mp4".into() };
    media.nodes[0].pin_blob(&blob, switchboard::store::now_ms() - 1).await.unwrap();
    nodes[0].put(spooled).await.unwrap();
    assert_eq!(std::fs::read_dir(nodes[0].spool_dir()).unwrap().count(), 0, "nothing left in node 1's spool");

    // Node 2 has never seen it: it reads it, in ranges, from the database.
    let mut on_node_2 = nodes[1].open(&sha).await.unwrap();
    assert_eq!(on_node_2.len, video.len() as u64);
    assert_eq!(on_node_2.read_at(2_999_990, 100).await.unwrap(), video[2_999_990..]);
    assert_eq!(on_node_2.read_at(1_000, 16).await.unwrap(), video[1_000..1_016]);
    let copy = caches.path().join("node-2").join(&sha[..2]).join(&sha);
    assert!(copy.exists(), "node 2 keeps a copy");
    // A damaged copy (a full disk, a cut write) is fetched again, not served.
    std::fs::write(&copy, b"truncated").unwrap();
    assert_eq!(nodes[1].open(&sha).await.unwrap().read_at(0, 8).await.unwrap(), video[..8]);

    // Swept by node 1 (no file names it): gone on node 2 too, copy and all.
    assert_eq!(media.nodes[0].sweep_media(0, nodes[0].clone()).await.unwrap(), vec![sha.clone()]);
    assert_eq!(nodes[1].open(&sha).await.err().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    assert!(!copy.exists(), "node 2's copy went with it");
}

/// Waits until `count` nodes listen for live notices.
/// Waits until `count` connections opened after `since` (a Postgres timestamp) listen: a
/// connection cut just before may still be listed for a moment.
async fn listening(client: &tokio_postgres::Client, count: i64, since: &str) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        let listeners: i64 = client
            .query_one("SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND backend_start > $1::text::timestamptz", &[&since])
            .await
            .unwrap()
            .get(0);
        if listeners >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{count} nodes never listened");
}

async fn next_event(events: &mut tokio::sync::broadcast::Receiver<switchboard::live::LiveEvent>) -> switchboard::live::LiveEvent {
    tokio::time::timeout(PATIENCE, events.recv()).await.expect("an event in time").expect("the hub is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_nodes_followers_hear_another_nodes_messages_and_after_a_cut_start_from_a_snapshot_and_hear_again() {
    use switchboard::live::{Change, Live, Resume};
    let Cluster { url, nodes, .. } = &cluster("relay", 3).await;
    let client = sql(&url).await;
    let channel = whatsapp_channel(&nodes[0]).await;
    // Nodes 1 and 3 relay into their own hubs; node 2 takes the webhooks.
    let hubs: Vec<Arc<Live>> = vec![Arc::default(), Arc::default()];
    for (node, hub) in [&nodes[0], &nodes[2]].into_iter().zip(&hubs) {
        let (node, hub) = (node.clone(), hub.clone());
        tokio::spawn(async move { switchboard::live_relay::relay(&node, &hub, |_| {}).await });
    }
    let mut followers: Vec<_> = hubs.iter().map(|hub| hub.subscribe()).collect();
    listening(&client, 2, "-infinity").await;

    let stored = nodes[1].record_inbound(&channel, &inbound(1)).await.unwrap().unwrap();
    let mut seen = Vec::new();
    for follower in &mut followers {
        let event = next_event(follower).await;
        assert_eq!((event.change, event.channel_id.as_str(), event.conversation_id, event.message_id), (Change::Message, channel.as_str(), stored.conversation_id, Some(stored.id)));
        seen.push(hubs[seen.len()].event_id(event.seq));
    }

    // A reply queued, sent and delivered through node 2: each step reaches both hubs, in order.
    let reply = switchboard::store::model::NewOutbound { conversation_id: stored.conversation_id, text: Some("Sudah dikirim kemarin".into()), content: Default::default(), reply_to: None, file: None, sent_by: None };
    let queued = nodes[1].queue_outbound(&channel, Scope::Every, &reply).await.unwrap();
    nodes[1].delivery_succeeded(queued.id, "wamid.reply").await.unwrap();
    nodes[1].record_status(&channel, "wamid.reply", switchboard::store::model::DeliveryStatus::Delivered, None).await.unwrap();
    for follower in &mut followers {
        let mut heard = Vec::new();
        for _ in 0..3 {
            let event = next_event(follower).await;
            heard.push((event.change, event.message_id));
        }
        assert_eq!(heard, vec![(Change::Message, Some(queued.id)), (Change::Status, Some(queued.id)), (Change::Status, Some(queued.id))]);
    }
    // The conversation resolved through node 2: both hubs hear it (inbox lists move it).
    use switchboard::store::backend::InboxStore;
    nodes[1].update_conversation(stored.conversation_id, Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap();
    for follower in &mut followers {
        let event = next_event(follower).await;
        assert_eq!((event.change, event.conversation_id, event.message_id), (Change::Conversation, stored.conversation_id, None));
    }

    // The listeners' connections are cut: what is stored meanwhile cannot be replayed, so every
    // follower is told to start again, and one resuming from before the cut gets a snapshot.
    let cut: String = client.query_one("SELECT now()::text", &[]).await.unwrap().get(0);
    client.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'", &[]).await.unwrap();
    for follower in &mut followers {
        assert_eq!(next_event(follower).await.change, Change::Reset);
    }
    for (hub, last) in hubs.iter().zip(&seen) {
        assert!(matches!(hub.follow(Some(last)).0, Resume::Snapshot), "a follower resuming from before the cut re-reads its snapshot");
    }

    // Listening again, the relays hear the next message.
    listening(&client, 2, &cut).await;
    let next = nodes[1].record_inbound(&channel, &inbound(2)).await.unwrap().unwrap();
    for follower in &mut followers {
        let mut event = next_event(follower).await;
        // A second reset is possible (the relay's own reconnect); the message follows it.
        while event.change == Change::Reset {
            event = next_event(follower).await;
        }
        assert_eq!(event.message_id, Some(next.id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_taken_from_three_nodes_at_once_is_spent_once_and_says_how_long_to_wait() {
    let Cluster { nodes, .. } = &cluster("limits", 3).await;
    // A visitor's 10-message budget (one more per 10 s: far longer than the 30 takes last on a
    // loaded machine, so none earns another), 30 messages spread over the nodes at once.
    let every = Duration::from_secs(10);
    let mut takes = Vec::new();
    for n in 0..30 {
        let node = nodes[n % 3].clone();
        takes.push(tokio::spawn(async move { node.take_rate("webchat message ch_1 v_siti", 10, every).await.unwrap() }));
    }
    let mut waits = Vec::new();
    for take in takes {
        if let Err(wait) = take.await.unwrap() {
            waits.push(wait);
        }
    }
    assert_eq!(waits.len(), 20, "10 fit, 20 are refused, whichever node they reached");
    assert!(waits.iter().all(|wait| *wait > Duration::ZERO && *wait <= every), "each refusal waits at most one period: {waits:?}");
    // Another visitor's budget is untouched; after the wait, one more fits.
    assert!(nodes[0].take_rate("webchat message ch_1 v_budi", 10, every).await.unwrap().is_ok());
    // A period later, one more: taken once the wait it was told has passed. The wait is told in
    // whole milliseconds of Postgres's clock, so a take right at its end may be told a last
    // moment more (never more than rounding: a slower machine only makes it shorter).
    let (mut wait, mut taken) = (*waits.iter().max().unwrap(), false);
    for _ in 0..3 {
        tokio::time::sleep(wait).await;
        match nodes[1].take_rate("webchat message ch_1 v_siti", 10, every).await.unwrap() {
            Ok(()) => {
                taken = true;
                break;
            }
            Err(more) => {
                assert!(more < every / 10, "a period after the refusals, still told to wait {more:?}");
                wait = more;
            }
        }
    }
    assert!(taken, "a period later, one more");
    assert!(nodes[2].take_rate("webchat message ch_1 v_siti", 10, every).await.unwrap().is_err(), "and only one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_fetched_by_one_node_of_several_and_a_dead_nodes_fetch_is_taken_over_after_its_lease() {
    use switchboard::store::backend::MediaStore;
    use switchboard::store::model::{EventRecord, FileRecord};
    let Cluster { nodes, .. } = &cluster("media_claims", 3).await;
    let channel = whatsapp_channel(&nodes[0]).await;
    let photo = EventRecord::Message { inbound: inbound(1), files: vec![FileRecord::Fetch { position: 0, filename: Some("foto.jpg".into()) }] };
    nodes[0].record_events(&channel, vec![photo]).await.unwrap();
    let file = nodes[1].due_media(10, &[]).await.unwrap().pop().expect("a fetch is due");

    // Every node sees it due and tries to claim it at once: one gets it. (Checked while the
    // lease surely runs: it outlasts these checks on a loaded machine.)
    let mut claims = Vec::new();
    for node in nodes {
        let node = node.clone();
        claims.push(tokio::spawn(async move { node.claim_media(file.id, PATIENCE).await.unwrap() }));
    }
    let mut won = Vec::new();
    for claim in claims {
        won.push(claim.await.unwrap());
    }
    assert_eq!(won.iter().filter(|won| **won).count(), 1, "claimed once: {won:?}");
    assert!(nodes[2].due_media(10, &[]).await.unwrap().is_empty(), "not due elsewhere while claimed");
    let lease_end = nodes[0].next_media_at().await.unwrap().expect("the lease's end is when it is due again");
    assert!(lease_end > switchboard::store::now_ms());
    // Its outcome ends the claim: a retry, due now.
    let winner = won.iter().position(|won| *won).unwrap();
    nodes[winner].media_retry(file.id, switchboard::store::now_ms(), "the provider answered 503".into(), true).await.unwrap();

    // A node claims it and dies: after the lease another node takes it over; its outcome ends the claim.
    let short_lease = Duration::from_millis(500);
    assert!(nodes[0].claim_media(file.id, short_lease).await.unwrap());
    tokio::time::sleep(short_lease + Duration::from_millis(100)).await;
    assert_eq!(nodes[2].due_media(10, &[]).await.unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), vec![file.id], "due again");
    assert!(nodes[2].claim_media(file.id, Duration::from_secs(60)).await.unwrap());
    assert!(!nodes[1].claim_media(file.id, Duration::from_secs(60)).await.unwrap(), "a live claim is kept");
    nodes[2].media_retry(file.id, switchboard::store::now_ms(), "the provider answered 503".into(), true).await.unwrap();
    assert!(nodes[1].claim_media(file.id, Duration::from_secs(60)).await.unwrap(), "a retry is anyone's");
    nodes[1].media_stored(file.id, switchboard::store::model::StoredBytes { sha256: "ab".repeat(32), size: 10, mime_type: "image/jpeg".into() }).await.unwrap();
    assert!(!nodes[0].claim_media(file.id, Duration::from_secs(60)).await.unwrap(), "a stored file is fetched no more");
    assert_eq!(nodes[0].next_media_at().await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_renewed_by_its_live_node_outlasts_its_lease_and_one_left_unrenewed_is_taken_over() {
    use switchboard::store::backend::MediaStore;
    use switchboard::store::model::{EventRecord, FileRecord};
    with_growing_leases(async |lease, attempt| {
        let Cluster { nodes, .. } = &cluster(&format!("media_renewal_{attempt}"), 2).await;
        let channel = whatsapp_channel(&nodes[0]).await;
        let photo = |update: i64| EventRecord::Message { inbound: inbound(update), files: vec![FileRecord::Fetch { position: 0, filename: Some(format!("foto{update}.jpg")) }] };
        nodes[0].record_events(&channel, vec![photo(1), photo(2)]).await.unwrap();
        let due: Vec<i64> = nodes[0].due_media(10, &[]).await.unwrap().iter().map(|f| f.id).collect();
        assert_eq!(due.len(), 2, "two fetches due");
        for id in &due {
            assert!(nodes[0].claim_media(*id, lease).await.unwrap(), "node 1 fetches both");
        }
        let (kept, left) = (due[0], due[1]);
        assert_eq!(nodes[1].renew_media_claims(&[kept, left], lease).await.unwrap(), 0, "a node renews only its own claims");

        // Node 1 keeps downloading `kept`: it renews that claim right before each look node 2 takes, and never
        // renews `left` (as if that download's node had died). Node 2 claims what it may until it has taken `left`
        // and two leases have passed (so `kept` outlived its lease twice).
        let started = Instant::now();
        let mut taken_by_node_2 = Vec::new();
        while !(taken_by_node_2.contains(&left) && started.elapsed() >= lease * 2) {
            assert!(started.elapsed() < PATIENCE, "node 2 did not take over the lapsed fetch in {PATIENCE:?}: it took {taken_by_node_2:?}");
            let renewed = Instant::now();
            assert_eq!(nodes[0].renew_media_claims(&[kept], lease).await.unwrap(), 1, "the live node still holds its claim");
            let mut taken = Vec::new();
            for file in nodes[1].due_media(10, &taken_by_node_2).await.unwrap() {
                if nodes[1].claim_media(file.id, lease).await.unwrap() {
                    taken.push(file.id);
                }
            }
            on_time(renewed, lease, taken.contains(&kept))?;
            taken_by_node_2.extend(taken);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(taken_by_node_2, vec![left], "the unrenewed claim was taken over once it lapsed; the renewed one never");
        assert_eq!(nodes[0].renew_media_claims(&[left], lease).await.unwrap(), 0, "node 1 learns that it lost `left`");
        Ok(())
    })
    .await;
}

/// Records one message per `(channel, update)` on `node`, all handed to its writer while a
/// session of `client` holds the contacts table (no batch can commit meanwhile, so they wait
/// together however the machine schedules them); their outcomes once the table is released.
async fn writes_held_together(node: &Arc<PgStore>, client: &tokio_postgres::Client, writes: Vec<(String, i64)>) -> Vec<switchboard::store::StoreResult<switchboard::store::model::RecordedEvents>> {
    webhooks_held_together(node, client, writes.into_iter().map(|(channel, update)| (channel, vec![inbound(update)])).collect()).await
}

/// Hands each webhook to `node`'s writer (a write's first poll queues it) while the contacts
/// table is held, so none can finish; the writes, to be awaited once the table is free.
async fn hand_in(
    node: &Arc<PgStore>,
    webhooks: Vec<(String, Vec<switchboard::store::model::NewInbound>)>,
) -> Vec<std::pin::Pin<Box<impl std::future::Future<Output = switchboard::store::StoreResult<switchboard::store::model::RecordedEvents>> + use<>>>> {
    use switchboard::store::model::EventRecord;
    let mut pending: Vec<_> = webhooks
        .into_iter()
        .map(|(channel, messages)| {
            let node = node.clone();
            let events = messages.into_iter().map(|inbound| EventRecord::Message { inbound, files: vec![] }).collect();
            Box::pin(async move { node.record_events(&channel, events).await })
        })
        .collect();
    for write in &mut pending {
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(std::future::Future::poll(write.as_mut(), cx))).await;
        assert!(first.is_pending(), "a write finished while the contacts table was held");
    }
    pending
}

/// [`writes_held_together`] for webhooks of several messages each.
async fn webhooks_held_together(
    node: &Arc<PgStore>,
    client: &tokio_postgres::Client,
    webhooks: Vec<(String, Vec<switchboard::store::model::NewInbound>)>,
) -> Vec<switchboard::store::StoreResult<switchboard::store::model::RecordedEvents>> {
    client.batch_execute("BEGIN; LOCK TABLE contacts IN EXCLUSIVE MODE").await.unwrap();
    let pending = hand_in(node, webhooks).await;
    client.batch_execute("COMMIT").await.unwrap();
    let mut outcomes = Vec::new();
    for write in pending {
        outcomes.push(tokio::time::timeout(PATIENCE, write).await.expect("a write answered in time"));
    }
    outcomes
}

/// [`webhooks_held_together`] in one batch of their own: the node's one turn to run statements
/// is first taken by a blocker (a webhook of two messages on `blocker_channel`), seen waiting
/// for the held contacts table (through `observer`: a transaction sees `pg_stat_activity` as it
/// was at its start) before the webhooks under test are handed in; they wait for the next
/// batch, which takes them all once the blocker's batch ran (its statements, and with fewer
/// writes waiting than the writer overlaps, its commit).
async fn webhooks_in_one_batch(
    node: &Arc<PgStore>,
    client: &tokio_postgres::Client,
    observer: &tokio_postgres::Client,
    blocker_channel: &str,
    webhooks: Vec<(String, Vec<switchboard::store::model::NewInbound>)>,
) -> Vec<switchboard::store::StoreResult<switchboard::store::model::RecordedEvents>> {
    use switchboard::store::model::EventRecord;
    client.batch_execute("BEGIN; LOCK TABLE contacts IN EXCLUSIVE MODE").await.unwrap();
    let (blocker_node, channel) = (node.clone(), blocker_channel.to_owned());
    let events = (1..=2).map(|m| EventRecord::Message { inbound: inbound(1000 + m), files: vec![] }).collect();
    let blocker = tokio::spawn(async move { blocker_node.record_events(&channel, events).await });
    until_waiting_for_lock(observer, "INSERT INTO contacts", "the blocker").await;
    let pending = hand_in(node, webhooks).await;
    client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(tokio::time::timeout(PATIENCE, blocker).await.expect("the blocker answered in time").unwrap().unwrap().stored, 2);
    let mut outcomes = Vec::new();
    for write in pending {
        outcomes.push(tokio::time::timeout(PATIENCE, write).await.expect("a write answered in time"));
    }
    outcomes
}

async fn messages_stored(client: &tokio_postgres::Client) -> i64 {
    client.query_one("SELECT COUNT(*) FROM messages", &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_waiting_together_share_one_commit_a_failing_one_fails_alone_and_a_failed_commit_answers_none() {
    let Cluster { url, nodes, .. } = &cluster("group", 1).await;
    let (node, faults) = (&nodes[0], &nodes[0].faults);
    let client = sql(url).await;
    let channel = whatsapp_channel(&node).await;

    // 40 webhooks at once: the batch running statements is held by the lock, the rest (all
    // waiting by then) go in the next one.
    let (writes_before, commits_before) = node.group_commits();
    let outcomes = writes_held_together(&node, &client, (1..=40).map(|n| (channel.clone(), n)).collect()).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(messages_stored(&client).await, 40);
    let (writes, commits) = node.group_commits();
    assert_eq!(writes - writes_before, 40);
    assert!(commits - commits_before <= 2, "40 webhooks waiting together took {} commits", commits - commits_before);

    // One write of a batch fails (its channel does not exist): it fails alone, the rest are stored.
    let mut batch: Vec<(String, i64)> = (41..=60).map(|n| (channel.clone(), n)).collect();
    batch[7] = ("no-such-channel".into(), 1000);
    let outcomes = writes_held_together(&node, &client, batch).await;
    assert_eq!(outcomes.iter().filter(|o| o.is_err()).count(), 1, "{outcomes:?}");
    assert!(outcomes[7].is_err() && !matches!(outcomes[7], Err(switchboard::store::StoreError::NotCommitted(_))), "{:?}", outcomes[7]);
    assert_eq!(messages_stored(&client).await, 40 + 19);

    // The commit fails (as a full disk or a cut connection would make it): no webhook of the
    // batch is answered as stored, and none is.
    faults.fail_next_commits(3);
    let outcomes = writes_held_together(&node, &client, (61..=80).map(|n| (channel.clone(), n)).collect()).await;
    assert!(outcomes.iter().all(|o| matches!(o, Err(switchboard::store::StoreError::NotCommitted(_)))), "{outcomes:?}");
    assert_eq!(messages_stored(&client).await, 59, "nothing of a failed batch is stored");
    faults.fail_next_commits(0);
    // The provider delivers them again: now they are stored, once each.
    let outcomes = writes_held_together(&node, &client, (61..=80).map(|n| (channel.clone(), n)).collect()).await;
    assert!(outcomes.iter().all(|o| o.as_ref().is_ok_and(|r| r.stored == 1)), "{outcomes:?}");
    assert_eq!(messages_stored(&client).await, 79);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_stored_in_shared_batches_leave_what_storing_them_one_by_one_leaves() {
    shared_batches(false).await;
}

/// Customers' messages that are each a webhook's only event are stored by one statement per
/// batch: the same scenario with Wati's three messages as three webhooks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_messages_stored_by_one_statement_leave_what_storing_them_one_by_one_leaves() {
    shared_batches(true).await;
}

/// A batch's lone messages are stored by one statement whose insert has no `ON CONFLICT`: when
/// another transaction (another node taking the same update) stores one of them after the
/// statement's snapshot, the unique key fails the statement, and the batch's webhooks run again
/// one by one: that message is then a redelivery, stored once, and the others are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_another_node_stores_while_a_batch_stores_it_with_others_is_stored_once() {
    let Cluster { url, nodes, .. } = &cluster("race", 1).await;
    let node = &nodes[0];
    let (client, observer) = (sql(url).await, sql(url).await);
    let (shop, blocking) = (whatsapp_channel(node).await, whatsapp_channel(node).await);
    node.record_inbound(&shop, &inbound(1)).await.unwrap().expect("stored");
    // The other node's transaction has stored update 2 in the same conversation, uncommitted
    // (without its contact: a lock on it would keep the blocker below from locking the table).
    let other = sql(url).await;
    other
        .batch_execute(
            "BEGIN; INSERT INTO messages (conversation_id, channel_id, direction, provider_message_id, text, status, provider_timestamp, created_at, updated_at)
             SELECT conversation_id, channel_id, direction, '2', 'pesan 2', status, provider_timestamp, created_at, updated_at FROM messages WHERE provider_message_id = '1'",
        )
        .await
        .unwrap();
    // It commits once the batch's statement waits for it on the unique key.
    let watcher = sql(url).await;
    let commits = tokio::spawn(async move {
        until_waiting_for_lock(&watcher, "WITH input", "the batch's statement").await;
        other.batch_execute("COMMIT").await.unwrap();
    });
    let together_before = node.inbound_stored_together();
    let outcomes = webhooks_in_one_batch(node, &client, &observer, &blocking, vec![(shop.clone(), vec![inbound(2)]), (shop.clone(), vec![inbound(3)])]).await;
    tokio::time::timeout(PATIENCE, commits).await.expect("the other transaction committed in time").unwrap();
    let stored: Vec<usize> = outcomes.iter().map(|o| o.as_ref().expect("answered").stored).collect();
    assert_eq!(stored, [0, 1], "update 2 a redelivery, update 3 new");
    assert_eq!(node.inbound_stored_together(), together_before, "the statement storing both was undone");
    let copies: i64 = client.query_one("SELECT COUNT(*) FROM messages WHERE channel_id = $1 AND provider_message_id = '2'", &[&shop]).await.unwrap().get(0);
    assert_eq!(copies, 1);
    assert_eq!(messages_stored(&client).await, 1 + 1 + 1 + 2, "updates 1, 2 and 3, and the blocker's two");
}

/// Webhooks held together so they share group commits leave the rows storing them one by one
/// leaves; `wati_lone`: Wati's three messages come as three webhooks (all of the batch's
/// webhooks are lone messages), else as one.
async fn shared_batches(wati_lone: bool) {
    use switchboard::store::backend::InboxStore;
    let Cluster { url, nodes, .. } = &cluster(if wati_lone { "lone" } else { "together" }, 1).await;
    let node = &nodes[0];
    let client = sql(url).await;
    let (shop, other_shop, blocking) = (whatsapp_channel(node).await, whatsapp_channel(node).await, whatsapp_channel(node).await);
    let at = 1_795_000_000_000;
    let message = |id: &str, chat: &str, sender_name: Option<&str>, chat_name: Option<&str>, provider_at: i64| switchboard::store::model::NewInbound {
        provider_message_id: id.into(),
        conversation_external_id: chat.into(),
        conversation_name: chat_name.map(Into::into),
        sender: switchboard::store::model::ContactInfo { external_id: chat.into(), name: sender_name.map(Into::into), handle: None },
        provider_timestamp: provider_at,
        text: Some(format!("pesan {id}")),
        ..inbound(0)
    };
    // The workspace's endpoint hears every customer's message (the event a trigger enqueues).
    let endpoint = switchboard::store::model::NewEndpoint {
        workspace_id: 1,
        url: "https://crm.example/hook".into(),
        description: "CRM".into(),
        events: vec!["message.received".into()],
        bot_channels: Vec::new(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    };
    switchboard::store::backend::WebhookStore::create_webhook_endpoint(&**node, &endpoint).await.unwrap();
    // Before: Budi's and Sari's conversations, each with a message, both resolved.
    for (id, chat) in [("A1", "budi"), ("C1", "sari")] {
        node.record_inbound(&shop, &message(id, chat, Some("Budi"), Some("Budi"), at)).await.unwrap().expect("stored");
    }
    client.execute("UPDATE conversations SET status = 'resolved', last_activity_at = 7", &[]).await.unwrap();

    // Held together in one batch (sorted by conversation): a redelivery and a new message for
    // Budi, a new customer's three messages (one twice), the same provider id on another
    // channel, only a redelivery for Sari, and a redelivery of Budi's first message in a chat
    // not stored yet.
    let (_, commits_before) = node.group_commits();
    let together_before = node.inbound_stored_together();
    let wati = [message("B1", "wati", Some("Wati"), None, at + 5), message("B1", "wati", None, None, at + 5), message("B2", "wati", None, None, at + 20)];
    let wati: Vec<(String, Vec<_>)> = if wati_lone { wati.into_iter().map(|m| (shop.clone(), vec![m])).collect() } else { vec![(shop.clone(), wati.to_vec())] };
    let webhooks: Vec<_> = [(shop.clone(), vec![message("A1", "budi", None, None, at)]), (shop.clone(), vec![message("A2", "budi", None, Some("Budi Santoso"), at + 10)])]
        .into_iter()
        .chain(wati)
        .chain([
            (other_shop.clone(), vec![message("A2", "budi", Some("Budi"), None, at + 30)]),
            (shop.clone(), vec![message("C1", "sari", None, None, at + 40)]),
            (shop.clone(), vec![message("A1", "tono", Some("Tono"), None, at + 50)]),
        ])
        .collect();
    let count = webhooks.len() as u64;
    let outcomes = webhooks_in_one_batch(node, &client, &sql(url).await, &blocking, webhooks).await;
    let stored: Vec<Vec<String>> = outcomes
        .iter()
        .map(|outcome| outcome.as_ref().unwrap().messages.iter().map(|m| m.provider_message_id.clone().unwrap()).collect())
        .collect();
    let (stored_wati, counts): (Vec<Vec<&str>>, Vec<usize>) = if wati_lone { (vec![vec!["B1"], vec![], vec!["B2"]], vec![1, 0, 1]) } else { (vec![vec!["B1", "B2"]], vec![2]) };
    let expected: Vec<Vec<&str>> = [vec![], vec!["A2"]].into_iter().chain(stored_wati).chain([vec!["A2"], vec![], vec![]]).collect();
    assert_eq!(stored, expected);
    assert_eq!(outcomes.iter().map(|o| o.as_ref().unwrap().stored).collect::<Vec<_>>(), [vec![0, 1], counts, vec![1, 0, 0]].concat());
    let (_, commits) = node.group_commits();
    assert_eq!(commits - commits_before, 2, "the blocker's commit and one for the {count} webhooks");
    // All lone messages: one statement stored the batch; a webhook of three among them: one each.
    let together = node.inbound_stored_together() - together_before;
    assert_eq!(together, if wati_lone { count } else { 0 }, "messages stored by one statement");
    let wati: Vec<&switchboard::store::model::Message> = outcomes.iter().flat_map(|o| &o.as_ref().unwrap().messages).filter(|m| m.provider_message_id.as_deref() != Some("A2")).collect();
    assert!(wati[0].id < wati[1].id, "a conversation's messages keep their order");
    // What storing answered (built from the inputs, not read back) is what a read finds.
    for stored in outcomes.iter().flat_map(|o| &o.as_ref().unwrap().messages) {
        let read = node.message(stored.id).await.unwrap().expect("stored");
        assert_eq!(serde_json::to_value(stored).unwrap(), serde_json::to_value(&read).unwrap());
    }
    assert_eq!(messages_stored(&client).await, 2 + 4 + 2, "Budi's and Sari's first, four new, the blocker's two");
    let ids = |sql: &'static str| {
        let client = &client;
        async move { client.query(sql, &[]).await.unwrap().iter().map(|row| row.get::<_, i64>(0)).collect::<Vec<i64>>() }
    };
    assert_eq!(
        ids("SELECT message_id FROM webhook_deliveries WHERE event_type = 'message.received' ORDER BY id").await,
        ids("SELECT id FROM messages ORDER BY id").await,
        "one event per stored message, in the order they were stored, none for a redelivery"
    );

    let conversation = |channel: &str, chat: &str| {
        let (node, channel, chat) = (node.clone(), channel.to_owned(), chat.to_owned());
        async move { node.conversation_at(&channel, &chat).await.unwrap().expect("a conversation") }
    };
    let budi = conversation(&shop, "budi").await;
    assert_eq!((budi.status.as_str(), budi.name.as_deref(), budi.last_inbound_at), ("open", Some("Budi Santoso"), Some(at + 10)), "a new message reopens");
    assert!(budi.last_activity_at > 7);
    let sari = conversation(&shop, "sari").await;
    assert_eq!((sari.status.as_str(), sari.last_activity_at, sari.last_inbound_at), ("resolved", 7, Some(at)), "a redelivery alone changes nothing");
    let wati_chat = conversation(&shop, "wati").await;
    assert_eq!((wati_chat.status.as_str(), wati_chat.last_inbound_at), ("open", Some(at + 20)), "the window from the newest message");
    assert_eq!(conversation(&other_shop, "budi").await.last_inbound_at, Some(at + 30));
    let tono = conversation(&shop, "tono").await;
    assert_eq!((tono.status.as_str(), tono.last_inbound_at), ("open", None), "only a new message opens a window");
    let names: Vec<(String, Option<String>)> = client
        .query("SELECT external_id, name FROM contacts WHERE channel_id = $1 ORDER BY external_id", &[&shop])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let budi_name = Some("Budi".to_owned());
    assert_eq!(
        names,
        [("budi".to_owned(), budi_name.clone()), ("sari".to_owned(), budi_name), ("tono".to_owned(), Some("Tono".to_owned())), ("wati".to_owned(), Some("Wati".to_owned()))],
        "a name not given keeps the known one"
    );
}

/// How a statement's plan reads `messages`: the index's name, or `Seq Scan` (EXPLAIN with the
/// values in, as the store's statements are planned per call).
async fn index_read(client: &tokio_postgres::Client, explain: &str) -> String {
    let plan: Vec<String> = client.query(explain, &[]).await.unwrap().iter().map(|row| row.get(0)).collect();
    for line in &plan {
        if let Some((_, rest)) = line.split_once("Bitmap Index Scan on ") {
            return rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some((before, _)) = line.split_once(" on messages ")
            && let Some((_, index)) = before.split_once(" using ")
        {
            return index.trim().to_owned();
        }
        if line.contains("Seq Scan on messages ") {
            return "Seq Scan".into();
        }
    }
    panic!("no read of messages in:\n{}", plan.join("\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_by_provider_id_reads_one_entry_of_the_unique_index_on_a_table_never_analysed() {
    let Cluster { url, nodes, .. } = &cluster("plans", 1).await;
    let client = sql(url).await;
    let channel = whatsapp_channel(&nodes[0]).await;
    // Provider ids as long as WhatsApp's; the table young and never analysed, as in a new
    // deployment's first minute, when the planner has no statistics to tell the indexes apart.
    client.execute("ALTER TABLE messages SET (autovacuum_enabled = off)", &[]).await.unwrap();
    let wamid = |n: i64| format!("wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBDNzY1QUU4{n:08}");
    let mut stored = 0;
    for size in [1, 10, 50, 200] {
        while stored < size {
            stored += 1;
            let message = switchboard::store::model::NewInbound { provider_message_id: wamid(stored), ..inbound(stored) };
            nodes[0].record_inbound(&channel, &message).await.unwrap().expect("a new message");
        }
        // The ingest statement's redelivery check and a delivery status's lookup, as they read.
        for direction in ["inbound", "outbound"] {
            let lookup = format!(
                "EXPLAIN SELECT 1 FROM messages WHERE channel_id = '{channel}' AND direction = '{direction}' AND provider_message_id = '{}'",
                wamid(999_999)
            );
            assert_eq!(index_read(&client, &lookup).await, "messages_provider_id", "{direction} lookup with {size} messages stored");
        }
        // A time range of a channel (the activity figures) still reads the channel's time index.
        let range = format!("EXPLAIN SELECT COUNT(*) FROM messages m WHERE m.channel_id = '{channel}' AND m.created_at > 0 AND m.created_at >= {}", switchboard::store::now_ms() - 60_000);
        assert_eq!(index_read(&client, &range).await, "messages_by_channel_time", "a time range with {size} messages stored");
    }
}

/// The channel's name as `node` reads it now (`None`: it reads no such channel).
async fn channel_name(node: &PgStore, channel: &str) -> Option<String> {
    use switchboard::store::backend::ChannelStore;
    node.channel(channel, switchboard::store::Scope::Every).await.unwrap().map(|c| c.name)
}

/// Renames the channel behind every node's back when `announced` is false (its trigger off for
/// that statement, as no node's write ever is: the one way to see what a node kept).
async fn rename_in_database(client: &tokio_postgres::Client, channel: &str, name: &str, announced: bool) {
    let trigger = if announced { "" } else { "ALTER TABLE channels DISABLE TRIGGER channels_changed;" };
    let back = if announced { "" } else { "ALTER TABLE channels ENABLE TRIGGER channels_changed;" };
    client.batch_execute(&format!("BEGIN; {trigger} UPDATE channels SET name = '{name}' WHERE id = '{channel}'; {back} COMMIT")).await.unwrap();
}

/// Waits until `node` reads the channel's name as `expected`.
async fn reads_in_time(node: &PgStore, channel: &str, expected: Option<&str>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seen = channel_name(node, channel).await;
        if seen.as_deref() == expected {
            return;
        }
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {expected:?}, the node still reads {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_keeps_the_channels_it_read_only_while_it_hears_every_nodes_changes_to_them_and_its_own_at_once() {
    use switchboard::store::backend::ChannelStore;
    let Cluster { url, nodes, .. } = &cluster("kept_channels", 2).await;
    let client = sql(url).await;
    let channel = whatsapp_channel(&nodes[0]).await;

    // Not listening, a node keeps nothing: even a change no notice announces is read at once.
    assert_eq!(channel_name(&nodes[1], &channel).await.as_deref(), Some("WhatsApp"));
    rename_in_database(&client, &channel, "Unannounced 1", false).await;
    assert_eq!(channel_name(&nodes[1], &channel).await.as_deref(), Some("Unannounced 1"));

    // Listening, both nodes keep what they read: an unannounced change is not seen.
    let mut heard_1 = nodes[0].listen().await.unwrap();
    let mut heard_2 = nodes[1].listen().await.unwrap();
    for node in nodes {
        assert_eq!(channel_name(node, &channel).await.as_deref(), Some("Unannounced 1"));
    }
    rename_in_database(&client, &channel, "Unannounced 2", false).await;
    for node in nodes {
        assert_eq!(channel_name(node, &channel).await.as_deref(), Some("Unannounced 1"), "kept");
    }

    // A node's own change is read back through it at once, before any notice: here no notice
    // comes at all (the trigger is off), so only the write itself can have made the kept one stale.
    client.batch_execute("ALTER TABLE channels DISABLE TRIGGER channels_changed").await.unwrap();
    nodes[0].update_channel(&channel, Scope::Every, "Renamed on node 1", &[], None).await.unwrap();
    client.batch_execute("ALTER TABLE channels ENABLE TRIGGER channels_changed").await.unwrap();
    assert_eq!(channel_name(&nodes[0], &channel).await.as_deref(), Some("Renamed on node 1"), "its own write, at once");
    assert_eq!(channel_name(&nodes[1], &channel).await.as_deref(), Some("Unannounced 1"), "the other node heard nothing");

    // Announced changes reach the other node: an update through the store, and a deletion.
    nodes[0].update_channel(&channel, Scope::Every, "Announced", &[], None).await.unwrap();
    reads_in_time(&nodes[1], &channel, Some("Announced")).await;
    rename_in_database(&client, &channel, "Renamed by hand", true).await;
    reads_in_time(&nodes[0], &channel, Some("Renamed by hand")).await;
    reads_in_time(&nodes[1], &channel, Some("Renamed by hand")).await;

    // The listeners are cut: once a node has heard so, it keeps nothing again.
    client.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'", &[]).await.unwrap();
    while next_notice(&mut heard_1).await != Notice::Lost {}
    while next_notice(&mut heard_2).await != Notice::Lost {}
    rename_in_database(&client, &channel, "Unannounced 3", false).await;
    for node in nodes {
        assert_eq!(channel_name(node, &channel).await.as_deref(), Some("Unannounced 3"), "nothing kept without a listener");
    }

    // Listening again, a deletion through one node reaches the other.
    let _heard_2 = nodes[1].listen().await.unwrap();
    assert_eq!(channel_name(&nodes[1], &channel).await.as_deref(), Some("Unannounced 3"));
    assert!(nodes[0].delete_channel(&channel, Scope::Every).await.unwrap());
    reads_in_time(&nodes[1], &channel, None).await;
}

/// Returns once a session of `observer`'s database waits for a lock with `statement` in its
/// query (Postgres tells no one, so `pg_stat_activity` is polled); fails, naming `who`, if none
/// has after [`PATIENCE`]. `observer` must not be in a transaction: one sees
/// `pg_stat_activity` as it was at its start.
async fn until_waiting_for_lock(observer: &tokio_postgres::Client, statement: &str, who: &str) {
    let waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position($1 in query) > 0";
    let deadline = Instant::now() + PATIENCE;
    while observer.query_one(waiting, &[&statement]).await.unwrap().get::<_, i64>(0) == 0 {
        assert!(Instant::now() < deadline, "{who} never waited for the held lock ({statement})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_loses_a_deadlock_runs_again_and_one_that_keeps_losing_answers_the_conflict_and_stores_nothing() {
    use switchboard::store::backend::InboxStore;
    let Cluster { url, nodes, .. } = &cluster("deadlock", 1).await;
    let (node, faults) = (&nodes[0], &nodes[0].faults);
    let (client, observer) = (sql(url).await, sql(url).await);

    // A real deadlock: releasing a number held by two channels locks both holds in the
    // channels' order; another transaction holds the second and then asks for the first.
    let mut channels = [whatsapp_channel(&node).await, whatsapp_channel(&node).await];
    channels.sort();
    for channel in &channels {
        node.hold_resource(channel, "628111").await.unwrap();
    }
    // Postgres breaks a deadlock in the session whose wait ran `deadlock_timeout` (1 s) first:
    // this one waits longer, so the store's write is the one broken.
    client.batch_execute("SET deadlock_timeout = '60s'; BEGIN").await.unwrap();
    let lock = "SELECT channel_id FROM resource_holds WHERE channel_id = $1 FOR UPDATE";
    client.query(lock, &[&channels[1]]).await.unwrap();
    let releasing = tokio::spawn({
        let (node, first) = (node.clone(), channels[0].clone());
        async move { node.release_resource(&first, "628111", switchboard::store::now_ms() + 60_000).await }
    });
    until_waiting_for_lock(&observer, "FROM resource_holds WHERE resource", "the release").await;
    let other = client.execute("UPDATE resource_holds SET resource = resource WHERE channel_id = $1", &[&channels[0]]).await;
    assert!(other.is_ok(), "the other transaction was broken, not the store's write: {other:?}");
    client.batch_execute("COMMIT").await.unwrap();
    let released = tokio::time::timeout(PATIENCE, releasing).await.expect("the release answered in time").unwrap();
    assert_eq!(released.unwrap(), true, "the release ran again and told that another channel still holds the number");
    let holders: Vec<String> = client.query("SELECT channel_id FROM resource_holds WHERE resource = '628111'", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(holders, vec![channels[1].clone()]);

    // A write that loses every time: its caller hears the conflict (the API answers 503 "try
    // again"), and nothing of its runs is stored.
    let conversation = node.record_inbound(&channels[0], &inbound(1)).await.unwrap().unwrap().conversation_id;
    let resolutions = "SELECT COUNT(*) FROM conversation_resolutions WHERE conversation_id = $1";
    faults.lose_next_conflicts(6);
    let lost = node.update_conversation(conversation, Scope::Every, None, Some("resolved"), AsRead::Anything).await;
    assert!(lost.as_ref().is_err_and(|e| e.is_transient_conflict()), "{lost:?}");
    let status: String = client.query_one("SELECT status FROM conversations WHERE id = $1", &[&conversation]).await.unwrap().get(0);
    assert_eq!(status, "open");
    assert_eq!(client.query_one(resolutions, &[&conversation]).await.unwrap().get::<_, i64>(0), 0);
    // Losing five times and then not: stored once (one resolution recorded, not six).
    faults.lose_next_conflicts(5);
    node.update_conversation(conversation, Scope::Every, None, Some("resolved"), AsRead::Anything).await.unwrap();
    let status: String = client.query_one("SELECT status FROM conversations WHERE id = $1", &[&conversation]).await.unwrap().get(0);
    assert_eq!(status, "resolved");
    assert_eq!(client.query_one(resolutions, &[&conversation]).await.unwrap().get::<_, i64>(0), 1);
}
