//! Test plugin for the host's sandbox: webhooks and sends never return.

use switchboard_sdk::*;

struct HostileLoop;

/// Spins until the host's deadline; `black_box` keeps the loop from being optimised away.
fn spin() -> ! {
    let mut turns = 0u64;
    loop {
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
}

impl Channel for HostileLoop {
    fn manifest() -> Manifest {
        Manifest {
            id: "hostile-loop".into(),
            name: "Hostile loop".into(),
            version: "0.1.0".into(),
            description: "Test plugin: webhook and send loop forever".into(),
            capabilities: vec![],
            outbound_hosts: vec![],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![Field::new("note", "Note", FieldKind::Text)]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        Ok(Connection {
            display_name: "hostile-loop".into(),
            external_account_id: ctx.channel_id.clone(),
            setup: vec![],
        })
    }

    fn handle_webhook(_: &ChannelContext, _: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        spin()
    }

    fn send(_: &ChannelContext, _: OutboundMessage) -> Result<Receipt, ChannelError> {
        spin()
    }
}

export_channel!(HostileLoop);
