//! The `app` import (0.1.3): the operator's settings of the plugin's provider app, read when
//! the plugin asks (the store keeps them, sealed; [`ProviderAppSettings`] is the seam).

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::bindings::app::{self, Host};
use super::capability::{CallSetup, HostImportError};
use super::types::Property;

/// Where provider app settings live (the store implements it, on either backend).
#[async_trait::async_trait]
pub trait ProviderAppSettings: Send + Sync {
    /// The settings of `plugin_id`'s app, `None` when the operator has not set it up.
    async fn settings(&self, plugin_id: &str) -> Result<Option<Vec<Property>>, String>;
}

/// No provider apps (outside a server).
pub struct NoProviderApps;

#[async_trait::async_trait]
impl ProviderAppSettings for NoProviderApps {
    async fn settings(&self, _plugin_id: &str) -> Result<Option<Vec<Property>>, String> {
        Ok(None)
    }
}

/// One call's view of the app: whose plugin is asking.
pub(super) struct AppCtx {
    plugin_id: String,
    backend: Arc<dyn ProviderAppSettings>,
}

impl AppCtx {
    pub(super) fn for_call(setup: &CallSetup, backend: Arc<dyn ProviderAppSettings>) -> Self {
        Self { plugin_id: setup.plugin_id.to_owned(), backend }
    }
}

/// Links the import for a store whose data holds an [`AppCtx`] (`get` finds it).
pub(super) fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut AppCtx) -> wasmtime::Result<()> {
    app::add_to_linker::<T, HasSelf<AppCtx>>(linker, get)
}

impl Host for AppCtx {
    async fn settings(&mut self) -> wasmtime::Result<Option<Vec<Property>>> {
        self.backend.settings(&self.plugin_id).await.map_err(|error| {
            tracing::error!(plugin = %self.plugin_id, "reading the provider app's settings failed: {error}");
            wasmtime::Error::new(HostImportError(format!("reading the provider app's settings failed: {error}")))
        })
    }
}
