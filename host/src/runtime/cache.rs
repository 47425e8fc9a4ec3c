//! On-disk cache of compiled components, so a restart does not recompile unchanged plugins.
//!
//! An entry is keyed by the component's SHA-256 and the engine's compatibility hash (wasmtime
//! version and every setting that changes code generation). Beside each artifact a `.sha256`
//! file holds its SHA-256: a truncated or corrupted entry fails that check and is rebuilt
//! instead of being handed to wasmtime; a foreign one (another engine) is refused by wasmtime's
//! own header check and rebuilt too. The artifact is wasmtime's file as is, so it is mapped
//! rather than read: only the code a plugin runs becomes resident (and it is the page cache's,
//! shared, not the process's own heap). What the plugin answered while loading is kept beside
//! its entry, under the same name (`answers`).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct CompileCache {
    dir: PathBuf,
}

/// SHA-256 of a component, hex: its identity in the cache, the registry and the API.
pub fn component_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// [`component_hash`] of a file, read a block at a time: a large component is never all in memory.
pub fn component_file_hash(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

impl CompileCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, engine: &Engine, component_hash: &str) -> PathBuf {
        self.dir.join(format!("{}.cwasm", entry_stem(engine, component_hash)))
    }

    /// Whether an entry for `component_hash` is there (not whether it is sound: [`Self::get`]).
    pub fn has(&self, engine: &Engine, component_hash: &str) -> bool {
        let path = self.entry_path(engine, component_hash);
        path.exists() && digest_path(&path).exists()
    }

    /// The cached compilation of `component_hash`, if a sound one exists.
    pub fn get(&self, engine: &Engine, component_hash: &str) -> Option<Component> {
        let path = self.entry_path(engine, component_hash);
        let digest = std::fs::read_to_string(digest_path(&path)).ok()?;
        match open_entry(engine, &path, digest.trim()) {
            Ok(component) => Some(component),
            Err(why) => {
                tracing::warn!(entry = %path.display(), "compile cache entry ignored and rebuilt: {why}");
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(digest_path(&path));
                None
            }
        }
    }

    /// Stores a compilation; failures only cost a recompile later, so they are logged, not raised.
    pub fn put(&self, engine: &Engine, component_hash: &str, component: &Component) {
        let path = self.entry_path(engine, component_hash);
        // The artifact first: a reader between the two writes finds an old or no digest, which
        // does not match, and rebuilds.
        let result = component.serialize().map_err(|e| e.to_string()).and_then(|artifact| {
            write_atomically(&path, &artifact).map_err(|e| e.to_string())?;
            write_atomically(&digest_path(&path), hex::encode(Sha256::digest(&artifact)).as_bytes()).map_err(|e| e.to_string())
        });
        if let Err(why) = result {
            tracing::warn!(entry = %path.display(), "could not write the compile cache: {why}");
        }
    }
}

/// An entry's name without its extension, `<component hash>-<engine hash>`: the files kept
/// for one component and engine (the compilation, the load answers) share it.
pub(super) fn entry_stem(engine: &Engine, component_hash: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{component_hash}-{:016x}", hasher.finish())
}

fn digest_path(entry: &Path) -> PathBuf {
    let mut name = entry.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

#[allow(unsafe_code)]
fn open_entry(engine: &Engine, path: &Path, digest: &str) -> Result<Component, String> {
    // Hashed through a small buffer: the artifact is mapped below, never copied onto the heap.
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path).map_err(|e| format!("unreadable: {e}"))?;
    std::io::copy(&mut file, &mut hasher).map_err(|e| format!("unreadable: {e}"))?;
    if hex::encode(hasher.finalize()) != digest {
        return Err("checksum mismatch (corrupt or truncated)".into());
    }
    // The file just hashed, through its open descriptor: a rename into place meanwhile
    // cannot swap in a file that was not checked.
    use std::os::fd::AsRawFd;
    let same_file = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    // SAFETY: `deserialize_file` trusts the file to be wasmtime's own output and to stay as it
    // is while mapped. The checksum above proves this very file (the descriptor hashed, kept
    // open until mapped) is exactly what `put` wrote from `Component::serialize` into a folder
    // only this host writes; every write there is a new file under a name no other writer
    // uses, renamed into place (`write_atomically`), never a change in place, so a mapped file
    // never changes under us; wasmtime itself rejects artifacts of another engine.
    let component = unsafe { Component::deserialize_file(engine, &same_file) }.map_err(|e| format!("not loadable by this engine: {e}"));
    drop(file);
    component
}

/// Writes through a temp file and a rename, so readers never see half a file. The temp file's
/// name is this write's alone (process, and a counter for the threads of one process): two
/// writers never write into one file, so a file renamed into place never changes again.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}.{write}.tmp", std::process::id()));
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

        cache.put(&engine, &hash, &Component::new(&engine, &bytes).unwrap());
        std::fs::write(&path, &entry[..10]).unwrap();
        assert!(cache.get(&engine, &hash).is_none(), "a truncated entry is ignored");

        // An artifact of another engine configuration, correctly checksummed, at our key.
        let foreign = make_engine(false);
        let artifact = Component::new(&foreign, &bytes).unwrap().serialize().unwrap();
        std::fs::write(&path, &artifact).unwrap();
        std::fs::write(digest_path(&path), hex::encode(Sha256::digest(&artifact))).unwrap();
        assert!(cache.get(&engine, &hash).is_none(), "wasmtime refuses another engine's artifact");

        // A cache written by an earlier host (the digest inside the file, no `.sha256`; the refusal
        // above removed both files): rebuilt.
        std::fs::write(&path, [Sha256::digest(&artifact).to_vec(), artifact].concat()).unwrap();
        assert!(!digest_path(&path).exists());
        assert!(cache.get(&engine, &hash).is_none(), "an entry without its digest file is not trusted");
    }
}
