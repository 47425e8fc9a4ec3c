//! Attachments over Postgres: their bytes by SHA-256 (what `media::pg_files` keeps for every
//! node), and their file rows and fetch jobs, the same rows as SQLite's. An outcome recorded for
//! a message's file is announced to every node in its transaction (`media`), as a stored
//! message is.

use tokio_postgres::Row;

use super::PgStore;
use crate::store::backend::MediaStore;
use crate::store::media::{MEDIA_COLUMNS, MediaFile, StoredBytes, media_url};
use crate::store::{StoreResult, now_ms};

impl PgStore {
    /// Keeps `bytes` as `sha256`; bytes already there stay as they are.
    pub async fn put_media_bytes(&self, sha256: &str, bytes: &[u8]) -> StoreResult<()> {
        self.client().await?.execute("INSERT INTO media_bytes (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING", &[&sha256, &bytes]).await?;
        Ok(())
    }

    /// How many bytes are stored as `sha256`, if any (without reading them).
    pub async fn media_bytes_len(&self, sha256: &str) -> StoreResult<Option<i64>> {
        let row = self.client().await?.query_opt("SELECT octet_length(bytes)::BIGINT FROM media_bytes WHERE sha256 = $1", &[&sha256]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn media_bytes(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = self.client().await?.query_opt("SELECT bytes FROM media_bytes WHERE sha256 = $1", &[&sha256]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn delete_media_bytes(&self, sha256: &str) -> StoreResult<()> {
        self.client().await?.execute("DELETE FROM media_bytes WHERE sha256 = $1", &[&sha256]).await?;
        Ok(())
    }

    /// Runs `sql`, a change to one file that returns its `message_id`, in a transaction that
    /// announces the change (see [`announce_media_in`]).
    async fn media_change(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let change = tx.prepare_cached(sql).await?;
        let message: Option<i64> = tx.query_opt(&change, params).await?.and_then(|row| row.get(0));
        announce_media_in(&tx, message).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A file's row, read as [`MEDIA_COLUMNS`] lists it (`position` and `attempts` are `INTEGER`).
pub(super) fn media_row(row: &Row) -> MediaFile {
    let id: i64 = row.get(0);
    MediaFile {
        id,
        workspace_id: row.get(1),
        channel_id: row.get(2),
        message_id: row.get(3),
        position: i64::from(row.get::<_, i32>(4)),
        state: row.get(5),
        sha256: row.get(6),
        size: row.get(7),
        mime_type: row.get(8),
        filename: row.get(9),
        error: row.get(10),
        attempts: u32::try_from(row.get::<_, i32>(11)).unwrap_or_default(),
        url: media_url(id),
    }
}

/// Records stored bytes' blob (once per SHA-256), in the transaction that names them.
pub(super) async fn blob_in<C: deadpool_postgres::GenericClient>(tx: &C, bytes: &StoredBytes, now: i64) -> StoreResult<()> {
    let blob = tx.prepare_cached("INSERT INTO media_blobs (sha256, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING").await?;
    tx.execute(&blob, &[&bytes.sha256, &bytes.size, &now]).await?;
    Ok(())
}

/// Announces a change of a message's file to every node with the commit (none for an upload,
/// which belongs to no message, or when the message is gone).
async fn announce_media_in(tx: &deadpool_postgres::Transaction<'_>, message_id: Option<i64>) -> StoreResult<()> {
    let Some(message_id) = message_id else { return Ok(()) };
    let of_message = tx.prepare_cached("SELECT channel_id, conversation_id FROM messages WHERE id = $1").await?;
    if let Some(row) = tx.query_opt(&of_message, &[&message_id]).await? {
        let (channel_id, conversation_id): (String, i64) = (row.get(0), row.get(1));
        super::live::announce(tx, "media", &channel_id, conversation_id, Some(message_id)).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MediaStore for PgStore {
    async fn due_media(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<MediaFile>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {MEDIA_COLUMNS} FROM media WHERE state = 'pending' AND next_attempt_at <= $1 AND id <> ALL($3)
                   AND (claimed_until IS NULL OR claimed_until < $1)
                 ORDER BY next_attempt_at, id LIMIT $2"
            ))
            .await?;
        Ok(client.query(&statement, &[&now_ms(), &i64::from(limit), &in_flight]).await?.iter().map(media_row).collect())
    }

    async fn claim_media(&self, id: i64, lease: std::time::Duration) -> StoreResult<bool> {
        let now = now_ms();
        let client = self.client().await?;
        // The condition is checked again on the row the UPDATE locked: one node of several wins.
        let claim = client
            .prepare_cached(
                "UPDATE media SET claimed_by = $2, claimed_until = $3
                 WHERE id = $1 AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < $4)",
            )
            .await?;
        Ok(client.execute(&claim, &[&id, &self.node, &(now + lease.as_millis() as i64), &now]).await? == 1)
    }

    async fn renew_media_claims(&self, in_flight: &[i64], lease: std::time::Duration) -> StoreResult<usize> {
        if in_flight.is_empty() {
            return Ok(0);
        }
        let until = now_ms() + lease.as_millis() as i64;
        let client = self.client().await?;
        let renew = client.prepare_cached("UPDATE media SET claimed_until = $3 WHERE id = ANY($1) AND claimed_by = $2 AND state = 'pending'").await?;
        Ok(client.execute(&renew, &[&in_flight, &self.node, &until]).await? as usize)
    }

    async fn next_media_at(&self) -> StoreResult<Option<i64>> {
        let row = self
            .client()
            .await?
            .query_one("SELECT MIN(GREATEST(next_attempt_at, COALESCE(claimed_until, 0))) FROM media WHERE state = 'pending'", &[])
            .await?;
        Ok(row.get(0))
    }

    async fn media_file(&self, id: i64) -> StoreResult<Option<MediaFile>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {MEDIA_COLUMNS} FROM media WHERE id = $1")).await?;
        Ok(client.query_opt(&statement, &[&id]).await?.as_ref().map(media_row))
    }

    async fn media_of_messages(&self, message_ids: &[i64]) -> StoreResult<Vec<MediaFile>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {MEDIA_COLUMNS} FROM media WHERE message_id = ANY($1) ORDER BY message_id, position")).await?;
        Ok(client.query(&statement, &[&message_ids]).await?.iter().map(media_row).collect())
    }

    async fn media_stored(&self, id: i64, bytes: StoredBytes) -> StoreResult<()> {
        let now = now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stored = tx
            .prepare_cached(
                "UPDATE media SET state = 'stored', sha256 = $2, size = $3, mime_type = $4, error = NULL, next_attempt_at = NULL, updated_at = $5,
                    claimed_by = NULL, claimed_until = NULL
                 WHERE id = $1 RETURNING message_id",
            )
            .await?;
        let message: Option<i64> = tx.query_opt(&stored, &[&id, &bytes.sha256, &bytes.size, &bytes.mime_type, &now]).await?.and_then(|row| row.get(0));
        blob_in(&tx, &bytes, now).await?;
        announce_media_in(&tx, message).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn media_retry(&self, id: i64, next_attempt_at: i64, reason: String, counted: bool) -> StoreResult<()> {
        self.media_change(
            "UPDATE media SET attempts = attempts + $4, next_attempt_at = $2, error = $3, updated_at = $5, claimed_by = NULL, claimed_until = NULL
             WHERE id = $1 RETURNING message_id",
            &[&id, &next_attempt_at, &reason, &i32::from(counted), &now_ms()],
        )
        .await
    }

    async fn media_failed(&self, id: i64, reason: String) -> StoreResult<()> {
        self.media_change(
            "UPDATE media SET state = 'failed', error = $2, next_attempt_at = NULL, attempts = attempts + 1, updated_at = $3,
                claimed_by = NULL, claimed_until = NULL
             WHERE id = $1 RETURNING message_id",
            &[&id, &reason, &now_ms()],
        )
        .await
    }

    async fn media_forget(&self, id: i64) -> StoreResult<()> {
        self.media_change("DELETE FROM media WHERE id = $1 RETURNING message_id", &[&id]).await
    }

    async fn media_uploaded(&self, workspace_id: i64, filename: Option<String>, bytes: StoredBytes) -> StoreResult<i64> {
        let now = now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let upload = tx
            .prepare_cached(
                "INSERT INTO media (workspace_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
                 VALUES ($1, 0, 'stored', $2, $3, $4, $5, $6, $6) RETURNING id",
            )
            .await?;
        let id: i64 = tx.query_one(&upload, &[&workspace_id, &bytes.sha256, &bytes.size, &bytes.mime_type, &filename, &now]).await?.get(0);
        blob_in(&tx, &bytes, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn orphaned_blobs(&self, uploaded_before: i64) -> StoreResult<Vec<String>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM media WHERE message_id IS NULL AND channel_id IS NULL AND created_at < $1", &[&uploaded_before]).await?;
        // Nodes sweeping at once: each blob is deleted, and returned, by one of them.
        let orphans = tx
            .query("DELETE FROM media_blobs WHERE sha256 NOT IN (SELECT sha256 FROM media WHERE sha256 IS NOT NULL) RETURNING sha256", &[])
            .await?;
        tx.commit().await?;
        Ok(orphans.iter().map(|row| row.get(0)).collect())
    }
}
