//! Attachments' files: which message and workspace each belongs to, whether its bytes are
//! stored (and what they are), and the durable fetch job of inbound ones (attempts, next try).
//! The bytes themselves are in `media::files`, by SHA-256.

use super::row::ReadRow;
use super::sql::{Ids, Sql};
use super::{StoreResult, now_ms};
use super::model::{MediaFile, StoredBytes};

/// The columns a [`MediaFile`] is read from, in its order (the same in both dialects).
pub(crate) const MEDIA_COLUMNS: &str =
    "id, workspace_id, channel_id, message_id, position, state, sha256, size, mime_type, filename, error, attempts";

/// A file's row, read as [`MEDIA_COLUMNS`] lists it.
pub(crate) fn media_file(row: &impl ReadRow) -> MediaFile {
    let id = row.int(0);
    MediaFile {
        id,
        workspace_id: row.int(1),
        channel_id: row.opt_text(2),
        message_id: row.opt_int(3),
        position: row.int(4),
        state: row.text(5),
        sha256: row.opt_text(6),
        size: row.opt_int(7),
        mime_type: row.opt_text(8),
        filename: row.opt_text(9),
        error: row.opt_text(10),
        attempts: u32::try_from(row.int(11)).unwrap_or_default(),
        url: media_url(id),
    }
}

/// Where the people of a file's workspace get it.
pub(crate) fn media_url(id: i64) -> String {
    format!("/api/v1/media/{id}")
}

/// Records stored bytes' blob (once per SHA-256), in the transaction that names them.
pub(crate) async fn blob_in(sql: &dyn Sql, bytes: &StoredBytes) -> StoreResult<()> {
    // The file is recorded: its put's pin comes off (see `MediaStore::pin_blob`).
    let blob = "INSERT INTO media_blobs (sha256, size, created_at) VALUES ($1, $2, $3)
                ON CONFLICT (sha256) DO UPDATE SET pins = CASE WHEN media_blobs.pins > 0 THEN media_blobs.pins - 1 ELSE 0 END";
    sql.execute(blob, &[&bytes.sha256, &bytes.size, &now_ms()]).await?;
    Ok(())
}

/// An upload `$4` becomes the file of the reply `$2` on channel `$1` at `$3`, if it is of the
/// channel's workspace (nothing copied otherwise). The upload stays: it may be sent again.
pub(crate) const SEND_UPLOAD: &str = "INSERT INTO media (workspace_id, channel_id, message_id, position, state, sha256, size, mime_type, filename, created_at, updated_at)
     SELECT workspace_id, $1, $2, 0, 'stored', sha256, size, mime_type, filename, $3, $3 FROM media
     WHERE id = $4 AND workspace_id = (SELECT workspace_id FROM channels WHERE id = $1)";

/// The files of these messages, by message and position (also one part of SQLite's delivery read).
pub(crate) async fn media_of_messages_in(sql: &dyn Sql, message_ids: &Ids) -> StoreResult<Vec<MediaFile>> {
    let files = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE {} ORDER BY message_id, position", sql.in_list("message_id", "$1"));
    Ok(sql.rows(&files, &[message_ids]).await?.iter().map(media_file).collect())
}
