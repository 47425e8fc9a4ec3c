//! A plugin built straight against the frozen contract `wit/v0.1.0` with wit-bindgen, as a
//! plugin compiled before 0.1.1 existed would be. It answers each webhook with the value it
//! stored in the channel's state through the 0.1.0 `state` import on the call before.

#![allow(unsafe_code)] // the generated export glue
// Only a component: its export glue names symbols no native linker takes, so a native build of
// the workspace (`cargo build --workspace`) gets an empty crate.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({ path: "../../../wit/v0.1.0", world: "plugin" });

use exports::switchboard::channel::channel::Guest;
use switchboard::channel::types::*;
use switchboard::channel::{log, state};

struct Legacy;

fn unsupported<T>() -> Result<T, ChannelError> {
    Err(ChannelError::Unsupported("not in this test plugin".into()))
}

impl Guest for Legacy {
    fn manifest() -> PluginManifest {
        PluginManifest {
            id: "legacy".into(),
            name: "Legacy 0.1.0 plugin".into(),
            version: "0.1.0".into(),
            description: "Built against switchboard:channel@0.1.0".into(),
            capabilities: vec![],
            outbound_hosts: vec![],
        }
    }

    fn settings_schema() -> Vec<Field> {
        Vec::new()
    }

    fn connect(ctx: ChannelContext) -> Result<Connection, ChannelError> {
        Ok(Connection { display_name: "legacy".into(), external_account_id: ctx.channel_id, setup: vec![] })
    }

    fn disconnect(_: ChannelContext) -> Result<(), ChannelError> {
        Ok(())
    }

    fn handle_webhook(_: ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        log::log(log::Level::Info, "legacy plugin handling a webhook");
        let previous = state::get("last").unwrap_or_else(|| "none".into());
        state::set("last", &String::from_utf8_lossy(&request.body));
        Ok(WebhookOutcome { response: HttpResponse { status: 200, headers: vec![], body: previous.into_bytes() }, events: vec![] })
    }

    fn send(_: ChannelContext, _: OutboundMessage) -> Result<Receipt, ChannelError> {
        unsupported()
    }

    fn messaging_window() -> WindowPolicy {
        WindowPolicy { free_form_seconds: None, human_agent_seconds: None, templates_outside_window: false }
    }

    fn list_templates(_: ChannelContext) -> Result<Vec<Template>, ChannelError> {
        unsupported()
    }

    fn create_template(_: ChannelContext, _: NewTemplate) -> Result<Template, ChannelError> {
        unsupported()
    }

    fn delete_template(_: ChannelContext, _: String) -> Result<(), ChannelError> {
        unsupported()
    }

    fn auth_start(_: AuthStartRequest) -> Result<AuthRedirect, ChannelError> {
        unsupported()
    }

    fn auth_finish(_: AuthFinishRequest) -> Result<Vec<AuthAccount>, ChannelError> {
        unsupported()
    }
}

export!(Legacy);
