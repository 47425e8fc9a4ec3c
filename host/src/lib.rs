//! Switchboard: an omnichannel channel runtime. Channel integrations are WebAssembly
//! components (see `wit/`) that this host loads, sandboxes and calls.
//!
//! Layers, each importing only those below it: `server` (wiring, over `http_listener`) and `config` (settings) → `api`, `outbox`,
//! `media_fetch`, `mail`, `plugins` → `ingest` → `app` (shared state) → `deployment` (what differs between one node and several, chosen at start) → `registry`, `live`, `window`, `health`, `metrics`,
//! `signing`, `media`, `fixtures` → `runtime`, `store`, `data_dir`, `ids` → `interactive` (the content model both speak).

/// mimalloc, for every binary built on this library (the server, its tests and benchmarks):
/// glibc's malloc and free took a fifth of the webhook path's CPU on the async workers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod admin;
pub mod api;
pub mod app;
pub mod config;
pub mod data_dir;
pub mod deployment;
pub mod egress;
pub mod event_webhooks;
pub mod fixtures;
pub mod health;
pub mod heap;
pub mod http_listener;
pub mod ids;
pub mod ingest;
pub mod interactive;
pub mod leases;
pub mod live;
pub mod live_relay;
pub mod mail;
pub mod media;
pub mod media_fetch;
pub mod metrics;
pub mod oci;
pub mod outbox;
pub mod passwords;
pub mod plugins;
pub mod registry;
pub mod resident;
pub mod runtime;
pub mod server;
pub mod signing;
pub mod store;
pub mod window;

pub use app::{App, MailOptions, ServeConfig};
pub use server::{Listeners, serve};
