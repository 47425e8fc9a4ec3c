//! What lives where under the data dir (`--data-dir`), besides the database and key the
//! store keeps there.

use std::path::{Path, PathBuf};

/// Component files loaded at start and watched while serving.
pub fn plugins_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("plugins")
}

/// Compiled components, kept between runs.
pub fn cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cache")
}

/// Held locked (an OS file lock) by a serving process for its lifetime: a second server, or
/// an offline command that must not run beside one (`secrets rotate`, `restore`), sees it and
/// is told which process holds it (the holder writes its pid into the file).
pub fn serve_lock(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let path = data_dir.join("serve.lock");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            // Best effort: the lock is what counts, the pid only names the holder.
            let _ = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| write!(file, "{}\n", std::process::id()));
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let process = match holder.trim().parse::<u32>() {
                Ok(pid) => format!("process {pid}"),
                Err(_) => "another process".to_owned(),
            };
            anyhow::bail!("a switchboard server is running on {} ({process}, which holds {})", data_dir.display(), path.display())
        }
        Err(std::fs::TryLockError::Error(e)) => anyhow::bail!("cannot lock {}: {e}", path.display()),
    }
}

/// Plugin uploads being received: streamed here, then renamed into the plugins folder (the
/// same file system) once valid, so a large upload never sits whole in memory more than once.
pub fn uploads_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("uploads")
}

/// Uploads that wait for the operator's approval (`plugins::review`), one file per plugin id.
pub fn pending_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("pending")
}

/// Attachments' bytes, by SHA-256 (`media::files::LocalFiles`).
pub fn media_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("media")
}
