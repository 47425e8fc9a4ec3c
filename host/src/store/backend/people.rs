//! People and access, on either backend: workspaces (the operator's businesses), the people who
//! sign in (invitation links, sessions, failed sign-ins for lockout) and API tokens. Links,
//! session ids and tokens are stored only as SHA-256 digests.

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
    /// Revokes a token of a workspace; whether there was one.
    async fn revoke_token(&self, id: i64, workspace: i64) -> StoreResult<bool>;
    /// How many tokens there are, in every workspace.
    async fn token_count(&self) -> StoreResult<u64>;
    /// Whose a presented token is, if it is one of ours.
    async fn token_owner(&self, token: &str) -> StoreResult<Option<TokenOwner>>;
}

#[async_trait::async_trait]
impl PeopleStore for Db {
    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        Db::workspaces(self)
    }

    async fn workspace(&self, id: i64) -> StoreResult<Option<Workspace>> {
        Db::workspace(self, id)
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        Db::create_workspace(self, name)
    }

    async fn update_workspace(&self, id: i64, name: Option<&str>, suspended: Option<bool>) -> StoreResult<bool> {
        Db::update_workspace(self, id, name, suspended)
    }

    async fn delete_workspace(&self, id: i64) -> StoreResult<bool> {
        Db::delete_workspace(self, id)
    }

    async fn release_held_deliveries(&self, id: i64) -> StoreResult<usize> {
        Db::release_held_deliveries(self, id)
    }

    async fn channel_suspended(&self, channel_id: &str) -> StoreResult<bool> {
        Db::channel_suspended(self, channel_id)
    }

    async fn create_person(&self, workspace_id: Option<i64>, username: &str, display_name: &str, role: Role) -> StoreResult<Person> {
        Db::create_person(self, workspace_id, username, display_name, role)
    }

    async fn person(&self, id: i64) -> StoreResult<Option<Person>> {
        Db::person(self, id)
    }

    async fn person_by_username(&self, username: &str) -> StoreResult<Option<Person>> {
        Db::person_by_username(self, username)
    }

    async fn people(&self, workspace_id: Option<i64>) -> StoreResult<Vec<Person>> {
        Db::people(self, workspace_id)
    }

    async fn update_person(&self, id: i64, role: Option<Role>, display_name: Option<&str>, active: Option<bool>) -> StoreResult<()> {
        Db::update_person(self, id, role, display_name, active)
    }

    async fn create_invitation(&self, person_id: i64, lifetime_ms: i64, reset: bool) -> StoreResult<(String, i64)> {
        Db::create_invitation(self, person_id, lifetime_ms, reset)
    }

    async fn invitation(&self, token: &str) -> StoreResult<Result<Person, InvitationProblem>> {
        Db::invitation(self, token)
    }

    async fn accept_invitation(&self, token: &str, password_hash: &str) -> StoreResult<bool> {
        Db::accept_invitation(self, token, password_hash)
    }

    async fn change_password(&self, person_id: i64, password_hash: &str, keep_session: &str) -> StoreResult<()> {
        Db::change_password(self, person_id, password_hash, keep_session)
    }

    async fn create_session(&self, person_id: i64) -> StoreResult<(String, String)> {
        Db::create_session(self, person_id)
    }

    async fn session(&self, id: &str, idle_ms: i64, absolute_ms: i64) -> StoreResult<Option<SignedIn>> {
        Db::session(self, id, idle_ms, absolute_ms)
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        Db::delete_session(self, id)
    }

    async fn sign_in_failures(&self, key: &str, window_ms: i64) -> StoreResult<(u32, i64)> {
        Db::sign_in_failures(self, key, window_ms)
    }

    async fn reserve_sign_in_attempt(&self, limits: &[(&str, u32)], window_ms: i64) -> StoreResult<SignInAttempt> {
        Db::reserve_sign_in_attempt(self, limits, window_ms)
    }

    async fn release_sign_in_attempt(&self, key: &str) -> StoreResult<()> {
        Db::release_sign_in_attempt(self, key)
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        Db::clear_sign_in_failures(self, key)
    }

    async fn create_token(&self, role: Role, workspace: Option<i64>) -> StoreResult<String> {
        Db::create_token(self, role, workspace)
    }

    async fn create_labeled_token(&self, role: Role, workspace: Option<i64>, label: &str) -> StoreResult<(i64, String)> {
        Db::create_labeled_token(self, role, workspace, label)
    }

    async fn tokens(&self, workspace: i64) -> StoreResult<Vec<TokenInfo>> {
        Db::tokens(self, workspace)
    }

    async fn revoke_token(&self, id: i64, workspace: i64) -> StoreResult<bool> {
        Db::revoke_token(self, id, workspace)
    }

    async fn token_count(&self) -> StoreResult<u64> {
        Db::token_count(self)
    }

    async fn token_owner(&self, token: &str) -> StoreResult<Option<TokenOwner>> {
        Db::token_owner(self, token)
    }
}
