//! How much freed heap the server keeps (glibc's allocator; elsewhere these do nothing).
//!
//! glibc gives each thread that allocates at once an arena of its own (up to eight per core)
//! and keeps what is freed in each for reuse. Start-up allocates on many threads (compiles and
//! database reads on blocking threads) and frees most of it again: measured idle, ten arenas
//! held 3.7 MiB nobody used. Two arenas are plenty for two async workers, and once the plugins
//! are loaded what start-up freed goes back to the system.

/// At most two malloc arenas (before the runtime's threads start).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; called before other threads run.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns the heap start-up freed (call once the plugins are loaded).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas to the system.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}
