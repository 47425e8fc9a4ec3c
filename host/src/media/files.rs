//! Where attachments' bytes live, behind [`MediaFiles`]: content-addressed by SHA-256, so a
//! file sent twice is kept once. [`LocalFiles`] keeps them under `<data-dir>/media/ab/abcd…`;
//! [`super::pg_files::PgFiles`] keeps them in Postgres for several nodes, behind the same trait.
//!
//! Bytes arrive through a [`Spool`]: a local file written as they stream in, hashed and
//! counted on the way, refused past the size limit, so a large download never sits whole in
//! memory. `put` then moves it into place (a rename on the same file system).

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

pub use crate::store::backend::BlobBytes;

/// How many bytes of a file the type sniffer looks at.
const SNIFF_BYTES: usize = 8192;

/// A stored file opened for reading.
pub struct StoredFile {
    pub file: tokio::fs::File,
    pub len: u64,
}

impl StoredFile {
    /// Up to `length` bytes from `offset` (fewer at the end, none past it).
    pub async fn read_at(&mut self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
        if offset >= self.len {
            return Ok(Vec::new());
        }
        self.file.seek(io::SeekFrom::Start(offset)).await?;
        let wanted = length.min(usize::try_from(self.len - offset).unwrap_or(usize::MAX));
        let mut buffer = vec![0; wanted];
        self.file.read_exact(&mut buffer).await?;
        Ok(buffer)
    }
}

/// The store of attachments' bytes, by SHA-256 (lowercase hex). Bytes are dropped only by the
/// store's sweep, inside its write ([`BlobBytes`]), never beside it.
#[async_trait::async_trait]
pub trait MediaFiles: BlobBytes + Send + Sync {
    /// Keeps the spooled bytes as `spool.sha256()`; a file already there stays as it is. The
    /// caller has pinned their blob first (`media::Media::keep`).
    async fn put(&self, spool: Spooled) -> io::Result<()>;
    /// Opens a stored file; `NotFound` when it is not there.
    async fn open(&self, sha256: &str) -> io::Result<StoredFile>;
    /// Where new bytes are spooled while they arrive (a local folder).
    fn spool_dir(&self) -> &Path;
}

/// Files under a folder of the data dir.
pub struct LocalFiles {
    root: PathBuf,
    spool: PathBuf,
}

impl LocalFiles {
    /// `<root>/ab/abcdef…`, with spooled files in `<root>/incoming` (emptied at start: what
    /// was arriving at a crash is fetched again by its job).
    pub fn open(root: PathBuf) -> io::Result<Self> {
        let spool = root.join("incoming");
        let _ = std::fs::remove_dir_all(&spool);
        std::fs::create_dir_all(&spool)?;
        Ok(Self { root, spool })
    }

    /// Keeps `bytes`, fetched from elsewhere, as `sha256` (checked): written in the spool, then
    /// renamed into place, so a reader never sees part of a file.
    pub(crate) async fn keep(&self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        let target = self.path(sha256)?;
        if hex::encode(Sha256::digest(bytes)) != sha256 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the bytes do not have their SHA-256"));
        }
        tokio::fs::create_dir_all(target.parent().expect("a file in a folder")).await?;
        let partial = self.spool.join(format!("{sha256}.{:016x}", rand::random::<u64>()));
        tokio::fs::write(&partial, bytes).await?;
        tokio::fs::rename(&partial, &target).await
    }

    fn path(&self, sha256: &str) -> io::Result<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256"));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }
}

#[async_trait::async_trait]
impl MediaFiles for LocalFiles {
    async fn put(&self, spool: Spooled) -> io::Result<()> {
        let target = self.path(&spool.sha256)?;
        if tokio::fs::try_exists(&target).await? {
            return Ok(());
        }
        tokio::fs::create_dir_all(target.parent().expect("a file in a folder")).await?;
        // Durable before it is recorded as stored: a crash must not leave a row without bytes.
        let file = tokio::fs::File::open(&spool.path).await?;
        file.sync_all().await?;
        tokio::fs::rename(&spool.path, &target).await
    }

    async fn open(&self, sha256: &str) -> io::Result<StoredFile> {
        let file = tokio::fs::File::open(self.path(sha256)?).await?;
        let len = file.metadata().await?.len();
        Ok(StoredFile { file, len })
    }

    fn spool_dir(&self) -> &Path {
        &self.spool
    }
}

impl BlobBytes for LocalFiles {
    /// An unlink, on the thread running the sweep's write (SQLite's writer).
    fn drop_bytes(&self, sha256: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(sha256)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Bytes being received: written to a local file, hashed and counted as they come.
pub struct Spool {
    path: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    len: u64,
    max: u64,
    head: Vec<u8>,
}

/// Why bytes were not taken.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the file is larger than the {limit_mb} MB limit")]
    TooLarge { limit_mb: u64 },
    #[error("storage: {0}")]
    Io(#[from] io::Error),
}

impl Spool {
    /// A new spool file in `files.spool_dir()`, taking at most `max` bytes.
    pub async fn new(files: &dyn MediaFiles, max: u64) -> io::Result<Self> {
        let name = format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>());
        let path = files.spool_dir().join(name);
        let file = tokio::fs::File::create(&path).await?;
        Ok(Self { path, file, hasher: Sha256::new(), len: 0, max, head: Vec::new() })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), SpoolError> {
        self.len += chunk.len() as u64;
        if self.len > self.max {
            return Err(SpoolError::TooLarge { limit_mb: self.max >> 20 });
        }
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    /// All bytes are in: what they are.
    pub async fn finish(mut self) -> io::Result<Spooled> {
        self.file.flush().await?;
        let sha256 = hex::encode(self.hasher.clone().finalize());
        let spooled = Spooled { path: std::mem::take(&mut self.path), sha256, len: self.len, head: std::mem::take(&mut self.head) };
        Ok(spooled)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        // Abandoned (too large, the download broke): nothing is left behind.
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Bytes fully received into a spool file.
pub struct Spooled {
    path: PathBuf,
    pub sha256: String,
    pub len: u64,
    /// The first bytes, for sniffing the type.
    pub head: Vec<u8>,
}

impl Spooled {
    /// The spool file holding the bytes.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        // Not moved into place (already stored, or storing failed): removed. After a rename
        // the path no longer exists and this does nothing.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_are_kept_once_by_their_hash_and_read_back_in_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let files = LocalFiles::open(dir.path().join("media")).unwrap();
        let mut spool = Spool::new(&files, 1 << 20).await.unwrap();
        spool.write(b"hello ").await.unwrap();
        spool.write(b"world").await.unwrap();
        let spooled = spool.finish().await.unwrap();
        let sha = spooled.sha256.clone();
        assert_eq!(sha, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        files.put(spooled).await.unwrap();
        let mut stored = files.open(&sha).await.unwrap();
        assert_eq!(stored.len, 11);
        assert_eq!(stored.read_at(6, 100).await.unwrap(), b"world");
        assert_eq!(stored.read_at(11, 5).await.unwrap(), b"");
        assert_eq!(std::fs::read_dir(files.spool_dir()).unwrap().count(), 0, "nothing left in the spool");
        files.drop_bytes(&sha).unwrap();
        files.drop_bytes(&sha).expect("bytes already gone are no error");
        assert_eq!(files.open(&sha).await.err().map(|e| e.kind()), Some(io::ErrorKind::NotFound));
    }

    #[tokio::test]
    async fn a_file_over_the_limit_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = LocalFiles::open(dir.path().join("media")).unwrap();
        let mut spool = Spool::new(&files, 1 << 20).await.unwrap();
        spool.write(&vec![0; 1 << 20]).await.unwrap();
        let refused = spool.write(b"!").await.unwrap_err();
        assert_eq!(refused.to_string(), "the file is larger than the 1 MB limit");
        drop(spool);
        assert_eq!(std::fs::read_dir(files.spool_dir()).unwrap().count(), 0);
    }

    #[test]
    fn only_a_sha256_names_a_file() {
        let files = LocalFiles { root: PathBuf::from("/m"), spool: PathBuf::from("/m/incoming") };
        assert!(files.path("../../etc/passwd").is_err());
        assert!(files.path(&"A".repeat(64)).is_err());
        assert_eq!(files.path(&"ab".repeat(32)).unwrap(), PathBuf::from(format!("/m/ab/{}", "ab".repeat(32))));
    }
}
