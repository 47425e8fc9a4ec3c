//! Host-side bindings of the channel contract, major version 0.1, kept private to the runtime
//! so the rest of the host speaks the runtime's own API.
//!
//! Bound to the newest 0.1 release (`wit/v0.1.2`): wasmtime resolves a plugin's 0.1.0 and
//! 0.1.1 names to these 0.1.2 definitions (0.1 only ever adds imports), so one module serves
//! the whole 0.1 line. A breaking 0.2 gets a module of its own beside this one, and
//! `LoadedPlugin` an instance-pre per major version, as Zed's extension host does.

wasmtime::component::bindgen!({
    path: "../wit/v0.1.2",
    world: "plugin",
    imports: {
        // SMTP waits on the network: async on the host, blocking for the guest.
        "switchboard:channel/smtp.verify": async,
        "switchboard:channel/smtp.send": async,
    },
    exports: { default: async },
});

pub use self::switchboard::channel::types;
pub use self::switchboard::channel::{log, smtp, state};

/// The `types` interface has no functions; its host side is empty.
impl types::Host for super::CallState {}
