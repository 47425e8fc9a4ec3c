//! Provider resources several channels rely on at once (contract 0.1.3): a Meta Page serving
//! a Messenger and an Instagram channel. Hold what the channel relies on when it connects,
//! **before** setting it up; on disconnect, tear the resource down only when [`release`] says
//! nobody else holds it. While the last holder tears it down, the host keeps a new [`hold`]
//! of it waiting (until that channel is deleted), so a set-up that follows the hold comes after
//! the teardown and is not undone by it.
//! Names are shared by every plugin of the installation: prefix them with the provider
//! (`meta:page:<id>`).

#[cfg(target_arch = "wasm32")]
use crate::bindings::switchboard::channel::holds;

/// Records that this call's channel relies on `resource` (until released or disconnected);
/// waits first while another channel that released it last is tearing it down.
pub fn hold(resource: &str) {
    #[cfg(target_arch = "wasm32")]
    holds::hold(resource);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = resource;
}

/// Drops this channel's hold; `true` when another channel still holds `resource`.
/// Natively (a plugin's unit tests) nobody else holds anything: `false`.
pub fn release(resource: &str) -> bool {
    #[cfg(target_arch = "wasm32")]
    return holds::release(resource);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = resource;
        false
    }
}
