//! The messaging window, enforced by the host from the plugin's policy and the time of the
//! customer's last inbound message (the provider's timestamp).

use serde::Serialize;

use crate::runtime::types::{WindowPolicy, WindowState};

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Window {
    pub state: &'static str,
    /// When the current state ends (ms), if it does.
    pub changes_at: Option<i64>,
    /// Whether templates may be sent now.
    pub templates_allowed: bool,
    #[serde(skip)]
    pub wit_state: WindowState,
}

pub fn compute(policy: &WindowPolicy, last_inbound_at: Option<i64>, now: i64) -> Window {
    let seconds = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let closed = Window { state: "closed", changes_at: None, templates_allowed: policy.templates_outside_window, wit_state: WindowState::Closed };
    let Some(free_form) = policy.free_form_seconds else {
        return Window { state: "unrestricted", changes_at: None, templates_allowed: true, wit_state: WindowState::Unrestricted };
    };
    let Some(last) = last_inbound_at else { return closed };
    let free_until = last.saturating_add(seconds(free_form));
    if now < free_until {
        return Window { state: "open", changes_at: Some(free_until), templates_allowed: true, wit_state: WindowState::Open };
    }
    if let Some(human) = policy.human_agent_seconds {
        let human_until = last.saturating_add(seconds(human));
        if now < human_until {
            return Window {
                state: "human_agent",
                changes_at: Some(human_until),
                templates_allowed: policy.templates_outside_window,
                wit_state: WindowState::HumanAgent,
            };
        }
    }
    closed
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn policy(free: Option<u64>, human: Option<u64>, templates: bool) -> WindowPolicy {
        WindowPolicy { free_form_seconds: free, human_agent_seconds: human, templates_outside_window: templates }
    }

    #[test]
    fn whatsapp_style_window_closes_after_24_hours_to_templates() {
        let whatsapp = policy(Some(86_400), None, true);
        assert_eq!(compute(&whatsapp, Some(0), 23 * HOUR).state, "open");
        let late = compute(&whatsapp, Some(0), 25 * HOUR);
        assert_eq!(late.state, "closed");
        assert!(late.templates_allowed);
        assert_eq!(compute(&whatsapp, None, 0).state, "closed");
    }

    #[test]
    fn messenger_style_window_has_a_human_agent_week() {
        let messenger = policy(Some(86_400), Some(7 * 86_400), false);
        assert_eq!(compute(&messenger, Some(0), 2 * 24 * HOUR).state, "human_agent");
        let gone = compute(&messenger, Some(0), 8 * 24 * HOUR);
        assert_eq!(gone.state, "closed");
        assert!(!gone.templates_allowed);
    }

    #[test]
    fn no_policy_means_unrestricted() {
        assert_eq!(compute(&policy(None, None, false), None, 0).state, "unrestricted");
    }
}
