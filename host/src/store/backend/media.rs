//! Attachments' file rows and their fetch jobs, on either backend (the bytes themselves are in
//! `media::files`).

use crate::store::media::{MediaFile, StoredBytes};
use crate::store::{Db, StoreResult};

#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    // The fetch jobs of inbound attachments.
    /// Fetches due now, oldest first, at most `limit`, leaving out `in_flight` (this node's)
    /// and what another node has claimed.
    async fn due_media(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<MediaFile>>;
    /// Claims a due fetch for this node for `lease` (renewed while the fetch runs): whether it
    /// got it. On SQLite, one node, always (its `in_flight` list keeps it from starting twice);
    /// on Postgres, nodes racing for one file: one of them. An outcome ends the claim.
    async fn claim_media(&self, id: i64, lease: std::time::Duration) -> StoreResult<bool>;
    /// Extends this node's claims on the fetches it is running by `lease` from now; how many it
    /// still held (fewer: another node took one over after this node failed to renew).
    async fn renew_media_claims(&self, in_flight: &[i64], lease: std::time::Duration) -> StoreResult<usize>;
    /// When the next fetch is due (ms), if any.
    async fn next_media_at(&self) -> StoreResult<Option<i64>>;
    async fn media_file(&self, id: i64) -> StoreResult<Option<MediaFile>>;
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
    /// Drops uploads never sent before `uploaded_before`, then forgets the blobs no file names
    /// any more and returns them, for their bytes to be deleted.
    async fn orphaned_blobs(&self, uploaded_before: i64) -> StoreResult<Vec<String>>;
}

#[async_trait::async_trait]
impl MediaStore for Db {
    async fn due_media(&self, limit: u32, in_flight: &[i64]) -> StoreResult<Vec<MediaFile>> {
        let in_flight = in_flight.to_vec();
        self.off_worker(move |db| Db::due_media(db, limit, &in_flight)).await
    }

    async fn claim_media(&self, _id: i64, _lease: std::time::Duration) -> StoreResult<bool> {
        Ok(true)
    }

    async fn renew_media_claims(&self, in_flight: &[i64], _lease: std::time::Duration) -> StoreResult<usize> {
        // One node claims nothing: its fetches are its own until they finish.
        Ok(in_flight.len())
    }

    async fn next_media_at(&self) -> StoreResult<Option<i64>> {
        self.off_worker(move |db| Db::next_media_at(db)).await
    }

    async fn media_file(&self, id: i64) -> StoreResult<Option<MediaFile>> {
        self.off_worker(move |db| Db::media_file(db, id)).await
    }

    async fn media_of_messages(&self, message_ids: &[i64]) -> StoreResult<Vec<MediaFile>> {
        let message_ids = message_ids.to_vec();
        self.off_worker(move |db| Db::media_of_messages(db, &message_ids)).await
    }

    async fn media_stored(&self, id: i64, bytes: StoredBytes) -> StoreResult<()> {
        Db::media_stored(self, id, bytes).await
    }

    async fn media_retry(&self, id: i64, next_attempt_at: i64, reason: String, counted: bool) -> StoreResult<()> {
        Db::media_retry(self, id, next_attempt_at, reason, counted).await
    }

    async fn media_failed(&self, id: i64, reason: String) -> StoreResult<()> {
        Db::media_failed(self, id, reason).await
    }

    async fn media_forget(&self, id: i64) -> StoreResult<()> {
        Db::media_forget(self, id).await
    }

    async fn media_uploaded(&self, workspace_id: i64, filename: Option<String>, bytes: StoredBytes) -> StoreResult<i64> {
        Db::media_uploaded(self, workspace_id, filename, bytes).await
    }

    async fn orphaned_blobs(&self, uploaded_before: i64) -> StoreResult<Vec<String>> {
        self.off_worker(move |db| Db::orphaned_blobs(db, uploaded_before)).await
    }
}
