//! The store's ingest, SQLite against Postgres with one and three nodes, in the same run: 64
//! writers at once store distinct inbound messages through `Store::record_inbound` (contact,
//! conversation and message in one transaction, acknowledged after the commit) for 5 s each.
//! SQLite is the baseline: one node, group commit, `synchronous=FULL`. Postgres runs on this
//! same machine (a throwaway cluster with its default durability, `fsync=on` and
//! `synchronous_commit=on`), so its three "nodes" share the two cores with it: the figure says
//! what the database costs, not what three machines would give.
//!
//! Run: `cargo bench -p switchboard --bench scale_out` (starts its own Postgres).

#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchboard::store::backend::Store;
use switchboard::store::model::{ContactInfo, NewInbound};
use switchboard::store::pg::PgStore;
use switchboard::store::{Db, SecretBox, now_ms};

const WRITERS: u64 = 64;
const SECONDS: u64 = 5;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = switchboard::store::backend::ChannelStore::create_channel(&db, 1, "telegram", "Bench", &[]).await.unwrap().id;
        let sqlite: Arc<dyn Store> = Arc::new(db);
        let baseline = per_second(&[sqlite], &channel).await;

        let server = postgres::Postgres::start();
        let url = server.create_database("bench");
        let secrets = Arc::new(SecretBox::load_or_create(&dir.path().join("pg.key")).unwrap());
        let mut nodes: Vec<Arc<dyn Store>> = Vec::new();
        for n in 1..=3 {
            nodes.push(Arc::new(PgStore::connect(&url, &secrets, &format!("node-{n}")).await.unwrap()));
        }
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .execute(
                "INSERT INTO channels (id, plugin, name, status, settings, webhook_secret, created_at, updated_at)
                 VALUES ($1, 'telegram', 'Bench', 'active', '{}', 'sealed', 0, 0)",
                &[&channel],
            )
            .await
            .unwrap();
        let one = per_second(&nodes[..1], &channel).await;
        let three = per_second(&nodes, &channel).await;
        println!("store ingest, {WRITERS} writers at once, {SECONDS} s each (2 shared cores; Postgres on the same machine):");
        println!("  SQLite, one node (baseline): {baseline:>6.0} messages/s");
        println!("  Postgres, one node:          {one:>6.0} messages/s | {:.2}x SQLite", one / baseline);
        println!("  Postgres, three nodes:       {three:>6.0} messages/s | {:.2}x SQLite, {:.2}x one Postgres node", three / baseline, three / one);
    });
}

/// Messages stored per second by `WRITERS` writers spread over `nodes`.
async fn per_second(nodes: &[Arc<dyn Store>], channel: &str) -> f64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stored = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(SECONDS);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (node, channel, stored) = (nodes[w as usize % nodes.len()].clone(), channel.to_owned(), stored.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = NEXT.fetch_add(1, Ordering::Relaxed);
                    let chat = format!("{}", n % 500);
                    let inbound = NewInbound {
                        provider_message_id: format!("bench-{n}"),
                        conversation_external_id: chat.clone(),
                        conversation_name: None,
                        sender: ContactInfo { external_id: chat, name: Some("Pelanggan".into()), handle: None },
                        provider_timestamp: now_ms(),
                        text: Some(format!("pesan nomor {n}")),
                        content: Default::default(),
                        properties: vec![],
                        reply_to: None,
                    };
                    if node.record_inbound(&channel, &inbound).await.unwrap().is_some() {
                        stored.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    stored.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
