//! Where the host receives mail: a channel's forwarding address, `<id>@<inbound domain>`, and,
//! while the host runs its SMTP listener, `reply+<conversation>@<inbound domain>` for each of
//! its conversations. The runtime's `smtp` import tells plugins these addresses through
//! [`MailAddressing`]; the listener finds the channel of a recipient with them.

use sha2::{Digest, Sha256};

use crate::app::ServeConfig;
use crate::runtime::MailAddressing;
use crate::runtime::types::ChannelContext;

/// How the host receives mail.
#[derive(Debug, Clone, Default)]
pub struct MailAddresses {
    /// Forwarding addresses are `<id>@<inbound_domain>`; `None`: the host gives none out.
    pub inbound_domain: Option<String>,
    /// The host runs an SMTP listener, so `reply+<conversation>@<inbound domain>` reaches it.
    pub smtp_listener: bool,
}

impl MailAddresses {
    /// The forwarding address of the channel with this webhook secret, when the host has an inbound domain.
    pub fn forwarding_address_of(&self, webhook_secret: &str) -> Option<String> {
        let domain = self.inbound_domain.as_deref()?;
        Some(format!("{}@{domain}", forwarding_id(webhook_secret)))
    }
}

/// The inbound mail domain: as configured, else the public URL's host when it is a name.
pub fn inbound_domain(config: &ServeConfig) -> anyhow::Result<Option<String>> {
    if let Some(domain) = &config.mail.inbound_domain {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty() && !label.starts_with('-') && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        anyhow::ensure!(valid, "--inbound-domain `{domain}` is not a domain name");
        return Ok(Some(domain));
    }
    let host = config.public_url.as_deref().and_then(|url| url.parse::<axum::http::Uri>().ok()).and_then(|uri| uri.host().map(str::to_ascii_lowercase));
    Ok(host.filter(|h| h.contains('.') && h.parse::<std::net::IpAddr>().is_err() && !h.starts_with('[')))
}

impl MailAddressing for MailAddresses {
    fn forwarding_address(&self, channel: &ChannelContext) -> Option<String> {
        self.forwarding_address_of(&channel.webhook_secret)
    }

    /// `reply+<conversation>@<inbound domain>`, when the host's listener receives it.
    fn reply_address(&self, conversation: &str) -> Option<String> {
        let domain = self.inbound_domain.as_deref().filter(|_| self.smtp_listener)?;
        is_reply_token(conversation).then(|| format!("{REPLY_PREFIX}{conversation}@{domain}"))
    }

    fn hello_name(&self) -> String {
        self.inbound_domain.clone().unwrap_or_else(|| "localhost".into())
    }
}

/// Local parts starting with this name a conversation: `reply+<conversation>`.
pub const REPLY_PREFIX: &str = "reply+";

/// Whether a conversation string can stand in a `reply+` address (and be found again).
pub fn is_reply_token(conversation: &str) -> bool {
    !conversation.is_empty()
        && conversation.len() <= 64
        && conversation.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The unguessable local part of a channel's forwarding address: derived from the channel's
/// webhook secret, so it is fixed for the channel's life with nothing to store, and it gives
/// nothing of the secret away. 24 hex digits (96 bits).
pub fn forwarding_id(webhook_secret: &str) -> String {
    let digest = Sha256::new().chain_update(b"switchboard forwarding address\0").chain_update(webhook_secret).finalize();
    hex::encode(&digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_ids_are_fixed_per_secret_and_unrelated_across_secrets() {
        let a = forwarding_id("Xk2pQ9v0aBcDeFgHiJkLmNoPqRsTuVwX");
        assert_eq!(a, forwarding_id("Xk2pQ9v0aBcDeFgHiJkLmNoPqRsTuVwX"));
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(a, forwarding_id("Xk2pQ9v0aBcDeFgHiJkLmNoPqRsTuVwY"));
    }

    #[test]
    fn addresses_need_an_inbound_domain_and_reply_addresses_a_listener() {
        let none = MailAddresses::default();
        assert_eq!(none.forwarding_address_of("s"), None);
        let relay_only = MailAddresses { inbound_domain: Some("in.example.com".into()), smtp_listener: false };
        assert!(relay_only.forwarding_address_of("s").unwrap().ends_with("@in.example.com"));
        assert_eq!(relay_only.reply_address("c1"), None);
        let listening = MailAddresses { smtp_listener: true, ..relay_only };
        assert_eq!(listening.reply_address("k3j-9.x_1").as_deref(), Some("reply+k3j-9.x_1@in.example.com"));
        for bad in ["", "a b", "a@b", "a+b", "<x>", &"x".repeat(65)] {
            assert_eq!(listening.reply_address(bad), None, "{bad:?}");
        }
    }
}
