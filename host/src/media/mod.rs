//! Media: the bytes of customers' photos, voice notes, videos and files, and of what agents
//! send. [`files`] keeps them (content-addressed, behind a trait), [`fetch`] is the durable job
//! that downloads inbound attachments through their channel's plugin, [`sniff`] says what
//! bytes are. The API serves them (`api::media`).

pub mod files;
pub mod links;
pub mod pg_files;
pub mod plugin_files;
pub mod sniff;

use std::sync::Arc;

use files::{MediaFiles, Spool, SpoolError};

use crate::store::backend::MediaStore;
use crate::store::model::StoredBytes;

/// The default `--media-max-mb`: WhatsApp's own largest media (documents) is 100 MB, but a
/// photo or voice note is a few MB, video 16 MB on WhatsApp and 20 MB for Telegram bots, and
/// every file sits on the operator's disk for as long as the conversation. 25 MB (Messenger's
/// limit per asset) takes every image, audio and video the channels carry at their usual
/// sizes and all but the largest documents; an operator who wants those raises it.
pub const DEFAULT_MAX_MB: u64 = 25;

/// What kind of message a file of this (sniffed) type goes as.
pub fn kind_of(mime_type: &str) -> &'static str {
    match mime_type.split('/').next().unwrap_or_default() {
        "image" if mime_type != "image/svg+xml" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "document",
    }
}

/// Why a file in a request body was not taken.
#[derive(Debug, thiserror::Error)]
pub enum Received {
    #[error("the file is larger than the {limit_mb} MB limit")]
    TooLarge { limit_mb: u64 },
    #[error("the file is empty")]
    Empty,
    #[error("the upload broke off: {0}")]
    Broken(String),
    #[error("storing the file failed: {0}")]
    Storage(std::io::Error),
}

/// How long a put's pin keeps its blob from the sweep, should the file that names the bytes
/// never be recorded (a crash): that record comes right after the put (a fetch's outcome, an
/// upload's row, a webhook's events) and takes the pin off.
const PIN_MS: i64 = 3600 * 1000;

/// The media store and its limit, shared by the fetcher, uploads and serving.
pub struct Media {
    pub files: Arc<dyn MediaFiles>,
    /// The blobs' rows: pinned before a put, swept of what no file names.
    store: Arc<dyn MediaStore>,
    /// The largest file taken, in bytes.
    pub max_bytes: u64,
    /// Files plugins kept in webhook calls, until their events are stored.
    pub kept: plugin_files::Kept,
}

impl Media {
    pub fn new(files: Arc<dyn MediaFiles>, store: Arc<dyn MediaStore>, max_mb: u64) -> Self {
        Self { files, store, max_bytes: max_mb.max(1) << 20, kept: Default::default() }
    }

    /// A spool for new bytes, held to the size limit.
    pub async fn spool(&self) -> std::io::Result<Spool> {
        Spool::new(self.files.as_ref(), self.max_bytes).await
    }

    /// Keeps spooled bytes; what they are, sniffed (`claimed`: the provider's or uploader's
    /// word, used only when the bytes say nothing and it names nothing a browser would show).
    /// Their blob is pinned first, so a sweep running meanwhile cannot drop bytes the put found
    /// already there (see `store::backend::BlobBytes`); recording the file that names them
    /// takes the pin off.
    pub async fn keep(&self, spool: Spool, claimed: Option<&str>) -> Result<StoredBytes, SpoolError> {
        let spooled = spool.finish().await?;
        let mime_type = sniff::mime_type(&spooled.head, claimed);
        let bytes = StoredBytes { sha256: spooled.sha256.clone(), size: spooled.len as i64, mime_type };
        let pinned_until = crate::store::now_ms() + PIN_MS;
        self.store.pin_blob(&bytes, pinned_until).await.map_err(|e| SpoolError::Io(std::io::Error::other(format!("media storage: {e}"))))?;
        self.files.put(spooled).await?;
        Ok(bytes)
    }

    /// Receives a file streamed in a request body (an agent's upload, a visitor's file):
    /// refused at once when `declared` (Content-Length) is over the limit, else as soon as the
    /// bytes are; the type sniffed (`claimed`: the uploader's word).
    pub async fn receive<E: std::fmt::Display>(
        &self,
        mut body: impl futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        declared: Option<u64>,
        claimed: Option<&str>,
    ) -> Result<StoredBytes, Received> {
        if declared.is_some_and(|length| length > self.max_bytes) {
            return Err(Received::TooLarge { limit_mb: self.max_bytes >> 20 });
        }
        let mut spool = self.spool().await.map_err(Received::Storage)?;
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            let chunk = chunk.map_err(|e| Received::Broken(e.to_string()))?;
            spool.write(&chunk).await.map_err(|e| match e {
                SpoolError::TooLarge { limit_mb } => Received::TooLarge { limit_mb },
                SpoolError::Io(e) => Received::Storage(e),
            })?;
        }
        let bytes = self.keep(spool, claimed).await.map_err(|e| match e {
            SpoolError::TooLarge { limit_mb } => Received::TooLarge { limit_mb },
            SpoolError::Io(e) => Received::Storage(e),
        })?;
        if bytes.size == 0 {
            return Err(Received::Empty);
        }
        Ok(bytes)
    }

    /// Gives back the pin of `bytes` kept for a message that was refused (its file never
    /// recorded): deleted at once unless something else names or pins them.
    pub async fn release(&self, bytes: &StoredBytes) {
        if let Err(e) = self.store.release_blob(&bytes.sha256, self.files.clone()).await {
            tracing::warn!(sha256 = %bytes.sha256, "giving back a refused file's pin failed (the sweep deletes it later): {e}");
        }
    }

    /// Deletes the files no attachment names any more (after a channel or workspace was
    /// deleted, and at start), and uploads never sent within a day.
    /// The bytes go inside the store's write (`store::backend::BlobBytes`); a failure leaves
    /// every row for the next sweep.
    pub async fn sweep(&self) {
        let day_ago = crate::store::now_ms() - 24 * 3600 * 1000;
        match self.store.sweep_media(day_ago, self.files.clone()).await {
            Ok(dropped) if !dropped.is_empty() => tracing::info!(files = dropped.len(), "media files no attachment names were deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!("deleting media files no attachment names failed: {e}"),
        }
    }
}

/// How often a running server sweeps its media (uploads never sent for a day, files nothing
/// names whose pin lapsed): besides at start and after a channel's or workspace's deletion.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Sweeps `media` every [`SWEEP_EVERY`] until `stop`.
pub async fn sweep_while_serving(media: Arc<Media>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => media.sweep().await,
            _ = stop.changed() => return,
        }
    }
}

/// Whether an attachment of this kind has bytes to fetch.
pub fn has_bytes(kind: crate::runtime::types::AttachmentKind) -> bool {
    use crate::runtime::types::AttachmentKind;
    matches!(kind, AttachmentKind::Image | AttachmentKind::Video | AttachmentKind::Audio | AttachmentKind::Document | AttachmentKind::Sticker)
}
