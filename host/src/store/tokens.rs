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
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
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
            other => Err(format!("unknown role `{other}` (admin, supervisor or agent)")),
        }
    }
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Db {
    /// Creates a token for a role and returns it (the only time it is seen).
    pub fn create_token(&self, role: Role) -> StoreResult<String> {
        let token = format!("sb_{}", random_token(40));
        self.conn().execute(
            "INSERT INTO api_tokens (token_hash, role, created_at) VALUES (?1, ?2, ?3)",
            params![digest(&token), role.as_str(), now_ms()],
        )?;
        Ok(token)
    }

    pub fn token_count(&self) -> StoreResult<u64> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM api_tokens", [], |row| row.get(0))?)
    }

    /// The role of a presented token, if it is one of ours.
    pub fn token_role(&self, token: &str) -> StoreResult<Option<Role>> {
        let role: Option<String> = self
            .conn()
            .query_row("SELECT role FROM api_tokens WHERE token_hash = ?1", [digest(token)], |row| row.get(0))
            .optional()?;
        Ok(role.and_then(|r| r.parse().ok()))
    }
}
