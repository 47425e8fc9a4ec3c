//! API tokens: only a SHA-256 of each token is stored; the token itself is shown once.

use sha2::{Digest, Sha256};

use super::random_token;
use super::model::{Role, TokenInfo, TokenOwner};

/// A revoked bot token's conversations still in status `bot` go to people: the same change as
/// the schema's trigger `bot_removed` makes when the token's `channel_bots` rows go by cascade,
/// made first in the revoking transaction so that the store knows which conversations changed
/// (the trigger then finds none left: on Postgres the bindings are locked first, with
/// [`LOCK_TOKEN_BINDINGS`]). `$1` the token, `$2` its workspace
/// (another workspace's token hands over nothing, and is not revoked). Written once for both
/// backends.
pub(crate) const HAND_OVER_TOKEN_CONVERSATIONS: &str = "UPDATE conversations SET status = 'open'
     WHERE status = 'bot' AND channel_id IN (SELECT b.channel_id FROM channel_bots b JOIN api_tokens t ON t.id = b.token_id
                                              WHERE b.token_id = $1 AND t.workspace_id = $2)
     RETURNING channel_id, id";
/// Postgres: lock a bot token, then its bindings, before its conversations are handed over (see
/// `conversations::bot_or_open`).
pub(crate) const LOCK_TOKEN: &str = "SELECT 1 FROM api_tokens WHERE id = $1 FOR UPDATE";
pub(crate) const LOCK_TOKEN_BINDINGS: &str = "SELECT 1 FROM channel_bots WHERE token_id = $1 ORDER BY channel_id FOR UPDATE";
pub(crate) const REVOKE_TOKEN: &str = "DELETE FROM api_tokens WHERE id = $1 AND workspace_id = $2";

/// What is stored of a token, link or session id: its SHA-256, in hex.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new API token for `role`, and the workspace it belongs to: none for the operator's,
/// workspace 1 when none is named.
pub(crate) fn new_token(role: Role, workspace: Option<i64>) -> (Option<i64>, String) {
    let workspace = if role == Role::Operator { None } else { Some(workspace.unwrap_or(1)) };
    (workspace, format!("sb_{}", random_token(40)))
}

/// The first characters of a token, stored to recognise it.
pub(crate) fn token_prefix(token: &str) -> &str {
    &token[..10]
}

/// A token's row as its workspace's admin sees it (a role this build does not know reads as agent).
pub(crate) fn token_info(id: i64, label: String, role: &str, prefix: String, created_at: i64) -> TokenInfo {
    TokenInfo { id, label, role: role.parse().unwrap_or(Role::Agent), prefix, created_at, channels: Vec::new() }
}

/// Whose a token is, from its row and its workspace's status; `None` for a role this build
/// does not know.
pub(crate) fn token_owner_of(id: i64, role: &str, workspace: Option<i64>, status: Option<&str>) -> Option<TokenOwner> {
    Some(TokenOwner { id, role: role.parse().ok()?, workspace, suspended: status == Some("suspended") })
}
