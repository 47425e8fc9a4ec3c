//! People who sign in (username + argon2id password hash), their one-time invitation links,
//! their sessions, and failed sign-ins for lockout. Tokens of links and sessions are kept only
//! as SHA-256 digests.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::tokens::{Role, digest};
use super::{Db, StoreError, StoreResult, now_ms, random_token};

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Person {
    pub id: i64,
    /// `None` for the operator.
    pub workspace_id: Option<i64>,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    /// Whether a password is set (the invitation was accepted).
    pub has_password: bool,
    pub created_at: i64,
    /// The language chosen for the pages (`en`, `id`); `None`: the browser's.
    pub language: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

/// A signed-in person, as a session cookie names them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub person: Person,
    /// Whether the person's workspace is suspended.
    pub suspended: bool,
    /// What cookie-authenticated writes must send back in `X-CSRF-Token`.
    pub csrf_token: String,
}

/// Why an invitation link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationProblem {
    Unknown,
    Used,
    Expired,
}

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

/// Whether an attempt at a password may be checked: reserved (it counts as failed until its
/// password proves right), or refused until `until` (ms) because a key is at its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInAttempt {
    Reserved,
    LockedOut { until: i64 },
}

/// Stored failed sign-ins as they count now: none once their window has passed.
pub(crate) fn recent_failures(stored: Option<(u32, i64)>, window_ms: i64) -> (u32, i64) {
    stored.filter(|(_, first)| now_ms() - first < window_ms).unwrap_or((0, 0))
}

fn person(row: &Row<'_>) -> rusqlite::Result<Person> {
    Ok(RawPerson {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        username: row.get(2)?,
        display_name: row.get(3)?,
        role: row.get(4)?,
        active: row.get::<_, i64>(5)? == 1,
        password_hash: row.get(6)?,
        created_at: row.get(7)?,
        language: row.get(8)?,
    }
    .into_person())
}

impl Db {
    pub fn create_person(&self, workspace_id: Option<i64>, username: &str, display_name: &str, role: Role) -> StoreResult<Person> {
        let now = now_ms();
        let id: i64 = self.conn().query_row(
            "INSERT INTO people (workspace_id, username, display_name, role, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
            params![workspace_id, username, display_name, role.as_str(), now],
            |row| row.get(0),
        )?;
        self.person(id)?.ok_or(StoreError::NotFound)
    }

    pub fn person(&self, id: i64) -> StoreResult<Option<Person>> {
        Ok(self.reader().query_row(&format!("SELECT {COLUMNS} FROM people WHERE id = ?1"), [id], person).optional()?)
    }

    pub fn person_by_username(&self, username: &str) -> StoreResult<Option<Person>> {
        Ok(self.reader().query_row(&format!("SELECT {COLUMNS} FROM people WHERE username = ?1"), [username], person).optional()?)
    }

    /// The people of a workspace (`None`: everyone), by name.
    pub fn people(&self, workspace_id: Option<i64>) -> StoreResult<Vec<Person>> {
        let conn = self.reader();
        let mut statement = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM people WHERE (?1 IS NULL OR workspace_id = ?1) ORDER BY display_name, id"
        ))?;
        Ok(statement.query_map([workspace_id], person)?.collect::<Result<_, _>>()?)
    }

    /// The language a person chose for the pages (`None`: the browser's again).
    pub fn set_person_language(&self, id: i64, language: Option<&str>) -> StoreResult<bool> {
        Ok(self.conn().execute("UPDATE people SET language = ?2, updated_at = ?3 WHERE id = ?1", params![id, language, now_ms()])? == 1)
    }

    /// Changes role, name or active flag; deactivating ends the person's sessions at once.
    pub fn update_person(&self, id: i64, role: Option<Role>, display_name: Option<&str>, active: Option<bool>) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE people SET role = COALESCE(?2, role), display_name = COALESCE(?3, display_name),
                 active = COALESCE(?4, active), updated_at = ?5 WHERE id = ?1",
            params![id, role.map(Role::as_str), display_name, active.map(i64::from), now_ms()],
        )?;
        if active == Some(false) {
            tx.execute("DELETE FROM sessions WHERE person_id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A new one-time link to set a password; earlier unused ones stop working. With `reset`,
    /// the current password stops working too and the person's sessions end.
    pub fn create_invitation(&self, person_id: i64, lifetime_ms: i64, reset: bool) -> StoreResult<(String, i64)> {
        let token = new_secret();
        let expires_at = now_ms() + lifetime_ms;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM invitations WHERE person_id = ?1 AND used_at IS NULL", [person_id])?;
        tx.execute("INSERT INTO invitations (token_hash, person_id, expires_at) VALUES (?1, ?2, ?3)", params![digest(&token), person_id, expires_at])?;
        if reset {
            tx.execute("UPDATE people SET password_hash = NULL, updated_at = ?2 WHERE id = ?1", params![person_id, now_ms()])?;
            tx.execute("DELETE FROM sessions WHERE person_id = ?1", [person_id])?;
        }
        tx.commit()?;
        Ok((token, expires_at))
    }

    /// The person an invitation link is for, if it can still be used.
    pub fn invitation(&self, token: &str) -> StoreResult<Result<Person, InvitationProblem>> {
        let row: Option<(i64, i64, Option<i64>)> = self
            .reader()
            .query_row("SELECT person_id, expires_at, used_at FROM invitations WHERE token_hash = ?1", [digest(token)], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        let Some((person_id, expires_at, used_at)) = row else { return Ok(Err(InvitationProblem::Unknown)) };
        if let Some(problem) = invitation_problem(expires_at, used_at, now_ms()) {
            return Ok(Err(problem));
        }
        Ok(self.person(person_id)?.ok_or(InvitationProblem::Unknown))
    }

    /// Uses an invitation (once): the password hash is set and every session of the person ends.
    pub fn accept_invitation(&self, token: &str, password_hash: &str) -> StoreResult<bool> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let person_id: Option<i64> = tx
            .query_row(
                "UPDATE invitations SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING person_id",
                params![digest(token), now],
                |row| row.get(0),
            )
            .optional()?;
        let Some(person_id) = person_id else { return Ok(false) };
        tx.execute("UPDATE people SET password_hash = ?2, updated_at = ?3 WHERE id = ?1", params![person_id, password_hash, now])?;
        tx.execute("DELETE FROM sessions WHERE person_id = ?1", [person_id])?;
        tx.commit()?;
        Ok(true)
    }

    /// A new password of a signed-in person; their other sessions end.
    pub fn change_password(&self, person_id: i64, password_hash: &str, keep_session: &str) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("UPDATE people SET password_hash = ?2, updated_at = ?3 WHERE id = ?1", params![person_id, password_hash, now_ms()])?;
        tx.execute("DELETE FROM sessions WHERE person_id = ?1 AND id_hash <> ?2", params![person_id, digest(keep_session)])?;
        tx.commit()?;
        Ok(())
    }

    /// A new session; returns its id (for the cookie) and its CSRF token.
    pub fn create_session(&self, person_id: i64) -> StoreResult<(String, String)> {
        let (id, csrf) = (new_secret(), new_secret());
        let now = now_ms();
        self.conn().execute(
            "INSERT INTO sessions (id_hash, person_id, created_at, last_seen_at, csrf_token) VALUES (?1, ?2, ?3, ?3, ?4)",
            params![digest(&id), person_id, now, csrf],
        )?;
        Ok((id, csrf))
    }

    /// The person of a live session: not idle for `idle_ms`, younger than `absolute_ms`, the
    /// person active. A dead session is deleted.
    pub fn session(&self, id: &str, idle_ms: i64, absolute_ms: i64) -> StoreResult<Option<SignedIn>> {
        let now = now_ms();
        let row: Option<(i64, i64, i64, String)> = self
            .reader()
            .query_row("SELECT person_id, created_at, last_seen_at, csrf_token FROM sessions WHERE id_hash = ?1", [digest(id)], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()?;
        let Some((person_id, created_at, last_seen_at, csrf_token)) = row else { return Ok(None) };
        let person = self.person(person_id)?.filter(|p| p.active);
        let Some(person) = person.filter(|_| session_live(now, created_at, last_seen_at, idle_ms, absolute_ms)) else {
            self.delete_session(id)?;
            return Ok(None);
        };
        // Seen again: at most one write a minute per session.
        if now - last_seen_at > SEEN_EVERY_MS {
            self.conn().execute("UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1", params![digest(id), now])?;
        }
        let suspended = match person.workspace_id {
            Some(workspace) => self.workspace(workspace)?.is_some_and(|w| w.status == "suspended"),
            None => false,
        };
        Ok(Some(SignedIn { person, suspended, csrf_token }))
    }

    pub fn delete_session(&self, id: &str) -> StoreResult<()> {
        self.conn().execute("DELETE FROM sessions WHERE id_hash = ?1", [digest(id)])?;
        Ok(())
    }

    /// Failed sign-ins under `key` within the last `window_ms`, and when the first of them was.
    pub fn sign_in_failures(&self, key: &str, window_ms: i64) -> StoreResult<(u32, i64)> {
        let row: Option<(u32, i64)> = self
            .reader()
            .query_row("SELECT failures, first_at FROM sign_in_failures WHERE key = ?1", [key], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        Ok(recent_failures(row, window_ms))
    }

    /// Reserves one attempt under every key of `limits` (key, attempts allowed per window, at
    /// least 1) in one transaction: either each key had room and counts one more, or nothing
    /// changes. The one write connection makes reservations made at once take turns.
    pub fn reserve_sign_in_attempt(&self, limits: &[(&str, u32)], window_ms: i64) -> StoreResult<SignInAttempt> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for &(key, limit) in limits {
            let counted: Option<u32> = tx
                .query_row(
                    "INSERT INTO sign_in_failures (key, failures, first_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (key) DO UPDATE SET
                         failures = CASE WHEN ?2 - first_at >= ?3 THEN 1 ELSE failures + 1 END,
                         first_at = CASE WHEN ?2 - first_at >= ?3 THEN ?2 ELSE first_at END
                     WHERE ?2 - first_at >= ?3 OR failures < ?4
                     RETURNING failures",
                    params![key, now, window_ms, limit],
                    |row| row.get(0),
                )
                .optional()?;
            if counted.is_none() {
                // Dropping the transaction rolls back the keys reserved before this one.
                let first_at: i64 = tx.query_row("SELECT first_at FROM sign_in_failures WHERE key = ?1", [key], |row| row.get(0))?;
                return Ok(SignInAttempt::LockedOut { until: first_at + window_ms });
            }
        }
        tx.commit()?;
        Ok(SignInAttempt::Reserved)
    }

    /// Gives back one reserved attempt under `key` (its password was right).
    pub fn release_sign_in_attempt(&self, key: &str) -> StoreResult<()> {
        self.conn().execute("UPDATE sign_in_failures SET failures = failures - 1 WHERE key = ?1 AND failures > 0", [key])?;
        Ok(())
    }

    pub fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        self.conn().execute("DELETE FROM sign_in_failures WHERE key = ?1", [key])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_expire_and_sessions_end_when_idle_or_old() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let siti = db.create_person(Some(1), "siti@toko.id", "Siti", Role::Agent).unwrap();
        let (expired, _) = db.create_invitation(siti.id, -1, false).unwrap();
        assert_eq!(db.invitation(&expired).unwrap().unwrap_err(), InvitationProblem::Expired);
        assert!(!db.accept_invitation(&expired, "$argon2id$x").unwrap(), "an expired link sets nothing");
        let (live, _) = db.create_invitation(siti.id, 60_000, false).unwrap();
        assert_eq!(db.invitation(&live).unwrap().unwrap().id, siti.id);

        let (session, csrf) = db.create_session(siti.id).unwrap();
        assert_eq!(db.session(&session, 60_000, 60_000).unwrap().unwrap().csrf_token, csrf);
        assert!(db.session(&session, 0, 60_000).unwrap().is_none(), "idle too long");
        assert!(db.session(&session, 60_000, 60_000).unwrap().is_none(), "an ended session stays ended");
        let (old, _) = db.create_session(siti.id).unwrap();
        assert!(db.session(&old, 60_000, 0).unwrap().is_none(), "older than the absolute limit");
    }
}
