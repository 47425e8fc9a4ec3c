//! API tokens: only a SHA-256 of each token is stored; the token itself is shown once.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Db, StoreResult, now_ms, random_token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
    /// The installation: plugins, workspaces, provider apps, every workspace.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
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
            other => Err(format!("unknown role `{other}` (operator, admin, supervisor or agent)")),
        }
    }
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whose a presented token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOwner {
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
        let workspace = if role == Role::Operator { None } else { Some(workspace.unwrap_or(1)) };
        let token = format!("sb_{}", random_token(40));
        self.conn().execute(
            "INSERT INTO api_tokens (token_hash, role, workspace_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![digest(&token), role.as_str(), workspace, now_ms()],
        )?;
        Ok(token)
    }

    pub fn token_count(&self) -> StoreResult<u64> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM api_tokens", [], |row| row.get(0))?)
    }

    /// Whose a presented token is, if it is one of ours.
    pub fn token_owner(&self, token: &str) -> StoreResult<Option<TokenOwner>> {
        let row: Option<(String, Option<i64>, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT t.role, t.workspace_id, w.status FROM api_tokens t LEFT JOIN workspaces w ON w.id = t.workspace_id
                 WHERE t.token_hash = ?1",
                [digest(token)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        Ok(row.and_then(|(role, workspace, status)| {
            Some(TokenOwner { role: role.parse().ok()?, workspace, suspended: status.as_deref() == Some("suspended") })
        }))
    }
}
