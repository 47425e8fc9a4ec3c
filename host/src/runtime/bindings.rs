//! Host-side bindings of the channel contract (`wit/`), kept private to the runtime
//! so the rest of the host speaks the runtime's own API.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    exports: { default: async },
});

pub use self::switchboard::channel::types;
pub use self::switchboard::channel::{log, state};

/// The `types` interface has no functions; its host side is empty.
impl types::Host for super::CallState {}
