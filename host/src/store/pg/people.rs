//! People and access over Postgres: workspaces, people, invitation links, sessions, failed
//! sign-ins and API tokens, the same rows as SQLite's. Where SQLite relied on its one writer,
//! Postgres decides across nodes: a link is used by a conditional UPDATE (of nodes accepting it
//! at once, exactly one does), an attempt at a password is reserved by conditional upserts in
//! one transaction (of attempts made at once on any nodes, no more than the limit are checked),
//! and the unique index on `lower(username)` refuses a second account whatever the case.
//! Transactions that change a person lock the person's row first, then invitations, then
//! sessions, so they wait for each other instead of deadlocking.

use tokio_postgres::Row;

use super::PgStore;
use crate::store::backend::PeopleStore;
use crate::store::people::{
    COLUMNS as PERSON_COLUMNS, COLUMN_COUNT as PERSON_COLUMN_COUNT, InvitationProblem, Person, RawPerson, SEEN_EVERY_MS, SignInAttempt, SignedIn, invitation_problem, new_secret,
    recent_failures, session_live,
};
use crate::store::conversations::{HandedOver, in_order};
use crate::store::tokens::{HAND_OVER_TOKEN_CONVERSATIONS, LOCK_TOKEN, LOCK_TOKEN_BINDINGS, REVOKE_TOKEN, Role, TokenInfo, TokenOwner, digest, new_token, token_info, token_owner_of, token_prefix};
use crate::store::workspaces::{COLUMNS as WORKSPACE_COLUMNS, Workspace};
use crate::store::{StoreError, StoreResult, now_ms};

fn workspace(row: &Row) -> Workspace {
    Workspace { id: row.get(0), name: row.get(1), status: row.get(2), channels: row.get(3), created_at: row.get(4), updated_at: row.get(5) }
}

/// A person read from [`PERSON_COLUMNS`] starting at column `at`.
fn person(row: &Row, at: usize) -> Person {
    RawPerson {
        id: row.get(at),
        workspace_id: row.get(at + 1),
        username: row.get(at + 2),
        display_name: row.get(at + 3),
        role: row.get(at + 4),
        active: row.get(at + 5),
        password_hash: row.get(at + 6),
        created_at: row.get(at + 7),
        language: row.get(at + 8),
    }
    .into_person()
}

/// Locks a person's row until the transaction ends (the first lock of every transaction that
/// changes a person, their links or their sessions).
async fn lock_person(tx: &deadpool_postgres::Transaction<'_>, person_id: i64) -> StoreResult<()> {
    let statement = tx.prepare_cached("SELECT id FROM people WHERE id = $1 FOR UPDATE").await?;
    tx.query_opt(&statement, &[&person_id]).await?;
    Ok(())
}

#[async_trait::async_trait]
impl PeopleStore for PgStore {
    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces w ORDER BY w.id")).await?;
        Ok(client.query(&statement, &[]).await?.iter().map(workspace).collect())
    }

    async fn workspace(&self, id: i64) -> StoreResult<Option<Workspace>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces w WHERE w.id = $1")).await?;
        Ok(client.query_opt(&statement, &[&id]).await?.as_ref().map(workspace))
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        let id: i64 = self
            .client()
            .await?
            .query_one("INSERT INTO workspaces (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id", &[&name, &now_ms()])
            .await?
            .get(0);
        self.workspace(id).await?.ok_or(StoreError::NotFound)
    }

    async fn update_workspace(&self, id: i64, name: Option<&str>, suspended: Option<bool>) -> StoreResult<bool> {
        let status = suspended.map(|s| if s { "suspended" } else { "active" });
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE workspaces SET name = COALESCE($2, name), status = COALESCE($3, status), updated_at = $4 WHERE id = $1",
                &[&id, &name, &status, &now_ms()],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn delete_workspace(&self, id: i64) -> StoreResult<bool> {
        // Channels and login flows name their workspace without a foreign key (as in SQLite):
        // deleted here; people, tokens and media go by cascade.
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM oauth_flows WHERE workspace_id = $1", &[&id]).await?;
        tx.execute("DELETE FROM channels WHERE workspace_id = $1", &[&id]).await?;
        let deleted = tx.execute("DELETE FROM workspaces WHERE id = $1", &[&id]).await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn release_held_deliveries(&self, id: i64) -> StoreResult<usize> {
        let released = self
            .client()
            .await?
            .execute(
                "UPDATE outbox SET next_attempt_at = $2 WHERE channel_id IN (SELECT id FROM channels WHERE workspace_id = $1)
                   AND next_attempt_at > $2",
                &[&id, &now_ms()],
            )
            .await?;
        Ok(released as usize)
    }

    async fn channel_suspended(&self, channel_id: &str) -> StoreResult<bool> {
        let client = self.client().await?;
        let statement = client.prepare_cached("SELECT w.status FROM channels c JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = $1").await?;
        let status: Option<String> = client.query_opt(&statement, &[&channel_id]).await?.map(|row| row.get(0));
        Ok(status.as_deref() == Some("suspended"))
    }

    async fn create_person(&self, workspace_id: Option<i64>, username: &str, display_name: &str, role: Role) -> StoreResult<Person> {
        // A username taken in any case breaks the unique index on lower(username): refused
        // with the database's error, as SQLite refuses it (COLLATE NOCASE).
        let now = now_ms();
        let row = self
            .client()
            .await?
            .query_one(
                &format!(
                    "INSERT INTO people (workspace_id, username, display_name, role, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING {PERSON_COLUMNS}"
                ),
                &[&workspace_id, &username, &display_name, &role.as_str(), &now],
            )
            .await?;
        Ok(person(&row, 0))
    }

    async fn person(&self, id: i64) -> StoreResult<Option<Person>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1")).await?;
        Ok(client.query_opt(&statement, &[&id]).await?.map(|row| person(&row, 0)))
    }

    async fn person_by_username(&self, username: &str) -> StoreResult<Option<Person>> {
        // Whatever its case, as SQLite's COLLATE NOCASE column compares (and by the unique index).
        let client = self.client().await?;
        let statement = client.prepare_cached(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE lower(username) = lower($1)")).await?;
        Ok(client.query_opt(&statement, &[&username]).await?.map(|row| person(&row, 0)))
    }

    async fn people(&self, workspace_id: Option<i64>) -> StoreResult<Vec<Person>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM people WHERE ($1::BIGINT IS NULL OR workspace_id = $1)
                 ORDER BY display_name COLLATE \"C\", id"
            ))
            .await?;
        Ok(client.query(&statement, &[&workspace_id]).await?.iter().map(|row| person(row, 0)).collect())
    }

    async fn set_person_language(&self, id: i64, language: Option<&str>) -> StoreResult<bool> {
        let client = self.client().await?;
        Ok(client.execute("UPDATE people SET language = $2, updated_at = $3 WHERE id = $1", &[&id, &language, &now_ms()]).await? == 1)
    }

    async fn update_person(&self, id: i64, role: Option<Role>, display_name: Option<&str>, active: Option<bool>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE people SET role = COALESCE($2, role), display_name = COALESCE($3, display_name),
                 active = COALESCE($4, active), updated_at = $5 WHERE id = $1",
            &[&id, &role.map(Role::as_str), &display_name, &active, &now_ms()],
        )
        .await?;
        if active == Some(false) {
            tx.execute("DELETE FROM sessions WHERE person_id = $1", &[&id]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_invitation(&self, person_id: i64, lifetime_ms: i64, reset: bool) -> StoreResult<(String, i64)> {
        let token = new_secret();
        let expires_at = now_ms() + lifetime_ms;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Links made at once for one person (on two nodes) wait for each other here, so the later
        // one deletes the earlier: one link works at a time.
        lock_person(&tx, person_id).await?;
        tx.execute("DELETE FROM invitations WHERE person_id = $1 AND used_at IS NULL", &[&person_id]).await?;
        tx.execute("INSERT INTO invitations (token_hash, person_id, expires_at) VALUES ($1, $2, $3)", &[&digest(&token), &person_id, &expires_at]).await?;
        if reset {
            tx.execute("UPDATE people SET password_hash = NULL, updated_at = $2 WHERE id = $1", &[&person_id, &now_ms()]).await?;
            tx.execute("DELETE FROM sessions WHERE person_id = $1", &[&person_id]).await?;
        }
        tx.commit().await?;
        Ok((token, expires_at))
    }

    async fn invitation(&self, token: &str) -> StoreResult<Result<Person, InvitationProblem>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT i.expires_at, i.used_at, {PERSON_COLUMNS} FROM invitations i JOIN people ON people.id = i.person_id
                 WHERE i.token_hash = $1"
            ))
            .await?;
        let Some(row) = client.query_opt(&statement, &[&digest(token)]).await? else { return Ok(Err(InvitationProblem::Unknown)) };
        let (expires_at, used_at): (i64, Option<i64>) = (row.get(0), row.get(1));
        if let Some(problem) = invitation_problem(expires_at, used_at, now_ms()) {
            return Ok(Err(problem));
        }
        Ok(Ok(person(&row, 2)))
    }

    async fn accept_invitation(&self, token: &str, password_hash: &str) -> StoreResult<bool> {
        let (hash, now) = (digest(token), now_ms());
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let person_id: Option<i64> = tx.query_opt("SELECT person_id FROM invitations WHERE token_hash = $1", &[&hash]).await?.map(|row| row.get(0));
        let Some(person_id) = person_id else { return Ok(false) };
        lock_person(&tx, person_id).await?;
        // Postgres re-checks the condition on the row it locked: of nodes accepting the same
        // link at once, one changes it and the others find it used.
        let used = tx
            .execute("UPDATE invitations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2", &[&hash, &now])
            .await?;
        if used == 0 {
            return Ok(false);
        }
        tx.execute("UPDATE people SET password_hash = $2, updated_at = $3 WHERE id = $1", &[&person_id, &password_hash, &now]).await?;
        tx.execute("DELETE FROM sessions WHERE person_id = $1", &[&person_id]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn change_password(&self, person_id: i64, password_hash: &str, keep_session: &str) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("UPDATE people SET password_hash = $2, updated_at = $3 WHERE id = $1", &[&person_id, &password_hash, &now_ms()]).await?;
        tx.execute("DELETE FROM sessions WHERE person_id = $1 AND id_hash <> $2", &[&person_id, &digest(keep_session)]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, person_id: i64) -> StoreResult<(String, String)> {
        let (id, csrf) = (new_secret(), new_secret());
        let client = self.client().await?;
        let statement = client
            .prepare_cached("INSERT INTO sessions (id_hash, person_id, created_at, last_seen_at, csrf_token) VALUES ($1, $2, $3, $3, $4)")
            .await?;
        client.execute(&statement, &[&digest(&id), &person_id, &now_ms(), &csrf]).await?;
        Ok((id, csrf))
    }

    async fn session(&self, id: &str, idle_ms: i64, absolute_ms: i64) -> StoreResult<Option<SignedIn>> {
        let (hash, now) = (digest(id), now_ms());
        let client = self.client().await?;
        // The session, its person and the person's workspace's status in one read (every
        // request signed in by cookie makes it).
        let statement = client
            .prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS}, s.session_created_at, s.last_seen_at, s.csrf_token,
                    (SELECT w.status FROM workspaces w WHERE w.id = people.workspace_id)
                 FROM (SELECT person_id, created_at AS session_created_at, last_seen_at, csrf_token FROM sessions WHERE id_hash = $1) s
                 JOIN people ON people.id = s.person_id"
            ))
            .await?;
        let Some(row) = client.query_opt(&statement, &[&hash]).await? else { return Ok(None) };
        let signed_in = person(&row, 0);
        let after = PERSON_COLUMN_COUNT;
        let (created_at, last_seen_at, csrf_token): (i64, i64, String) = (row.get(after), row.get(after + 1), row.get(after + 2));
        let status: Option<String> = row.get(after + 3);
        if !signed_in.active || !session_live(now, created_at, last_seen_at, idle_ms, absolute_ms) {
            client.execute("DELETE FROM sessions WHERE id_hash = $1", &[&hash]).await?;
            return Ok(None);
        }
        // Seen again: at most one write a minute per session.
        if now - last_seen_at > SEEN_EVERY_MS {
            client.execute("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1", &[&hash, &now]).await?;
        }
        Ok(Some(SignedIn { person: signed_in, suspended: status.as_deref() == Some("suspended"), csrf_token }))
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        self.client().await?.execute("DELETE FROM sessions WHERE id_hash = $1", &[&digest(id)]).await?;
        Ok(())
    }

    async fn sign_in_failures(&self, key: &str, window_ms: i64) -> StoreResult<(u32, i64)> {
        let client = self.client().await?;
        let statement = client.prepare_cached("SELECT failures, first_at FROM sign_in_failures WHERE key = $1").await?;
        let stored = client.query_opt(&statement, &[&key]).await?.map(|row| (row.get::<_, i32>(0) as u32, row.get::<_, i64>(1)));
        Ok(recent_failures(stored, window_ms))
    }

    async fn reserve_sign_in_attempt(&self, limits: &[(&str, u32)], window_ms: i64) -> StoreResult<SignInAttempt> {
        // Each upsert locks its key's row until the transaction ends, and Postgres evaluates the
        // condition on the row as the previous holder left it: attempts made at once on any
        // nodes take turns per key. Keys are locked in one order (sorted), so two reservations
        // never wait for each other's keys.
        let mut ordered = limits.to_vec();
        ordered.sort_unstable_by_key(|&(key, _)| key);
        let now = now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let reserve = tx
            .prepare_cached(
                "INSERT INTO sign_in_failures (key, failures, first_at) VALUES ($1, 1, $2)
                 ON CONFLICT (key) DO UPDATE SET
                     failures = CASE WHEN $2 - sign_in_failures.first_at >= $3 THEN 1 ELSE sign_in_failures.failures + 1 END,
                     first_at = CASE WHEN $2 - sign_in_failures.first_at >= $3 THEN $2 ELSE sign_in_failures.first_at END
                 WHERE $2 - sign_in_failures.first_at >= $3 OR sign_in_failures.failures < $4
                 RETURNING failures",
            )
            .await?;
        for (key, limit) in ordered {
            let limit = i32::try_from(limit).unwrap_or(i32::MAX);
            if tx.query_opt(&reserve, &[&key, &now, &window_ms, &limit]).await?.is_none() {
                // Dropping the transaction rolls back the keys reserved before this one.
                let first_at: i64 = tx.query_one("SELECT first_at FROM sign_in_failures WHERE key = $1", &[&key]).await?.get(0);
                return Ok(SignInAttempt::LockedOut { until: first_at + window_ms });
            }
        }
        tx.commit().await?;
        Ok(SignInAttempt::Reserved)
    }

    async fn release_sign_in_attempt(&self, key: &str) -> StoreResult<()> {
        self.client().await?.execute("UPDATE sign_in_failures SET failures = failures - 1 WHERE key = $1 AND failures > 0", &[&key]).await?;
        Ok(())
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        self.client().await?.execute("DELETE FROM sign_in_failures WHERE key = $1", &[&key]).await?;
        Ok(())
    }

    async fn create_token(&self, role: Role, workspace: Option<i64>) -> StoreResult<String> {
        Ok(self.create_labeled_token(role, workspace, "").await?.1)
    }

    async fn create_labeled_token(&self, role: Role, workspace: Option<i64>, label: &str) -> StoreResult<(i64, String)> {
        let (workspace, token) = new_token(role, workspace);
        let id: i64 = self
            .client()
            .await?
            .query_one(
                "INSERT INTO api_tokens (token_hash, role, workspace_id, created_at, label, prefix) VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id",
                &[&digest(&token), &role.as_str(), &workspace, &now_ms(), &label, &token_prefix(&token)],
            )
            .await?
            .get(0);
        Ok((id, token))
    }

    async fn tokens(&self, workspace: i64) -> StoreResult<Vec<TokenInfo>> {
        let client = self.client().await?;
        let statement = client.prepare_cached("SELECT id, label, role, prefix, created_at FROM api_tokens WHERE workspace_id = $1 ORDER BY id").await?;
        let rows = client.query(&statement, &[&workspace]).await?;
        Ok(rows.iter().map(|row| token_info(row.get(0), row.get(1), row.get::<_, &str>(2), row.get(3), row.get(4))).collect())
    }

    async fn revoke_token(&self, id: i64, workspace: i64) -> StoreResult<Option<Vec<HandedOver>>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(LOCK_TOKEN, &[&id]).await?;
        tx.execute(LOCK_TOKEN_BINDINGS, &[&id]).await?;
        let rows = tx.query(HAND_OVER_TOKEN_CONVERSATIONS, &[&id, &workspace]).await?;
        let handed = in_order(rows.iter().map(|row| HandedOver { channel_id: row.get(0), conversation_id: row.get(1) }).collect());
        if tx.execute(REVOKE_TOKEN, &[&id, &workspace]).await? == 0 {
            // No such token here: the transaction is dropped (it changed nothing).
            return Ok(None);
        }
        // Every node's inbox followers hear of each, as of a bot handing one over itself.
        for conversation in &handed {
            super::live::announce(&tx, "conversation", &conversation.channel_id, conversation.conversation_id, None).await?;
        }
        tx.commit().await?;
        Ok(Some(handed))
    }

    async fn token_count(&self) -> StoreResult<u64> {
        let count: i64 = self.client().await?.query_one("SELECT COUNT(*) FROM api_tokens", &[]).await?.get(0);
        Ok(count as u64)
    }

    async fn token_owner(&self, token: &str) -> StoreResult<Option<TokenOwner>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT t.id, t.role, t.workspace_id, w.status FROM api_tokens t LEFT JOIN workspaces w ON w.id = t.workspace_id
                 WHERE t.token_hash = $1",
            )
            .await?;
        let row = client.query_opt(&statement, &[&digest(token)]).await?;
        Ok(row.and_then(|row| token_owner_of(row.get(0), row.get::<_, &str>(1), row.get(2), row.get::<_, Option<&str>>(3))))
    }
}
