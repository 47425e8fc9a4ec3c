//! The secret key: checked at start (a data dir opened with another key refuses to start,
//! saying so, instead of failing on the first secret it reads), and rotated.
//!
//! Rotation, while serving: a new key is written beside the old (`secret.key.next`); then,
//! holding the one connection, the new key becomes current and every sealed value in every
//! table (whole values, and sealed strings inside JSON such as channel settings) is opened and
//! sealed again, with the key check, in one transaction; then the new file replaces
//! `secret.key`. A crash before the commit leaves the old key in force (the next file is
//! removed at start); after it, the start finds the next file opening the key check and
//! finishes the swap. Values sealed by a request that raced the swap are re-sealed by
//! [`Db::reseal_stragglers`], which the server runs again a moment later.

use std::path::Path;

use rusqlite::{OptionalExtension, Transaction};

use super::secrets::{SecretBox, write_private};
use super::{Db, StoreResult};

const KEY_CHECK: &str = "key_check";
const SEAL_PREFIX: &str = "sealed:";

pub fn key_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("secret.key")
}

fn next_key_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("secret.key.next")
}

/// Before opening the database: finishes a rotation that committed but did not swap the key
/// files, or forgets one that did not commit. `opens` says whether a key opens the database.
pub(super) fn recover_rotation(data_dir: &Path, opens: impl Fn(&SecretBox) -> bool) -> anyhow::Result<()> {
    let next = next_key_path(data_dir);
    if !next.exists() {
        return Ok(());
    }
    let next_box = SecretBox::load_or_create(&next)?;
    if opens(&next_box) {
        std::fs::rename(&next, key_path(data_dir))?;
        tracing::warn!("finished a secret-key rotation that was interrupted after its commit");
    } else {
        std::fs::remove_file(&next)?;
        tracing::warn!("dropped the new key of a secret-key rotation that did not commit; the old key stays");
    }
    Ok(())
}

impl Db {
    /// Whether the key check opens with `secrets` (no check yet: true).
    pub(super) fn key_opens(conn: &rusqlite::Connection, secrets: &SecretBox) -> StoreResult<bool> {
        let check: Option<String> = conn.query_row("SELECT value FROM store_meta WHERE key = ?1", [KEY_CHECK], |r| r.get(0)).optional()?;
        Ok(check.is_none_or(|sealed| secrets.open(&sealed).is_ok()))
    }

    /// At start: refuses a key that does not open the key check; writes the check once (a
    /// database from before it is checked against one of its sealed values first).
    pub(super) fn check_key(conn: &rusqlite::Connection, secrets: &SecretBox, key_file: &Path) -> anyhow::Result<()> {
        let wrong_key = || {
            anyhow::anyhow!(
                "{} is not the key this database's secrets were sealed with: restore the key that belongs to it \
                 (a backup's FILE.key), or the data dir's own",
                key_file.display()
            )
        };
        let check: Option<String> = conn.query_row("SELECT value FROM store_meta WHERE key = ?1", [KEY_CHECK], |r| r.get(0)).optional()?;
        match check {
            Some(sealed) => secrets.open(&sealed).map(|_| ()).map_err(|_| wrong_key()),
            None => {
                let sample: Option<String> = conn.query_row("SELECT webhook_secret FROM channels LIMIT 1", [], |r| r.get(0)).optional()?;
                if sample.is_some_and(|sealed| secrets.open(&sealed).is_err()) {
                    return Err(wrong_key());
                }
                conn.execute("INSERT INTO store_meta (key, value) VALUES (?1, ?2)", [KEY_CHECK, &secrets.seal("switchboard")])?;
                Ok(())
            }
        }
    }

    /// Rotates the secret key of `data_dir` (this database's): returns how many sealed values
    /// were sealed again.
    /// The connection is held from before the next key's file is written until it replaced
    /// `secret.key`: two rotations at once take turns. (Each wrote the shared next file before
    /// its turn: the first to commit renamed the other's key into place, and the second then
    /// sealed everything under a key no file kept, so the next start refused every secret.)
    pub fn rotate_secrets(&self, data_dir: &Path) -> anyhow::Result<usize> {
        let mut conn = self.conn();
        let key = SecretBox::new_key();
        let next = next_key_path(data_dir);
        let _ = std::fs::remove_file(&next);
        write_private(&next, &key)?;
        let tx = conn.transaction()?;
        self.secrets.rotate_to(&key);
        let resealed = match reseal_all(&tx, &self.secrets, false) {
            Ok(count) => count,
            Err(error) => {
                drop(tx);
                let _ = std::fs::remove_file(&next);
                return Err(anyhow::anyhow!("the rotation stopped, nothing changed on disk: {error}"));
            }
        };
        tx.execute("INSERT INTO store_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [
            KEY_CHECK,
            &self.secrets.seal("switchboard"),
        ])?;
        tx.commit()?;
        std::fs::rename(&next, key_path(data_dir))?;
        if let Ok(dir) = std::fs::File::open(data_dir) {
            let _ = dir.sync_all();
        }
        drop(conn);
        tracing::warn!(resealed, "secret key rotated");
        Ok(resealed)
    }

    /// Seals again what is still sealed with a retired key (a write that raced a rotation).
    pub fn reseal_stragglers(&self) -> StoreResult<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let count = reseal_all(&tx, &self.secrets, true)?;
        tx.commit()?;
        Ok(count)
    }
}

/// Every text column of every table, row by row: sealed values (whole, or strings inside a
/// JSON value) opened and sealed with the current key. `only_stale`: skip what the current
/// key already opens.
fn reseal_all(tx: &Transaction<'_>, secrets: &SecretBox, only_stale: bool) -> StoreResult<usize> {
    let tables: Vec<String> = {
        // Ordinary tables only: a full-text index (virtual, and its shadow tables) holds copies
        // of message text, never a sealed value.
        let mut statement = tx.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'")?;
        statement.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
    };
    let mut count = 0;
    for table in tables {
        let columns: Vec<String> = {
            let mut statement = tx.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
            statement.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        for column in columns {
            let rows: Vec<(i64, String)> = {
                let sql = format!("SELECT rowid, \"{column}\" FROM \"{table}\" WHERE typeof(\"{column}\") = 'text' AND instr(\"{column}\", '{SEAL_PREFIX}') > 0");
                let mut statement = tx.prepare(&sql)?;
                statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
            };
            for (rowid, value) in rows {
                if let Some(resealed) = reseal_value(secrets, &value, only_stale)? {
                    tx.execute(&format!("UPDATE \"{table}\" SET \"{column}\" = ?1 WHERE rowid = ?2"), rusqlite::params![resealed, rowid])?;
                    count += 1;
                }
            }
        }
    }
    Ok(count)
}

/// The value with its sealed parts sealed again (`None`: nothing to change).
fn reseal_value(secrets: &SecretBox, value: &str, only_stale: bool) -> StoreResult<Option<String>> {
    let again = |sealed: &str| -> StoreResult<Option<String>> {
        if only_stale && secrets.is_current(sealed) {
            return Ok(None);
        }
        Ok(Some(secrets.seal(&secrets.open(sealed)?)))
    };
    if SecretBox::is_sealed(value) {
        return again(value);
    }
    let Ok(mut json) = serde_json::from_str::<serde_json::Value>(value) else { return Ok(None) };
    let mut changed = false;
    let mut stack = vec![&mut json];
    while let Some(node) = stack.pop() {
        match node {
            serde_json::Value::String(text) if SecretBox::is_sealed(text) => {
                if let Some(resealed) = again(text)? {
                    *text = resealed;
                    changed = true;
                }
            }
            serde_json::Value::Array(items) => stack.extend(items.iter_mut()),
            serde_json::Value::Object(map) => stack.extend(map.values_mut()),
            _ => {}
        }
    }
    Ok(changed.then(|| json.to_string()))
}

#[cfg(test)]
mod tests {
    use crate::store::backend::ChannelStore;
    use crate::store::block_on;
    use super::*;

    #[test]
    fn an_interrupted_rotation_is_finished_or_forgotten_at_start_and_nothing_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = block_on(db.create_channel(1, "telegram", "Toko", &[])).unwrap();
        block_on(db.state_set(&channel.id, "token", "rahasia")).unwrap();
        let old_key = std::fs::read(key_path(dir.path())).unwrap();
        assert!(db.rotate_secrets(dir.path()).unwrap() >= 2);
        drop(db);

        // Committed, but the process died before the key files were swapped.
        std::fs::rename(key_path(dir.path()), next_key_path(dir.path())).unwrap();
        std::fs::write(key_path(dir.path()), &old_key).unwrap();
        let db = Db::open(dir.path()).expect("the start finishes the swap");
        assert_eq!(block_on(db.state_get(&channel.id, "token")).unwrap().as_deref(), Some("rahasia"));
        assert!(!next_key_path(dir.path()).exists());
        drop(db);

        // A new key written, the process died before the commit: the old key stays.
        std::fs::write(next_key_path(dir.path()), SecretBox::new_key()).unwrap();
        let db = Db::open(dir.path()).expect("the start drops the uncommitted key");
        assert_eq!(block_on(db.state_get(&channel.id, "token")).unwrap().as_deref(), Some("rahasia"));
        assert!(!next_key_path(dir.path()).exists());
    }

    #[test]
    fn rotations_at_once_take_turns_and_the_key_kept_opens_every_secret() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let channel = block_on(db.create_channel(1, "telegram", "Toko", &[])).unwrap();
        block_on(db.state_set(&channel.id, "token", "rahasia")).unwrap();
        for _ in 0..5 {
            let rotations: Vec<_> = (0..3)
                .map(|_| {
                    let (db, dir) = (db.clone(), dir.path().to_path_buf());
                    std::thread::spawn(move || db.rotate_secrets(&dir).map(|_| ()).map_err(|e| e.to_string()))
                })
                .collect();
            for rotation in rotations {
                rotation.join().unwrap().expect("each rotation is made");
            }
        }
        drop(db);
        let db = Db::open(dir.path()).expect("the key file kept opens the database");
        assert_eq!(block_on(db.state_get(&channel.id, "token")).unwrap().as_deref(), Some("rahasia"));
    }
}
