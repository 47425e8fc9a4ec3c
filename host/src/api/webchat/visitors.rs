//! Visitors: their tokens and their rate limits.
//!
//! A visitor token is `<nonce>.<mac>`: 24 random characters and the base64url HMAC-SHA256 of
//! them under the channel's webhook secret. The host issues it and checks it without storing
//! anything; only the channel that issued a token accepts it; it cannot be guessed or forged.
//! The visitor's id, `v_<nonce>`, is what the inbox sees (the conversation's address): it
//! names the visitor without letting anyone who reads it write as them.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::deployment::SharedRates;
use crate::store::random_token;

const NONCE_LEN: usize = 24;

fn hmac(secret: &str, message: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(message);
    mac
}

fn mac(secret: &str, channel_id: &str, nonce: &str) -> Hmac<Sha256> {
    hmac(secret, format!("switchboard-webchat-visitor/{channel_id}/{nonce}").as_bytes())
}

/// A new visitor token for a channel.
pub fn issue(secret: &str, channel_id: &str) -> String {
    let nonce = random_token(NONCE_LEN);
    let signature = BASE64URL.encode(mac(secret, channel_id, &nonce).finalize().into_bytes());
    format!("{nonce}.{signature}")
}

/// The visitor id of a token this channel issued; `None` for anything else.
pub fn verify(secret: &str, channel_id: &str, token: &str) -> Option<String> {
    let (nonce, signature) = token.split_once('.')?;
    if nonce.len() != NONCE_LEN || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let signature = BASE64URL.decode(signature).ok()?;
    mac(secret, channel_id, nonce).verify_slice(&signature).ok()?;
    Some(format!("v_{nonce}"))
}

/// How the host signs what it hands the webchat plugin (`x-webchat-signature`): hex
/// HMAC-SHA256 of the body under the channel's webhook secret.
pub fn sign(secret: &str, body: &[u8]) -> String {
    hex::encode(hmac(secret, body).finalize().into_bytes())
}

type Keyed<K> = RateLimiter<K, HashMapStateStore<K>, DefaultClock>;

/// A budget: `burst` at once, then one per `every`.
struct Budget {
    burst: u32,
    every: Duration,
}

const SESSIONS: Budget = Budget { burst: 20, every: Duration::from_secs(6) };
const MESSAGES: Budget = Budget { burst: 10, every: Duration::from_secs(2) };
const STREAMS: Budget = Budget { burst: 10, every: Duration::from_secs(3) };

/// Per-visitor and per-address budgets: in memory on one node (a restart forgets them); in the
/// database on several nodes (`shared`), so spreading requests over the nodes buys nothing.
pub struct Limits {
    /// New visitor tokens per channel and client address: 20 at once, then one per 6 s.
    sessions: Keyed<(String, IpAddr)>,
    /// Messages per visitor: 10 at once, then one per 2 s.
    messages: Keyed<(String, String)>,
    /// Live connections opened per visitor: 10 at once, then one per 3 s.
    streams: Keyed<(String, String)>,
    checks: AtomicU32,
    shared: Option<Arc<dyn SharedRates>>,
}

fn quota(budget: &Budget) -> Quota {
    Quota::with_period(budget.every).expect("a non-zero period").allow_burst(NonZeroU32::new(budget.burst).expect("a non-zero burst"))
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sessions: RateLimiter::hashmap(quota(&SESSIONS)),
            messages: RateLimiter::hashmap(quota(&MESSAGES)),
            streams: RateLimiter::hashmap(quota(&STREAMS)),
            checks: AtomicU32::new(0),
            shared: None,
        }
    }
}

/// How long to wait before trying again.
pub struct Exceeded(pub Duration);

impl Limits {
    /// Budgets every node counts against together.
    pub fn shared(store: Arc<dyn SharedRates>) -> Self {
        Self { shared: Some(store), ..Self::default() }
    }

    pub async fn session(&self, channel_id: &str, ip: IpAddr) -> Result<(), Exceeded> {
        if let Some(store) = &self.shared {
            return take(store, &format!("webchat session {channel_id} {ip}"), &SESSIONS).await;
        }
        self.check(&self.sessions, (channel_id.to_owned(), ip))
    }

    pub async fn message(&self, channel_id: &str, visitor: &str) -> Result<(), Exceeded> {
        if let Some(store) = &self.shared {
            return take(store, &format!("webchat message {channel_id} {visitor}"), &MESSAGES).await;
        }
        self.check(&self.messages, (channel_id.to_owned(), visitor.to_owned()))
    }

    pub async fn stream(&self, channel_id: &str, visitor: &str) -> Result<(), Exceeded> {
        if let Some(store) = &self.shared {
            return take(store, &format!("webchat stream {channel_id} {visitor}"), &STREAMS).await;
        }
        self.check(&self.streams, (channel_id.to_owned(), visitor.to_owned()))
    }

    fn check<K: std::hash::Hash + Eq + Clone>(&self, limiter: &Keyed<K>, key: K) -> Result<(), Exceeded> {
        // Now and then, forget keys whose budget is full again.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.sessions.retain_recent();
            self.messages.retain_recent();
            self.streams.retain_recent();
        }
        limiter.check_key(&key).map_err(|not_until| Exceeded(not_until.wait_time_from(DefaultClock::default().now())))
    }
}

/// One request from a shared budget. When the database cannot say, the request goes through:
/// a limit is a guard against floods, and a visitor should not lose the chat to a hiccup.
async fn take(store: &Arc<dyn SharedRates>, key: &str, budget: &Budget) -> Result<(), Exceeded> {
    match store.take(key, budget.burst, budget.every).await {
        Ok(taken) => taken.map_err(Exceeded),
        Err(e) => {
            tracing::warn!("a website chat rate limit could not be checked (the request goes through): {e}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_on_the_channel_that_issued_them() {
        let token = issue("secret-a", "ch_1");
        let visitor = verify("secret-a", "ch_1", &token).expect("own token");
        assert_eq!(visitor, format!("v_{}", token.split('.').next().unwrap()));
        assert_eq!(verify("secret-b", "ch_1", &token), None, "another channel's secret");
        assert_eq!(verify("secret-a", "ch_2", &token), None, "another channel");
        let mut forged = token.clone();
        forged.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
        assert_eq!(verify("secret-a", "ch_1", &forged), None, "a changed nonce");
        for bad in ["", ".", "abc", "abc.def", &token[..token.len() - 1], &format!("{token}x")] {
            assert_eq!(verify("secret-a", "ch_1", bad), None, "{bad}");
        }
        assert_ne!(issue("secret-a", "ch_1"), token, "every token is new");
    }

    #[tokio::test]
    async fn a_visitor_past_the_burst_waits() {
        let limits = Limits::default();
        for _ in 0..10 {
            assert!(limits.message("ch", "v_a").await.is_ok());
        }
        let Err(Exceeded(wait)) = limits.message("ch", "v_a").await else { panic!("the 11th message is over the budget") };
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(2), "{wait:?}");
        assert!(limits.message("ch", "v_b").await.is_ok(), "another visitor has their own budget");
    }
}
