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
use std::time::Duration;

use super::cache::{CompileCache, write_atomically};
use super::Limits;
use super::source::ComponentSource;

/// The binary that compiles (`<exe> plugin precompile FILE|--built-in PACKAGE --cache-dir DIR
/// --memory-mb N --call-timeout-ms N`).
#[derive(Debug, Clone)]
pub struct ChildCompiler {
    pub exe: PathBuf,
}

impl ChildCompiler {
    /// Compiles `source` into `cache` in a child; `Err` says why not. A built-in component is
    /// named, not copied: the child has the same bytes embedded.
    pub(super) fn compile_into(&self, cache: &CompileCache, source: &ComponentSource, limits: &Limits) -> Result<(), String> {
        let mut command = Command::new(&self.exe);
        command.args(["plugin", "precompile"]);
        let input = match source.built_in_package() {
            Some(package) => {
                command.args(["--built-in", package]);
                None
            }
            None => {
                let input = cache.dir().join(format!(".compiling-{}-{}.wasm", source.hash(), std::process::id()));
                write_atomically(&input, source.bytes()).map_err(|e| format!("cannot write {}: {e}", input.display()))?;
                command.arg(&input);
                Some(input)
            }
        };
        let output = command
            .arg("--cache-dir")
            .arg(cache.dir())
            .arg("--memory-mb")
            .arg((limits.memory_bytes >> 20).max(1).to_string())
            .arg("--call-timeout-ms")
            .arg(limits.call_timeout.as_millis().to_string())
            .output();
        if let Some(input) = input {
            let _ = std::fs::remove_file(&input);
        }
        let output = output.map_err(|e| format!("cannot run {}: {e}", self.exe.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!("the compiler process failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim()))
        }
    }
}

/// The child's side: compiles one component (a file's, or a built-in one) into the cache, with
/// the limits the server runs with (the memory cap shapes the engine, and so which cache entry
/// it reads; the call time limit bounds the load's calls, and keys their answers), then loads
/// it there, which keeps its load-time answers beside the compilation (`answers`):
/// the server's own load then runs none of the plugin, and a cold start leaves no more of the
/// plugins' code resident than a warm one. A plugin the load refuses is still compiled; the
/// server's load asks it again and reports why.
pub async fn precompile_bytes(source: ComponentSource, cache_dir: &Path, memory_bytes: usize, call_timeout: Duration) -> anyhow::Result<()> {
    let limits = Limits { memory_bytes, call_timeout, ..Limits::default() };
    let runtime = super::Runtime::new(limits, Vec::new(), super::HostServices::none(), Some(CompileCache::new(cache_dir)))?;
    super::compile(&runtime.shared, &source).map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = runtime.load(source).await;
    Ok(())
}
