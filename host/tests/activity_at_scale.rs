//! The activity figures on a year of messages: one million rows in a real SQLite store (one
//! workspace, three channels, 99,999 conversations), the last 30 days read through the
//! indexes made for them. What is asserted does not depend on the machine's speed: the figures
//! equal what was written, and no query plan scans a table the year fills; the time each
//! report took is printed (the closing notes quote it).

use std::time::Instant;

use switchboard::store::activity::{self as sql};
use switchboard::store::model::Window;
use switchboard::store::backend::{ActivityStore, ChannelStore};
use switchboard::store::{Db, now_ms};

const MESSAGES: i64 = 1_000_000;
// A multiple of 3: message i and conversation i % CONVERSATIONS are on the same channel, i % 3.
const CONVERSATIONS: i64 = 99_999;
const YEAR_MS: i64 = 365 * 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_a_million_messages_is_reported_from_the_last_30_days_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let mut channels = Vec::new();
    for name in ["Telegram", "WhatsApp", "LINE"] {
        channels.push(ChannelStore::create_channel(&db, 1, "telegram", name, &[]).await.unwrap().id);
    }
    let start = now_ms() - YEAR_MS;
    // Spread evenly over the year: message i at start + i * step, on channel i % 3, conversation
    // i % CONVERSATIONS; even ones received, odd ones sent, every 97th sent one failed.
    let step = YEAR_MS / MESSAGES;
    let seeding = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(dir.path().join("switchboard.db")).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch("INSERT INTO people (workspace_id, username, display_name, role, created_at, updated_at) VALUES
            (1, 'ani', 'Ani', 'agent', 0, 0), (1, 'budi', 'Budi', 'agent', 0, 0)").unwrap();
        tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
             INSERT INTO conversations (id, channel_id, external_id, status, last_activity_at, created_at, first_response_at, first_response_by)
             SELECT i + 1, CASE i % 3 WHEN 0 THEN ?2 WHEN 1 THEN ?3 ELSE ?4 END, 'chat-' || i, 'open', ?5 + i * ?6, ?5 + i * ?6,
                    ?5 + i * ?6 + 60000 * (1 + i % 5), (SELECT id FROM people WHERE username = CASE i % 2 WHEN 0 THEN 'ani' ELSE 'budi' END)
             FROM n",
            rusqlite::params![CONVERSATIONS, channels[0], channels[1], channels[2], start, YEAR_MS / CONVERSATIONS],
        )
        .unwrap();
        tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
             INSERT INTO messages (conversation_id, channel_id, direction, status, error, created_at, updated_at)
             SELECT 1 + i % ?2, CASE i % 3 WHEN 0 THEN ?3 WHEN 1 THEN ?4 ELSE ?5 END,
                    CASE i % 2 WHEN 0 THEN 'inbound' ELSE 'outbound' END,
                    CASE WHEN i % 2 = 1 AND i % 97 = 0 THEN 'failed' WHEN i % 2 = 1 THEN 'sent' ELSE 'received' END,
                    CASE WHEN i % 2 = 1 AND i % 97 = 0 THEN 'HTTP 403: blocked' END, ?6 + i * ?7, ?6 + i * ?7
             FROM n",
            rusqlite::params![MESSAGES, CONVERSATIONS, channels[0], channels[1], channels[2], start, step],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    println!("seeded {MESSAGES} messages in {:.1} s", seeding.elapsed().as_secs_f64());

    let window = Window::ending_at(now_ms(), 30, 420);
    let since = window.since_ms();
    // What the report must say, from the same formula.
    let (mut received, mut sent, mut failed) = (0i64, 0i64, 0i64);
    for i in 0..MESSAGES {
        if start + i * step >= since {
            match (i % 2, i % 97) {
                (0, _) => received += 1,
                (_, 0) => {
                    sent += 1;
                    failed += 1
                }
                _ => sent += 1,
            }
        }
    }
    let first_responses = (0..CONVERSATIONS).filter(|i| start + i * (YEAR_MS / CONVERSATIONS) + 60_000 * (1 + i % 5) >= since).count();

    let reading = Instant::now();
    let activity = db.activity(1, window).await.unwrap();
    let activity_ms = reading.elapsed().as_secs_f64() * 1000.0;
    let reading = Instant::now();
    let volume = db.workspace_volume(window).await.unwrap();
    let volume_ms = reading.elapsed().as_secs_f64() * 1000.0;
    println!("a workspace's 30 days of {received} + {sent} messages of {MESSAGES}: {activity_ms:.1} ms; every workspace's volume: {volume_ms:.1} ms");
    // The baseline, for the figures only (not asserted): the same per-day counts read without
    // the window's index (what a report over the year's rows costs).
    {
        let conn = rusqlite::Connection::open(dir.path().join("switchboard.db")).unwrap();
        let unindexed = sql::MESSAGES_PER_DAY.replace("JOIN messages m", "JOIN messages m NOT INDEXED");
        let reading = Instant::now();
        let rows = conn.prepare(&unindexed).unwrap().query_map(rusqlite::params![window.offset_ms(), since, 1], |_| Ok(())).unwrap().count();
        let scan_ms = reading.elapsed().as_secs_f64() * 1000.0;
        let reading = Instant::now();
        conn.prepare(sql::MESSAGES_PER_DAY).unwrap().query_map(rusqlite::params![window.offset_ms(), since, 1], |_| Ok(())).unwrap().count();
        let indexed_ms = reading.elapsed().as_secs_f64() * 1000.0;
        println!("messages per day, {rows} rows: {indexed_ms:.1} ms through the index, {scan_ms:.1} ms scanning the year ({:.0}x)", scan_ms / indexed_ms);
    }

    let summed = |pick: fn(&switchboard::store::model::ChannelActivity) -> &Vec<i64>| activity.channels.iter().map(|c| pick(c).iter().sum::<i64>()).sum::<i64>();
    assert_eq!((summed(|c| &c.received), summed(|c| &c.sent)), (received, sent));
    let failures: Vec<_> = activity.failures.iter().map(|f| (f.reason.as_str(), f.count)).collect();
    assert_eq!(failures, [("HTTP 403: blocked", failed)]);
    let answered: usize = activity.agents.iter().map(|a| a.first_response.conversations).sum();
    assert_eq!(answered, first_responses);
    let ani = activity.agents.iter().find(|a| a.name.as_deref() == Some("Ani")).unwrap();
    // Ani answers conversations 0, 2, 4, …: after 1, 3, 5, 2, 4 minutes in turn; the median is 3.
    assert_eq!(ani.first_response.median_seconds, Some(180.0));
    let workspace_one = volume.iter().find(|w| w.id == 1).unwrap();
    assert_eq!((workspace_one.received.iter().sum::<i64>(), workspace_one.sent.iter().sum::<i64>()), (received, sent));

    // No query reads the year: each finds its window through an index.
    let conn = rusqlite::Connection::open(dir.path().join("switchboard.db")).unwrap();
    for (name, query, params) in [
        ("messages per day", sql::MESSAGES_PER_DAY, vec![0i64, since, 1]),
        ("failures", sql::FAILURES, vec![since, 1, 50]),
        ("first responses", sql::FIRST_RESPONSES, vec![since, 1]),
        ("resolutions", sql::RESOLUTIONS, vec![since, 1]),
        ("volume per day", sql::VOLUME_PER_DAY, vec![0, since]),
    ] {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {query}")).unwrap();
        let plan: Vec<String> = statement
            .query_map(rusqlite::params_from_iter(params), |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for step in &plan {
            let reads_a_big_table = ["SCAN m", "SCAN v", "SCAN r"].iter().any(|scan| step == scan || step.starts_with(&format!("{scan} ")));
            assert!(!reads_a_big_table, "{name} scans a table the year fills: {plan:?}");
        }
        println!("{name}: {plan:?}");
    }
}
