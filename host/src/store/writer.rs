//! Group commit: writes that may run together (each webhook's events) go to one writer thread,
//! which runs every write waiting at that moment in one transaction, each in its own savepoint,
//! and commits once. One fsync then covers the whole batch, so `synchronous=FULL` (acknowledged
//! means on disk, power loss included) costs little more than one write alone, and the async
//! workers never wait on SQLite: they await the batch's outcome.
//!
//! A write that fails is rolled back to its savepoint and fails alone; a commit that fails fails
//! every write of its batch (none of them was stored, so none may be acknowledged).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction};
use tokio::sync::oneshot;

use super::channel_cache::ChannelCache;
use super::{Cached, StoreError, StoreResult};

/// Writes one batch holds at most (a batch is what was waiting when the last one committed).
const MOST_PER_BATCH: usize = 256;

/// Runs a write inside the batch's transaction: whether it succeeded, and how to hand over its
/// result once the batch's commit is known.
type Job = Box<dyn FnOnce(&Transaction<'_>) -> (bool, Deliver) + Send>;
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;

pub(super) struct Writer {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    counts: Arc<Counts>,
}

/// Writes committed and the commits that carried them (Postgres's writer counts the same).
#[derive(Default)]
pub(crate) struct Counts {
    writes: AtomicU64,
    commits: AtomicU64,
}

impl Counts {
    /// A batch of `writes` committed.
    pub(crate) fn committed(&self, writes: u64) {
        self.writes.fetch_add(writes, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> (u64, u64) {
        (self.writes.load(Ordering::Relaxed), self.commits.load(Ordering::Relaxed))
    }
}

impl Writer {
    pub(super) fn start(conn: Arc<Mutex<Connection>>, faults: Arc<Faults>, channels: Arc<ChannelCache>) -> Self {
        let (jobs, waiting) = mpsc::channel::<Job>();
        let counts = Arc::new(Counts::default());
        let counted = counts.clone();
        let thread = std::thread::Builder::new()
            .name("switchboard-writer".into())
            .spawn(move || {
                while let Ok(first) = waiting.recv() {
                    let batch = batch_of(first, || waiting.try_recv().ok());
                    let writes = batch.len() as u64;
                    if run_batch(&conn, &faults, &channels, batch) {
                        counted.committed(writes);
                    }
                }
            })
            .expect("the writer thread starts");
        Self { jobs: Mutex::new(Some(jobs)), thread: Mutex::new(Some(thread)), counts }
    }

    pub(super) fn counts(&self) -> (u64, u64) {
        self.counts.get()
    }

    /// Runs `write` in the next batch; its result once the batch is committed.
    pub(super) async fn write<T: Send + 'static>(&self, write: impl FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
        let (done, outcome) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |tx| {
            let result = write(tx);
            let succeeded = result.is_ok();
            let deliver: Deliver = Box::new(move |committed: Result<(), String>| {
                let _ = done.send(match committed {
                    Ok(()) => result,
                    Err(why) => Err(StoreError::NotCommitted(why)),
                });
            });
            (succeeded, deliver)
        });
        let sent = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|jobs| jobs.send(job));
        match sent {
            Some(Ok(())) => outcome.await.unwrap_or_else(|_| Err(StoreError::NotCommitted("the writer stopped".into()))),
            _ => Err(StoreError::NotCommitted("the writer stopped".into())),
        }
    }

    /// Lets the batches waiting finish and stops the thread.
    pub(super) fn stop(&self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

/// A batch: the first write and those waiting behind it now, at most [`MOST_PER_BATCH`]
/// (Postgres's writer batches the same way).
pub(crate) fn batch_of<J>(first: J, mut waiting: impl FnMut() -> Option<J>) -> Vec<J> {
    let mut batch = vec![first];
    while batch.len() < MOST_PER_BATCH {
        match waiting() {
            Some(job) => batch.push(job),
            None => break,
        }
    }
    batch
}

/// Runs one batch; whether it committed.
fn run_batch(conn: &Mutex<Connection>, faults: &Faults, channels: &ChannelCache, batch: Vec<Job>) -> bool {
    let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
    let mut delivers = Vec::with_capacity(batch.len());
    let committed = (|| -> Result<(), String> {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        for job in batch {
            // Each write in its own savepoint: one that fails is undone alone (the statements
            // prepared once, not parsed again for every write).
            tx.cached_execute("SAVEPOINT write", []).map_err(|e| e.to_string())?;
            // A write that panics (a bug) is undone and dropped; its caller hears "not committed".
            let (succeeded, deliver) = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tx))) {
                Ok(outcome) => outcome,
                Err(_) => (false, Box::new(|_| {}) as Deliver),
            };
            if !succeeded {
                tx.cached_execute("ROLLBACK TO write", []).map_err(|e| e.to_string())?;
            }
            tx.cached_execute("RELEASE write", []).map_err(|e| e.to_string())?;
            delivers.push(deliver);
        }
        // Not indexed in each write's savepoint (FTS5 would write a segment at each): once here.
        index_waiting_text(&tx).map_err(|e| e.to_string())?;
        if faults.take_commit_failure() {
            return Err("an injected commit failure".into());
        }
        tx.commit().map_err(|e| e.to_string())
    })();
    // Before any writer hears back: one told its channel changed must not read it as it was.
    channels.transaction_ended();
    let ok = committed.is_ok();
    for deliver in delivers {
        deliver(committed.clone());
    }
    ok
}

/// Indexes for search the text of the messages the open transaction stored or changed, which
/// the triggers of migration 0024 leave waiting: one full-text segment per batch, not one per
/// message. A batch that cannot index fails as a whole, like one that cannot commit. (The
/// same-promise baseline of `benches/delivery.rs` runs it at its batch's end too.)
pub fn index_waiting_text(tx: &Connection) -> rusqlite::Result<()> {
    // CROSS JOIN: the waiting rows drive (the planner, without statistics, scanned every message).
    tx.cached_execute(
        "INSERT INTO message_text (rowid, text)
         SELECT m.id, m.text FROM message_text_waiting w CROSS JOIN messages m ON m.id = w.message_id WHERE m.text IS NOT NULL",
        [],
    )?;
    tx.cached_execute("DELETE FROM message_text_waiting", [])?;
    Ok(())
}

/// Failures a test makes happen on purpose.
#[derive(Debug, Default)]
pub struct Faults {
    failing_commits: std::sync::atomic::AtomicUsize,
    lost_conflicts: std::sync::atomic::AtomicUsize,
}

impl Faults {
    pub(crate) fn take_commit_failure(&self) -> bool {
        Self::take(&self.failing_commits)
    }

    pub(crate) fn take_lost_conflict(&self) -> bool {
        Self::take(&self.lost_conflicts)
    }

    fn take(count: &std::sync::atomic::AtomicUsize) -> bool {
        count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// The next `count` group commits fail (as a full disk would make them).
    pub fn fail_next_commits(&self, count: usize) {
        self.failing_commits.store(count, Ordering::SeqCst);
    }

    /// The next `count` runs of writes outside the group commit lose a deadlock (Postgres: its
    /// own deadlock error, raised in the write's transaction after its statements ran).
    pub fn lose_next_conflicts(&self, count: usize) {
        self.lost_conflicts.store(count, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::store::{Db, StoreError};

    async fn db_with_table() -> (tempfile::TempDir, Arc<Db>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        db.write(|c| Ok(c.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")?)).await.unwrap();
        (dir, db)
    }

    /// Submits `count` writes while the connection is busy, so they wait together.
    async fn writes_waiting_together(db: &Arc<Db>, values: impl Iterator<Item = i64>) -> Vec<Result<(), StoreError>> {
        let writes = values.map(|x| {
            let db = db.clone();
            Box::pin(async move { db.write(move |c| Ok(c.execute("INSERT INTO t (x) VALUES (?1)", [x]).map(|_| ())?)).await }) as Pending
        });
        in_one_batch(db, writes.collect()).await
    }

    type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send>>;

    /// Runs `writes` while the connection is busy, so they wait for it together: one batch.
    async fn in_one_batch(db: &Arc<Db>, mut writes: Vec<Pending>) -> Vec<Result<(), StoreError>> {
        let busy = db.conn();
        // A write's first poll hands it to the writer thread: every one is queued before the
        // connection is free, however slowly tasks would be scheduled on a loaded machine.
        for write in &mut writes {
            let first = std::future::poll_fn(|cx| std::task::Poll::Ready(std::future::Future::poll(write.as_mut(), cx))).await;
            assert!(first.is_pending(), "a write finished while the connection was held");
        }
        drop(busy);
        let mut outcomes = Vec::new();
        for write in writes {
            outcomes.push(write.await);
        }
        outcomes
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batchs_messages_are_searchable_once_it_commits_and_the_index_matches_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        db.write(|c| {
            c.execute_batch(
                "INSERT INTO channels (id, plugin, name, status, settings, webhook_secret, created_at, updated_at) VALUES ('ch', 'telegram', 'T', 'active', '{}', 'x', 1, 1);
                 INSERT INTO conversations (id, channel_id, external_id, last_activity_at, created_at) VALUES (1, 'ch', 'c', 1, 1);",
            )?;
            Ok(())
        })
        .await
        .unwrap();
        let insert = |text: &'static str| format!("INSERT INTO messages (conversation_id, channel_id, direction, text, status, created_at, updated_at) VALUES (1, 'ch', 'inbound', '{text}', 'received', 1, 1)");
        let write = |sql: String, fails: bool| {
            let db = db.clone();
            Box::pin(async move {
                db.write(move |c| {
                    c.execute_batch(&sql)?;
                    if fails { Err(StoreError::NotFound) } else { Ok(()) }
                })
                .await
            }) as Pending
        };
        // Indexed in an earlier batch, then changed and deleted in this one.
        write(format!("{}; {}", insert("kopi tubruk"), insert("es kopi")), false).await.unwrap();
        let outcomes = in_one_batch(
            &db,
            vec![
                write(insert("kopi susu"), false),
                write(insert("teh manis"), false),
                // Stored, then undone with its write: never searchable.
                write(insert("kopi hitam"), true),
                // Stored and deleted within one write; then changed twice.
                write(format!("{}; DELETE FROM messages WHERE text = 'roti kopi'", insert("roti kopi")), false),
                write("UPDATE messages SET text = 'teh tubruk' WHERE text = 'kopi tubruk'".into(), false),
                write("DELETE FROM messages WHERE text = 'es kopi'".into(), false),
                write(format!("{}; UPDATE messages SET text = 'kopi tarik' WHERE text = 'susu'", insert("susu")), false),
            ],
        )
        .await;
        assert_eq!(outcomes.iter().filter(|o| o.is_err()).count(), 1, "{outcomes:?}");
        let found = |word: &str| -> Vec<String> {
            let conn = db.conn();
            let mut found = conn
                .prepare(&format!("SELECT m.text FROM message_text JOIN messages m ON m.id = message_text.rowid WHERE message_text MATCH '{word}'"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<Vec<String>, _>>()
                .unwrap();
            found.sort();
            found
        };
        assert_eq!(found("kopi"), ["kopi susu", "kopi tarik"]);
        assert_eq!(found("teh"), ["teh manis", "teh tubruk"]);
        let conn = db.conn();
        // FTS5 compares its index with the messages' text: any row indexed twice, left behind or missing fails it.
        conn.execute("INSERT INTO message_text (message_text, rank) VALUES ('integrity-check', 1)", []).expect("the index matches the messages");
        let waiting: i64 = conn.query_row("SELECT COUNT(*) FROM message_text_waiting", [], |r| r.get(0)).unwrap();
        assert_eq!(waiting, 0, "a committed batch leaves nothing waiting");
    }

    fn rows(db: &Db) -> i64 {
        db.conn().query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_waiting_together_share_one_commit() {
        let (_dir, db) = db_with_table().await;
        let (_, commits_before) = db.group_commits();
        let outcomes = writes_waiting_together(&db, 0..64).await;
        assert!(outcomes.iter().all(Result::is_ok));
        assert_eq!(rows(&db), 64);
        let (_, commits) = db.group_commits();
        assert!(commits - commits_before <= 3, "64 writes took {} commits", commits - commits_before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_fails_alone() {
        let (_dir, db) = db_with_table().await;
        // 5 twice: the second breaks the UNIQUE constraint.
        let outcomes = writes_waiting_together(&db, [1, 5, 5, 7].into_iter()).await;
        assert_eq!(outcomes.iter().filter(|o| o.is_err()).count(), 1, "{outcomes:?}");
        assert_eq!(rows(&db), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_fails_every_write_of_its_batch_and_stores_none() {
        let (_dir, db) = db_with_table().await;
        db.faults.fail_next_commits(2);
        let outcomes = writes_waiting_together(&db, 0..20).await;
        assert!(outcomes.iter().all(|o| matches!(o, Err(StoreError::NotCommitted(_)))), "{outcomes:?}");
        assert_eq!(rows(&db), 0, "nothing of a failed batch is stored");
        db.faults.fail_next_commits(0);
        assert!(writes_waiting_together(&db, 100..110).await.iter().all(Result::is_ok), "the next batches commit");
        assert_eq!(rows(&db), 10);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_go_on_while_a_batch_holds_the_writer_see_each_commit_and_refuse_writes() {
        let (_dir, db) = db_with_table().await;
        db.write(|c| Ok(c.execute("INSERT INTO t (x) VALUES (1)", []).map(|_| ())?)).await.unwrap();
        // The writer's connection is held (as during a batch's fsync): a read does not wait for it.
        let busy = db.conn();
        let db2 = db.clone();
        let read = tokio::task::spawn_blocking(move || db2.reader().query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap());
        // A read that waited for the writer would wait until `busy` is dropped below: never.
        let seen = tokio::time::timeout(std::time::Duration::from_secs(120), read).await.expect("the read waited for the writer").unwrap();
        assert_eq!(seen, 1, "a read sees what was committed before it");
        drop(busy);
        let refused = db.reader().execute("INSERT INTO t (x) VALUES (2)", []);
        assert!(refused.is_err(), "a reader refuses writes");
        assert_eq!(rows(&db), 1);
    }
}
