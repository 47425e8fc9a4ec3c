//! Attachments' file rows and their fetch jobs: each operation written once for both backends
//! (see `store::sql`; the row and its reader are in `store::media`, the bytes themselves in
//! `media::files`). A Postgres node claims a fetch for a lease, and a change to a message's file
//! is announced to every node with its commit.

use std::sync::Arc;
use std::time::Duration;

use crate::store::channels::of_bot;
use crate::store::media::{MEDIA_COLUMNS, blob_in, media_file, media_of_messages_in};
use crate::store::model::{MediaFile, StoredBytes};
use crate::store::row::ReadRow;
use crate::store::sql::{Ids, RunSql, Sql, body, renew_claims};
use crate::store::{Scope, StoreError, StoreResult, now_ms, storable};

#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    // The fetch jobs of inbound attachments.
    /// Fetches due now, oldest first, at most `limit`, leaving out `in_flight` (this node's)
    /// and what another node has claimed.
    async fn due_media(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<MediaFile>>;
    /// Claims a due fetch for this node for `lease` (renewed while the fetch runs): whether it
    /// got it. On SQLite, one node, always (its `in_flight` list keeps it from starting twice);
    /// on Postgres, nodes racing for one file: one of them. An outcome ends the claim.
    async fn claim_media(&self, id: i64, lease: Duration) -> StoreResult<bool>;
    /// Extends this node's claims on the fetches it is running by `lease` from now; how many it
    /// still held (fewer: another node took one over after this node failed to renew).
    async fn renew_media_claims(&self, in_flight: &[i64], lease: Duration) -> StoreResult<usize>;
    /// When the next fetch is due (ms), if any.
    async fn next_media_at(&self) -> StoreResult<Option<i64>>;
    /// A file, if it is in `scope`.
    async fn media_file(&self, id: i64, scope: Scope) -> StoreResult<Option<MediaFile>>;
    /// The files of these messages, by message and position.
    async fn media_of_messages(&self, message_ids: &[i64]) -> StoreResult<Vec<MediaFile>>;

    // A fetch's outcome.
    /// The bytes are in: the file is stored (and its blob recorded).
    async fn media_stored(&self, id: i64, bytes: StoredBytes) -> StoreResult<()>;
    /// A passing failure (or not ready at the provider): try again at `next_attempt_at`, with the
    /// reason shown meanwhile; `counted`: whether it was an attempt (not-ready is not).
    async fn media_retry(&self, id: i64, next_attempt_at: i64, reason: String, counted: bool) -> StoreResult<()>;
    /// A permanent failure, with the reason people read.
    async fn media_failed(&self, id: i64, reason: String) -> StoreResult<()>;
    /// The attachment has no file after all: its row goes (it stays metadata only).
    async fn media_forget(&self, id: i64) -> StoreResult<()>;

    // Uploads and clean-up.
    /// A file an agent uploaded, not yet sent; its id.
    async fn media_uploaded(&self, workspace_id: i64, filename: Option<String>, bytes: StoredBytes) -> StoreResult<i64>;
    /// Pins the blob of bytes about to be put: the sweep leaves it and its bytes alone until
    /// the file that names them is recorded (which takes the pin off), or until `until` (ms),
    /// should it never be. A put pins before it looks whether the bytes are there (see
    /// [`BlobBytes`]).
    async fn pin_blob(&self, bytes: &StoredBytes, until: i64) -> StoreResult<()>;
    /// Drops uploads never sent before `uploaded_before`, then the blobs no file names and no
    /// put has pinned, with their bytes (`bytes`, inside this write), and returns them.
    async fn sweep_media(&self, uploaded_before: i64, bytes: Arc<dyn BlobBytes>) -> StoreResult<Vec<String>>;
    /// Gives back a put's pin whose file was never recorded (the message it came with was
    /// refused): the blob, and its bytes (`bytes`, inside this write), go at once when nothing
    /// else names or pins it. Whether they went.
    async fn release_blob(&self, sha256: &str, bytes: Arc<dyn BlobBytes>) -> StoreResult<bool>;
}

/// Where a node keeps blobs' bytes, as the sweep drops them: within the sweep's own write, so a
/// put's pin (a write of its own, before the put looks for the bytes) comes wholly before the
/// sweep, which then keeps the blob, or wholly after it, and the put finds the bytes gone and
/// writes them again. Dropped after that write instead, bytes a put had just found present could
/// go from under the file that names them. (On Postgres the bytes are rows that go with their
/// blob's row, by a trigger; what is dropped here is a node's copy.)
pub trait BlobBytes: Send + Sync {
    /// Drops the bytes of `sha256`, if there are any.
    fn drop_bytes(&self, sha256: &str) -> std::io::Result<()>;
}

#[async_trait::async_trait]
impl<S: RunSql> MediaStore for S {
    async fn due_media(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<MediaFile>> {
        let in_flight = Ids::from(in_flight);
        self.read(body(move |sql| {
            Box::pin(async move {
                let due = format!(
                    "SELECT {MEDIA_COLUMNS} FROM media WHERE state = 'pending' AND next_attempt_at <= $1 AND {}
                       AND (claimed_until IS NULL OR claimed_until < $1)
                     ORDER BY next_attempt_at, id LIMIT $2",
                    sql.not_in_list("id", "$3")
                );
                Ok(sql.rows(&due, &[&now_ms(), &i64::from(limit), &in_flight]).await?.iter().map(media_file).collect())
            })
        }))
        .await
    }

    async fn claim_media(&self, id: i64, lease: Duration) -> StoreResult<bool> {
        // One node claims nothing: its `in_flight` list keeps a fetch from starting twice.
        let Some(node) = self.claiming_node().map(str::to_owned) else { return Ok(true) };
        self.write(body(move |sql| {
            Box::pin(async move {
                let now = now_ms();
                // The condition is checked again on the row the UPDATE locked: one node of several wins.
                let claimed = sql
                    .execute(
                        "UPDATE media SET claimed_by = $2, claimed_until = $3
                         WHERE id = $1 AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < $4)",
                        &[&id, &node, &(now + lease.as_millis() as i64), &now],
                    )
                    .await?;
                Ok(claimed == 1)
            })
        }))
        .await
    }

    async fn renew_media_claims(&self, in_flight: &[i64], lease: Duration) -> StoreResult<usize> {
        renew_claims(self, "media", "id", "AND state = 'pending'", in_flight, lease).await
    }

    async fn next_media_at(&self) -> StoreResult<Option<i64>> {
        self.read(body(|sql| {
            Box::pin(async move {
                // A claimed fetch is due again when its claim lapses.
                let next = sql
                    .row("SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END) FROM media WHERE state = 'pending'", &[])
                    .await?;
                Ok(next.and_then(|row| row.opt_int(0)))
            })
        }))
        .await
    }

    async fn media_file(&self, id: i64, scope: Scope) -> StoreResult<Option<MediaFile>> {
        self.read(body(move |sql| {
            Box::pin(async move {
                // A bot's: only the files of its channels' messages (an upload has no channel).
                let file = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id) AND {}", of_bot("channel_id", 3));
                Ok(sql.row(&file, &[&id, &scope.workspace(), &scope.bot()]).await?.as_ref().map(media_file))
            })
        }))
        .await
    }

    async fn media_of_messages(&self, message_ids: &[i64]) -> StoreResult<Vec<MediaFile>> {
        let message_ids = Ids::from(message_ids);
        self.read(body(move |sql| Box::pin(async move { media_of_messages_in(sql, &message_ids).await }))).await
    }

    async fn media_stored(&self, id: i64, bytes: StoredBytes) -> StoreResult<()> {
        self.write(body(move |sql| {
            Box::pin(async move {
                let stored = "UPDATE media SET state = 'stored', sha256 = $2, size = $3, mime_type = $4, error = NULL, next_attempt_at = NULL, updated_at = $5,
                                  claimed_by = NULL, claimed_until = NULL
                              WHERE id = $1 RETURNING message_id";
                let message = sql.row(stored, &[&id, &bytes.sha256, &bytes.size, &bytes.mime_type, &now_ms()]).await?;
                blob_in(sql, &bytes).await?;
                announce_media_in(sql, message.and_then(|row| row.opt_int(0))).await
            })
        }))
        .await
    }

    async fn media_retry(&self, id: i64, next_attempt_at: i64, reason: String, counted: bool) -> StoreResult<()> {
        let reason = storable(&reason);
        self.write(body(move |sql| {
            Box::pin(async move {
                // Only a file still pending: a node whose claim lapsed reports late, after
                // another node stored the file (so does `media_failed`).
                let retry = "UPDATE media SET attempts = attempts + $4, next_attempt_at = $2, error = $3, updated_at = $5, claimed_by = NULL, claimed_until = NULL
                             WHERE id = $1 AND state = 'pending' RETURNING message_id";
                let message = sql.row(retry, &[&id, &next_attempt_at, &reason, &i32::from(counted), &now_ms()]).await?;
                announce_media_in(sql, message.and_then(|row| row.opt_int(0))).await
            })
        }))
        .await
    }

    async fn media_failed(&self, id: i64, reason: String) -> StoreResult<()> {
        let reason = storable(&reason);
        self.write(body(move |sql| {
            Box::pin(async move {
                let failed = "UPDATE media SET state = 'failed', error = $2, next_attempt_at = NULL, attempts = attempts + 1, updated_at = $3,
                                  claimed_by = NULL, claimed_until = NULL
                              WHERE id = $1 AND state = 'pending' RETURNING message_id";
                let message = sql.row(failed, &[&id, &reason, &now_ms()]).await?;
                announce_media_in(sql, message.and_then(|row| row.opt_int(0))).await
            })
        }))
        .await
    }

    async fn media_forget(&self, id: i64) -> StoreResult<()> {
        self.write(body(move |sql| {
            Box::pin(async move {
                let message = sql.row("DELETE FROM media WHERE id = $1 RETURNING message_id", &[&id]).await?;
                announce_media_in(sql, message.and_then(|row| row.opt_int(0))).await
            })
        }))
        .await
    }

    async fn media_uploaded(&self, workspace_id: i64, filename: Option<String>, bytes: StoredBytes) -> StoreResult<i64> {
        self.write(body(move |sql| {
            Box::pin(async move {
                let upload = "INSERT INTO media (workspace_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
                              VALUES ($1, 0, 'stored', $2, $3, $4, $5, $6, $6) RETURNING id";
                let id = sql.row(upload, &[&workspace_id, &bytes.sha256, &bytes.size, &bytes.mime_type, &filename, &now_ms()]).await?.expect("an insert returns its row").int(0);
                blob_in(sql, &bytes).await?;
                Ok(id)
            })
        }))
        .await
    }

    async fn pin_blob(&self, bytes: &StoredBytes, until: i64) -> StoreResult<()> {
        let bytes = bytes.clone();
        self.write(body(move |sql| {
            Box::pin(async move {
                // On Postgres, a blob the sweep is deleting holds this upsert until it commits;
                // then the row is inserted anew. Pins lapsed (their puts never recorded) count no more.
                let pin = "INSERT INTO media_blobs (sha256, size, created_at, pins, pinned_until) VALUES ($1, $2, $3, 1, $4)
                           ON CONFLICT (sha256) DO UPDATE SET pinned_until = excluded.pinned_until,
                               pins = CASE WHEN media_blobs.pinned_until < excluded.created_at THEN 1 ELSE media_blobs.pins + 1 END";
                sql.execute(pin, &[&bytes.sha256, &bytes.size, &now_ms(), &until]).await?;
                Ok(())
            })
        }))
        .await
    }

    async fn sweep_media(&self, uploaded_before: i64, bytes: Arc<dyn BlobBytes>) -> StoreResult<Vec<String>> {
        self.write(body(move |sql| {
            Box::pin(async move {
                sql.execute("DELETE FROM media WHERE message_id IS NULL AND channel_id IS NULL AND created_at < $1", &[&uploaded_before]).await?;
                // The candidates are locked first (Postgres; SQLite's one writer takes turns
                // anyway), then each is deleted by a statement of its own, whose fresh snapshot
                // sees every pin and file recorded before the lock was had: a statement's
                // subquery keeps the snapshot it started with, and would miss a file recorded
                // while it waited. A pin or record after the lock waits for this write.
                let candidates = format!(
                    "SELECT sha256 FROM media_blobs WHERE (pins = 0 OR pinned_until < $1)
                       AND NOT EXISTS (SELECT 1 FROM media WHERE media.sha256 = media_blobs.sha256) ORDER BY sha256{}",
                    if sql.is_postgres() { " FOR UPDATE" } else { "" }
                );
                let now = now_ms();
                let candidates: Vec<String> = sql.rows(&candidates, &[&now]).await?.iter().map(|row| row.text(0)).collect();
                // Nodes sweeping at once: each blob is deleted, and returned, by one of them.
                let mut orphans = Vec::new();
                for sha256 in candidates {
                    if sql.row(DELETE_ORPHAN_BLOB, &[&sha256, &now]).await?.is_some() {
                        orphans.push(sha256);
                    }
                }
                for sha256 in &orphans {
                    // Failing, the whole sweep rolls back; bytes dropped before it are found
                    // missing by the next put, which writes them again.
                    bytes.drop_bytes(sha256).map_err(|e| StoreError::NotCommitted(format!("dropping the bytes of {sha256}: {e}")))?;
                }
                Ok(orphans)
            })
        }))
        .await
    }

    async fn release_blob(&self, sha256: &str, bytes: Arc<dyn BlobBytes>) -> StoreResult<bool> {
        let sha256 = sha256.to_owned();
        self.write(body(move |sql| {
            Box::pin(async move {
                let unpin = "UPDATE media_blobs SET pins = CASE WHEN pins > 0 THEN pins - 1 ELSE 0 END WHERE sha256 = $1";
                sql.execute(unpin, &[&sha256]).await?;
                if sql.row(DELETE_ORPHAN_BLOB, &[&sha256, &now_ms()]).await?.is_none() {
                    return Ok(false);
                }
                bytes.drop_bytes(&sha256).map_err(|e| StoreError::NotCommitted(format!("dropping the bytes of {sha256}: {e}")))?;
                Ok(true)
            })
        }))
        .await
    }
}

/// A blob no file names and no put pins, deleted (by one of the nodes trying at once).
const DELETE_ORPHAN_BLOB: &str = "DELETE FROM media_blobs WHERE sha256 = $1 AND (pins = 0 OR pinned_until < $2)
     AND NOT EXISTS (SELECT 1 FROM media WHERE media.sha256 = media_blobs.sha256) RETURNING sha256";

/// Announces a change of a message's file to every node with the commit (Postgres; none for an
/// upload, which belongs to no message, or when the message is gone).
async fn announce_media_in(sql: &dyn Sql, message_id: Option<i64>) -> StoreResult<()> {
    let Some(message_id) = message_id.filter(|_| sql.is_postgres()) else { return Ok(()) };
    if let Some(row) = sql.row("SELECT channel_id, conversation_id FROM messages WHERE id = $1", &[&message_id]).await? {
        crate::store::pg::live::announce_in(sql, "media", &row.text(0), row.int(1), Some(message_id)).await?;
    }
    Ok(())
}
