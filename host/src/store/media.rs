//! Attachments' files: which message and workspace each belongs to, whether its bytes are
//! stored (and what they are), and the durable fetch job of inbound ones (attempts, next try).
//! The bytes themselves are in `media::files`, by SHA-256.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::{Cached, Db, StoreResult, now_ms};

/// One file, as the API shows it beside its attachment.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct MediaFile {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    #[serde(skip)]
    pub channel_id: Option<String>,
    #[serde(skip)]
    pub message_id: Option<i64>,
    #[serde(skip)]
    pub position: i64,
    /// `pending` (being fetched), `stored`, or `failed` (see `error`).
    pub state: String,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    /// Sniffed from the bytes.
    pub mime_type: Option<String>,
    pub filename: Option<String>,
    /// Why the download failed for good, or (while pending) why the last try did not work.
    pub error: Option<String>,
    #[serde(skip)]
    pub attempts: u32,
    /// Where the people of its workspace get it (`GET`).
    pub url: String,
}

/// The columns a [`MediaFile`] is read from, in its order (the same in both dialects).
pub(crate) const MEDIA_COLUMNS: &str =
    "id, workspace_id, channel_id, message_id, position, state, sha256, size, mime_type, filename, error, attempts";

fn media_file(row: &Row<'_>) -> rusqlite::Result<MediaFile> {
    Ok(MediaFile {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        channel_id: row.get(2)?,
        message_id: row.get(3)?,
        position: row.get(4)?,
        state: row.get(5)?,
        sha256: row.get(6)?,
        size: row.get(7)?,
        mime_type: row.get(8)?,
        filename: row.get(9)?,
        error: row.get(10)?,
        attempts: row.get(11)?,
        url: media_url(row.get(0)?),
    })
}

/// Where the people of a file's workspace get it.
pub(crate) fn media_url(id: i64) -> String {
    format!("/api/v1/media/{id}")
}

/// What the stored bytes are.
#[derive(Debug, Clone)]
pub struct StoredBytes {
    pub sha256: String,
    pub size: i64,
    pub mime_type: String,
}

/// Queues the fetch of an inbound message's attachment (in the transaction that stores the
/// message, so a stored webhook never loses its files).
pub fn queue_fetch_in(conn: &Connection, channel_id: &str, message_id: i64, position: usize, filename: Option<&str>) -> StoreResult<i64> {
    let now = now_ms();
    conn.cached_execute(
        "INSERT INTO media (workspace_id, channel_id, message_id, position, state, filename, next_attempt_at, created_at, updated_at)
         SELECT workspace_id, id, ?2, ?3, 'pending', ?4, ?5, ?5, ?5 FROM channels WHERE id = ?1",
        params![channel_id, message_id, position as i64, filename, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records bytes the plugin handed over during the webhook call (`files.keep`) as an
/// attachment's file, already stored.
pub fn record_kept_in(conn: &Connection, channel_id: &str, message_id: i64, position: usize, filename: Option<&str>, bytes: &StoredBytes) -> StoreResult<i64> {
    let now = now_ms();
    conn.cached_execute(
        "INSERT INTO media (workspace_id, channel_id, message_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
         SELECT workspace_id, id, ?2, ?3, 'stored', ?4, ?5, ?6, ?7, ?8, ?8 FROM channels WHERE id = ?1",
        params![channel_id, message_id, position as i64, bytes.sha256, bytes.size, bytes.mime_type, filename, now],
    )?;
    let id = conn.last_insert_rowid();
    blob_in(conn, bytes)?;
    Ok(id)
}

fn blob_in(conn: &Connection, bytes: &StoredBytes) -> StoreResult<()> {
    conn.cached_execute(
        "INSERT OR IGNORE INTO media_blobs (sha256, size, created_at) VALUES (?1, ?2, ?3)",
        params![bytes.sha256, bytes.size, now_ms()],
    )?;
    Ok(())
}

impl Db {
    /// Fetches due now, oldest first.
    pub fn due_media(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<MediaFile>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {MEDIA_COLUMNS} FROM media WHERE state = 'pending' AND next_attempt_at <= ?1
               AND id NOT IN (SELECT value FROM json_each(?3))
             ORDER BY next_attempt_at, id LIMIT ?2"
        ))?;
        let in_flight = serde_json::to_string(in_flight).unwrap_or_else(|_| "[]".into());
        let rows = statement.query_map(params![now_ms(), limit, in_flight], media_file)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next fetch is due (ms), if any.
    pub fn next_media_at(&self) -> StoreResult<Option<i64>> {
        Ok(self.reader().cached_row("SELECT MIN(next_attempt_at) FROM media WHERE state = 'pending'", [], |row| row.get(0))?)
    }

    pub fn media_file(&self, id: i64) -> StoreResult<Option<MediaFile>> {
        Ok(self.reader().cached_row(&format!("SELECT {MEDIA_COLUMNS} FROM media WHERE id = ?1"), [id], media_file).optional()?)
    }

    /// The files of these messages, by message and position.
    pub fn media_of_messages(&self, message_ids: &[i64]) -> StoreResult<Vec<MediaFile>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {MEDIA_COLUMNS} FROM media WHERE message_id IN (SELECT value FROM json_each(?1)) ORDER BY message_id, position"
        ))?;
        let ids = serde_json::to_string(message_ids).unwrap_or_else(|_| "[]".into());
        let rows = statement.query_map([ids], media_file)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The bytes are in: the file is stored.
    pub async fn media_stored(&self, id: i64, bytes: StoredBytes) -> StoreResult<()> {
        self.write(move |c| {
            c.cached_execute(
                "UPDATE media SET state = 'stored', sha256 = ?2, size = ?3, mime_type = ?4, error = NULL, next_attempt_at = NULL, updated_at = ?5
                 WHERE id = ?1",
                params![id, bytes.sha256, bytes.size, bytes.mime_type, now_ms()],
            )?;
            blob_in(c, &bytes)
        })
        .await
    }

    /// A passing failure (or not ready at the provider): try again at `next_attempt_at`.
    /// `counted`: whether it was an attempt (not-ready is not).
    pub async fn media_retry(&self, id: i64, next_attempt_at: i64, reason: String, counted: bool) -> StoreResult<()> {
        self.write(move |c| {
            c.cached_execute(
                "UPDATE media SET attempts = attempts + ?4, next_attempt_at = ?2, error = ?3, updated_at = ?5 WHERE id = ?1",
                params![id, next_attempt_at, reason, i64::from(counted), now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// A permanent failure, with the reason people read.
    pub async fn media_failed(&self, id: i64, reason: String) -> StoreResult<()> {
        self.write(move |c| {
            c.cached_execute(
                "UPDATE media SET state = 'failed', error = ?2, next_attempt_at = NULL, attempts = attempts + 1, updated_at = ?3 WHERE id = ?1",
                params![id, reason, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// The attachment has no file after all: no row (it stays metadata only).
    pub async fn media_forget(&self, id: i64) -> StoreResult<()> {
        self.write(move |c| {
            c.cached_execute("DELETE FROM media WHERE id = ?1", [id])?;
            Ok(())
        })
        .await
    }

    /// A file an agent uploaded, not yet sent.
    pub async fn media_uploaded(&self, workspace_id: i64, filename: Option<String>, bytes: StoredBytes) -> StoreResult<i64> {
        self.write(move |c| {
            let now = now_ms();
            c.cached_execute(
                "INSERT INTO media (workspace_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
                 VALUES (?1, 0, 'stored', ?2, ?3, ?4, ?5, ?6, ?6)",
                params![workspace_id, bytes.sha256, bytes.size, bytes.mime_type, filename, now],
            )?;
            let id = c.last_insert_rowid();
            blob_in(c, &bytes)?;
            Ok(id)
        })
        .await
    }

    /// Uploads never sent before `uploaded_before` are dropped; then the stored bytes no file
    /// names any more (their channel, workspace or message was deleted) are forgotten here and
    /// returned, for their files to be deleted.
    pub fn orphaned_blobs(&self, uploaded_before: i64) -> StoreResult<Vec<String>> {
        let conn = self.conn();
        conn.cached_execute("DELETE FROM media WHERE message_id IS NULL AND channel_id IS NULL AND created_at < ?1", [uploaded_before])?;
        let mut statement = conn.prepare_cached(
            "DELETE FROM media_blobs WHERE sha256 NOT IN (SELECT sha256 FROM media WHERE sha256 IS NOT NULL) RETURNING sha256",
        )?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The uploaded file as the file of the outbound message that sends it (in the transaction
/// that queues the message). The upload stays: it may be sent again elsewhere.
pub fn send_upload_in(conn: &Connection, upload_id: i64, channel_id: &str, message_id: i64) -> StoreResult<()> {
    conn.cached_execute(
        "INSERT INTO media (workspace_id, channel_id, message_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
         SELECT workspace_id, ?2, ?3, 0, 'stored', sha256, size, mime_type, filename, ?4, ?4 FROM media WHERE id = ?1",
        params![upload_id, channel_id, message_id, now_ms()],
    )?;
    Ok(())
}
