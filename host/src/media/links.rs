//! Links a provider downloads an agent's file from: `<public-url>/media/<channel>/<file>/<expires>/<signature>/<name>`,
//! signed with the channel's webhook secret (HMAC-SHA256), so only files sent on that
//! channel are reachable, only until the link expires, and reconnecting the channel with a
//! new secret ends every link. The name at the end is for providers that take the file's name
//! from the URL; it is not signed and not used.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::model::Channel;

/// How long a link works. LINE fetches a message's image when a customer opens it, not when
/// it is sent, and keeps the URL: a week covers a customer who reads days later; WhatsApp and
/// Telegram download at once.
pub const LINK_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

/// Signatures are the first 20 bytes of the MAC (160 bits: not guessable, a shorter URL).
const SIGNATURE_BYTES: usize = 20;

fn mac(channel: &Channel, file_id: i64, expires_ms: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(channel.webhook_secret.as_bytes()).expect("any key length");
    mac.update(format!("media:{}:{file_id}:{expires_ms}", channel.id).as_bytes());
    mac
}

fn signature(channel: &Channel, file_id: i64, expires_ms: i64) -> String {
    hex::encode(&mac(channel, file_id, expires_ms).finalize().into_bytes()[..SIGNATURE_BYTES])
}

/// The link to `file_id`, sent on `channel`, valid until `expires_ms`.
pub fn link(public_url: &str, channel: &Channel, file_id: i64, expires_ms: i64, filename: Option<&str>) -> String {
    let name: String = filename
        .unwrap_or("file")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '_' })
        .collect();
    format!("{public_url}/media/{}/{file_id}/{expires_ms}/{}/{name}", channel.id, signature(channel, file_id, expires_ms))
}

/// Whether a link's parts were signed for this channel and have not expired at `now_ms`
/// (compared in constant time).
pub fn valid(channel: &Channel, file_id: i64, expires_ms: i64, signature_hex: &str, now_ms: i64) -> bool {
    let Ok(given) = hex::decode(signature_hex) else { return false };
    expires_ms > now_ms && given.len() == SIGNATURE_BYTES && mac(channel, file_id, expires_ms).verify_truncated_left(&given).is_ok()
}
