//! How mail finds its conversation.
//!
//! A conversation's key (the contract's `conversation` string) is 20 lowercase hex digits:
//! HMAC-SHA256, under the channel's webhook secret, of the Message-ID of the mail that
//! started it. A redelivery maps to the same key; nobody outside can make one up; it is safe
//! in addresses and Message-IDs. At send time the host passes the key back as the message's
//! `recipient`, and the plugin writes it into everything a reply carries back:
//!
//! - our Message-ID, `<conversation/{key}/messages/{host message id}@{business domain}>`,
//!   which a reply names in In-Reply-To and References;
//! - Reply-To, `reply+{key}@{inbound domain}`, when the host receives mail by SMTP itself.
//!
//! The Message-IDs of inbound mail are remembered in the channel's state
//! (`thread:<message-id>` -> key), so a reply to a customer's mail (their own follow-up, a
//! colleague answering in CC) joins the conversation too.

use switchboard_sdk::{hex, hmac_sha256};

const KEY_HEX_DIGITS: usize = 20;
const OUR_ID_PREFIX: &str = "conversation/";
const OUR_ID_MIDDLE: &str = "/messages/";
/// State keys remembering which conversation an inbound Message-ID belongs to.
pub const STATE_PREFIX: &str = "thread:";
/// The local part that names a conversation: `reply+<key>`.
pub const REPLY_PREFIX: &str = "reply+";

/// The key of a conversation started by the mail with this Message-ID.
pub fn new_key(webhook_secret: &str, message_id: &str) -> String {
    let mac = hmac_sha256(webhook_secret, format!("conversation\0{message_id}"));
    hex::encode(mac)[..KEY_HEX_DIGITS].to_owned()
}

/// Whether `text` can be a key (what this plugin makes, in any case).
pub fn is_key(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The Message-ID (without angle brackets) of one of our messages in a conversation.
pub fn message_id(key: &str, host_message_id: &str, domain: &str) -> String {
    format!("{OUR_ID_PREFIX}{key}{OUR_ID_MIDDLE}{host_message_id}@{domain}")
}

/// The conversation key inside one of our Message-IDs (with or without angle brackets).
pub fn key_of_message_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _domain) = id.rsplit_once('@')?;
    let (key, number) = local.strip_prefix(OUR_ID_PREFIX)?.split_once(OUR_ID_MIDDLE)?;
    (is_key(key) && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then(|| key.to_ascii_lowercase())
}

/// The conversation key of a `reply+<key>@<inbound domain>` address.
pub fn key_of_reply_address(address: &str, inbound_domain: &str) -> Option<String> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = address.rsplit_once('@')?;
    if !domain.trim_end_matches('.').eq_ignore_ascii_case(inbound_domain) {
        return None;
    }
    let key = local.get(..REPLY_PREFIX.len()).filter(|p| p.eq_ignore_ascii_case(REPLY_PREFIX)).map(|_| &local[REPLY_PREFIX.len()..])?;
    is_key(key).then(|| key.to_ascii_lowercase())
}

/// The state key remembering an inbound Message-ID's conversation. A Message-ID is the
/// sender's to choose and has no length limit: a long one is keyed by its digest (the host
/// keeps keys of at most 1 KiB).
pub fn state_key(message_id: &str) -> String {
    const LONGEST_KEPT_AS_IS: usize = 200;
    match message_id.len() <= LONGEST_KEPT_AS_IS {
        true => format!("{STATE_PREFIX}{message_id}"),
        false => format!("{STATE_PREFIX}sha256:{}", hex::encode(hmac_sha256("message-id", message_id))),
    }
}

/// References for a reply: the ones the answered mail carried, then the answered mail
/// itself; at most `MAX_REFERENCES`, keeping the thread's first message (RFC 5322 3.6.4).
pub fn references(earlier: &[String], answered: &str) -> Vec<String> {
    const MAX_REFERENCES: usize = 20;
    let mut all: Vec<String> = earlier.iter().filter(|id| id.as_str() != answered).cloned().collect();
    all.push(answered.to_owned());
    if all.len() > MAX_REFERENCES {
        let tail = all.split_off(all.len() - (MAX_REFERENCES - 1));
        all.truncate(1);
        all.extend(tail);
    }
    all
}
