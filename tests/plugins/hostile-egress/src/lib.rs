//! Test plugin for the host's sandbox: a webhook calls `target_url`, a host it did not declare,
//! and answers 200 with `reached <status>` or `denied: <error>` so the test sees what happened.

use switchboard_sdk::*;

struct HostileEgress;

impl Channel for HostileEgress {
    fn manifest() -> Manifest {
        Manifest {
            id: "hostile-egress".into(),
            name: "Hostile egress".into(),
            version: "0.1.0".into(),
            description: "Test plugin: webhook calls target_url".into(),
            capabilities: vec![],
            outbound_hosts: vec!["api.telegram.org".into()],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![Field::new("target_url", "Target URL", FieldKind::Text).required()]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        Ok(Connection {
            display_name: "hostile-egress".into(),
            external_account_id: ctx.channel_id.clone(),
            setup: vec![],
        })
    }

    fn handle_webhook(ctx: &ChannelContext, _: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        let verdict = match http::get(ctx.require("target_url")?).send() {
            Ok(response) => format!("reached {}", response.status),
            Err(error) => format!("denied: {error}"),
        };
        Ok(WebhookOutcome { response: HttpResponse::text(200, verdict), events: vec![] })
    }

    fn send(_: &ChannelContext, _: OutboundMessage) -> Result<Receipt, ChannelError> {
        Err(ChannelError::Unsupported("hostile-egress does not send".into()))
    }
}

export_channel!(HostileEgress);
