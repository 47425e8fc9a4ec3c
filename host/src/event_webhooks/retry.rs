//! When a failed delivery is tried again, and when it is given up (a setting of the host,
//! below the worker and the app that holds it).

use std::time::Duration;

use crate::store::webhook_endpoints::{Delivery, Outcome};

/// When a failed delivery is tried again, and when it is given up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The waits after the first, second… failure; the last repeats.
    pub schedule: Vec<Duration>,
    /// Counted from the event: past it, a failure fails the delivery and disables the endpoint.
    pub horizon: Duration,
}

impl Default for RetryPolicy {
    /// Standard Webhooks' suggested schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h …), for 24 h.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self { schedule: vec![Duration::from_secs(5), minutes(5), minutes(30), minutes(120), minutes(300), minutes(600)], horizon: Duration::from_secs(24 * 3600) }
    }
}

impl RetryPolicy {
    /// What becomes of a delivery whose attempt failed at `now`.
    pub(super) fn after_failure(&self, delivery: &Delivery, now: i64, why: &str) -> Outcome {
        let give_up_at = delivery.created_at + self.horizon.as_millis() as i64;
        if now >= give_up_at {
            let hours = self.horizon.as_secs_f64() / 3600.0;
            return Outcome::Failed {
                disable_endpoint: Some(format!("no delivery succeeded for {hours} h (the retry horizon); the last attempt: {why}")),
            };
        }
        let wait = self.schedule.get(delivery.attempts as usize).or(self.schedule.last()).copied().unwrap_or(Duration::from_secs(5));
        Outcome::Retry { at: (now + wait.as_millis() as i64).min(give_up_at) }
    }
}

