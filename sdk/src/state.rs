//! Durable per-channel state kept by the host (tokens to refresh, cursors, used reply tokens).
//! Each write is durable at once, whatever the call returns.

use crate::bindings::switchboard::channel::state;

/// The value stored under `key` for this call's channel.
pub fn get(key: &str) -> Option<String> {
    state::get(key)
}

/// Stores `value` under `key` for this call's channel, durably before this returns.
pub fn set(key: &str, value: &str) {
    state::set(key, value);
}

/// Removes `key` for this call's channel.
pub fn remove(key: &str) {
    state::remove(key);
}

/// Keys starting with `prefix`, sorted (contract 0.1.1).
pub fn keys(prefix: &str) -> Vec<String> {
    state::keys(prefix)
}
