//! Test plugin for the host's sandbox. Each channel's `mode` picks the misbehaviour of its
//! webhooks (and sends):
//! - `loop`: spin forever, until the host's deadline;
//! - `memory`: allocate without bound, until the host's memory cap;
//! - `egress`: call `target_url` and answer 200 with `reached <status>` or `denied: <error>`,
//!   so a test sees what the outbound policy did. It declares `api.telegram.org` and
//!   `localhost` only: `localhost` is declared but resolves to loopback, which a declared host
//!   may not reach.

use switchboard_sdk::*;

struct Hostile;

/// `black_box` keeps the loop from being optimised away.
fn spin() -> ! {
    let mut turns = 0u64;
    loop {
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
}

fn hoard() -> ! {
    // Nonzero bytes so every page is really written, not just reserved.
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(std::hint::black_box(vec![0xA5; 1 << 20]));
    }
}

fn misbehave(ctx: &ChannelContext) -> Result<String, ChannelError> {
    match ctx.require("mode")? {
        "loop" => spin(),
        "memory" => hoard(),
        _ => Ok(match http::get(ctx.require("target_url")?).send() {
            Ok(response) => format!("reached {}", response.status),
            Err(error) => format!("denied: {error}"),
        }),
    }
}

impl Channel for Hostile {
    fn manifest() -> Manifest {
        Manifest {
            id: "hostile".into(),
            name: "Hostile".into(),
            version: "0.1.0".into(),
            description: "Test plugin: misbehaves as its mode says".into(),
            capabilities: vec![],
            outbound_hosts: vec!["api.telegram.org".into(), "localhost".into()],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![
            Field::new("mode", "Mode", FieldKind::Select).required().options([("loop", "loop"), ("memory", "memory"), ("egress", "egress")]),
            Field::new("target_url", "Target URL (egress)", FieldKind::Text),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        Ok(Connection { display_name: "hostile".into(), external_account_id: ctx.channel_id.clone(), setup: vec![] })
    }

    fn handle_webhook(ctx: &ChannelContext, _: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        Ok(WebhookOutcome { response: HttpResponse::text(200, misbehave(ctx)?), events: vec![] })
    }

    fn send(ctx: &ChannelContext, _: OutboundMessage) -> Result<Receipt, ChannelError> {
        Err(ChannelError::Provider(misbehave(ctx)?))
    }
}

export_channel!(Hostile);
