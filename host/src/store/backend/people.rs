//! People and access: workspaces (the operator's businesses), the people who sign in
//! (invitation links, sessions, failed sign-ins for lockout) and API tokens, each operation
//! written once for both backends (see `store::sql`; the rows and their readers are in
//! `store::people`, `store::workspaces` and `store::tokens`). Links, session ids and tokens are
//! stored only as SHA-256 digests.
//!
//! Where SQLite relies on its one writer, Postgres decides across nodes: a link is used by a
//! conditional UPDATE (of nodes accepting it at once, exactly one does), an attempt at a
//! password is reserved by conditional upserts in one transaction (of attempts made at once on
//! any nodes, no more than the limit are checked), and a unique index refuses a second account
//! whatever the username's case (SQLite: `COLLATE NOCASE`; Postgres: on `lower(username)`).
//! Transactions that change a person lock the person's row first (Postgres), then invitations,
//! then sessions, so they wait for each other instead of deadlocking.

use crate::store::conversations::in_order;
use crate::store::model::{HandedOver, InvitationProblem, Person, Role, SignedIn, SignInAttempt, TokenInfo, TokenOwner, Workspace};
use crate::store::people::{COLUMNS as PERSON_COLUMNS, COLUMN_COUNT as PERSON_COLUMN_COUNT, SEEN_EVERY_MS, invitation_problem, new_secret, person, recent_failures, session_live};
use crate::store::row::ReadRow;
use crate::store::sql::{RunSql, Sql, body};
use crate::store::tokens::{HAND_OVER_TOKEN_CONVERSATIONS, LOCK_TOKEN, LOCK_TOKEN_BINDINGS, REVOKE_TOKEN, digest, new_token, token_info, token_owner_of, token_prefix};
use crate::store::workspaces::{COLUMNS as WORKSPACE_COLUMNS, channel_suspended_in, workspace};
use crate::store::{Db, Scope, StoreError, StoreResult, now_ms};

#[async_trait::async_trait]
pub trait PeopleStore: Send + Sync {
    // Workspaces: one business each.
    /// Every workspace, by id.
    async fn workspaces(&self) -> StoreResult<Vec<Workspace>>;
    async fn workspace(&self, id: i64) -> StoreResult<Option<Workspace>>;
    /// A new active workspace.
    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace>;
    /// Renames and/or suspends (`Some(true)`) or resumes a workspace; `false` when it does not exist.
    async fn update_workspace(&self, id: i64, name: Option<&str>, suspended: Option<bool>) -> StoreResult<bool>;
    /// Deletes a workspace with everything in it (channels, people, tokens, logins in progress),
    /// in one transaction; whether it existed. `torn_down`: the active channels the caller
    /// disconnected at their providers first, each as it read it (id, `updated_at`). A channel
    /// connected or changed since, or one still connecting since `connecting_since` (ms; an
    /// older one is a leftover of a connect that died with its process), refuses the deletion
    /// with `ChangedMeanwhile`: nothing stays connected at a provider for a deleted channel.
    async fn delete_workspace(&self, id: i64, torn_down: &[(String, i64)], connecting_since: i64) -> StoreResult<bool>;
    /// Makes the workspace's held deliveries due now (it was resumed); how many.
    async fn release_held_deliveries(&self, id: i64) -> StoreResult<usize>;
    /// Whether the workspace of a channel is suspended (nothing is sent for it then).
    async fn channel_suspended(&self, channel_id: &str) -> StoreResult<bool>;

    // People: one account per username, whatever its case.
    /// A new person without a password; a username taken (in any case) is refused.
    async fn create_person(&self, workspace_id: Option<i64>, username: &str, display_name: &str, role: Role) -> StoreResult<Person>;
    /// A person, if in `scope` (the operator's people, of no workspace, only in every workspace's).
    async fn person(&self, id: i64, scope: Scope) -> StoreResult<Option<Person>>;
    /// The person with this username, whatever its case.
    async fn person_by_username(&self, username: &str) -> StoreResult<Option<Person>>;
    /// The people of a workspace (`None`: everyone), by display name (byte order), then id.
    async fn people(&self, workspace_id: Option<i64>) -> StoreResult<Vec<Person>>;
    /// The language a person chose for the pages (`None`: the browser's again); false: no such person.
    async fn set_person_language(&self, id: i64, language: Option<&str>) -> StoreResult<bool>;
    /// Changes role, name or active flag; deactivating ends the person's sessions at once.
    /// Whether the person is one in `scope` (else nothing changes). `decided_by`: the person who
    /// decided it and the role they had then; the change is made only while they still have it
    /// and are active (`ChangedMeanwhile` else), so two admins demoting each other at once
    /// leave one admin, as one after the other would.
    async fn update_person(&self, id: i64, scope: Scope, role: Option<Role>, display_name: Option<&str>, active: Option<bool>, decided_by: Option<(i64, Role)>) -> StoreResult<bool>;

    // Invitation links: one-time, to set a password.
    /// A new link and when it expires; earlier unused ones stop working. With `reset`, the
    /// current password stops working too and the person's sessions end. `NotFound` for no
    /// such person in `scope`.
    async fn create_invitation(&self, person_id: i64, scope: Scope, lifetime_ms: i64, reset: bool) -> StoreResult<(String, i64)>;
    /// The person a link is for, or why it cannot be used.
    async fn invitation(&self, token: &str) -> StoreResult<Result<Person, InvitationProblem>>;
    /// Uses a link: the password hash is set and the person's sessions end; `false` for a link
    /// unknown, expired or used (of accepts racing, on any node, exactly one succeeds).
    async fn accept_invitation(&self, token: &str, password_hash: &str) -> StoreResult<bool>;
    /// A signed-in person's new password, in place of the one checked (`checked_hash`); their other
    /// sessions end. `false`, and nothing changed, when the password was changed meanwhile: two
    /// changes that checked the same current password cannot both be made.
    async fn change_password(&self, person_id: i64, checked_hash: &str, password_hash: &str, keep_session: &str) -> StoreResult<bool>;

    // Sessions.
    /// A new session: its id (for the cookie) and its CSRF token. `checked_hash` is the password
    /// hash a sign-in checked: the session is made only while it is still the person's, so a
    /// password changed or reset while the sign-in checked the old one refuses it (`None`), as
    /// does the person's deactivation meanwhile. `None` for a session no password was checked for.
    async fn create_session(&self, person_id: i64, checked_hash: Option<&str>) -> StoreResult<Option<(String, String)>>;
    /// The person of a live session: not idle for `idle_ms`, younger than `absolute_ms`, the
    /// person active. A dead session is deleted.
    async fn session(&self, id: &str, idle_ms: i64, absolute_ms: i64) -> StoreResult<Option<SignedIn>>;
    async fn delete_session(&self, id: &str) -> StoreResult<()>;

    // Failed sign-ins, for lockout (counted across nodes).
    /// Failed sign-ins under `key` within the last `window_ms`, and when the first of them was.
    async fn sign_in_failures(&self, key: &str, window_ms: i64) -> StoreResult<(u32, i64)>;
    /// Before a password is checked: one attempt counted under every key of `limits` (key,
    /// attempts allowed per window, at least 1), as one atomic step on any node, or, when a key
    /// is at its limit, nothing counted and until when it is locked. A key's count starts again
    /// once its window has passed. Attempts reserved at once never exceed a key's limit.
    async fn reserve_sign_in_attempt(&self, limits: &[(&str, u32)], window_ms: i64) -> StoreResult<SignInAttempt>;
    /// Gives back one attempt reserved under `key` (its password proved right).
    async fn release_sign_in_attempt(&self, key: &str) -> StoreResult<()>;
    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()>;

    // API tokens: shown once, then known only by their digest.
    /// A token for a role (in a workspace, workspace 1 if none is named; none for the operator).
    async fn create_token(&self, role: Role, workspace: Option<i64>) -> StoreResult<String>;
    /// As [`PeopleStore::create_token`], with a label; its id and the token.
    async fn create_labeled_token(&self, role: Role, workspace: Option<i64>, label: &str) -> StoreResult<(i64, String)>;
    /// A workspace's tokens, by id (label, role and first characters; never the tokens).
    async fn tokens(&self, workspace: i64) -> StoreResult<Vec<TokenInfo>>;
    /// Revokes a token of a workspace: `None` when it has no such token; else the conversations
    /// it handed to people in the same transaction (a bot token's still in status `bot`; on
    /// Postgres each announced to every node's live followers), for this node to announce.
    async fn revoke_token(&self, id: i64, workspace: i64) -> StoreResult<Option<Vec<HandedOver>>>;
    /// How many tokens there are, in every workspace.
    async fn token_count(&self) -> StoreResult<u64>;
    /// Whose a presented token is, if it is one of ours.
    async fn token_owner(&self, token: &str) -> StoreResult<Option<TokenOwner>>;
}

#[async_trait::async_trait]
impl<S: RunSql> PeopleStore for S {
    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.read(body(|sql| Box::pin(async move { Ok(sql.rows(&format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces w ORDER BY w.id"), &[]).await?.iter().map(workspace).collect()) })))
            .await
    }

    async fn workspace(&self, id: i64) -> StoreResult<Option<Workspace>> {
        self.read(body(move |sql| Box::pin(async move { workspace_in(sql, id).await }))).await
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        let name = name.to_owned();
        self.write(body(move |sql| {
            Box::pin(async move {
                // A deleted workspace's id is never given again: its audit rows stay, and a new
                // business must not find them as its own. Postgres's identity sequence never
                // goes back; SQLite would take the highest id plus one, a deleted one's.
                let insert = match sql.is_postgres() {
                    true => "INSERT INTO workspaces (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id",
                    false => {
                        "INSERT INTO workspaces (id, name, created_at, updated_at)
                         SELECT MAX(COALESCE((SELECT MAX(id) FROM workspaces), 0), COALESCE((SELECT MAX(workspace_id) FROM audit_log), 0),
                                    COALESCE((SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = 'workspaces_deleted_up_to'), 0)) + 1, $1, $2, $2
                         RETURNING id"
                    }
                };
                let created = sql.row(insert, &[&name, &now_ms()]).await?;
                workspace_in(sql, created.expect("an insert returns its row").int(0)).await?.ok_or(StoreError::NotFound)
            })
        }))
        .await
    }

    async fn update_workspace(&self, id: i64, name: Option<&str>, suspended: Option<bool>) -> StoreResult<bool> {
        let name = name.map(str::to_owned);
        let status = suspended.map(|s| if s { "suspended" } else { "active" });
        self.write(body(move |sql| {
            Box::pin(async move {
                let update = "UPDATE workspaces SET name = COALESCE($2, name), status = COALESCE($3, status), updated_at = $4 WHERE id = $1";
                Ok(sql.execute(update, &[&id, &name, &status, &now_ms()]).await? > 0)
            })
        }))
        .await
    }

    async fn delete_workspace(&self, id: i64, torn_down: &[(String, i64)], connecting_since: i64) -> StoreResult<bool> {
        let torn_down = torn_down.to_vec();
        self.write(body(move |sql| {
            Box::pin(async move {
                // On Postgres a channel's creation holds its workspace's row shared
                // (`create_channel`): the two take turns, and the channels read below are all.
                if sql.is_postgres() {
                    sql.rows("SELECT id FROM workspaces WHERE id = $1 FOR UPDATE", &[&id]).await?;
                }
                let live = "SELECT id, updated_at FROM channels WHERE workspace_id = $1 AND (status = 'active' OR created_at >= $2)";
                if sql.rows(live, &[&id, &connecting_since]).await?.iter().any(|channel| !torn_down.contains(&(channel.text(0), channel.int(1)))) {
                    return Err(StoreError::ChangedMeanwhile);
                }
                // Channels and login flows name their workspace without a foreign key: deleted
                // here (a channel takes its contacts, conversations, messages, outbox rows and
                // state with it); people, tokens and media go by cascade.
                sql.execute("DELETE FROM oauth_flows WHERE workspace_id = $1", &[&id]).await?;
                sql.execute("DELETE FROM channels WHERE workspace_id = $1", &[&id]).await?;
                let deleted = sql.execute("DELETE FROM workspaces WHERE id = $1", &[&id]).await? > 0;
                if deleted && !sql.is_postgres() {
                    // The highest id deleted, which `create_workspace` never gives again.
                    let deleted_up_to = "INSERT INTO store_meta (key, value) VALUES ('workspaces_deleted_up_to', $1) ON CONFLICT (key) DO UPDATE
                                         SET value = excluded.value WHERE CAST(store_meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)";
                    sql.execute(deleted_up_to, &[&id.to_string()]).await?;
                }
                Ok(deleted)
            })
        }))
        .await
    }

    async fn release_held_deliveries(&self, id: i64) -> StoreResult<usize> {
        self.write(body(move |sql| {
            Box::pin(async move {
                let release = "UPDATE outbox SET next_attempt_at = $2 WHERE channel_id IN (SELECT id FROM channels WHERE workspace_id = $1)
                                 AND next_attempt_at > $2";
                Ok(sql.execute(release, &[&id, &now_ms()]).await? as usize)
            })
        }))
        .await
    }

    async fn channel_suspended(&self, channel_id: &str) -> StoreResult<bool> {
        let channel_id = channel_id.to_owned();
        self.read(body(move |sql| Box::pin(async move { channel_suspended_in(sql, &channel_id).await }))).await
    }

    async fn create_person(&self, workspace_id: Option<i64>, username: &str, display_name: &str, role: Role) -> StoreResult<Person> {
        let (username, display_name) = (username.to_owned(), display_name.to_owned());
        self.write(body(move |sql| {
            Box::pin(async move {
                // A username taken in any case is refused by the unique index, with the database's error.
                let insert = format!(
                    "INSERT INTO people (workspace_id, username, display_name, role, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING {PERSON_COLUMNS}"
                );
                let created = sql.row(&insert, &[&workspace_id, &username, &display_name, &role.as_str(), &now_ms()]).await?;
                Ok(person(&created.expect("an insert returns its row"), 0))
            })
        }))
        .await
    }

    async fn person(&self, id: i64, scope: Scope) -> StoreResult<Option<Person>> {
        self.read(body(move |sql| {
            Box::pin(async move { Ok(sql.row(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1 AND {PERSON_IN_SCOPE}"), &[&id, &scope.workspace()]).await?.map(|row| person(&row, 0))) })
        }))
        .await
    }

    async fn person_by_username(&self, username: &str) -> StoreResult<Option<Person>> {
        let username = username.to_owned();
        self.read(body(move |sql| {
            Box::pin(async move {
                // Whatever its case, each dialect by its unique index: SQLite's column compares
                // NOCASE, Postgres's index is on lower(username).
                let by_name = if sql.is_postgres() { "lower(username) = lower($1)" } else { "username = $1" };
                Ok(sql.row(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE {by_name}"), &[&username]).await?.map(|row| person(&row, 0)))
            })
        }))
        .await
    }

    async fn people(&self, workspace_id: Option<i64>) -> StoreResult<Vec<Person>> {
        self.read(body(move |sql| {
            Box::pin(async move {
                // By display name in byte order: SQLite's default, Postgres's collation "C".
                let byte_order = if sql.is_postgres() { " COLLATE \"C\"" } else { "" };
                let people = format!("SELECT {PERSON_COLUMNS} FROM people WHERE (CAST($1 AS BIGINT) IS NULL OR workspace_id = $1) ORDER BY display_name{byte_order}, id");
                Ok(sql.rows(&people, &[&workspace_id]).await?.iter().map(|row| person(row, 0)).collect())
            })
        }))
        .await
    }

    async fn set_person_language(&self, id: i64, language: Option<&str>) -> StoreResult<bool> {
        let language = language.map(str::to_owned);
        self.write(body(move |sql| Box::pin(async move { Ok(sql.execute("UPDATE people SET language = $2, updated_at = $3 WHERE id = $1", &[&id, &language, &now_ms()]).await? == 1) })))
            .await
    }

    async fn update_person(&self, id: i64, scope: Scope, role: Option<Role>, display_name: Option<&str>, active: Option<bool>, decided_by: Option<(i64, Role)>) -> StoreResult<bool> {
        let display_name = display_name.map(str::to_owned);
        self.write(body(move |sql| {
            Box::pin(async move {
                if let Some((by, _)) = decided_by
                    && sql.is_postgres()
                {
                    // Both rows, in id order: two people changing each other at once wait for
                    // each other instead of deadlocking. `NO KEY UPDATE`, as `lock_person`: a
                    // reply's foreign key to its sender is not held up by it.
                    sql.rows("SELECT id FROM people WHERE id IN ($1, $2) ORDER BY id FOR NO KEY UPDATE", &[&id, &by]).await?;
                }
                if !lock_person(sql, id, scope).await? {
                    return Ok(false);
                }
                if let Some((by, role_then)) = decided_by {
                    let still = "SELECT id FROM people WHERE id = $1 AND role = $2 AND active";
                    if sql.row(still, &[&by, &role_then.as_str()]).await?.is_none() {
                        return Err(StoreError::ChangedMeanwhile);
                    }
                }
                let update = "UPDATE people SET role = COALESCE($2, role), display_name = COALESCE($3, display_name),
                                  active = COALESCE($4, active), updated_at = $5 WHERE id = $1";
                sql.execute(update, &[&id, &role.map(Role::as_str), &display_name, &active, &now_ms()]).await?;
                if active == Some(false) {
                    sql.execute("DELETE FROM sessions WHERE person_id = $1", &[&id]).await?;
                }
                Ok(true)
            })
        }))
        .await
    }

    async fn create_invitation(&self, person_id: i64, scope: Scope, lifetime_ms: i64, reset: bool) -> StoreResult<(String, i64)> {
        let token = new_secret();
        let (hash, expires_at) = (digest(&token), now_ms() + lifetime_ms);
        self.write(body(move |sql| {
            Box::pin(async move {
                // Links made at once for one person (on two nodes) wait for each other here, so
                // the later one deletes the earlier: one link works at a time.
                if !lock_person(sql, person_id, scope).await? {
                    return Err(StoreError::NotFound);
                }
                sql.execute("DELETE FROM invitations WHERE person_id = $1 AND used_at IS NULL", &[&person_id]).await?;
                sql.execute("INSERT INTO invitations (token_hash, person_id, expires_at) VALUES ($1, $2, $3)", &[&hash, &person_id, &expires_at]).await?;
                if reset {
                    sql.execute("UPDATE people SET password_hash = NULL, updated_at = $2 WHERE id = $1", &[&person_id, &now_ms()]).await?;
                    sql.execute("DELETE FROM sessions WHERE person_id = $1", &[&person_id]).await?;
                }
                Ok(())
            })
        }))
        .await?;
        Ok((token, expires_at))
    }

    async fn invitation(&self, token: &str) -> StoreResult<Result<Person, InvitationProblem>> {
        let hash = digest(token);
        self.read(body(move |sql| {
            Box::pin(async move {
                let link = format!("SELECT i.expires_at, i.used_at, {PERSON_COLUMNS} FROM invitations i JOIN people ON people.id = i.person_id WHERE i.token_hash = $1");
                let Some(row) = sql.row(&link, &[&hash]).await? else { return Ok(Err(InvitationProblem::Unknown)) };
                Ok(match invitation_problem(row.int(0), row.opt_int(1), now_ms()) {
                    Some(problem) => Err(problem),
                    None => Ok(person(&row, 2)),
                })
            })
        }))
        .await
    }

    async fn accept_invitation(&self, token: &str, password_hash: &str) -> StoreResult<bool> {
        let (hash, password_hash) = (digest(token), password_hash.to_owned());
        self.write(body(move |sql| {
            Box::pin(async move {
                let now = now_ms();
                let Some(link) = sql.row("SELECT person_id FROM invitations WHERE token_hash = $1", &[&hash]).await? else { return Ok(false) };
                let person_id = link.int(0);
                lock_person(sql, person_id, Scope::Every).await?;
                // The condition is checked again on the row the UPDATE locked: of nodes accepting
                // the same link at once, one uses it and the others find it used.
                let used = sql.execute("UPDATE invitations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2", &[&hash, &now]).await?;
                if used == 0 {
                    return Ok(false);
                }
                sql.execute("UPDATE people SET password_hash = $2, updated_at = $3 WHERE id = $1", &[&person_id, &password_hash, &now]).await?;
                sql.execute("DELETE FROM sessions WHERE person_id = $1", &[&person_id]).await?;
                Ok(true)
            })
        }))
        .await
    }

    async fn change_password(&self, person_id: i64, checked_hash: &str, password_hash: &str, keep_session: &str) -> StoreResult<bool> {
        let (checked_hash, password_hash, keep) = (checked_hash.to_owned(), password_hash.to_owned(), digest(keep_session));
        self.write(body(move |sql| {
            Box::pin(async move {
                let changed = "UPDATE people SET password_hash = $2, updated_at = $3 WHERE id = $1 AND password_hash = $4";
                if sql.execute(changed, &[&person_id, &password_hash, &now_ms(), &checked_hash]).await? == 0 {
                    return Ok(false);
                }
                sql.execute("DELETE FROM sessions WHERE person_id = $1 AND id_hash <> $2", &[&person_id, &keep]).await?;
                Ok(true)
            })
        }))
        .await
    }

    async fn create_session(&self, person_id: i64, checked_hash: Option<&str>) -> StoreResult<Option<(String, String)>> {
        let (id, csrf) = (new_secret(), new_secret());
        let (hash, token, checked_hash) = (digest(&id), csrf.clone(), checked_hash.map(str::to_owned));
        let made = self
            .write(body(move |sql| {
                Box::pin(async move {
                    let insert = "INSERT INTO sessions (id_hash, person_id, created_at, last_seen_at, csrf_token)
                         SELECT $1, id, $3, $3, $4 FROM people WHERE id = $2 AND active AND (CAST($5 AS TEXT) IS NULL OR password_hash = $5)";
                    sql.execute(insert, &[&hash, &person_id, &now_ms(), &token, &checked_hash]).await
                })
            }))
            .await?;
        Ok((made == 1).then_some((id, csrf)))
    }

    async fn session(&self, id: &str, idle_ms: i64, absolute_ms: i64) -> StoreResult<Option<SignedIn>> {
        let (hash, now) = (digest(id), now_ms());
        // The session, its person and the person's workspace's status in one read (every request
        // signed in by cookie makes it).
        let found = self
            .read(body({
                let hash = hash.clone();
                move |sql| {
                    Box::pin(async move {
                        let session = format!(
                            "SELECT {PERSON_COLUMNS}, s.session_created_at, s.last_seen_at, s.csrf_token,
                                (SELECT w.status FROM workspaces w WHERE w.id = people.workspace_id)
                             FROM (SELECT person_id, created_at AS session_created_at, last_seen_at, csrf_token FROM sessions WHERE id_hash = $1) s
                             JOIN people ON people.id = s.person_id"
                        );
                        Ok(sql.row(&session, &[&hash]).await?.map(|row| {
                            let after = PERSON_COLUMN_COUNT;
                            let suspended = row.opt_text(after + 3).as_deref() == Some("suspended");
                            (person(&row, 0), row.int(after), row.int(after + 1), row.text(after + 2), suspended)
                        }))
                    })
                }
            }))
            .await?;
        let Some((signed_in, created_at, last_seen_at, csrf_token, suspended)) = found else { return Ok(None) };
        let live = signed_in.active && session_live(now, created_at, last_seen_at, idle_ms, absolute_ms);
        if !live {
            self.write(body(move |sql| Box::pin(async move { sql.execute("DELETE FROM sessions WHERE id_hash = $1", &[&hash]).await.map(drop) }))).await?;
            return Ok(None);
        }
        // Seen again: at most one write a minute per session.
        if now - last_seen_at > SEEN_EVERY_MS {
            self.write(body(move |sql| Box::pin(async move { sql.execute("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1", &[&hash, &now]).await.map(drop) }))).await?;
        }
        Ok(Some(SignedIn { person: signed_in, suspended, csrf_token }))
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        let hash = digest(id);
        self.write(body(move |sql| Box::pin(async move { sql.execute("DELETE FROM sessions WHERE id_hash = $1", &[&hash]).await.map(drop) }))).await
    }

    async fn sign_in_failures(&self, key: &str, window_ms: i64) -> StoreResult<(u32, i64)> {
        let key = key.to_owned();
        self.read(body(move |sql| {
            Box::pin(async move {
                let stored = sql.row("SELECT failures, first_at FROM sign_in_failures WHERE key = $1", &[&key]).await?;
                Ok(recent_failures(stored.map(|row| (u32::try_from(row.int(0)).unwrap_or_default(), row.int(1))), window_ms))
            })
        }))
        .await
    }

    async fn reserve_sign_in_attempt(&self, limits: &[(&str, u32)], window_ms: i64) -> StoreResult<SignInAttempt> {
        // Each upsert locks its key's row until the transaction ends (SQLite: its one writer), and
        // the condition is evaluated on the row as the previous holder left it: attempts made at
        // once on any nodes take turns per key. Keys are locked in one order (sorted), so two
        // reservations never wait for each other's keys.
        let mut ordered: Vec<(String, i32)> = limits.iter().map(|&(key, limit)| (key.to_owned(), i32::try_from(limit).unwrap_or(i32::MAX))).collect();
        ordered.sort_unstable();
        self.write(body(move |sql| {
            Box::pin(async move {
                let now = now_ms();
                let reserve = "INSERT INTO sign_in_failures (key, failures, first_at) VALUES ($1, 1, $2)
                               ON CONFLICT (key) DO UPDATE SET
                                   failures = CASE WHEN $2 - sign_in_failures.first_at >= $3 THEN 1 ELSE sign_in_failures.failures + 1 END,
                                   first_at = CASE WHEN $2 - sign_in_failures.first_at >= $3 THEN $2 ELSE sign_in_failures.first_at END
                               WHERE $2 - sign_in_failures.first_at >= $3 OR sign_in_failures.failures < $4
                               RETURNING failures";
                sql.execute("SAVEPOINT reserve_attempt", &[]).await?;
                for (key, limit) in &ordered {
                    if sql.row(reserve, &[key, &now, &window_ms, limit]).await?.is_none() {
                        // Nothing counted: the keys reserved before this one as they were.
                        sql.execute("ROLLBACK TO SAVEPOINT reserve_attempt", &[]).await?;
                        sql.execute("RELEASE SAVEPOINT reserve_attempt", &[]).await?;
                        let first_at = sql.row("SELECT first_at FROM sign_in_failures WHERE key = $1", &[key]).await?.expect("a key at its limit has a row").int(0);
                        return Ok(SignInAttempt::LockedOut { until: first_at + window_ms });
                    }
                }
                sql.execute("RELEASE SAVEPOINT reserve_attempt", &[]).await?;
                Ok(SignInAttempt::Reserved)
            })
        }))
        .await
    }

    async fn release_sign_in_attempt(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(body(move |sql| Box::pin(async move { sql.execute("UPDATE sign_in_failures SET failures = failures - 1 WHERE key = $1 AND failures > 0", &[&key]).await.map(drop) })))
            .await
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(body(move |sql| Box::pin(async move { sql.execute("DELETE FROM sign_in_failures WHERE key = $1", &[&key]).await.map(drop) }))).await
    }

    async fn create_token(&self, role: Role, workspace: Option<i64>) -> StoreResult<String> {
        Ok(self.create_labeled_token(role, workspace, "").await?.1)
    }

    async fn create_labeled_token(&self, role: Role, workspace: Option<i64>, label: &str) -> StoreResult<(i64, String)> {
        let (workspace, token) = new_token(role, workspace);
        let (hash, prefix, label) = (digest(&token), token_prefix(&token).to_owned(), label.to_owned());
        let id = self.write(body(move |sql| Box::pin(async move { create_token_in(sql, role, workspace, &label, &hash, &prefix).await }))).await?;
        Ok((id, token))
    }

    async fn tokens(&self, workspace: i64) -> StoreResult<Vec<TokenInfo>> {
        self.read(body(move |sql| {
            Box::pin(async move {
                let rows = sql.rows("SELECT id, label, role, prefix, created_at FROM api_tokens WHERE workspace_id = $1 ORDER BY id", &[&workspace]).await?;
                Ok(rows.iter().map(|row| token_info(row.int(0), row.text(1), &row.text(2), row.text(3), row.int(4))).collect())
            })
        }))
        .await
    }

    async fn revoke_token(&self, id: i64, workspace: i64) -> StoreResult<Option<Vec<HandedOver>>> {
        self.write(body(move |sql| {
            Box::pin(async move {
                if sql.is_postgres() {
                    // The token, then its bindings, as every unbinding locks them (see `conversations::bot_or_open`).
                    sql.execute(LOCK_TOKEN, &[&id]).await?;
                    sql.execute(LOCK_TOKEN_BINDINGS, &[&id]).await?;
                }
                let rows = sql.rows(HAND_OVER_TOKEN_CONVERSATIONS, &[&id, &workspace]).await?;
                let handed = in_order(rows.iter().map(|row| HandedOver { channel_id: row.text(0), conversation_id: row.int(1) }).collect());
                if sql.execute(REVOKE_TOKEN, &[&id, &workspace]).await? == 0 {
                    // No such token here: nothing was handed over either (the workspace did not match).
                    return Ok(None);
                }
                // Every node's inbox followers hear of each, as of a bot handing one over itself.
                for conversation in &handed {
                    crate::store::pg::live::announce_in(sql, "conversation", &conversation.channel_id, conversation.conversation_id, None).await?;
                }
                Ok(Some(handed))
            })
        }))
        .await
    }

    async fn token_count(&self) -> StoreResult<u64> {
        self.read(body(|sql| Box::pin(async move { Ok(sql.row("SELECT COUNT(*) FROM api_tokens", &[]).await?.map_or(0, |row| row.int(0)) as u64) }))).await
    }

    async fn token_owner(&self, token: &str) -> StoreResult<Option<TokenOwner>> {
        let hash = digest(token);
        self.read(body(move |sql| {
            Box::pin(async move {
                let owner = "SELECT t.id, t.role, t.workspace_id, w.status FROM api_tokens t LEFT JOIN workspaces w ON w.id = t.workspace_id WHERE t.token_hash = $1";
                Ok(sql.row(owner, &[&hash]).await?.and_then(|row| token_owner_of(row.int(0), &row.text(1), row.opt_int(2), row.opt_text(3).as_deref())))
            })
        }))
        .await
    }
}

async fn workspace_in(sql: &dyn Sql, id: i64) -> StoreResult<Option<Workspace>> {
    Ok(sql.row(&format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces w WHERE w.id = $1"), &[&id]).await?.as_ref().map(workspace))
}

/// A person's rows in the scope `$2` (NULL: every workspace's and the operator's people).
const PERSON_IN_SCOPE: &str = "(CAST($2 AS BIGINT) IS NULL OR workspace_id = $2)";

/// Whether the person is one in `scope`; on Postgres their row is locked until the transaction
/// ends (the first lock of every transaction that changes a person, their links or their
/// sessions). SQLite's writer is one.
async fn lock_person(sql: &dyn Sql, person_id: i64, scope: Scope) -> StoreResult<bool> {
    // `NO KEY UPDATE`: changes of one person wait for each other, while rows that merely refer
    // to the person (a reply's sender, a session) are still written meanwhile.
    let for_update = if sql.is_postgres() { " FOR NO KEY UPDATE" } else { "" };
    Ok(sql.row(&format!("SELECT id FROM people WHERE id = $1 AND {PERSON_IN_SCOPE}{for_update}"), &[&person_id, &scope.workspace()]).await?.is_some())
}

async fn create_token_in(sql: &dyn Sql, role: Role, workspace: Option<i64>, label: &str, hash: &str, prefix: &str) -> StoreResult<i64> {
    let insert = "INSERT INTO api_tokens (token_hash, role, workspace_id, created_at, label, prefix) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    Ok(sql.row(insert, &[&hash, &role.as_str(), &workspace, &now_ms(), &label, &prefix]).await?.expect("an insert returns its row").int(0))
}

impl Db {
    /// A token made outside the server (the command line, tests beside a running host): the
    /// same insert, on the write connection at once.
    pub fn create_token(&self, role: Role, workspace: Option<i64>) -> StoreResult<String> {
        let (workspace, token) = new_token(role, workspace);
        let (hash, prefix) = (digest(&token), token_prefix(&token).to_owned());
        crate::store::sql::on_sqlite(&self.conn(), move |sql| Box::pin(async move { create_token_in(sql, role, workspace, "", &hash, &prefix).await }))?;
        Ok(token)
    }
}
