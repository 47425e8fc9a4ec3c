//! How much freed heap the server keeps (mimalloc's, and glibc's where it runs).
//!
//! glibc gives each thread that allocates at once an arena of its own (up to eight per core)
//! and keeps what is freed in each for reuse. Start-up allocates on many threads (compiles and
//! database reads on blocking threads) and frees most of it again: measured idle, ten arenas
//! held 3.7 MiB nobody used. Two arenas are plenty for two async workers, and once the plugins
//! are loaded what start-up freed goes back to the system.

/// mimalloc's options (`mi_option_e` of the bundled mimalloc 3 header; the crate names only some).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// At most two malloc arenas (before the runtime's threads start), for what still uses glibc's
/// malloc (SQLite). Rust's allocations use mimalloc (see `lib.rs`), told not to commit its arena
/// up front and to return freed pages at once (idle, measured: 38.6-39.1 MiB resident cold and
/// 37.8-37.9 warm, against 39.8 / 39.9 MiB with the default delay and 59-67 MiB with neither;
/// `no_thp`, a feature of the crate, keeps transparent huge pages out of its memory).
pub fn limit_arenas() {
    // SAFETY: mi_option_set only sets a tunable of the allocator; called before other threads run.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
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
