//! One query body for both backends (what Vaultwarden's `db_run!` does with a macro, done with
//! a trait): an aggregate's operation is written once, as an async body over [`Sql`], and each
//! backend runs it ([`RunSql`]): SQLite on a blocking thread (reads) or in the group-commit
//! writer (writes), Postgres on a pooled connection (reads) or in a transaction (writes).
//!
//! The SQL is the shared dialect: `$n` placeholders, numbered in the order they first appear
//! (rusqlite binds `$n` by name, see [`numbered`]: a statement uses every value it is given),
//! types both read alike (`BIGINT`/`INTEGER`, `TEXT`, booleans), lists through [`List`]. A step only one dialect has (Postgres's row locks and notices, a collation)
//! is picked in the body with [`Sql::is_postgres`]; an operation that differs throughout stays
//! in the backend's own file.
//!
//! SQLite's calls complete when made, so its bodies are driven by polling once on the thread
//! that holds the connection ([`completed`]): a body awaits nothing but its `Sql`.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use deadpool_postgres::GenericClient;
use futures_util::future::BoxFuture;
use rusqlite::types::Value;

use super::row::{ReadRow, numbered};
use super::{Db, SecretBox, StoreResult};

/// A value bound to a `$n` placeholder on either backend.
pub(crate) trait Param: Sync {
    fn on_sqlite(&self) -> &dyn rusqlite::ToSql;
    fn on_postgres(&self) -> &(dyn tokio_postgres::types::ToSql + Sync);
}

impl<T: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync> Param for T {
    fn on_sqlite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn on_postgres(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        self
    }
}

/// A list bound to one placeholder: a JSON array on SQLite (read with `json_each`), an array on
/// Postgres; [`Sql::in_list`] writes the test that reads it in each dialect.
#[derive(Clone)]
pub(crate) struct List<T> {
    items: Vec<T>,
    json: String,
}

/// Ids (`BIGINT[]` on Postgres).
pub(crate) type Ids = List<i64>;
/// Names (`TEXT[]` on Postgres).
pub(crate) type Names = List<String>;

impl<T: Clone + serde::Serialize> From<&[T]> for List<T> {
    fn from(items: &[T]) -> Self {
        Self { items: items.to_vec(), json: serde_json::to_string(items).expect("ids and names serialize") }
    }
}

impl<T: Sync> Param for List<T>
where
    Vec<T>: tokio_postgres::types::ToSql + Sync,
{
    fn on_sqlite(&self) -> &dyn rusqlite::ToSql {
        &self.json
    }
    fn on_postgres(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        &self.items
    }
}

/// A row read by either backend (SQLite's copied out of its statement).
pub(crate) enum Row {
    Sqlite(Vec<Value>),
    Postgres(tokio_postgres::Row),
}

// A column of the wrong type is a bug in the query beside it (see `row`): both panic alike.
impl ReadRow for Row {
    fn int(&self, index: usize) -> i64 {
        self.opt_int(index).expect("a non-null integer column")
    }
    fn opt_int(&self, index: usize) -> Option<i64> {
        match self {
            Self::Sqlite(values) => match &values[index] {
                Value::Integer(value) => Some(*value),
                Value::Null => None,
                other => panic!("column {index}: an integer expected, {other:?} read"),
            },
            Self::Postgres(row) => row.opt_int(index),
        }
    }
    fn text(&self, index: usize) -> String {
        self.opt_text(index).expect("a non-null text column")
    }
    fn opt_text(&self, index: usize) -> Option<String> {
        match self {
            Self::Sqlite(values) => match &values[index] {
                Value::Text(value) => Some(value.clone()),
                Value::Null => None,
                other => panic!("column {index}: text expected, {other:?} read"),
            },
            Self::Postgres(row) => row.opt_text(index),
        }
    }
    fn flag(&self, index: usize) -> bool {
        match self {
            Self::Sqlite(_) => self.int(index) != 0,
            Self::Postgres(row) => row.flag(index),
        }
    }
}

/// A connection (or a transaction) of either backend.
#[async_trait::async_trait]
pub(crate) trait Sql: Send + Sync {
    /// For the few steps only Postgres takes (row locks other nodes wait on, announcing a
    /// change to every node inside its transaction).
    fn is_postgres(&self) -> bool;

    /// Every row `sql` selects (or returns).
    async fn rows(&self, sql: &str, params: &[&dyn Param]) -> StoreResult<Vec<Row>>;
    /// How many rows `sql` changed.
    async fn execute(&self, sql: &str, params: &[&dyn Param]) -> StoreResult<u64>;

    /// The first row, if any.
    async fn row(&self, sql: &str, params: &[&dyn Param]) -> StoreResult<Option<Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }

    /// `column` is one of the [`List`] bound to `placeholder`, in this dialect.
    fn in_list(&self, column: &str, placeholder: &str) -> String {
        if self.is_postgres() { format!("{column} = ANY({placeholder})") } else { format!("{column} IN (SELECT value FROM json_each({placeholder}))") }
    }

    /// `column` is none of the [`List`] bound to `placeholder`, in this dialect.
    fn not_in_list(&self, column: &str, placeholder: &str) -> String {
        if self.is_postgres() { format!("{column} <> ALL({placeholder})") } else { format!("{column} NOT IN (SELECT value FROM json_each({placeholder}))") }
    }
}

/// SQLite's connection, lent to a body that [`completed`] runs on the thread holding it (the
/// thread it was lent on, checked at every call).
struct OnSqlite<'c>(&'c rusqlite::Connection, std::thread::ThreadId);

impl<'c> OnSqlite<'c> {
    fn new(conn: &'c rusqlite::Connection) -> Self {
        Self(conn, std::thread::current().id())
    }

    fn conn(&self) -> &'c rusqlite::Connection {
        assert_eq!(std::thread::current().id(), self.1, "a SQLite connection is used on the thread it was lent on only");
        self.0
    }
}

// SAFETY: `Sql` is `Send + Sync` for Postgres's sake, whose bodies run on the async runtime. An
// `OnSqlite` is made only by `Db`'s `RunSql` and `on_sqlite`, and lives only inside `completed`,
// which polls its body once, to the end, on the thread that holds the connection; the body gets
// it for that call only (`&'c dyn Sql`, not `'static`). Every use of the connection goes through
// `conn()`, which panics on any other thread (a body that made threads of its own), so the
// connection is never used from two threads, which is what rusqlite's `!Sync` guards against.
#[allow(unsafe_code)]
unsafe impl Send for OnSqlite<'_> {}
#[allow(unsafe_code)]
unsafe impl Sync for OnSqlite<'_> {}

#[async_trait::async_trait]
impl Sql for OnSqlite<'_> {
    fn is_postgres(&self) -> bool {
        false
    }

    async fn rows(&self, sql: &str, params: &[&dyn Param]) -> StoreResult<Vec<Row>> {
        let params: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p.on_sqlite()).collect();
        let mut statement = self.conn().prepare_cached(sql)?;
        let columns = statement.column_count();
        let rows = statement.query_map(&*numbered(&params), |row| (0..columns).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<Value>>>().map(Row::Sqlite))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    async fn execute(&self, sql: &str, params: &[&dyn Param]) -> StoreResult<u64> {
        let params: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p.on_sqlite()).collect();
        Ok(self.conn().prepare_cached(sql)?.execute(&*numbered(&params))? as u64)
    }
}

/// Postgres's pooled connection or transaction.
pub(crate) struct OnPostgres<'c, C>(pub(crate) &'c C);

#[async_trait::async_trait]
impl<C: GenericClient + Send + Sync> Sql for OnPostgres<'_, C> {
    fn is_postgres(&self) -> bool {
        true
    }

    async fn rows(&self, sql: &str, params: &[&dyn Param]) -> StoreResult<Vec<Row>> {
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params.iter().map(|p| p.on_postgres()).collect();
        let statement = self.0.prepare_cached(sql).await?;
        Ok(self.0.query(&statement, &params).await?.into_iter().map(Row::Postgres).collect())
    }

    async fn execute(&self, sql: &str, params: &[&dyn Param]) -> StoreResult<u64> {
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params.iter().map(|p| p.on_postgres()).collect();
        let statement = self.0.prepare_cached(sql).await?;
        Ok(self.0.execute(&statement, &params).await?)
    }
}

/// A body over a connection: written once, run by either backend.
pub(crate) type Body<T> = Box<dyn RunBody<T>>;

/// A body's closure, run once, or run again from a copy: a Postgres write that loses a deadlock
/// (or a serialization conflict) to another transaction runs again in a fresh one, from a copy
/// of the body taken before it first ran (its input as the caller gave it). A closure is a body
/// when what it captures can be cloned: the ids, names and rows of a write are.
pub(crate) trait RunBody<T>: Send {
    fn run<'c>(self: Box<Self>, sql: &'c dyn Sql) -> BoxFuture<'c, StoreResult<T>>;
    /// A copy not yet run.
    fn again(&self) -> Body<T>;
}

impl<T, F> RunBody<T> for F
where
    F: for<'c> FnOnce(&'c dyn Sql) -> BoxFuture<'c, StoreResult<T>> + Clone + Send + 'static,
{
    fn run<'c>(self: Box<Self>, sql: &'c dyn Sql) -> BoxFuture<'c, StoreResult<T>> {
        (*self)(sql)
    }
    fn again(&self) -> Body<T> {
        Box::new(self.clone())
    }
}

/// `body(move |sql| Box::pin(async move { … }))`: the closure's signature told to the compiler.
pub(crate) fn body<T>(f: impl for<'c> FnOnce(&'c dyn Sql) -> BoxFuture<'c, StoreResult<T>> + Clone + Send + 'static) -> Body<T> {
    Box::new(f)
}

/// A write that may share a transaction with others (group commit: see `writer` and
/// `pg::writer`). Postgres may run it twice (its batch failed, or it lost a deadlock), so it
/// reads its input by reference.
pub(crate) type Batched<I, T> = Arc<dyn for<'c> Fn(&'c dyn Sql, &'c I) -> BoxFuture<'c, StoreResult<T>> + Send + Sync>;

/// `batched(|sql, input| Box::pin(async move { … }))`: the closure's signature told to the compiler.
pub(crate) fn batched<I, T>(f: impl for<'c> Fn(&'c dyn Sql, &'c I) -> BoxFuture<'c, StoreResult<T>> + Send + Sync + 'static) -> Batched<I, T> {
    Arc::new(f)
}

/// How a backend runs a body, and what bodies need of it besides SQL.
#[async_trait::async_trait]
pub(crate) trait RunSql: Send + Sync {
    /// Runs a body that only reads.
    async fn read<T: Send + 'static>(&self, body: Body<T>) -> StoreResult<T>;
    /// Runs a body that writes, in one transaction: all of it is stored, or none. On Postgres a
    /// body that loses a deadlock to another transaction runs again from a copy ([`RunBody`]).
    async fn write<T: Send + 'static>(&self, body: Body<T>) -> StoreResult<T>;
    /// Runs a write that comes at the rate of traffic in the next group commit.
    async fn write_batched<I: Send + Sync + 'static, T: Send + 'static>(&self, input: I, body: Batched<I, T>) -> StoreResult<T>;
    /// The key secrets are sealed with at rest.
    fn secrets(&self) -> &SecretBox;
    /// This node's name in claims; `None` on SQLite's one node, whose worker's list of sends in
    /// flight keeps a send from starting twice without a write.
    fn claiming_node(&self) -> Option<&str>;
}

#[async_trait::async_trait]
impl RunSql for Db {
    async fn read<T: Send + 'static>(&self, body: Body<T>) -> StoreResult<T> {
        self.off_worker(move |db| completed(body.run(&OnSqlite::new(&db.reader())))).await
    }

    async fn write<T: Send + 'static>(&self, body: Body<T>) -> StoreResult<T> {
        Db::write(self, move |tx| completed(body.run(&OnSqlite::new(tx)))).await
    }

    async fn write_batched<I: Send + Sync + 'static, T: Send + 'static>(&self, input: I, body: Batched<I, T>) -> StoreResult<T> {
        Db::write(self, move |tx| completed(body(&OnSqlite::new(tx), &input))).await
    }

    fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    fn claiming_node(&self) -> Option<&str> {
        None
    }

}

/// Extends this node's claims on the rows of `table` whose `key` is in `in_flight` to `lease`
/// from now (`only`: a further condition on the row, e.g. still pending); how many it still
/// held (fewer: another node took one over after this node failed to renew). SQLite's one node
/// claims nothing: every one is still its own.
pub(crate) async fn renew_claims(store: &impl RunSql, table: &'static str, key: &'static str, only: &'static str, in_flight: &[i64], lease: std::time::Duration) -> StoreResult<usize> {
    let Some(node) = store.claiming_node().map(str::to_owned) else { return Ok(in_flight.len()) };
    if in_flight.is_empty() {
        return Ok(0);
    }
    let in_flight = Ids::from(in_flight);
    store
        .write(body(move |sql| {
            Box::pin(async move {
                let renew = format!("UPDATE {table} SET claimed_until = $3 WHERE {} AND claimed_by = $2 {only}", sql.in_list(key, "$1"));
                Ok(sql.execute(&renew, &[&in_flight, &node, &(super::now_ms() + lease.as_millis() as i64)]).await? as usize)
            })
        }))
        .await
}

/// Runs a shared body on a SQLite connection the caller holds (a read that is one part of a
/// larger one on that connection).
pub(crate) fn on_sqlite<T>(conn: &rusqlite::Connection, body: impl for<'c> FnOnce(&'c dyn Sql) -> BoxFuture<'c, StoreResult<T>>) -> StoreResult<T> {
    completed(body(&OnSqlite::new(conn)))
}

/// The outcome of a body run on SQLite, whose calls never wait: it is complete at its first poll.
fn completed<T>(body: impl Future<Output = T>) -> T {
    match pin!(body).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => unreachable!("a body run on SQLite awaited something other than its connection"),
    }
}
