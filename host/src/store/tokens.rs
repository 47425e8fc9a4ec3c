//! API tokens: only a SHA-256 of each token is stored; the token itself is shown once.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::conversations::{HandedOver, in_order};
use super::{Db, StoreResult, now_ms, random_token, Cached};

#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A channel's bot (API tokens only, made with their channels): reads and answers its
    /// channels' conversations and hands them to people; nothing else. The lowest role.
    Bot,
    Agent,
    Supervisor,
    Admin,
    /// The installation: plugins, workspaces, provider apps, every workspace.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Operator => "operator",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "agent" => Ok(Self::Agent),
            "supervisor" => Ok(Self::Supervisor),
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            "bot" => Ok(Self::Bot),
            other => Err(format!("unknown role `{other}` (operator, admin, supervisor, agent or bot)")),
        }
    }
}

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
pub(crate) fn digest(token: &str) -> String {
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

/// A token as its workspace's admin sees it.
#[derive(utoipa::ToSchema, Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub role: Role,
    /// The token's first characters, to recognise it.
    pub prefix: String,
    pub created_at: i64,
    /// A bot token's channels: the ones it is the bot of (other roles: none, left out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

/// Whose a presented token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOwner {
    /// The token's id (audit entries name it; the token itself is never stored).
    pub id: i64,
    pub role: Role,
    /// `None` for the operator.
    pub workspace: Option<i64>,
    /// The workspace is suspended: its tokens are refused.
    pub suspended: bool,
}

impl Db {
    /// Creates a token for a role (in a workspace, except the operator's) and returns it (the
    /// only time it is seen).
    pub fn create_token(&self, role: Role, workspace: Option<i64>) -> StoreResult<String> {
        Ok(self.create_labeled_token(role, workspace, "")?.1)
    }

    /// As [`Db::create_token`], with a label to tell it apart; returns its id and the token.
    pub fn create_labeled_token(&self, role: Role, workspace: Option<i64>, label: &str) -> StoreResult<(i64, String)> {
        let (workspace, token) = new_token(role, workspace);
        let id = self.conn().cached_row(
            "INSERT INTO api_tokens (token_hash, role, workspace_id, created_at, label, prefix) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             RETURNING id",
            params![digest(&token), role.as_str(), workspace, now_ms(), label, token_prefix(&token)],
            |row| row.get(0),
        )?;
        Ok((id, token))
    }

    /// A workspace's tokens (never the tokens themselves: their label, role and first characters).
    pub fn tokens(&self, workspace: i64) -> StoreResult<Vec<TokenInfo>> {
        let conn = self.reader();
        let mut statement =
            conn.prepare_cached("SELECT id, label, role, prefix, created_at FROM api_tokens WHERE workspace_id = ?1 ORDER BY id")?;
        let rows = statement.query_map([workspace], |row| {
            let role: String = row.get(2)?;
            Ok(token_info(row.get(0)?, row.get(1)?, &role, row.get(3)?, row.get(4)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a token of a workspace, in one write: `None` when it has no such token; else the
    /// conversations a bot token handed to people (see [`HAND_OVER_TOKEN_CONVERSATIONS`]).
    pub async fn revoke_token(&self, id: i64, workspace: i64) -> StoreResult<Option<Vec<HandedOver>>> {
        use super::row::numbered;
        self.write(move |tx| {
            let handed: Vec<HandedOver> = tx
                .prepare_cached(HAND_OVER_TOKEN_CONVERSATIONS)?
                .query_map(&*numbered(&[&id, &workspace]), |row| Ok(HandedOver { channel_id: row.get(0)?, conversation_id: row.get(1)? }))?
                .collect::<Result<_, _>>()?;
            if tx.prepare_cached(REVOKE_TOKEN)?.execute(&*numbered(&[&id, &workspace]))? == 0 {
                return Ok(None);
            }
            Ok(Some(in_order(handed)))
        })
        .await
    }

    pub fn token_count(&self) -> StoreResult<u64> {
        Ok(self.reader().cached_row("SELECT COUNT(*) FROM api_tokens", [], |row| row.get(0))?)
    }

    /// Whose a presented token is, if it is one of ours.
    pub fn token_owner(&self, token: &str) -> StoreResult<Option<TokenOwner>> {
        let row: Option<(i64, String, Option<i64>, Option<String>)> = self
            .reader()
            .cached_row(
                "SELECT t.id, t.role, t.workspace_id, w.status FROM api_tokens t LEFT JOIN workspaces w ON w.id = t.workspace_id
                 WHERE t.token_hash = ?1",
                [digest(token)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()?;
        Ok(row.and_then(|(id, role, workspace, status)| token_owner_of(id, &role, workspace, status.as_deref())))
    }
}
