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
/// (Rust's allocator aborts) is reported as what it is.
pub(super) struct MemoryCap {
    pub(super) limit: usize,
    pub(super) exceeded: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
