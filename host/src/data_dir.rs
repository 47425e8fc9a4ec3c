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
