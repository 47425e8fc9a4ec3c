// The echo channel, shared by the test plugins `echo-v1`, `echo-v2`, `echo-v2-1` and `echo-v3`, which differ
// only in `VERSION`, `REPLY` and `OUTBOUND_HOSTS`: each webhook body `{"id","text"}` becomes one inbound message, and
// the webhook answer names the version that handled it. Each ping is also remembered in the
// channel's state, and `x-echo-seen` counts them with `state::keys` (contract 0.1.1).

use switchboard_sdk::serde::Deserialize;
use switchboard_sdk::*;

struct Echo;

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Ping {
    id: String,
    text: String,
}

impl Channel for Echo {
    fn manifest() -> Manifest {
        Manifest {
            id: "echo".into(),
            name: "Echo".into(),
            version: VERSION.into(),
            description: "Test plugin for upgrades: answers with its version".into(),
            capabilities: vec![],
            outbound_hosts: OUTBOUND_HOSTS.iter().map(|host| (*host).to_owned()).collect(),
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![Field::new("note", "Note", FieldKind::Text)]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        Ok(Connection { display_name: "echo".into(), external_account_id: ctx.channel_id.clone(), setup: vec![] })
    }

    fn handle_webhook(_: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        let ping: Ping = request.json()?;
        let message = InboundMessage {
            provider_message_id: ping.id,
            conversation: "echo-chat".into(),
            conversation_name: None,
            sender: ContactProfile { id: "tester".into(), name: Some("Tester".into()), handle: None },
            timestamp_ms: 1_763_600_000_000,
            text: Some(ping.text),
            attachments: vec![],
            reply_to: None,
            properties: vec![],
        };
        state::set(&format!("seen/{}", message.provider_message_id), "1");
        let mut response = HttpResponse::text(200, REPLY);
        response.headers.push(("x-echo-seen".into(), state::keys("seen/").len().to_string()));
        Ok(WebhookOutcome { response, events: vec![Event::Message(message)] })
    }

    fn send(_: &ChannelContext, message: OutboundMessage) -> Result<Receipt, ChannelError> {
        Ok(Receipt { provider_message_id: format!("echo-{}", message.message_id) })
    }
}

export_channel!(Echo);
