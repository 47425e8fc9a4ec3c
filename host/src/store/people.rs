//! People who sign in (username + argon2id password hash), their one-time invitation links,
//! their sessions, and failed sign-ins for lockout. Tokens of links and sessions are kept only
//! as SHA-256 digests.

use super::row::ReadRow;
use super::model::{InvitationProblem, Person, Role};
use super::{now_ms, random_token};

/// The columns [`RawPerson`] reads, in its order (the same in both dialects).
pub(crate) const COLUMNS: &str = "id, workspace_id, username, display_name, role, active, password_hash, created_at, language";
/// How many columns [`COLUMNS`] names (a query's own columns follow them).
pub(crate) const COLUMN_COUNT: usize = 9;

/// A person's row as stored (`active` read as each dialect keeps it).
pub(crate) struct RawPerson {
    pub(crate) id: i64,
    pub(crate) workspace_id: Option<i64>,
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) role: String,
    pub(crate) active: bool,
    pub(crate) password_hash: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) language: Option<String>,
}

impl RawPerson {
    /// The person (a role this build does not know reads as agent).
    pub(crate) fn into_person(self) -> Person {
        Person {
            id: self.id,
            workspace_id: self.workspace_id,
            username: self.username,
            display_name: self.display_name,
            role: self.role.parse().unwrap_or(Role::Agent),
            active: self.active,
            has_password: self.password_hash.is_some(),
            password_hash: self.password_hash,
            created_at: self.created_at,
            language: self.language,
        }
    }
}

/// A fresh secret of a link or a session (invitation token, session id, CSRF token).
pub(crate) fn new_secret() -> String {
    random_token(32)
}

/// Why a stored invitation cannot be used at `now`, if it cannot.
pub(crate) fn invitation_problem(expires_at: i64, used_at: Option<i64>, now: i64) -> Option<InvitationProblem> {
    if used_at.is_some() {
        Some(InvitationProblem::Used)
    } else if expires_at <= now {
        Some(InvitationProblem::Expired)
    } else {
        None
    }
}

/// Whether a session is alive at `now`: not idle for `idle_ms`, younger than `absolute_ms`.
pub(crate) fn session_live(now: i64, created_at: i64, last_seen_at: i64, idle_ms: i64, absolute_ms: i64) -> bool {
    now - last_seen_at < idle_ms && now - created_at < absolute_ms
}

/// A live session's `last_seen_at` is written again once it is older than this.
pub(crate) const SEEN_EVERY_MS: i64 = 60_000;

/// Stored failed sign-ins as they count now: none once their window has passed.
pub(crate) fn recent_failures(stored: Option<(u32, i64)>, window_ms: i64) -> (u32, i64) {
    stored.filter(|(_, first)| now_ms() - first < window_ms).unwrap_or((0, 0))
}

/// A person read from [`COLUMNS`] starting at column `at`.
pub(crate) fn person(row: &impl ReadRow, at: usize) -> Person {
    RawPerson {
        id: row.int(at),
        workspace_id: row.opt_int(at + 1),
        username: row.text(at + 2),
        display_name: row.text(at + 3),
        role: row.text(at + 4),
        active: row.flag(at + 5),
        password_hash: row.opt_text(at + 6),
        created_at: row.int(at + 7),
        language: row.opt_text(at + 8),
    }
    .into_person()
}
