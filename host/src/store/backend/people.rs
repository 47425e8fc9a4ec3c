//! People and access, on either backend: workspaces (the operator's businesses), the people who
//! sign in (invitation links, sessions, failed sign-ins for lockout) and API tokens. Links,
//! session ids and tokens are stored only as SHA-256 digests.

use crate::store::conversations::HandedOver;
use crate::store::people::{InvitationProblem, Person, SignInAttempt, SignedIn};
use crate::store::tokens::{Role, TokenInfo, TokenOwner};
use crate::store::workspaces::Workspace;
use crate::store::{Db, StoreResult};

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
    /// in one transaction; whether it existed.
    async fn delete_workspace(&self, id: i64) -> StoreResult<bool>;
    /// Makes the workspace's held deliveries due now (it was resumed); how many.
    async fn release_held_deliveries(&self, id: i64) -> StoreResult<usize>;
    /// Whether the workspace of a channel is suspended (nothing is sent for it then).
    async fn channel_suspended(&self, channel_id: &str) -> StoreResult<bool>;

    // People: one account per username, whatever its case.
    /// A new person without a password; a username taken (in any case) is refused.
    async fn create_person(&self, workspace_id: Option<i64>, username: &str, display_name: &str, role: Role) -> StoreResult<Person>;
    async fn person(&self, id: i64) -> StoreResult<Option<Person>>;
    /// The person with this username, whatever its case.
    async fn person_by_username(&self, username: &str) -> StoreResult<Option<Person>>;
    /// The people of a workspace (`None`: everyone), by display name (byte order), then id.
    async fn people(&self, workspace_id: Option<i64>) -> StoreResult<Vec<Person>>;
    /// The language a person chose for the pages (`None`: the browser's again); false: no such person.
    async fn set_person_language(&self, id: i64, language: Option<&str>) -> StoreResult<bool>;
    /// Changes role, name or active flag; deactivating ends the person's sessions at once.
    async fn update_person(&self, id: i64, role: Option<Role>, display_name: Option<&str>, active: Option<bool>) -> StoreResult<()>;

    // Invitation links: one-time, to set a password.
    /// A new link and when it expires; earlier unused ones stop working. With `reset`, the
    /// current password stops working too and the person's sessions end.
    async fn create_invitation(&self, person_id: i64, lifetime_ms: i64, reset: bool) -> StoreResult<(String, i64)>;
    /// The person a link is for, or why it cannot be used.
    async fn invitation(&self, token: &str) -> StoreResult<Result<Person, InvitationProblem>>;
    /// Uses a link: the password hash is set and the person's sessions end; `false` for a link
    /// unknown, expired or used (of accepts racing, on any node, exactly one succeeds).
    async fn accept_invitation(&self, token: &str, password_hash: &str) -> StoreResult<bool>;
    /// A signed-in person's new password; their other sessions end.
    async fn change_password(&self, person_id: i64, password_hash: &str, keep_session: &str) -> StoreResult<()>;

    // Sessions.
    /// A new session: its id (for the cookie) and its CSRF token.
    async fn create_session(&self, person_id: i64) -> StoreResult<(String, String)>;
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
impl PeopleStore for Db {
    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.off_worker(move |db| Db::workspaces(db)).await
    }

    async fn workspace(&self, id: i64) -> StoreResult<Option<Workspace>> {
        self.off_worker(move |db| Db::workspace(db, id)).await
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        let name = name.to_owned();
        self.off_worker(move |db| Db::create_workspace(db, &name)).await
    }

    async fn update_workspace(&self, id: i64, name: Option<&str>, suspended: Option<bool>) -> StoreResult<bool> {
        let name = name.map(str::to_owned);
        self.off_worker(move |db| Db::update_workspace(db, id, name.as_deref(), suspended)).await
    }

    async fn delete_workspace(&self, id: i64) -> StoreResult<bool> {
        self.off_worker(move |db| Db::delete_workspace(db, id)).await
    }

    async fn release_held_deliveries(&self, id: i64) -> StoreResult<usize> {
        self.off_worker(move |db| Db::release_held_deliveries(db, id)).await
    }

    async fn channel_suspended(&self, channel_id: &str) -> StoreResult<bool> {
        let channel_id = channel_id.to_owned();
        self.off_worker(move |db| Db::channel_suspended(db, &channel_id)).await
    }

    async fn create_person(&self, workspace_id: Option<i64>, username: &str, display_name: &str, role: Role) -> StoreResult<Person> {
        let username = username.to_owned();
        let display_name = display_name.to_owned();
        self.off_worker(move |db| Db::create_person(db, workspace_id, &username, &display_name, role)).await
    }

    async fn person(&self, id: i64) -> StoreResult<Option<Person>> {
        self.off_worker(move |db| Db::person(db, id)).await
    }

    async fn person_by_username(&self, username: &str) -> StoreResult<Option<Person>> {
        let username = username.to_owned();
        self.off_worker(move |db| Db::person_by_username(db, &username)).await
    }

    async fn people(&self, workspace_id: Option<i64>) -> StoreResult<Vec<Person>> {
        self.off_worker(move |db| Db::people(db, workspace_id)).await
    }

    async fn set_person_language(&self, id: i64, language: Option<&str>) -> StoreResult<bool> {
        let language = language.map(str::to_owned);
        self.off_worker(move |db| Db::set_person_language(db, id, language.as_deref())).await
    }

    async fn update_person(&self, id: i64, role: Option<Role>, display_name: Option<&str>, active: Option<bool>) -> StoreResult<()> {
        let display_name = display_name.map(str::to_owned);
        self.off_worker(move |db| Db::update_person(db, id, role, display_name.as_deref(), active)).await
    }

    async fn create_invitation(&self, person_id: i64, lifetime_ms: i64, reset: bool) -> StoreResult<(String, i64)> {
        self.off_worker(move |db| Db::create_invitation(db, person_id, lifetime_ms, reset)).await
    }

    async fn invitation(&self, token: &str) -> StoreResult<Result<Person, InvitationProblem>> {
        let token = token.to_owned();
        self.off_worker(move |db| Db::invitation(db, &token)).await
    }

    async fn accept_invitation(&self, token: &str, password_hash: &str) -> StoreResult<bool> {
        let token = token.to_owned();
        let password_hash = password_hash.to_owned();
        self.off_worker(move |db| Db::accept_invitation(db, &token, &password_hash)).await
    }

    async fn change_password(&self, person_id: i64, password_hash: &str, keep_session: &str) -> StoreResult<()> {
        let password_hash = password_hash.to_owned();
        let keep_session = keep_session.to_owned();
        self.off_worker(move |db| Db::change_password(db, person_id, &password_hash, &keep_session)).await
    }

    async fn create_session(&self, person_id: i64) -> StoreResult<(String, String)> {
        self.off_worker(move |db| Db::create_session(db, person_id)).await
    }

    async fn session(&self, id: &str, idle_ms: i64, absolute_ms: i64) -> StoreResult<Option<SignedIn>> {
        let id = id.to_owned();
        self.off_worker(move |db| Db::session(db, &id, idle_ms, absolute_ms)).await
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        let id = id.to_owned();
        self.off_worker(move |db| Db::delete_session(db, &id)).await
    }

    async fn sign_in_failures(&self, key: &str, window_ms: i64) -> StoreResult<(u32, i64)> {
        let key = key.to_owned();
        self.off_worker(move |db| Db::sign_in_failures(db, &key, window_ms)).await
    }

    async fn reserve_sign_in_attempt(&self, limits: &[(&str, u32)], window_ms: i64) -> StoreResult<SignInAttempt> {
        let limits: Vec<(String, u32)> = limits.iter().map(|(key, most)| ((*key).to_owned(), *most)).collect();
        self.off_worker(move |db| {
            let limits: Vec<(&str, u32)> = limits.iter().map(|(key, most)| (key.as_str(), *most)).collect();
            Db::reserve_sign_in_attempt(db, &limits, window_ms)
        })
        .await
    }

    async fn release_sign_in_attempt(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.off_worker(move |db| Db::release_sign_in_attempt(db, &key)).await
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.off_worker(move |db| Db::clear_sign_in_failures(db, &key)).await
    }

    async fn create_token(&self, role: Role, workspace: Option<i64>) -> StoreResult<String> {
        self.off_worker(move |db| Db::create_token(db, role, workspace)).await
    }

    async fn create_labeled_token(&self, role: Role, workspace: Option<i64>, label: &str) -> StoreResult<(i64, String)> {
        let label = label.to_owned();
        self.off_worker(move |db| Db::create_labeled_token(db, role, workspace, &label)).await
    }

    async fn tokens(&self, workspace: i64) -> StoreResult<Vec<TokenInfo>> {
        self.off_worker(move |db| Db::tokens(db, workspace)).await
    }

    async fn revoke_token(&self, id: i64, workspace: i64) -> StoreResult<Option<Vec<HandedOver>>> {
        Db::revoke_token(self, id, workspace).await
    }

    async fn token_count(&self) -> StoreResult<u64> {
        self.off_worker(move |db| Db::token_count(db)).await
    }

    async fn token_owner(&self, token: &str) -> StoreResult<Option<TokenOwner>> {
        let token = token.to_owned();
        self.off_worker(move |db| Db::token_owner(db, &token)).await
    }
}
