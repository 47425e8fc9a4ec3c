//! Compiling components in short-lived child processes (`switchboard plugin precompile`), so the
//! server never holds what Cranelift allocates while compiling: a cold start's resident memory
//! stays that of a warm one (the child exits and gives it all back; in-process, the allocator
//! keeps most of it). The child compiles with an engine configured exactly as the server's and
//! writes into the server's compile cache, which the server then reads. Anything wrong on the
//! way (no binary, a crash, an engine that differs) only means compiling in-process as before.
//!
//! Used by the `switchboard` binary's server; the library (tests, benches) compiles in-process
//! unless told the binary's path.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cache::{CompileCache, write_atomically};

/// The binary that compiles (`<exe> plugin precompile FILE --cache-dir DIR --memory-mb N`).
#[derive(Debug, Clone)]
pub struct ChildCompiler {
    pub exe: PathBuf,
}

impl ChildCompiler {
    /// Compiles `bytes` (whose hash is `hash`) into `cache` in a child; `Err` says why not.
    pub(super) fn compile_into(&self, cache: &CompileCache, hash: &str, bytes: &[u8], memory_bytes: usize) -> Result<(), String> {
        let input = cache.dir().join(format!(".compiling-{hash}-{}.wasm", std::process::id()));
        write_atomically(&input, bytes).map_err(|e| format!("cannot write {}: {e}", input.display()))?;
        let output = Command::new(&self.exe)
            .args(["plugin", "precompile"])
            .arg(&input)
            .arg("--cache-dir")
            .arg(cache.dir())
            .arg("--memory-mb")
            .arg((memory_bytes >> 20).max(1).to_string())
            .output();
        let _ = std::fs::remove_file(&input);
        let output = output.map_err(|e| format!("cannot run {}: {e}", self.exe.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!("the compiler process failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim()))
        }
    }
}

/// The child's side: compiles one component file into the cache, with the limits the server
/// runs with (they shape the engine, and so which cache entry it reads).
pub fn precompile_file(file: &Path, cache_dir: &Path, memory_bytes: usize) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let limits = super::Limits { memory_bytes, ..super::Limits::default() };
    let runtime = super::Runtime::new(limits, Vec::new(), super::HostServices::none(), Some(CompileCache::new(cache_dir)))?;
    super::compile(&runtime.shared, &bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(())
}
