//! On-disk cache of compiled components, so a restart does not recompile unchanged plugins.
//!
//! An entry is keyed by the component's SHA-256 and the engine's compatibility hash (wasmtime
//! version and every setting that changes code generation). Each file starts with the SHA-256
//! of the artifact behind it: a truncated or corrupted entry fails that check and is rebuilt
//! instead of being handed to wasmtime; a foreign one (another engine) is refused by wasmtime's
//! own header check and rebuilt too.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const DIGEST_LEN: usize = 32;

pub struct CompileCache {
    dir: PathBuf,
}

/// SHA-256 of a component, hex: its identity in the cache, the registry and the API.
pub fn component_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl CompileCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, engine: &Engine, component_hash: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir.join(format!("{component_hash}-{:016x}.cwasm", hasher.finish()))
    }

    /// The cached compilation of `component_hash`, if a sound one exists.
    pub fn get(&self, engine: &Engine, component_hash: &str) -> Option<Component> {
        let path = self.entry_path(engine, component_hash);
        let bytes = std::fs::read(&path).ok()?;
        match open_entry(engine, &bytes) {
            Ok(component) => Some(component),
            Err(why) => {
                tracing::warn!(entry = %path.display(), "compile cache entry ignored and rebuilt: {why}");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores a compilation; failures only cost a recompile later, so they are logged, not raised.
    pub fn put(&self, engine: &Engine, component_hash: &str, component: &Component) {
        let path = self.entry_path(engine, component_hash);
        let result = component.serialize().map_err(|e| e.to_string()).and_then(|artifact| {
            let mut entry = Sha256::digest(&artifact).to_vec();
            entry.extend_from_slice(&artifact);
            write_atomically(&path, &entry).map_err(|e| e.to_string())
        });
        if let Err(why) = result {
            tracing::warn!(entry = %path.display(), "could not write the compile cache: {why}");
        }
    }
}

#[allow(unsafe_code)]
fn open_entry(engine: &Engine, entry: &[u8]) -> Result<Component, String> {
    if entry.len() < DIGEST_LEN {
        return Err("truncated".into());
    }
    let (digest, artifact) = entry.split_at(DIGEST_LEN);
    if Sha256::digest(artifact).as_slice() != digest {
        return Err("checksum mismatch (corrupt)".into());
    }
    // SAFETY: `deserialize` trusts its input to be wasmtime's own output. The checksum above
    // proves these bytes are exactly what `put` wrote from `Component::serialize` into a
    // folder only this host writes; wasmtime itself rejects artifacts of another engine.
    unsafe { Component::deserialize(engine, artifact) }.map_err(|e| format!("not loadable by this engine: {e}"))
}

/// Writes through a temp file and a rename, so readers never see half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `interruptible` changes the generated code, so the two engines' artifacts differ.
    fn make_engine(interruptible: bool) -> Engine {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(interruptible);
        Engine::new(&config).unwrap()
    }

    fn component_bytes() -> Vec<u8> {
        wat::parse_str(r#"(component (core module (func (export "f"))))"#).unwrap()
    }

    #[test]
    fn a_stored_compilation_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, engine, bytes) = (CompileCache::new(dir.path()), make_engine(true), component_bytes());
        let hash = component_hash(&bytes);
        assert!(cache.get(&engine, &hash).is_none());
        cache.put(&engine, &hash, &Component::new(&engine, &bytes).unwrap());
        assert!(cache.get(&engine, &hash).is_some());
    }

    #[test]
    fn corrupt_truncated_and_foreign_entries_are_ignored_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, engine, bytes) = (CompileCache::new(dir.path()), make_engine(true), component_bytes());
        let hash = component_hash(&bytes);
        let path = cache.entry_path(&engine, &hash);
        cache.put(&engine, &hash, &Component::new(&engine, &bytes).unwrap());

        let mut entry = std::fs::read(&path).unwrap();
        let last = entry.len() - 1;
        entry[last] ^= 0xff;
        std::fs::write(&path, &entry).unwrap();
        assert!(cache.get(&engine, &hash).is_none(), "a flipped byte fails the checksum");
        assert!(!path.exists(), "the corrupt entry is removed so it is rebuilt");

        std::fs::write(&path, &entry[..10]).unwrap();
        assert!(cache.get(&engine, &hash).is_none(), "a truncated entry is ignored");

        // An artifact of another engine configuration, correctly checksummed, at our key.
        let foreign = make_engine(false);
        let artifact = Component::new(&foreign, &bytes).unwrap().serialize().unwrap();
        let mut entry = Sha256::digest(&artifact).to_vec();
        entry.extend_from_slice(&artifact);
        std::fs::write(&path, &entry).unwrap();
        assert!(cache.get(&engine, &hash).is_none(), "wasmtime refuses another engine's artifact");
    }
}
