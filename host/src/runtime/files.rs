//! The `files` import (contract 0.1.3): bytes a plugin already holds kept as a file of its
//! channel (an email's attachments, a website visitor's upload), and bounded reads of the file
//! a `send` call delivers (for providers that take the bytes, not a link: an email's MIME part).
//! Where files live and who may read which is the host's `media` module, behind
//! [`ChannelFiles`].

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::bindings::files::{self, Host};
use super::capability::CallSetup;

/// The most one `read` returns (the plugin asks again for the rest).
pub const MAX_READ: u32 = 1 << 20;

/// What the import needs from the host: keeping bytes for a channel, reading a file it sends.
#[async_trait::async_trait]
pub trait ChannelFiles: Send + Sync {
    /// Keeps `content` for `channel_id`; a reference the host accepts in an attachment's
    /// `provider-media-id` of this channel's events, or why not (too large, storage).
    async fn keep(&self, channel_id: &str, content: Vec<u8>, mime_type: Option<String>, filename: Option<String>) -> Result<String, String>;
    /// Up to `length` bytes from `offset` of the file `url` names, if it is a link to a file
    /// sent on `channel_id`.
    async fn read(&self, channel_id: &str, url: &str, offset: u64, length: u32) -> Result<Vec<u8>, String>;
}

/// A host that keeps no files.
pub struct NoFiles;

#[async_trait::async_trait]
impl ChannelFiles for NoFiles {
    async fn keep(&self, _: &str, _: Vec<u8>, _: Option<String>, _: Option<String>) -> Result<String, String> {
        Err("this host keeps no files".into())
    }
    async fn read(&self, _: &str, _: &str, _: u64, _: u32) -> Result<Vec<u8>, String> {
        Err("this host keeps no files".into())
    }
}

/// One call's view: the channel it is about (none: nothing to keep or read).
pub(super) struct FilesCtx {
    plugin_id: String,
    channel_id: Option<String>,
    files: Arc<dyn ChannelFiles>,
}

impl FilesCtx {
    pub(super) fn for_call(setup: &CallSetup, files: Arc<dyn ChannelFiles>) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), channel_id: setup.channel.map(|c| c.channel_id.clone()), files }
    }
}

/// Links the import for a store whose data holds a [`FilesCtx`] (`get` finds it).
pub(super) fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut FilesCtx) -> wasmtime::Result<()> {
    files::add_to_linker::<T, HasSelf<FilesCtx>>(linker, get)
}

impl Host for FilesCtx {
    async fn keep(&mut self, content: Vec<u8>, mime_type: Option<String>, filename: Option<String>) -> Result<String, String> {
        let Some(channel) = self.channel_id.clone() else { return Err("files are kept in a channel call only".into()) };
        let size = content.len();
        let kept = self.files.keep(&channel, content, mime_type, filename).await;
        if let Err(reason) = &kept {
            tracing::warn!(plugin = %self.plugin_id, %channel, size, "files.keep refused: {reason}");
        }
        kept
    }

    async fn read(&mut self, url: String, offset: u64, length: u32) -> Result<Vec<u8>, String> {
        let Some(channel) = self.channel_id.clone() else { return Err("files are read in a channel call only".into()) };
        self.files.read(&channel, &url, offset, length.min(MAX_READ)).await
    }
}
