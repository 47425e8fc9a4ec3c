//! The runtime's `files` import, served from the media store: bytes a plugin keeps during a
//! webhook call wait here under an unguessable reference until the call's events are stored
//! (`ingest` takes them by channel and reference; a reference of another channel is unknown),
//! and a `send` call reads the file it delivers by its signed link (`links`), nothing else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Media;
use super::files::SpoolError;
use crate::runtime::ChannelFiles;
use crate::store::backend::Store;
use crate::store::model::StoredBytes;
use crate::store::Scope;

/// The prefix of a kept file's reference in an attachment's `provider-media-id`.
pub const KEPT_PREFIX: &str = "kept:";
/// How long a kept file waits for its webhook's events to be stored (they are stored right
/// after the call; this only bounds what a plugin that keeps and never reports leaves).
const KEPT_FOR: Duration = Duration::from_secs(15 * 60);

/// A file kept by a plugin, waiting for its message.
#[derive(Debug, Clone)]
pub struct KeptFile {
    pub bytes: StoredBytes,
    pub filename: Option<String>,
}

#[derive(Default)]
pub struct Kept {
    waiting: Mutex<HashMap<(String, String), (KeptFile, Instant)>>,
}

impl Kept {
    /// Keeps `file` for `channel_id`'s next stored events; the reference to it.
    pub fn put(&self, channel_id: &str, file: KeptFile) -> String {
        let reference = format!("{KEPT_PREFIX}{}", crate::store::random_token(32));
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.retain(|_, (_, at)| at.elapsed() < KEPT_FOR);
        waiting.insert((channel_id.to_owned(), reference.clone()), (file, Instant::now()));
        reference
    }

    /// The file kept under `reference` in a call of `channel_id` (once).
    pub fn take(&self, channel_id: &str, reference: &str) -> Option<KeptFile> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.remove(&(channel_id.to_owned(), reference.to_owned())).map(|(file, _)| file)
    }
}

/// [`ChannelFiles`] over the media store.
pub struct PluginFiles {
    pub media: Arc<Media>,
    pub store: Arc<dyn Store>,
    pub public_url: String,
}

#[async_trait::async_trait]
impl ChannelFiles for PluginFiles {
    async fn keep(&self, channel_id: &str, content: Vec<u8>, mime_type: Option<String>, filename: Option<String>) -> Result<String, String> {
        let mut spool = self.media.spool().await.map_err(|e| format!("storage: {e}"))?;
        spool.write(&content).await.map_err(|e| match e {
            SpoolError::TooLarge { .. } => e.to_string(),
            SpoolError::Io(e) => format!("storage: {e}"),
        })?;
        let bytes = self.media.keep(spool, mime_type.as_deref()).await.map_err(|e| e.to_string())?;
        Ok(self.media.kept.put(channel_id, KeptFile { bytes, filename }))
    }

    async fn read(&self, channel_id: &str, url: &str, offset: u64, length: u32) -> Result<Vec<u8>, String> {
        let refused = || format!("`{url}` is not a link to a file this channel sends");
        let path = url.strip_prefix(&format!("{}/media/", self.public_url)).ok_or_else(refused)?;
        let parts: Vec<&str> = path.split('/').collect();
        let [channel, id, expires, signature, ..] = parts.as_slice() else { return Err(refused()) };
        let (Ok(id), Ok(expires)) = (id.parse::<i64>(), expires.parse::<i64>()) else { return Err(refused()) };
        if *channel != channel_id {
            return Err(refused());
        }
        let channel = self.store.channel(channel_id, Scope::Every).await.map_err(|e| format!("storage: {e}"))?.ok_or_else(refused)?;
        if !super::links::valid(&channel, id, expires, signature, crate::store::now_ms()) {
            return Err(refused());
        }
        let file = self.store.media_file(id, Scope::Workspace(channel.workspace_id)).await.map_err(|e| format!("storage: {e}"))?.filter(|f| f.channel_id.as_deref() == Some(channel_id)).ok_or_else(refused)?;
        let sha256 = file.sha256.ok_or_else(refused)?;
        let mut stored = self.media.files.open(&sha256).await.map_err(|e| format!("storage: {e}"))?;
        stored.read_at(offset, length as usize).await.map_err(|e| format!("storage: {e}"))
    }
}
