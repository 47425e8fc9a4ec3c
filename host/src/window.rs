//! The messaging window, enforced by the host from the plugin's policy and the time of the
//! customer's last inbound message (the provider's timestamp).

use serde::Serialize;

use crate::runtime::types::{WindowPolicy, WindowState};

#[derive(utoipa::ToSchema, Debug, Clone, Copy, Serialize)]
pub struct Window {
    pub state: WindowState,
    /// When the current state ends (ms), if it does.
    pub changes_at: Option<i64>,
    /// While the free-form window is open: when it closes (ms).
    pub closes_at: Option<i64>,
    /// Once it has closed: when it did (ms). Both are `None` when the customer never wrote.
    pub closed_at: Option<i64>,
    /// Whether templates may be sent now.
    pub templates_allowed: bool,
    #[serde(skip)]
    free_form_seconds: Option<u64>,
}

pub fn compute(policy: &WindowPolicy, last_inbound_at: Option<i64>, now: i64) -> Window {
    let seconds = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let window = |state, changes_at, templates_allowed| Window {
        state,
        changes_at,
        closes_at: None,
        closed_at: None,
        templates_allowed,
        free_form_seconds: policy.free_form_seconds,
    };
    let Some(free_form) = policy.free_form_seconds else {
        return window(WindowState::Unrestricted, None, true);
    };
    let closed = window(WindowState::Closed, None, policy.templates_outside_window);
    let Some(last) = last_inbound_at else { return closed };
    let free_until = last.saturating_add(seconds(free_form));
    if now < free_until {
        return Window { closes_at: Some(free_until), ..window(WindowState::Open, Some(free_until), true) };
    }
    if let Some(human) = policy.human_agent_seconds {
        let human_until = last.saturating_add(seconds(human));
        if now < human_until {
            let human_agent = window(WindowState::HumanAgent, Some(human_until), policy.templates_outside_window);
            return Window { closed_at: Some(free_until), ..human_agent };
        }
    }
    Window { closed_at: Some(free_until), ..closed }
}

impl Window {
    /// Whether a message may be sent now (a template or free-form content); if not, why, for a person.
    pub fn permits(&self, is_template: bool) -> Result<(), String> {
        if self.state != WindowState::Closed || (is_template && self.templates_allowed) {
            return Ok(());
        }
        let window = match self.free_form_seconds {
            Some(seconds) if seconds % 3600 == 0 => format!("{}-hour messaging window", seconds / 3600),
            _ => "messaging window".to_string(),
        };
        let why = match self.closed_at {
            Some(at) => format!("the {window} of this conversation closed at {} (counted from the customer's last message)", rfc3339(at)),
            None => format!("the customer has not written in this conversation, so its {window} never opened"),
        };
        let next = if self.templates_allowed {
            "only an approved template can be sent now: send {\"template\": {\"name\", \"language\", \"params\"}}"
        } else {
            "nothing can be sent until the customer writes again"
        };
        Err(format!("{why}; {next}"))
    }
}

/// `2025-11-20T10:00:00Z` for a time in ms.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| format!("{ms} ms since the epoch"), |at| at.to_string())
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
        assert_eq!(compute(&whatsapp, Some(0), 23 * HOUR).state, WindowState::Open);
        let late = compute(&whatsapp, Some(0), 25 * HOUR);
        assert_eq!(late.state, WindowState::Closed);
        assert!(late.templates_allowed);
        assert_eq!(compute(&whatsapp, None, 0).state, WindowState::Closed);
    }

    #[test]
    fn messenger_style_window_has_a_human_agent_week() {
        let messenger = policy(Some(86_400), Some(7 * 86_400), false);
        assert_eq!(compute(&messenger, Some(0), 2 * 24 * HOUR).state, WindowState::HumanAgent);
        let gone = compute(&messenger, Some(0), 8 * 24 * HOUR);
        assert_eq!(gone.state, WindowState::Closed);
        assert!(!gone.templates_allowed);
    }

    #[test]
    fn the_window_says_when_it_closes_and_when_it_closed() {
        let whatsapp = policy(Some(86_400), None, true);
        let open = compute(&whatsapp, Some(HOUR), 2 * HOUR);
        assert_eq!((open.closes_at, open.closed_at), (Some(25 * HOUR), None));
        assert_eq!(open.permits(false), Ok(()));
        let closed = compute(&whatsapp, Some(1_763_600_000_000), 1_763_600_000_000 + 25 * HOUR);
        assert_eq!((closed.closes_at, closed.closed_at), (None, Some(1_763_600_000_000 + 24 * HOUR)));
        assert_eq!(closed.permits(true), Ok(()));
        let refusal = closed.permits(false).unwrap_err();
        assert!(refusal.starts_with("the 24-hour messaging window of this conversation closed at 2025-11-21T00:53:20Z"), "{refusal}");
        assert!(refusal.contains("only an approved template"), "{refusal}");
        let never = compute(&whatsapp, None, 0).permits(false).unwrap_err();
        assert!(never.contains("never opened"), "{never}");
        let messenger = compute(&policy(Some(86_400), Some(7 * 86_400), false), Some(0), 8 * 24 * HOUR);
        assert!(messenger.permits(true).unwrap_err().contains("nothing can be sent"));
    }

    #[test]
    fn no_policy_means_unrestricted() {
        assert_eq!(compute(&policy(None, None, false), None, 0).state, WindowState::Unrestricted);
    }
}
