//! WhatsApp wire formats shared by the two WhatsApp channels: the Cloud API (`whatsapp-cloud`,
//! Meta Graph) and the On-Premises API (`whatsapp`, the business's own API client or a BSP's).
//! Both speak the same message objects; they differ in the envelope, authentication and errors.
//! Pure code: it builds and is tested natively.

pub mod errors;
pub mod inbound;
pub mod outbound;
pub mod templates;

/// WhatsApp's messaging window: free-form messages within 24 h of the customer's last message,
/// templates only after that.
pub fn window_policy() -> switchboard_sdk::WindowPolicy {
    switchboard_sdk::WindowPolicy {
        free_form_seconds: Some(24 * 60 * 60),
        human_agent_seconds: None,
        templates_outside_window: true,
    }
}

#[cfg(test)]
mod tests;
