//! Test plugin for the host's sandbox: a webhook allocates until the memory cap stops it.

use switchboard_sdk::*;

struct HostileMemory;

impl Channel for HostileMemory {
    fn manifest() -> Manifest {
        Manifest {
            id: "hostile-memory".into(),
            name: "Hostile memory".into(),
            version: "0.1.0".into(),
            description: "Test plugin: webhook allocates without bound".into(),
            capabilities: vec![],
            outbound_hosts: vec![],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![Field::new("note", "Note", FieldKind::Text)]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        Ok(Connection {
            display_name: "hostile-memory".into(),
            external_account_id: ctx.channel_id.clone(),
            setup: vec![],
        })
    }

    fn handle_webhook(_: &ChannelContext, _: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        // Nonzero bytes so every page is really written, not just reserved.
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![0xA5; 1 << 20]));
        }
    }

    fn send(_: &ChannelContext, _: OutboundMessage) -> Result<Receipt, ChannelError> {
        Err(ChannelError::Unsupported("hostile-memory does not send".into()))
    }
}

export_channel!(HostileMemory);
