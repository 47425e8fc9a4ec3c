//! [`MediaFiles`] over Postgres, for several nodes: bytes go to the database by SHA-256, and
//! each node keeps a read-through copy on its own disk (content-addressed bytes never change, so
//! a copy is never stale). Every `open` asks the database first, so a file deleted by any node
//! (its workspace deleted) is gone on every node, and its copy with it.
//!
//! Bytes are a `BYTEA` each, read whole on a put or a first open: fine within the attachment
//! size limit; object storage behind the same trait is the way to files far larger.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::files::{BlobBytes, LocalFiles, MediaFiles, Spooled, StoredFile};
use crate::store::pg::PgStore;

pub struct PgFiles {
    store: Arc<PgStore>,
    /// This node's copies and its spool (`incoming`).
    copies: LocalFiles,
}

impl PgFiles {
    /// Copies under `<cache>/ab/abcd…`, spooled bytes in `<cache>/incoming`.
    pub fn open(store: Arc<PgStore>, cache: PathBuf) -> io::Result<Self> {
        Ok(Self { store, copies: LocalFiles::open(cache)? })
    }
}

fn unavailable(e: crate::store::StoreError) -> io::Error {
    io::Error::other(format!("media storage: {e}"))
}

#[async_trait::async_trait]
impl MediaFiles for PgFiles {
    async fn put(&self, spool: Spooled) -> io::Result<()> {
        if self.store.media_bytes_len(&spool.sha256).await.map_err(unavailable)?.is_none() {
            let bytes = tokio::fs::read(spool.path()).await?;
            // Committed before the put returns: a row is recorded as stored only after this.
            self.store.put_media_bytes(&spool.sha256, &bytes).await.map_err(unavailable)?;
        }
        // This node's copy, so the first read here needs no round trip for the bytes.
        self.copies.put(spool).await
    }

    async fn open(&self, sha256: &str) -> io::Result<StoredFile> {
        let Some(len) = self.store.media_bytes_len(sha256).await.map_err(unavailable)? else {
            self.copies.drop_bytes(sha256)?;
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such file"));
        };
        if let Ok(copy) = self.copies.open(sha256).await
            && copy.len == len as u64
        {
            return Ok(copy);
        }
        let bytes = self.store.media_bytes(sha256).await.map_err(unavailable)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        self.copies.keep(sha256, &bytes).await?;
        self.copies.open(sha256).await
    }

    fn spool_dir(&self) -> &Path {
        self.copies.spool_dir()
    }
}

impl BlobBytes for PgFiles {
    /// This node's copy: the bytes' row goes with its blob's, in the sweep's transaction (the
    /// trigger of migration 0017), and every other node's copy at its next `open`.
    fn drop_bytes(&self, sha256: &str) -> io::Result<()> {
        self.copies.drop_bytes(sha256)
    }
}
