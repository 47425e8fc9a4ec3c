//! Switchboard: an omnichannel channel runtime. Channel integrations are WebAssembly
//! components (see `wit/`) that this host loads, sandboxes and calls.

pub mod admin;
pub mod api;
pub mod app;
pub mod channel_errors;
pub mod live;
pub mod mail;
pub mod outbox;
pub mod plugins;
pub mod registry;
pub mod runtime;
pub mod store;
pub mod window;

pub use app::{App, MailOptions, ServeConfig, serve, serve_with_smtp};
