//! Write Switchboard channel plugins.
//!
//! A channel is a type that implements [`Channel`]; [`export_channel!`] turns it into the
//! component the host loads. Depend on this crate alone: it re-exports the contract's types
//! and the crates a channel usually needs (`serde`, `serde_json`, `base64`, `hex`).
//!
//! ```no_run
//! use switchboard_sdk::*;
//!
//! struct Echo;
//!
//! impl Channel for Echo {
//!     fn manifest() -> Manifest {
//!         Manifest {
//!             id: "echo".into(),
//!             name: "Echo".into(),
//!             version: "0.1.0".into(),
//!             description: "Answers every webhook with 200".into(),
//!             capabilities: vec![],
//!             outbound_hosts: vec!["api.example.com".into()],
//!         }
//!     }
//!     fn settings_schema() -> Vec<Field> {
//!         vec![Field::new("token", "Token", FieldKind::Secret).required()]
//!     }
//!     fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
//!         let token = ctx.require("token")?;
//!         let me = http::get("https://api.example.com/me").bearer_auth(token).send()?;
//!         log::info(format!("connected: {}", me.status));
//!         Ok(Connection { display_name: "echo".into(), external_account_id: "1".into(), setup: vec![] })
//!     }
//!     fn handle_webhook(_: &ChannelContext, _: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
//!         Ok(WebhookOutcome::ok(vec![]))
//!     }
//!     fn send(_: &ChannelContext, _: OutboundMessage) -> Result<Receipt, ChannelError> {
//!         Err(ChannelError::Unsupported("echo does not send".into()))
//!     }
//! }
//!
//! export_channel!(Echo);
//! ```
//!
//! Calls are synchronous: the contract's functions are sync, and the HTTP helpers in [`http`]
//! block until the answer is in (they make `wasi:http`'s calls and wait on them). Channel code
//! is therefore plain sequential Rust. Whoever wants concurrent requests can use the re-exported
//! [`wstd`]'s async client inside one `wstd::runtime::block_on`; an [`http`] helper called in
//! there works too, but holds up the others until its answer is in.

#![warn(missing_docs)]

/// The wit-bindgen bindings of the contract (world `plugin-full`). Use the re-exports at the
/// crate root. The crate carries its own copy of the contract (`sdk/wit/channel.wit`, so it
/// can be published); `tests/vendored_wit.rs` keeps it equal to the newest release in `wit/`.
#[doc(hidden)]
#[allow(unsafe_code, clippy::all, missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin-full",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "switchboard_sdk::bindings",
    });
}

pub mod app;
mod channel;
pub mod crypto;
pub mod files;
pub mod guide;
pub mod holds;
pub mod http;
pub mod interactive;
pub mod log;
pub mod smtp;
pub mod state;
mod types;

pub use bindings::switchboard::channel::types::{
    Attachment, AttachmentKind, AuthAccount, AuthFinishRequest, AuthRedirect, AuthStartRequest,
    Capability, ChannelContext, ChannelError, Connection, ContactProfile, DeliveryState,
    DeliveryStatus, Event, Field, FieldError, FieldKind, HttpRequest, HttpResponse, InboundMessage,
    InboundSummary, Location, Media, MediaKind, NewTemplate, OutboundContent,
    OutboundMessage, Property, Receipt, SelectOption, SetupItem, StatusTarget, Template, TemplateMessage,
    WebhookOutcome, WindowPolicy, WindowState,
};
pub use bindings::switchboard::channel::app_types::{AccountEvent, AppContext, AppWebhookOutcome};
/// The contract's `media-types`: how the host gets an inbound attachment's bytes.
pub use bindings::switchboard::channel::media_types::{MediaRequest, MediaSource};
/// The contract's `send-limits`: how fast the provider takes sends for one account.
pub use bindings::exports::switchboard::channel::delivery::SendLimits;
/// The contract's `interactive-types` (0.1.4): tappable content, its limits, the customer's choice.
pub use bindings::switchboard::channel::interactive_types::{
    AccountInboundEvent, Card, CardButton, Choice, ChoiceOption, InboundEvent, InteractiveAction, InteractiveAppWebhookOutcome,
    InteractiveContent, InteractiveKind, InteractiveMessage, InteractiveSupport, InteractiveWebhookOutcome, KindLimits, ListSection,
    OptionList, UrlButton,
};
/// The contract's `template-button-types` (0.1.4): provider templates with buttons.
pub use bindings::switchboard::channel::template_button_types::{
    ButtonParameter, ButtonTemplate, ButtonValue, NewButtonTemplate, TemplateButton, TemplatePhoneButton, TemplateUrlButton,
};
/// The contract's `plugin-manifest`: id, name, version, capabilities, outbound hosts.
pub use bindings::switchboard::channel::types::PluginManifest as Manifest;
pub use channel::Channel;
pub use crypto::{
    hmac_sha256, secure_eq, verify_hmac_sha256, verify_hmac_sha256_base64, verify_hmac_sha256_hex,
};
pub use types::{parse_json, property, texts_for, texts_from_json};

pub use {base64, hex, serde, serde_json, wstd};

#[doc(hidden)]
pub mod __private {
    pub use crate::channel::Export;
}

/// The plugin author's guide, `docs/writing-a-plugin.md`, whose `rust` blocks are doctests of
/// this crate: the guide cannot show a channel that does not compile. Only while rustdoc
/// collects doctests in the repository (`cfg(doctest)`); a packaged crate never reads the file.
#[cfg(doctest)]
#[doc = include_str!("../../docs/writing-a-plugin.md")]
pub struct WritingAPluginGuide;
