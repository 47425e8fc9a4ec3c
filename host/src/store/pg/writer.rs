//! Group commit on Postgres: the writes that may run together (a webhook's events, a reply
//! queued, a delivery's outcome) go to one writer task per node, which runs every write waiting
//! at that moment in one transaction and commits once. The writes' statements are pipelined on
//! the writer's connection (each write's futures are polled together, so the batch's first
//! statements go out in one flight), and one commit (one WAL flush, and one turn of the
//! `pg_notify` queue lock every announcing commit takes) serves the whole batch. A write is
//! acknowledged only after its batch committed, `synchronous_commit = on`.
//!
//! A pipelined transaction cannot undo one write alone (after an error every later statement of
//! the transaction fails), so a batch in which a write failed is rolled back and its writes run
//! again one transaction each: the failing one fails alone, as on SQLite, where each write has
//! a savepoint. A commit that fails fails every write of its batch: none was stored, none is
//! acknowledged. Writes are therefore closures that can run twice (they keep their input).
//!
//! Customers' messages that are each a webhook's only event (the common case) are stored by
//! one multi-row statement per batch when there are several (`messages::store_together`):
//! per message, most of Postgres's work was the statement's own (its start, its triggers'
//! conditions, its round trip). Each such write keeps its one-message closure for the fallback.
//!
//! Two batches run at once per node: one runs its statements while the one before it commits
//! (its writes gathered while that one ran), so the database works while the WAL is flushed;
//! with fewer than [`OVERLAP_FROM`] writes waiting, the next batch waits for that commit
//! instead, and grows. Batches that run at once (of one node or of several) lock the
//! conversations they write; a batch runs its writes sorted by the conversation they lock first
//! (the write's `order`: channel and provider address), so two batches take common rows in the
//! same order and wait for each other instead of deadlocking.
//! Writes in one batch are concurrent requests, so any order of them is one they could have
//! arrived in; writes of one conversation keep theirs (the sort is stable). A write that still
//! loses a lock cycle (one that locks rows in another order, a reply say) runs again alone in
//! a fresh transaction, up to [`CONFLICT_RETRIES`] times: the caller sees the conflict only if
//! it persists.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Client, Pool};
use futures_util::future::{BoxFuture, join_all};
use tokio::sync::{mpsc, oneshot};

use crate::store::model::{Message, NewInbound};
use crate::store::writer::{Counts, Faults, batch_of};
use crate::store::{StoreError, StoreResult};

/// Every transaction of the writer starts so: the commit waits for the WAL flush whatever the
/// database's default, as SQLite's `synchronous=FULL` does.
const BEGIN: &str = "BEGIN; SET LOCAL synchronous_commit = on";

/// Batches one node runs at once: one runs its statements while the one before it commits, so
/// the database works while the WAL is flushed. Only one at a time runs statements: two that
/// did split the writes waiting between them and wait on each other's locks. Measured with the
/// store bench on two cores (2026-11-26, one session, before lone messages were stored
/// together): one node 2444-3108 messages/s with one batch, 4387-5549 with two sorted ones
/// (4044-4510 with two unsorted); then `scale_out_http` (2026-11-28, alternated in one
/// session): two batches running statements at once against one at a time while the other
/// commits, one node 3255 / 3201 against 3484 / 3645 webhooks/s at 0.43 / 0.42 against 0.36 /
/// 0.33 ms of CPU per webhook (the database's sessions 0.25 against 0.20 ms).
const BATCHES_AT_ONCE: usize = 2;
// The small batch's wait (`OVERLAP_FROM`) counts on one other batch at most.
const _: () = assert!(BATCHES_AT_ONCE == 2, "the writer's wait for a committing batch assumes two batches at once");

/// Writes waiting from which the next batch runs its statements while the batch before it
/// commits; fewer wait for that commit and gather more. A batch's statements cost about the same
/// whatever its size, so overlapping small batches costs more per write than it gains, and
/// nodes sharing one database each see only their part of the traffic. Measured with
/// `scale_out_http` (2026-11-28, alternated in one session): without it, three runs, three
/// nodes 0.80-0.90x one node's throughput at 1.44-1.64x its CPU per webhook (their Postgres
/// sessions 0.27-0.30 ms per webhook); from 16, 24 or 48 writes, five runs, 0.97-1.05x at
/// 1.21-1.37x (sessions 0.23-0.25 ms); one node the same within the runs' spread (3677-4244
/// webhooks/s without, 3503-3988 with).
const OVERLAP_FROM: usize = 24;

/// How often a write that lost a deadlock or serialization conflict runs again on its own
/// (here, and a write outside the group commit: `PgStore::write`).
pub(super) const CONFLICT_RETRIES: usize = 5;

/// How a run of a write ended (its result kept aside for its caller).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ran {
    Succeeded,
    Failed,
    /// Failed on a conflict with another transaction: running it again may succeed.
    LostConflict,
}

/// One run of a write on the batch's connection.
type Run = Box<dyn for<'c> Fn(&'c Client) -> BoxFuture<'c, Ran> + Send + Sync>;
/// Hands the write's result to its caller once its transaction's fate is known.
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send + Sync>;

struct Job {
    /// Where the write's locks start (a batch runs its writes sorted by it; empty: first).
    order: String,
    run: Run,
    /// A lone customer's message, which the batch may store with others in one statement, and
    /// where what that statement stored for it goes (the write's result, as `run` would leave it).
    lone: Option<(Arc<LoneInbound>, Stored)>,
    deliver: Deliver,
}

/// A customer's message that is its webhook's only event and has no files.
pub(super) struct LoneInbound {
    pub channel_id: String,
    pub inbound: NewInbound,
}

/// Takes what the batch's statement stored for a lone message (`None`: a redelivery).
type Stored = Box<dyn Fn(Option<Message>) + Send + Sync>;

/// The statement that stores a batch's lone messages together, in their order (`None`: a
/// redelivery). The messages' own (`messages::store_together`), handed in by the store: the
/// writer only batches.
pub(super) type StoreTogether = for<'c> fn(&'c Client, &'c [&'c LoneInbound]) -> BoxFuture<'c, StoreResult<Vec<Option<Message>>>>;

pub(super) struct PgWriter {
    jobs: mpsc::UnboundedSender<Job>,
    counts: Arc<Counts>,
    /// Lone messages committed by one statement with others (`messages::store_together`).
    stored_together: Arc<AtomicU64>,
}

impl PgWriter {
    /// Starts the node's writer task; it takes a pooled connection per batch (a broken one is
    /// not reused) and ends when the store is dropped.
    pub(super) fn start(pool: Pool, faults: Arc<Faults>, store_together: StoreTogether) -> Self {
        let (jobs, mut waiting) = mpsc::unbounded_channel::<Job>();
        let counts = Arc::new(Counts::default());
        let counted = counts.clone();
        let stored_together = Arc::new(AtomicU64::new(0));
        let together_counted = stored_together.clone();
        let in_flight = Arc::new(tokio::sync::Semaphore::new(BATCHES_AT_ONCE));
        let executing = Arc::new(tokio::sync::Semaphore::new(1));
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                // The batch is formed once it may run: every write that arrived while the
                // previous batch committed goes into this one (formed before, it would hold only
                // what had arrived by then, and the rest would wait for a commit of their own).
                let Ok(turn) = in_flight.clone().acquire_owned().await else { return };
                // And once no other batch of this node runs statements (one may be committing).
                let Ok(statements) = executing.clone().acquire_owned().await else { return };
                // A small batch waits for the one committing instead of overlapping it (see
                // `OVERLAP_FROM`): it gathers more writes meanwhile. This task holds one of the
                // two turns, so none left means the other batch is committing (or running its
                // failed writes again one by one).
                if waiting.len() + 1 < OVERLAP_FROM && in_flight.available_permits() == 0 {
                    let _ = in_flight.acquire().await;
                }
                // One turn of the scheduler first: the requests running now hand in their
                // writes too, and share this commit instead of each waiting for the next.
                tokio::task::yield_now().await;
                let mut batch = batch_of(first, || waiting.try_recv().ok());
                batch.sort_by(|a, b| a.order.cmp(&b.order));
                let writes = batch.len() as u64;
                let counting = Counted { writes, counts: counted.clone(), stored_together: together_counted.clone() };
                let (pool, faults) = (pool.clone(), faults.clone());
                // A write that panics (a bug) ends its batch's task, not the writer: its
                // batch's callers hear "not committed" (their answers are dropped unsent).
                tokio::spawn(async move {
                    run_batch(pool, faults, batch, counting, statements, store_together).await;
                    drop(turn);
                });
            }
        });
        Self { jobs, counts, stored_together }
    }

    /// Lone customers' messages committed by one statement with others, so far.
    pub(super) fn stored_together(&self) -> u64 {
        self.stored_together.load(Ordering::Relaxed)
    }

    /// Writes committed in batches, and the batches' commits.
    pub(super) fn counts(&self) -> (u64, u64) {
        self.counts.get()
    }

    /// Runs `write` on `input` in the next batch; its result once the batch committed. It may
    /// run twice (see the module's doc), so it reads its input by reference.
    pub(super) async fn write<I, T, F>(&self, input: I, write: F) -> StoreResult<T>
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
        F: for<'a> Fn(&'a Client, &'a I) -> BoxFuture<'a, StoreResult<T>> + Send + Sync + 'static,
    {
        self.submit(String::new(), input, write, None).await
    }

    /// [`Self::write`] for a write whose first lock is a conversation's: `order` names it
    /// (see the module's doc).
    pub(super) async fn write_in_order<I, T, F>(&self, order: String, input: I, write: F) -> StoreResult<T>
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
        F: for<'a> Fn(&'a Client, &'a I) -> BoxFuture<'a, StoreResult<T>> + Send + Sync + 'static,
    {
        self.submit(order, input, write, None).await
    }

    /// [`Self::write_in_order`] for a lone customer's message: `write` stores it alone, and a batch
    /// with other lone messages may store them together instead, `as_result` making this write's
    /// result of what was stored for it.
    pub(super) async fn write_lone_inbound<I, T, F>(&self, order: String, lone: LoneInbound, as_result: fn(Option<Message>) -> T, input: I, write: F) -> StoreResult<T>
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
        F: for<'a> Fn(&'a Client, &'a I) -> BoxFuture<'a, StoreResult<T>> + Send + Sync + 'static,
    {
        self.submit(order, input, write, Some((Arc::new(lone), as_result))).await
    }

    async fn submit<I, T, F>(&self, order: String, input: I, write: F, lone: Option<(Arc<LoneInbound>, fn(Option<Message>) -> T)>) -> StoreResult<T>
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
        F: for<'a> Fn(&'a Client, &'a I) -> BoxFuture<'a, StoreResult<T>> + Send + Sync + 'static,
    {
        let result: Arc<Mutex<Option<StoreResult<T>>>> = Arc::default();
        let kept = result.clone();
        let (input, write) = (Arc::new(input), Arc::new(write));
        let run: Run = Box::new(move |client| {
            let (kept, input, write) = (kept.clone(), input.clone(), write.clone());
            Box::pin(async move {
                let outcome = write(client, &input).await;
                let ran = match &outcome {
                    Ok(_) => Ran::Succeeded,
                    Err(e) if e.is_transient_conflict() => Ran::LostConflict,
                    Err(_) => Ran::Failed,
                };
                *kept.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
                ran
            })
        });
        let lone = lone.map(|(lone, as_result)| {
            let kept = result.clone();
            let stored: Stored = Box::new(move |message| *kept.lock().unwrap_or_else(|p| p.into_inner()) = Some(Ok(as_result(message))));
            (lone, stored)
        });
        let (done, outcome) = oneshot::channel::<StoreResult<T>>();
        let deliver: Deliver = Box::new(move |committed| {
            let ran = result.lock().unwrap_or_else(|p| p.into_inner()).take();
            let _ = done.send(match (committed, ran) {
                (Ok(()), Some(ran)) => ran,
                (Ok(()), None) => Err(StoreError::NotCommitted("the write did not run".into())),
                (Err(why), _) => Err(StoreError::NotCommitted(why)),
            });
        });
        if self.jobs.send(Job { order, run, lone, deliver }).is_err() {
            return Err(StoreError::NotCommitted("the writer stopped".into()));
        }
        outcome.await.unwrap_or_else(|_| Err(StoreError::NotCommitted("the writer stopped".into())))
    }
}

/// Where a batch that commits as one transaction is counted.
struct Counted {
    writes: u64,
    counts: Arc<Counts>,
    stored_together: Arc<AtomicU64>,
}

/// Runs one batch; counted when it committed as one transaction (before its writes are
/// answered, so whoever hears an answer reads counts that include its batch).
/// `statements` is the node's one turn to run statements: given back once the batch's have run,
/// before its commit or, when a write failed, before its writes run again one by one (each in
/// a transaction of its own, retried on a lost lock conflict: the next batch need not wait for
/// all of them).
async fn run_batch(pool: Pool, faults: Arc<Faults>, batch: Vec<Job>, counted: Counted, statements: tokio::sync::OwnedSemaphorePermit, store_together: StoreTogether) {
    let mut client = match pool.get().await {
        Ok(client) => BatchConnection { client: Some(client), ended: false },
        Err(e) => {
            let why = format!("no Postgres connection: {e}");
            for job in batch {
                (job.deliver)(Err(why.clone()));
            }
            return;
        }
    };
    let together = async {
        // BEGIN goes out in one flight with the batch's first statements (polled after it,
        // they are sent after it on the same connection), not a round trip ahead of them. No
        // statement runs outside the transaction when BEGIN fails: only a broken connection
        // fails it, and that fails them too (an injected failed commit, which must store
        // nothing, is tested).
        let begin = client.batch_execute(BEGIN);
        // Lone messages go together when there are several (one alone is cheaper by its own
        // statement) and no other write of the batch locks a conversation: the statement locks
        // all of its conversations at once, which would break the batch's order among those.
        let lone: Vec<&(Arc<LoneInbound>, Stored)> = batch.iter().filter_map(|job| job.lone.as_ref()).collect();
        let together = lone.len() > 1 && batch.iter().all(|job| job.lone.is_some() || job.order.is_empty());
        let each = join_all(batch.iter().filter(|job| !together || job.lone.is_none()).map(|job| (job.run)(&client)));
        let lone_together = async {
            if !together {
                return Ran::Succeeded;
            }
            let inputs: Vec<&LoneInbound> = lone.iter().map(|(input, _)| &**input).collect();
            match store_together(&client, &inputs).await {
                Ok(stored) => {
                    for ((_, hand_over), message) in lone.iter().zip(stored) {
                        hand_over(message);
                    }
                    Ran::Succeeded
                }
                // Lost to another transaction: a lock cycle, or one of the messages stored by
                // another node meanwhile (see `messages::store_together`).
                Err(e) if e.is_transient_conflict() || e.is_unique_violation() => Ran::LostConflict,
                // The batch runs again one write at a time: slower, so say why.
                Err(e) => {
                    tracing::warn!("a batch's lone messages could not be stored by one statement, each is stored alone: {e}");
                    Ran::Failed
                }
            }
        };
        let (began, (succeeded, together_ran)) = futures_util::future::join(begin, futures_util::future::join(each, lone_together)).await;
        began.map_err(|e| e.to_string())?;
        let stored_together = if together { lone.len() as u64 } else { 0 };
        Ok::<Option<u64>, String>((together_ran == Ran::Succeeded && succeeded.iter().all(|ran| *ran == Ran::Succeeded)).then_some(stored_together))
    }
    .await;
    match together {
        Ok(Some(stored_together)) => {
            drop(statements);
            let committed = commit(&client, &faults).await;
            if committed.is_ok() {
                counted.counts.committed(counted.writes);
                counted.stored_together.fetch_add(stored_together, Ordering::Relaxed);
            }
            for job in batch {
                (job.deliver)(committed.clone());
            }
        }
        // A write failed: the others run again, each in a transaction of its own.
        Ok(None) => {
            let _ = client.batch_execute("ROLLBACK").await;
            drop(statements);
            for job in batch {
                let alone = async {
                    for attempt in 0..=CONFLICT_RETRIES {
                        client.batch_execute(BEGIN).await.map_err(|e| e.to_string())?;
                        match (job.run)(&client).await {
                            Ran::Succeeded => return commit(&client, &faults).await,
                            Ran::LostConflict if attempt < CONFLICT_RETRIES => {
                                let _ = client.batch_execute("ROLLBACK").await;
                            }
                            // Its error is its answer; nothing of it is kept.
                            Ran::LostConflict | Ran::Failed => {
                                let _ = client.batch_execute("ROLLBACK").await;
                                return Ok(());
                            }
                        }
                    }
                    Ok(())
                }
                .await;
                (job.deliver)(alone);
            }
        }
        Err(why) => {
            let _ = client.batch_execute("ROLLBACK").await;
            for job in batch {
                (job.deliver)(Err(why.clone()));
            }
        }
    }
    client.ended = true;
}

/// A batch's connection: back to the pool once its transaction ended; closed instead when the
/// batch's task stops in the middle of one (a write panicked), so nobody who takes the
/// connection from the pool next finds a transaction open.
struct BatchConnection {
    client: Option<Client>,
    ended: bool,
}

impl std::ops::Deref for BatchConnection {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client.as_ref().expect("the connection is held until dropped")
    }
}

impl Drop for BatchConnection {
    fn drop(&mut self) {
        if !self.ended
            && let Some(client) = self.client.take()
        {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

async fn commit(client: &Client, faults: &Faults) -> Result<(), String> {
    if faults.take_commit_failure() {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err("an injected commit failure".into());
    }
    client.batch_execute("COMMIT").await.map_err(|e| e.to_string())
}
