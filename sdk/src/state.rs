//! Durable per-channel state kept by the host (tokens to refresh, cursors, used reply tokens).
//! Writes made during a call are kept when the call succeeds.

use crate::bindings::switchboard::channel::state;

pub fn get(key: &str) -> Option<String> {
    state::get(key)
}

pub fn set(key: &str, value: &str) {
    state::set(key, value);
}

pub fn remove(key: &str) {
    state::remove(key);
}
