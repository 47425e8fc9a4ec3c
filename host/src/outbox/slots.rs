//! Which deliveries may start now: each channel within its concurrency and its rate (the
//! plugin's `send-limits`, else the host's defaults), and the host within its total. Pure
//! bookkeeping, no I/O: the worker asks, starts, and reports what finished.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::runtime::types::SendLimits;

/// Sends in flight at once for one channel unless its plugin says otherwise: enough for a
/// provider that answers in 150 ms to take 400 a second.
pub const DEFAULT_CONCURRENCY: u32 = 64;
/// Sends in flight at once for the whole host (each is a plugin instance and a connection).
pub const MAX_IN_FLIGHT: usize = 256;

#[derive(Default)]
pub struct Slots {
    /// Message id -> its channel, while it is being delivered.
    in_flight: HashMap<i64, String>,
    channels: HashMap<String, ChannelSlots>,
}

#[derive(Default)]
struct ChannelSlots {
    running: u32,
    limits: SendLimits,
    /// Token bucket for `per_second`: up to one second's worth banked.
    tokens: f64,
    refilled: Option<Instant>,
}

impl ChannelSlots {
    fn concurrency(&self) -> u32 {
        self.limits.concurrency.filter(|n| *n > 0).unwrap_or(DEFAULT_CONCURRENCY)
    }

    fn refill(&mut self, now: Instant) {
        let Some(rate) = self.limits.per_second.filter(|r| *r > 0) else { return };
        let rate = f64::from(rate);
        self.tokens = match self.refilled {
            None => rate,
            Some(then) => (self.tokens + now.saturating_duration_since(then).as_secs_f64() * rate).min(rate),
        };
        self.refilled = Some(now);
    }

    /// Why a send may not start now (`None`: it may).
    fn wait(&mut self, now: Instant) -> Option<Wait> {
        if self.running >= self.concurrency() {
            return Some(Wait::Slot);
        }
        let rate = self.limits.per_second.filter(|r| *r > 0)?;
        self.refill(now);
        (self.tokens < 1.0).then(|| Wait::Until(now + Duration::from_secs_f64((1.0 - self.tokens) / f64::from(rate))))
    }
}

/// Why a channel may not start another send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// At its concurrency: until one of its sends finishes.
    Slot,
    /// At its rate: until then.
    Until(Instant),
}

impl Slots {
    /// Starts delivering `message` of `channel` if its limits (and the host's) allow it now.
    pub fn try_start(&mut self, message: i64, channel: &str, limits: SendLimits, now: Instant) -> Result<(), Wait> {
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return Err(Wait::Slot);
        }
        let slots = self.channels.entry(channel.to_owned()).or_default();
        if slots.limits != limits {
            slots.limits = limits;
            slots.refilled = None;
        }
        if let Some(wait) = slots.wait(now) {
            return Err(wait);
        }
        if slots.limits.per_second.is_some_and(|r| r > 0) {
            slots.tokens -= 1.0;
        }
        slots.running += 1;
        self.in_flight.insert(message, channel.to_owned());
        Ok(())
    }

    pub fn finish(&mut self, message: i64) {
        if let Some(channel) = self.in_flight.remove(&message)
            && let Some(slots) = self.channels.get_mut(&channel)
        {
            slots.running = slots.running.saturating_sub(1);
        }
    }

    pub fn in_flight(&self) -> Vec<i64> {
        self.in_flight.keys().copied().collect()
    }

    pub fn total(&self) -> usize {
        self.in_flight.len()
    }

    /// Channels that may not start a send now, and the earliest instant a rate-limited one may.
    pub fn paused(&mut self, now: Instant) -> (Vec<String>, Option<Instant>) {
        let mut paused = Vec::new();
        let mut next = None::<Instant>;
        self.channels.retain(|_, slots| slots.running > 0 || slots.limits.per_second.is_some());
        for (channel, slots) in &mut self.channels {
            match slots.wait(now) {
                None => {}
                Some(Wait::Slot) => paused.push(channel.clone()),
                Some(Wait::Until(at)) => {
                    paused.push(channel.clone());
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        (paused, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREE: SendLimits = SendLimits { per_second: None, concurrency: None };

    #[test]
    fn a_channel_runs_up_to_its_concurrency_and_others_are_not_held_by_it() {
        let mut slots = Slots::default();
        let now = Instant::now();
        let two = SendLimits { per_second: None, concurrency: Some(2) };
        assert!(slots.try_start(1, "slow", two, now).is_ok());
        assert!(slots.try_start(2, "slow", two, now).is_ok());
        assert_eq!(slots.try_start(3, "slow", two, now), Err(Wait::Slot));
        assert!(slots.try_start(4, "fast", FREE, now).is_ok(), "another channel still starts");
        assert_eq!(slots.paused(now).0, vec!["slow".to_owned()]);
        slots.finish(1);
        assert!(slots.try_start(3, "slow", two, now).is_ok());
    }

    #[test]
    fn a_rate_lets_a_second_s_worth_through_then_paces() {
        let mut slots = Slots::default();
        let start = Instant::now();
        let ten = SendLimits { per_second: Some(10), concurrency: None };
        for message in 0..10 {
            assert!(slots.try_start(message, "bot", ten, start).is_ok(), "{message}");
            slots.finish(message);
        }
        let Err(Wait::Until(at)) = slots.try_start(10, "bot", ten, start) else { panic!("the 11th waits") };
        assert_eq!(at.duration_since(start), Duration::from_millis(100));
        let (paused, next) = slots.paused(start);
        assert_eq!((paused, next), (vec!["bot".to_owned()], Some(at)));
        assert!(slots.try_start(10, "bot", ten, start + Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn the_host_caps_sends_in_flight() {
        let mut slots = Slots::default();
        let now = Instant::now();
        for message in 0..MAX_IN_FLIGHT as i64 {
            assert!(slots.try_start(message, &format!("ch{}", message % 50), FREE, now).is_ok());
        }
        assert_eq!(slots.try_start(-1, "another", FREE, now), Err(Wait::Slot));
        assert_eq!(slots.total(), MAX_IN_FLIGHT);
    }
}
