//! Compiling components in short-lived child processes (`switchboard plugin precompile`), so the
//! server never holds what Cranelift allocates while compiling: a cold start's resident memory
//! stays that of a warm one (the child exits and gives it all back; in-process, the allocator
//! keeps most of it). The child compiles with an engine configured exactly as the server's and
//! writes into the server's compile cache, which the server then reads. Anything wrong on the
//! way (no binary, a crash, an engine that differs) only means compiling in-process as before.
//!
//! A cache that cannot be written (a full disk) does not bring Cranelift back into the server:
//! the child is then handed the bytes on its standard input and gives the compilation back on
//! its standard output (`compile_through_pipes`), which the server loads from memory.
//!
//! Used by the `switchboard` binary's server; the library (tests, benches) compiles in-process
//! unless told the binary's path.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::cache::{CompileCache, write_atomically};
use super::Limits;
use super::source::ComponentSource;

/// The binary that compiles (`<exe> plugin precompile FILE|--built-in PACKAGE|- --cache-dir DIR|--to-stdout
/// --memory-mb N --call-timeout-ms N`).
#[derive(Debug, Clone)]
pub struct ChildCompiler {
    pub exe: PathBuf,
}

/// Why a child left nothing in the cache.
pub(super) enum CompileInChild {
    /// The component could not be handed over through the cache's folder.
    CannotWrite(String),
    /// The child did not run, or failed.
    Failed(String),
}

impl ChildCompiler {
    /// Compiles `source` into `cache` in a child; `Err` says why not. A built-in component is
    /// named, not copied: the child has the same bytes embedded.
    pub(super) fn compile_into(&self, cache: &CompileCache, source: &ComponentSource, limits: &Limits) -> Result<(), CompileInChild> {
        let mut command = Command::new(&self.exe);
        command.args(["plugin", "precompile"]);
        let input = match source.built_in_package() {
            Some(package) => {
                command.args(["--built-in", package]);
                None
            }
            None => {
                let input = cache.dir().join(format!(".compiling-{}-{}.wasm", source.hash(), std::process::id()));
                write_atomically(&input, source.bytes()).map_err(|e| CompileInChild::CannotWrite(format!("cannot write {}: {e}", input.display())))?;
                command.arg(&input);
                Some(input)
            }
        };
        let output = with_limits(command.arg("--cache-dir").arg(cache.dir()), limits).output();
        if let Some(input) = input {
            let _ = std::fs::remove_file(&input);
        }
        let output = output.map_err(|e| CompileInChild::Failed(format!("cannot run {}: {e}", self.exe.display())))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(CompileInChild::Failed(format!("the compiler process failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim())))
        }
    }

    /// Compiles `source` in a child without touching the disk: the bytes go to its standard
    /// input, the serialized compilation comes back on its standard output.
    pub(super) fn compile_through_pipes(&self, engine: &Engine, source: &ComponentSource, limits: &Limits) -> Result<Component, String> {
        let mut child = with_limits(Command::new(&self.exe).args(["plugin", "precompile", "-", "--to-stdout"]), limits)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.exe.display()))?;
        let mut stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        // Written while the answer is read: a pipe holds 64 KiB, the two would wait on each other.
        let compiled = std::thread::scope(|scope| {
            let writer = scope.spawn(move || stdin.write_all(source.bytes()));
            let mut compiled = Vec::new();
            let read = stdout.read_to_end(&mut compiled);
            let written = writer.join().expect("the writer does not panic");
            read.and(written.or_else(|e| if e.kind() == std::io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e) })).map(|()| compiled)
        });
        let output = child.wait_with_output().map_err(|e| format!("the compiler process: {e}"))?;
        if !output.status.success() {
            return Err(format!("the compiler process failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim()));
        }
        let compiled = compiled.map_err(|e| format!("the compiler process: {e}"))?;
        // SAFETY: the bytes are this binary's own serialization, made by an engine configured as
        // `engine` (the same trust as the compile cache's files); wasmtime refuses any made by
        // another version or configuration.
        #[allow(unsafe_code)]
        unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| format!("the compiler process's compilation: {e:#}"))
    }
}

/// The server's limits, which shape the child's engine and bound its load's calls.
fn with_limits<'c>(command: &'c mut Command, limits: &Limits) -> &'c mut Command {
    command.arg("--memory-mb").arg((limits.memory_bytes >> 20).max(1).to_string()).arg("--call-timeout-ms").arg(limits.call_timeout.as_millis().to_string())
}

/// The child's side of [`ChildCompiler::compile_through_pipes`]: the serialized compilation.
pub fn precompile_to_bytes(source: ComponentSource, memory_bytes: usize, call_timeout: Duration) -> anyhow::Result<Vec<u8>> {
    let limits = Limits { memory_bytes, call_timeout, ..Limits::default() };
    let runtime = super::Runtime::new(limits, Vec::new(), super::HostServices::none(), None)?;
    let (component, _) = super::compile(&runtime.shared, &source).map_err(|e| anyhow::anyhow!("{e}"))?;
    component.serialize().map_err(|e| anyhow::anyhow!("{e:#}"))
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
