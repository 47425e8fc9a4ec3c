//! One schema, checked: the SQLite migrations and the Postgres ones, applied to fresh
//! databases, describe the same tables, columns (by type family), primary keys, unique keys,
//! foreign keys and indexes. A difference fails with the name of what differs; what only one
//! deployment has on purpose is listed in [`ONLY_ONE_DEPLOYMENT`], each with why.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use support::postgres::Postgres;
use switchboard::store::pg::PgStore;
use switchboard::store::{Db, SecretBox};

/// What one deployment has and the other must not need: `table` or `table.column`.
const ONLY_ONE_DEPLOYMENT: &[(&str, &str)] = &[
    // Search: SQLite's FTS5 table (and its shadow tables) against Postgres's tsvector column.
    ("message_text", "SQLite: full-text search (FTS5)"),
    ("message_text_config", "SQLite: FTS5 shadow table"),
    ("message_text_data", "SQLite: FTS5 shadow table"),
    ("message_text_docsize", "SQLite: FTS5 shadow table"),
    ("message_text_idx", "SQLite: FTS5 shadow table"),
    ("message_text_waiting", "SQLite: message text the writer indexes at its batch's end"),
    ("messages.text_search", "Postgres: full-text search (tsvector)"),
    // Several nodes: what one node keeps in its data dir or its memory, nodes share here.
    ("schema_versions", "Postgres: which node applied each migration (SQLite: user_version)"),
    ("plugin_components", "Postgres: installed components, shared by every node"),
    ("plugin_removals", "Postgres: removals a node that was down must learn"),
    ("media_bytes", "Postgres: files' bytes, shared by every node"),
    ("rate_limits", "Postgres: the website chat's request budgets, shared by every node"),
];

#[derive(Debug, Default, PartialEq)]
struct Table {
    /// Column → type family.
    columns: BTreeMap<String, &'static str>,
    primary_key: Vec<String>,
    /// Column lists of unique constraints and unique indexes (a partial one marked).
    unique: BTreeSet<Vec<String>>,
    /// (columns, referenced table, referenced columns).
    foreign_keys: BTreeSet<(Vec<String>, String, Vec<String>)>,
    /// Column lists of the other indexes (an expression written `<expression>`).
    indexes: BTreeSet<Vec<String>>,
}

type Schema = BTreeMap<String, Table>;

/// SQLite keeps booleans as integers and JSON as text: families, not names, must agree.
fn family(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    match () {
        _ if t.contains("int") || t == "boolean" => "integer",
        _ if t.contains("char") || t.contains("text") || t.contains("clob") || t == "json" || t == "jsonb" => "text",
        _ if t.contains("blob") || t == "bytea" => "blob",
        _ if t.contains("real") || t.contains("floa") || t.contains("doub") => "real",
        _ => "other",
    }
}

/// An index's column as both deployments can say it: a name; a case-insensitive one (SQLite's
/// `COLLATE NOCASE`, Postgres's `lower(name)`) marked so; any other expression `<expression>`.
fn index_column(column: Option<String>, nocase: bool) -> String {
    let plain = |name: &str| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match column.map(|c| c.trim_matches('"').to_owned()) {
        Some(name) if plain(&name) && nocase => format!("{name} (case-insensitive)"),
        Some(name) if plain(&name) => name,
        Some(expression) => match expression.strip_prefix("lower(").and_then(|e| e.strip_suffix(')')).map(|e| e.trim_matches('"')) {
            Some(name) if plain(name) => format!("{name} (case-insensitive)"),
            _ => "<expression>".into(),
        },
        None => "<expression>".into(),
    }
}

fn sqlite_schema(path: &std::path::Path) -> Schema {
    let conn = rusqlite::Connection::open(path).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut schema = Schema::new();
    for name in names {
        let mut table = Table::default();
        let mut key: Vec<(i64, String)> = Vec::new();
        let mut columns = conn.prepare(&format!("PRAGMA table_info(\"{name}\")")).unwrap();
        for row in columns.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(5)?))).unwrap() {
            let (column, declared, pk) = row.unwrap();
            if pk > 0 {
                key.push((pk, column.clone()));
            }
            table.columns.insert(column, family(&declared));
        }
        key.sort();
        table.primary_key = key.into_iter().map(|(_, c)| c).collect();
        let mut foreign = conn.prepare(&format!("PRAGMA foreign_key_list(\"{name}\")")).unwrap();
        let mut by_id: BTreeMap<i64, (Vec<String>, String, Vec<String>)> = BTreeMap::new();
        for row in foreign.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, Option<String>>(4)?))).unwrap() {
            let (id, referenced, from, to) = row.unwrap();
            let entry = by_id.entry(id).or_insert_with(|| (Vec::new(), referenced, Vec::new()));
            entry.0.push(from);
            entry.2.push(to.unwrap_or_default());
        }
        table.foreign_keys = by_id.into_values().collect();
        let mut indexes = conn.prepare(&format!("PRAGMA index_list(\"{name}\")")).unwrap();
        let listed: Vec<(String, bool, String, bool)> = indexes
            .query_map([], |r| Ok((r.get(1)?, r.get::<_, i64>(2)? == 1, r.get(3)?, r.get::<_, i64>(4)? == 1)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (index, unique, origin, partial) in listed {
            if origin == "pk" {
                continue;
            }
            // index_xinfo: the key columns (`key` = 1) with their collation.
            let mut info = conn.prepare(&format!("PRAGMA index_xinfo(\"{index}\")")).unwrap();
            let mut columns: Vec<String> = info
                .query_map([], |r| Ok((r.get::<_, Option<String>>(2)?, r.get::<_, Option<String>>(4)?, r.get::<_, i64>(5)?)))
                .unwrap()
                .map(Result::unwrap)
                .filter(|(_, _, key)| *key == 1)
                .map(|(column, collation, _)| index_column(column, collation.is_some_and(|c| c.eq_ignore_ascii_case("nocase"))))
                .collect();
            if partial {
                columns.push("<partial>".into());
            }
            if unique { table.unique.insert(columns) } else { table.indexes.insert(columns) };
        }
        schema.insert(name, table);
    }
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let mut schema = Schema::new();
    for row in client
        .query("SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'public'", &[])
        .await
        .unwrap()
    {
        let table = schema.entry(row.get(0)).or_default();
        table.columns.insert(row.get(1), family(row.get::<_, &str>(2)));
    }
    let constraints = "SELECT c.conrelid::regclass::text, c.contype::text,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
            CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text ELSE '' END,
            ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f')";
    for row in client.query(constraints, &[]).await.unwrap() {
        let table = schema.entry(row.get(0)).or_default();
        let columns: Vec<String> = row.get(2);
        match row.get::<_, &str>(1) {
            "p" => table.primary_key = columns,
            "u" => {
                table.unique.insert(columns);
            }
            _ => {
                table.foreign_keys.insert((columns, row.get(3), row.get(4)));
            }
        }
    }
    let indexes = "SELECT t.relname::text, ix.indisunique, ix.indpred IS NOT NULL,
            ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k + 1, true) FROM generate_subscripts(ix.indkey, 1) k ORDER BY k)
        FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)";
    for row in client.query(indexes, &[]).await.unwrap() {
        let table = schema.entry(row.get(0)).or_default();
        let mut columns: Vec<String> = row.get::<_, Vec<String>>(3).into_iter().map(|c| index_column(Some(c), false)).collect();
        if row.get::<_, bool>(2) {
            columns.push("<partial>".into());
        }
        if row.get::<_, bool>(1) { table.unique.insert(columns) } else { table.indexes.insert(columns) };
    }
    schema
}

fn only_one_deployment(name: &str) -> bool {
    ONLY_ONE_DEPLOYMENT.iter().any(|(n, _)| *n == name)
}

/// Every difference, named: `table`, `table.column`, `table: primary key`, ...
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    let names: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for name in names {
        let (Some(a), Some(b)) = (sqlite.get(name), postgres.get(name)) else {
            if !only_one_deployment(name) {
                let side = if sqlite.contains_key(name) { "SQLite" } else { "Postgres" };
                found.push(format!("table {name}: only on {side}"));
            }
            continue;
        };
        let columns: BTreeSet<&String> = a.columns.keys().chain(b.columns.keys()).collect();
        for column in columns {
            let qualified = format!("{name}.{column}");
            match (a.columns.get(column), b.columns.get(column)) {
                (Some(x), Some(y)) if x != y => found.push(format!("column {qualified}: {x} on SQLite, {y} on Postgres")),
                (Some(_), Some(_)) => {}
                _ if only_one_deployment(&qualified) => {}
                (Some(_), None) => found.push(format!("column {qualified}: only on SQLite")),
                _ => found.push(format!("column {qualified}: only on Postgres")),
            }
        }
        if a.primary_key != b.primary_key {
            found.push(format!("table {name}: primary key {:?} on SQLite, {:?} on Postgres", a.primary_key, b.primary_key));
        }
        // An index on a column only one deployment has is that deployment's own.
        let on_both = |columns: &&Vec<String>| !columns.iter().any(|c| only_one_deployment(&format!("{name}.{c}")));
        for (what, x, y) in [("unique key", &a.unique, &b.unique), ("index", &a.indexes, &b.indexes)] {
            for columns in x.symmetric_difference(y).filter(on_both) {
                let side = if x.contains(columns) { "SQLite" } else { "Postgres" };
                found.push(format!("table {name}: {what} on {columns:?} only on {side}"));
            }
        }
        for key in a.foreign_keys.symmetric_difference(&b.foreign_keys) {
            let side = if a.foreign_keys.contains(key) { "SQLite" } else { "Postgres" };
            found.push(format!("table {name}: foreign key {:?} -> {}{:?} only on {side}", key.0, key.1, key.2));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_and_postgres_migrations_describe_the_same_tables_keys_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    drop(Db::open(dir.path()).unwrap());
    let sqlite = sqlite_schema(&dir.path().join("switchboard.db"));

    let postgres = Postgres::start();
    let url = postgres.create_database("schema");
    let secrets = Arc::new(SecretBox::load_or_create(&dir.path().join("secret.key")).unwrap());
    drop(PgStore::connect(&url, &secrets, "schema-check").await.unwrap());
    let pg = postgres_schema(&url).await;

    assert!(sqlite.len() > 20 && pg.len() > 20, "both schemas were read: {} and {} tables", sqlite.len(), pg.len());
    let found = differences(&sqlite, &pg);
    assert!(found.is_empty(), "the two schemas differ:\n  {}", found.join("\n  "));
    // The list of intended differences names only what exists: nothing stale hides in it.
    for (name, why) in ONLY_ONE_DEPLOYMENT {
        let (table, column) = name.split_once('.').map_or((*name, None), |(t, c)| (t, Some(c)));
        let exists = |schema: &Schema| schema.get(table).is_some_and(|t| column.is_none_or(|c| t.columns.contains_key(c)));
        assert!(exists(&sqlite) != exists(&pg), "{name} ({why}) is listed as on one deployment only, but is on {}", if exists(&sqlite) { "both" } else { "neither" });
    }
}
