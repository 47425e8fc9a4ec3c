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

/// How long mimalloc keeps a freed page before handing it back, once the server serves
/// (mimalloc's own default). Returned at once (0), as during start-up, a busy server paid an
/// `madvise` for every eighth webhook, and a page fault and a fresh page's set-up for most of
/// them when the pages were used again: over the ingest bench, 0.12-0.13 `madvise` and 1.3 page
/// faults per webhook against 0.004-0.006 and 0.2 with this delay, and the host's throughput
/// higher with the delay in 6 of 6 alternated runs (2026-11-28).
const SERVING_PURGE_DELAY_MS: std::ffi::c_long = 1000;

/// The allocators' settings for start-up (call first thing, before the runtime's threads start):
/// at most two malloc arenas, for what still uses glibc's malloc (SQLite). Rust's allocations use
/// mimalloc (see `lib.rs`), told not to commit its arena up front and, until [`after_start_up`],
/// to return freed pages at once: what start-up frees
/// goes straight back (idle, measured: 38.6-39.1 MiB resident cold and 37.8-37.9 warm, against
/// 39.8 / 39.9 MiB with the default delay throughout and 59-67 MiB with neither; `no_thp`, a
/// feature of the crate, keeps transparent huge pages out of its memory).
pub fn for_start_up() {
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

/// Whether start-up is over (freed pages are then kept [`SERVING_PURGE_DELAY_MS`]), and how many
/// large bodies are in flight ([`returning_freed_at_once`]): one lock, so that the delay set is
/// always the one both call for.
static PURGE: std::sync::Mutex<Purge> = std::sync::Mutex::new(Purge { serving: false, large_in_flight: 0 });

struct Purge {
    serving: bool,
    large_in_flight: usize,
}

impl Purge {
    fn set_delay(&self) {
        let delay = if self.serving && self.large_in_flight == 0 { SERVING_PURGE_DELAY_MS } else { 0 };
        // SAFETY: mi_option_set only sets a tunable the allocator reads at each purge.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, delay);
        }
    }
}

/// While the value lives, freed pages go back at once, as during start-up: for a large body in
/// flight (a plugin's component, up to 64 MiB, uploaded and compiled), whose buffers kept for the
/// serving delay would count against the uploads' memory promise (four at once stay within
/// twice one file, `tests/operations.rs`; 2.12x measured once on a busy machine with the delay).
pub struct ReturningFreedAtOnce(());

pub fn returning_freed_at_once() -> ReturningFreedAtOnce {
    let mut purge = PURGE.lock().unwrap_or_else(|p| p.into_inner());
    purge.large_in_flight += 1;
    purge.set_delay();
    ReturningFreedAtOnce(())
}

impl Drop for ReturningFreedAtOnce {
    fn drop(&mut self) {
        let mut purge = PURGE.lock().unwrap_or_else(|p| p.into_inner());
        purge.large_in_flight -= 1;
        purge.set_delay();
    }
}

/// Returns the heap start-up freed (call once the plugins are loaded), and from then on lets
/// mimalloc keep freed pages a while for reuse ([`SERVING_PURGE_DELAY_MS`]) unless a large body
/// is in flight ([`returning_freed_at_once`]).
pub fn after_start_up() {
    {
        let mut purge = PURGE.lock().unwrap_or_else(|p| p.into_inner());
        purge.serving = true;
        purge.set_delay();
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas to the system.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}
