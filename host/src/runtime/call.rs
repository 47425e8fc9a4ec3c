//! What a plugin's store holds during one call: one context per host capability, side by side
//! (Spin's factors, wasmtime-wasi-http's views). Adding an import adds a field here and a
//! module beside this one; nothing else in the host changes (see `wit/README.md`). What the
//! capabilities take from a call is below them all, in `capability`.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::app::AppCtx;
use super::files::FilesCtx;
use super::holds::HoldsCtx;
use super::log::LogCtx;
use super::outbound::OutboundPolicy;
use super::smtp::SmtpCtx;
use super::state::StateCtx;

pub struct CallState {
    /// WASI proper is empty: no files, no environment, no sockets, no inherited stdio.
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) http: WasiHttpCtx,
    pub(super) outbound: OutboundPolicy,
    pub(super) log: LogCtx,
    pub(super) state: StateCtx,
    pub(super) smtp: SmtpCtx,
    pub(super) app: AppCtx,
    pub(super) holds: HoldsCtx,
    pub(super) files: FilesCtx,
    pub(super) memory: MemoryCap,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

/// Refuses memory growth past the cap and remembers that it did, so the trap that follows
/// (Rust's allocator aborts) is reported as what it is. The cap is the instance's, over all
/// its memories (a component may define several: each one under the cap would multiply it).
pub(super) struct MemoryCap {
    limit: usize,
    /// What the instance's memories hold together (each counted from its creation, a growth
    /// from 0 bytes).
    used: usize,
    /// `used` before the last growth allowed, given back if that growth then failed (past the
    /// memory's own maximum, say).
    before_last: usize,
    pub(super) exceeded: bool,
}

impl MemoryCap {
    pub(super) fn new(limit: usize) -> Self {
        Self { limit, used: 0, before_last: 0, exceeded: false }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let used = self.used.saturating_sub(current).saturating_add(desired);
        if used > self.limit {
            self.exceeded = true;
            return Ok(false);
        }
        (self.before_last, self.used) = (self.used, used);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.used = self.before_last;
        Ok(())
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_the_instances_over_all_its_memories() {
        let mut cap = MemoryCap::new(64 << 20);
        assert!(cap.memory_growing(0, 40 << 20, None).unwrap(), "a first memory under the cap");
        assert!(!cap.memory_growing(0, 40 << 20, None).unwrap(), "a second one would take the two past it");
        assert!(cap.exceeded);
        assert!(cap.memory_growing(0, 20 << 20, None).unwrap(), "one that fits beside the first");
        assert!(cap.memory_growing(40 << 20, 44 << 20, None).unwrap(), "the first grows to the cap");
        assert!(!cap.memory_growing(44 << 20, 45 << 20, None).unwrap(), "and no further");
        // A growth allowed here that then failed (past the memory's own maximum) counts nothing.
        let mut cap = MemoryCap::new(64 << 20);
        assert!(cap.memory_growing(0, 10 << 20, None).unwrap());
        for _ in 0..10 {
            assert!(cap.memory_growing(10 << 20, 20 << 20, None).unwrap());
            cap.memory_grow_failed(wasmtime::Error::msg("past the memory's maximum")).unwrap();
        }
        assert!(cap.memory_growing(0, 54 << 20, None).unwrap(), "the failed growths left the cap as it was");
    }
}
