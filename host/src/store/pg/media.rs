//! Attachments' bytes over Postgres, by SHA-256: what `media::pg_files` keeps for every node
//! (one machine's disk is not). Their file rows and fetch jobs are written once for both
//! backends (`store::backend::media`).

use super::PgStore;
use crate::store::StoreResult;

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
}
