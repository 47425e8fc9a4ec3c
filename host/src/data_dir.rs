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

/// Plugin uploads being received: streamed here, then renamed into the plugins folder (the
/// same file system) once valid, so a large upload never sits whole in memory more than once.
pub fn uploads_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("uploads")
}

/// Uploads that wait for the operator's approval (`plugins::review`), one file per plugin id.
pub fn pending_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("pending")
}
