//! The `holds` import (0.1.3): provider resources several channels rely on at once (a Meta
//! Page serving a Messenger and an Instagram channel). The store keeps who holds what
//! ([`ResourceHolds`] is the seam), so a disconnect tears a resource down only when it was the
//! last holder.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::bindings::holds::{self, Host};
use super::capability::{CallSetup, HostImportError};

/// Where holds live (the store implements it); a channel's holds go with the channel.
#[async_trait::async_trait]
pub trait ResourceHolds: Send + Sync {
    async fn hold(&self, channel_id: &str, resource: &str) -> Result<(), String>;
    /// Drops the hold; whether another channel still holds `resource`.
    async fn release(&self, channel_id: &str, resource: &str) -> Result<bool, String>;
}

/// No holds (outside a server): nobody else ever holds anything.
pub struct NoHolds;

#[async_trait::async_trait]
impl ResourceHolds for NoHolds {
    async fn hold(&self, _channel_id: &str, _resource: &str) -> Result<(), String> {
        Ok(())
    }
    async fn release(&self, _channel_id: &str, _resource: &str) -> Result<bool, String> {
        Ok(false)
    }
}

/// One call's view: the channel it is about (none: nothing to hold) and the backend.
pub(super) struct HoldsCtx {
    plugin_id: String,
    channel_id: Option<String>,
    backend: Arc<dyn ResourceHolds>,
}

impl HoldsCtx {
    pub(super) fn for_call(setup: &CallSetup, backend: Arc<dyn ResourceHolds>) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), channel_id: setup.channel.map(|c| c.channel_id.clone()), backend }
    }

    fn failed(&self, action: &str, error: String) -> wasmtime::Error {
        tracing::error!(plugin = %self.plugin_id, channel = self.channel_id.as_deref().unwrap_or("-"), "{action} a resource hold failed: {error}");
        wasmtime::Error::new(HostImportError(format!("{action} a resource hold failed: {error}")))
    }
}

/// Links the import for a store whose data holds a [`HoldsCtx`] (`get` finds it).
pub(super) fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut HoldsCtx) -> wasmtime::Result<()> {
    holds::add_to_linker::<T, HasSelf<HoldsCtx>>(linker, get)
}

impl Host for HoldsCtx {
    async fn hold(&mut self, resource: String) -> wasmtime::Result<()> {
        let Some(channel) = self.channel_id.as_deref() else { return Ok(()) };
        self.backend.hold(channel, &resource).await.map_err(|e| self.failed("recording", e))
    }

    async fn release(&mut self, resource: String) -> wasmtime::Result<bool> {
        let Some(channel) = self.channel_id.as_deref() else { return Ok(false) };
        self.backend.release(channel, &resource).await.map_err(|e| self.failed("dropping", e))
    }
}
