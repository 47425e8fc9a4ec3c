//! People and sign-in: `POST/DELETE /api/v1/session` (username + password -> a session
//! cookie), invitation links (`GET/POST /api/v1/invitations/{token}`), a person's own password
//! (`PUT /api/v1/me/password`), and for a workspace's admin `GET/POST /api/v1/people`,
//! `PATCH /api/v1/people/{id}`, `POST /api/v1/people/{id}/invitation` (a password reset).
//!
//! Brute force: after [`ACCOUNT_FAILURES`] failed sign-ins for one username, or
//! [`CLIENT_FAILURES`] from one address, within [`FAILURE_WINDOW_MS`], sign-in answers 429 with
//! `Retry-After` until the window has passed. The answer never says whether a username exists.
//! A wrong current password on `PUT /api/v1/me/password` counts the same, under the same keys,
//! and a locked account is refused there the same way. Each attempt is counted before its
//! password is checked (and given back when it proves right), so attempts made at once never
//! check more passwords than the limits allow.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::{SESSION_ABSOLUTE_MS, SESSION_COOKIE, session_cookie};
use super::settings::{REQUIRED, name_problem};
use super::{ApiError, ApiJson, Caller};
use crate::app::App;
use crate::passwords;
use crate::store::model::{InvitationProblem, NewAuditEntry, Person, Role, SignInAttempt};
use crate::store::Scope;

pub const ACCOUNT_FAILURES: u32 = 5;
pub const CLIENT_FAILURES: u32 = 20;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// How long an invitation (or reset) link works.
pub const INVITATION_LIFETIME_MS: i64 = 72 * 3600 * 1000;

/// A sign-in's answer (the session itself is the cookie).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedInView {
    role: Role,
    workspace: Option<i64>,
    person: Person,
    /// What cookie-authenticated writes send back in `X-CSRF-Token`.
    csrf_token: String,
}

/// Whom an invitation is for (`display_name` only when showing it).
#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
}

/// A one-time link to set a password.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationLink {
    invitation_url: String,
    /// When the link stops working (ms).
    expires_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Invited {
    person: Person,
    #[serde(flatten)]
    link: InvitationLink,
}

/// A new API token: shown this once, only its prefix afterwards.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    id: i64,
    label: String,
    role: Role,
    prefix: String,
    token: String,
    /// A bot token's channels (other roles: none, left out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    channels: Vec<String>,
}

/// The longest email address there is (RFC 5321's path limit less its brackets), so the
/// longest username.
const MAX_EMAIL: usize = 254;
const TOO_LONG_EMAIL: &str = "an email address is at most 254 characters";

fn fields(pairs: &[(&str, String)]) -> ApiError {
    ApiError::invalid_fields(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

/// The lockout counters an attempt at a person's password counts under: their account's and,
/// when known, the client address's.
struct Lockout {
    account: String,
    client: Option<String>,
}

impl Lockout {
    /// `username` as sign-in keys it: trimmed and lowercased.
    fn new(username: &str, address: Option<IpAddr>) -> Self {
        Self { account: format!("account:{username}"), client: address.map(|ip| format!("client:{}", super::auth::client_block(ip))) }
    }

    /// Counts the attempt before its password is checked, under both keys in one atomic step of
    /// the store; the 429 answer (with `Retry-After`) instead when either is at its limit.
    async fn reserve(&self, app: &App) -> Result<Option<Response>, ApiError> {
        let mut limits = vec![(self.account.as_str(), ACCOUNT_FAILURES)];
        limits.extend(self.client.as_deref().map(|client| (client, CLIENT_FAILURES)));
        let SignInAttempt::LockedOut { until } = app.store.reserve_sign_in_attempt(&limits, FAILURE_WINDOW_MS).await? else {
            return Ok(None);
        };
        let wait_s = ((until - crate::store::now_ms()) / 1000).max(1);
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many failed sign-ins: try again in {} minutes", (wait_s + 59) / 60),
        )
        .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_s));
        Ok(Some(response))
    }

    /// The password was right: the account's count starts again and the attempt does not count
    /// against the address (a failure only counts there).
    async fn passed(&self, app: &App) -> Result<(), ApiError> {
        app.store.clear_sign_in_failures(&self.account).await?;
        if let Some(client) = &self.client {
            app.store.release_sign_in_attempt(client).await?;
        }
        Ok(())
    }

    /// The password was right but nothing was done with it: the attempt counts nowhere.
    async fn unused(&self, app: &App) -> Result<(), ApiError> {
        app.store.release_sign_in_attempt(&self.account).await?;
        if let Some(client) = &self.client {
            app.store.release_sign_in_attempt(client).await?;
        }
        Ok(())
    }
}

/// The page a person opens to set their password.
pub fn invitation_url(app: &App, token: &str) -> String {
    format!("{}/#/invitation/{token}", app.public_url)
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    username: Option<String>,
    password: Option<String>,
}

#[utoipa::path(post, path = "/session", tag = "session", request_body = SignIn, responses((status = 200, body = SignedInView, description = "signed in; the session is the `sb_session` cookie")))]
pub async fn sign_in(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let client = super::auth::client_address(peer, &headers);
    let username = body.username.as_deref().map(str::trim).unwrap_or_default().to_lowercase();
    let password = body.password.unwrap_or_default();
    let mut missing = Vec::new();
    if username.is_empty() {
        missing.push(("username", REQUIRED.to_owned()));
    } else if username.len() > MAX_EMAIL {
        // No account has such a name: the client's mistake, and no lockout key is made of it.
        missing.push(("username", TOO_LONG_EMAIL.to_owned()));
    }
    if password.is_empty() {
        missing.push(("password", REQUIRED.to_owned()));
    }
    if !missing.is_empty() {
        return Err(fields(&missing));
    }
    let lockout = Lockout::new(&username, Some(client));
    if let Some(refusal) = lockout.reserve(&app).await? {
        return Ok(refusal);
    }
    let person = app.store.person_by_username(&username).await?;
    let stored = person.as_ref().and_then(|p| p.password_hash.clone());
    let attempt = password.clone();
    let matches = tokio::task::spawn_blocking(move || passwords::verify(&attempt, stored.as_deref())).await.unwrap_or(false);
    let person = person.filter(|p| matches && p.active);
    let Some(person) = person else {
        // The reserved attempt stays counted as failed.
        tracing::info!(%client, "sign-in refused");
        return Err(sign_in_refused(&app, client, &username).await);
    };
    if let Some(workspace) = person.workspace_id
        && app.store.workspace(workspace).await?.is_some_and(|w| w.status == "suspended")
    {
        lockout.unused(&app).await?;
        return Err(ApiError::new(StatusCode::FORBIDDEN, "workspace_suspended", "this workspace is suspended by the operator"));
    }
    lockout.passed(&app).await?;
    let Some((session, csrf_token)) = app.store.create_session(person.id, person.password_hash.as_deref()).await? else {
        // The password it checked was changed or reset meanwhile.
        tracing::info!(person = person.id, "sign-in refused: the password was changed while it was checked");
        return Err(sign_in_refused(&app, client, &username).await);
    };
    tracing::info!(person = person.id, "signed in");
    let (actor, address) = (format!("person {} {}", person.id, person.username), client.to_string());
    super::audit::write(&app, NewAuditEntry {
        workspace_id: person.workspace_id,
        actor: &actor,
        address: Some(&address),
        action: "session.sign_in",
        target: None,
        detail: None,
    }).await;
    let secure = super::auth::cookie_suffix(&app);
    let cookie = format!("{SESSION_COOKIE}={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}", SESSION_ABSOLUTE_MS / 1000);
    let body = SignedInView { role: person.role, workspace: person.workspace_id, person, csrf_token };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("a token is a header value"));
    Ok(response)
}

/// A refused sign-in, in the audit log as every one is, and its answer (which says no more than
/// that the username and password did not match).
async fn sign_in_refused(app: &App, client: std::net::IpAddr, username: &str) -> ApiError {
    let address = client.to_string();
    super::audit::write(app, NewAuditEntry {
        workspace_id: None,
        actor: "anonymous",
        address: Some(&address),
        action: "session.sign_in_failed",
        target: Some(username),
        detail: None,
    })
    .await;
    ApiError::new(StatusCode::UNAUTHORIZED, "sign_in_failed", "wrong username or password")
}

/// Signs out: the session ends at once (with or without a live session, 204 and the cookie cleared).
#[utoipa::path(delete, path = "/session", tag = "session", responses((status = 204, description = "signed out")))]
pub async fn sign_out(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(session) = session_cookie(&headers) {
        app.store.delete_session(&session).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii"));
    Ok(response)
}

fn invitation_problem(problem: InvitationProblem) -> ApiError {
    match problem {
        InvitationProblem::Unknown => ApiError::not_found("this link is not valid: ask your admin for a new invitation"),
        InvitationProblem::Used => ApiError::new(StatusCode::GONE, "invitation_used", "this link was used already: sign in, or ask your admin for a new one"),
        InvitationProblem::Expired => ApiError::new(StatusCode::GONE, "invitation_expired", "this link has expired: ask your admin for a new one"),
    }
}

/// Who an invitation is for (the page greets them by name).
#[utoipa::path(get, path = "/invitations/{token}", tag = "people", params(("token" = String, Path, description = "the token of an invitation link")), responses((status = 200, body = InvitationView)))]
pub async fn show_invitation(State(app): State<Arc<App>>, Path(token): Path<String>) -> Result<Json<InvitationView>, ApiError> {
    let person = app.store.invitation(&token).await?.map_err(invitation_problem)?;
    Ok(Json(InvitationView { username: person.username, display_name: Some(person.display_name) }))
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    password: Option<String>,
}

/// Sets the password of an invitation's person (once).
#[utoipa::path(post, path = "/invitations/{token}", tag = "people", params(("token" = String, Path, description = "the token of an invitation link")), request_body = SetPassword, responses((status = 200, body = InvitationView)))]
pub async fn accept_invitation(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<SetPassword>,
) -> Result<Json<InvitationView>, ApiError> {
    let person = app.store.invitation(&token).await?.map_err(invitation_problem)?;
    let password = body.password.unwrap_or_default();
    if let Some(problem) = passwords::problem(&password, &person.username) {
        return Err(fields(&[("password", problem)]));
    }
    let hashed = tokio::task::spawn_blocking(move || passwords::hash(&password)).await.map_err(|_| ApiError::unavailable("busy", "try again"))?;
    if !app.store.accept_invitation(&token, &hashed).await? {
        return Err(invitation_problem(InvitationProblem::Used));
    }
    tracing::info!(person = person.id, "password set from an invitation");
    Ok(Json(InvitationView { username: person.username, display_name: None }))
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// A signed-in person changes their own password; their other sessions end. Wrong current
/// passwords count toward the sign-in lockout, and a locked account is refused (429).
#[utoipa::path(put, path = "/me/password", tag = "session", request_body = ChangePassword, responses((status = 204, description = "changed; the other sessions ended"), (status = 409, description = "the password was changed by another request meanwhile; nothing changed")))]
pub async fn change_password(
    caller: Caller,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<Response, ApiError> {
    let person_id = caller.person.ok_or_else(|| ApiError::unprocessable("not_a_person", "API tokens have no password: sign in as a person"))?;
    let person = app.store.person(person_id, Scope::Every).await?.ok_or_else(|| ApiError::not_found("your account is gone"))?;
    let (current, new) = (body.current_password.unwrap_or_default(), body.new_password.unwrap_or_default());
    let not_current = || fields(&[("current_password", "is not your current password".to_owned())]);
    // No password is empty: refused without a guess counted.
    if current.is_empty() {
        return Err(not_current());
    }
    let lockout = Lockout::new(&person.username.to_lowercase(), caller.address);
    if let Some(refusal) = lockout.reserve(&app).await? {
        return Ok(refusal);
    }
    let stored = person.password_hash.clone();
    let current_ok = tokio::task::spawn_blocking(move || passwords::verify(&current, stored.as_deref())).await.unwrap_or(false);
    // A person without a password (reset) matches no guess.
    let Some(checked_hash) = person.password_hash.filter(|_| current_ok) else {
        // The reserved attempt stays counted as failed.
        tracing::info!(person = person_id, "password change refused: wrong current password");
        return Err(not_current());
    };
    lockout.passed(&app).await?;
    if let Some(problem) = passwords::problem(&new, &person.username) {
        return Err(fields(&[("new_password", problem)]));
    }
    let hashed = tokio::task::spawn_blocking(move || passwords::hash(&new)).await.map_err(|_| ApiError::unavailable("busy", "try again"))?;
    if !app.store.change_password(person_id, &checked_hash, &hashed, &session_cookie(&headers).unwrap_or_default()).await? {
        tracing::info!(person = person_id, "password change refused: changed meanwhile by another request");
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "password_changed_meanwhile",
            "your password was changed by another request at the same moment, so this change was not made: give the password now in force as current_password",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    username: Option<String>,
    display_name: Option<String>,
    role: Option<String>,
}

fn workspace_role(text: Option<&str>) -> Result<Role, ApiError> {
    match text.map(str::trim) {
        Some("admin") => Ok(Role::Admin),
        Some("supervisor") => Ok(Role::Supervisor),
        Some("agent") => Ok(Role::Agent),
        None | Some("") => Err(fields(&[("role", REQUIRED.to_owned())])),
        Some(other) => Err(fields(&[("role", format!("must be admin, supervisor or agent, not `{other}`"))])),
    }
}

async fn person_in_workspace(app: &App, caller: &Caller, id: i64) -> Result<Person, ApiError> {
    app.store
        .person(id, caller.scope()).await?
        // The operator's own people (of no workspace) are not managed here.
        .filter(|p| p.workspace_id.is_some())
        .ok_or_else(|| ApiError::not_found(format!("no person {id}")))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChooseLanguage {
    /// `en` or `id`; `null`: follow the browser's languages again.
    language: Option<String>,
}

/// A signed-in person's language for the pages, remembered across browsers and devices.
#[utoipa::path(put, path = "/me/language", tag = "session", request_body = ChooseLanguage, responses((status = 204, description = "remembered")))]
pub async fn choose_language(caller: Caller, State(app): State<Arc<App>>, ApiJson(body): ApiJson<ChooseLanguage>) -> Result<StatusCode, ApiError> {
    let person_id = caller.person.ok_or_else(|| ApiError::unprocessable("not_a_person", "an API token has no language to remember: sign in as a person"))?;
    let language = body.language.as_deref().map(str::trim).filter(|l| !l.is_empty());
    if let Some(language) = language
        && !crate::runtime::PAGE_LANGUAGES.contains(&language)
    {
        return Err(fields(&[("language", format!("must be one of {}, not `{language}`", crate::runtime::PAGE_LANGUAGES.join(", ")))]));
    }
    if !app.store.set_person_language(person_id, language).await? {
        return Err(ApiError::not_found("your account is gone"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The workspace's people: admins manage them, supervisors pick whom to assign.
#[utoipa::path(get, path = "/people", tag = "people", responses((status = 200, body = Vec<Person>)))]
pub async fn list(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<Person>>, ApiError> {
    if caller.role < Role::Supervisor {
        return Err(ApiError::forbidden(format!("this needs the supervisor or admin role; your token is {}", caller.role.as_str())));
    }
    let people = app.store.people(caller.filter()).await?.into_iter().filter(|p| p.workspace_id.is_some()).collect();
    Ok(Json(people))
}

/// Invites a person: 201 with a one-time link to set a password (valid for 72 hours).
#[utoipa::path(post, path = "/people", tag = "people", request_body = Invite, responses((status = 201, body = Invited)))]
pub async fn invite(caller: Caller, State(app): State<Arc<App>>, ApiJson(body): ApiJson<Invite>) -> Result<(StatusCode, Json<Invited>), ApiError> {
    caller.require_admin()?;
    let workspace = caller.target_workspace()?;
    let username = body.username.as_deref().map(str::trim).unwrap_or_default().to_lowercase();
    let display_name = body.display_name.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let mut problems = Vec::new();
    let valid_email = username.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !username.contains(char::is_whitespace));
    if username.is_empty() {
        problems.push(("username", REQUIRED.to_owned()));
    } else if username.len() > MAX_EMAIL {
        problems.push(("username", TOO_LONG_EMAIL.to_owned()));
    } else if !valid_email {
        problems.push(("username", "must be an email address like siti@tokobudi.co.id".to_owned()));
    }
    if let Some(problem) = name_problem(&display_name) {
        problems.push(("display_name", problem));
    }
    let role = match workspace_role(body.role.as_deref()) {
        Ok(role) => Some(role),
        Err(error) => {
            problems.extend(error.fields.into_iter().map(|(_, v)| ("role", v)));
            None
        }
    };
    if !problems.is_empty() {
        return Err(fields(&problems));
    }
    let taken = || ApiError::new(StatusCode::CONFLICT, "username_taken", format!("`{username}` already has an account"));
    if app.store.person_by_username(&username).await?.is_some() {
        return Err(taken());
    }
    // Invited at the same moment by another request: the unique key decides, and the answer is the same.
    let person = match app.store.create_person(Some(workspace), &username, &display_name, role.expect("checked")).await {
        Err(error) if error.is_unique_violation() => return Err(taken()),
        made => made?,
    };
    let (token, expires_at) = app.store.create_invitation(person.id, Scope::Workspace(workspace), INVITATION_LIFETIME_MS, false).await?;
    tracing::info!(person = person.id, workspace, "person invited");
    super::audit::record(&app, &caller, Some(workspace), "person.invite", &format!("{} {} ({})", person.id, person.username, person.role.as_str())).await;
    Ok((StatusCode::CREATED, Json(Invited { person, link: InvitationLink { invitation_url: invitation_url(&app, &token), expires_at } })))
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePerson {
    role: Option<String>,
    display_name: Option<String>,
    active: Option<bool>,
}

/// Changes a person's role, name or active flag (deactivating ends their sessions at once).
#[utoipa::path(patch, path = "/people/{id}", tag = "people", params(("id" = i64, Path, description = "the person")), request_body = ChangePerson, responses((status = 200, body = Person), (status = 409, body = ApiError, description = "the admin making the change is no longer one (changed_meanwhile)")))]
pub async fn update(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChangePerson>,
) -> Result<Json<Person>, ApiError> {
    let person = person_in_workspace(&app, &caller, id).await?;
    caller.require_admin()?;
    let role = body.role.as_deref().map(|r| workspace_role(Some(r))).transpose()?;
    let display_name = body.display_name.as_deref().map(str::trim);
    if let Some(problem) = display_name.and_then(name_problem) {
        return Err(fields(&[("display_name", problem)]));
    }
    if caller.person == Some(id) && (body.active == Some(false) || role.is_some_and(|r| r != person.role)) {
        return Err(ApiError::unprocessable("own_account", "you cannot deactivate yourself or change your own role"));
    }
    // Made only while the person deciding is still the admin they were when the request came.
    let decided_by = caller.person.map(|person| (person, caller.role));
    if !app.store.update_person(id, caller.scope(), role, display_name, body.active, decided_by).await? {
        return Err(ApiError::not_found(format!("no person {id}")));
    }
    let changed: Vec<String> = [role.map(|r| format!("role={}", r.as_str())), body.active.map(|a| format!("active={a}")), display_name.map(|_| "display_name".into())]
        .into_iter()
        .flatten()
        .collect();
    super::audit::record(&app, &caller, person.workspace_id, "person.change", &format!("{id} {} {}", person.username, changed.join(" "))).await;
    Ok(Json(person_in_workspace(&app, &caller, id).await?))
}

/// A password reset: the current password stops working, sessions end, a new link is made.
#[utoipa::path(post, path = "/people/{id}/invitation", tag = "people", params(("id" = i64, Path, description = "the person")), responses((status = 201, body = InvitationLink)))]
pub async fn reset(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<(StatusCode, Json<InvitationLink>), ApiError> {
    let person = person_in_workspace(&app, &caller, id).await?;
    caller.require_admin()?;
    let (token, expires_at) = app.store.create_invitation(person.id, caller.scope(), INVITATION_LIFETIME_MS, true).await?;
    super::audit::record(&app, &caller, person.workspace_id, "person.reset_password", &format!("{} {}", person.id, person.username)).await;
    Ok((StatusCode::CREATED, Json(InvitationLink { invitation_url: invitation_url(&app, &token), expires_at })))
}

/// `{"label", "role"}`: `role` is admin, supervisor, agent or bot; a bot token names
/// `channels`, the workspace's channels it is the bot of (at least one, each without a bot).
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    label: Option<String>,
    role: Option<String>,
    /// For `"role": "bot"` only: the ids of the channels it is the bot of. Their new
    /// conversations start in status `bot`; revoking the token hands them to people at once.
    channels: Option<Vec<String>>,
}

/// A token's role: a workspace role, or `bot`.
fn token_role(text: Option<&str>) -> Result<Role, ApiError> {
    match text.map(str::trim) {
        Some("bot") => Ok(Role::Bot),
        Some(other) if !matches!(other, "" | "admin" | "supervisor" | "agent") => {
            Err(fields(&[("role", format!("must be admin, supervisor, agent or bot, not `{other}`"))]))
        }
        text => workspace_role(text),
    }
}

/// A workspace's API tokens for machines: listed by label and prefix (a bot token with its
/// `channels`), created (the token is shown once), revoked.
#[utoipa::path(get, path = "/tokens", tag = "tokens", responses((status = 200, body = Vec<crate::store::model::TokenInfo>)))]
pub async fn tokens(caller: Caller, State(app): State<Arc<App>>) -> Result<Json<Vec<crate::store::model::TokenInfo>>, ApiError> {
    caller.require_admin()?;
    let mut tokens = app.store.tokens(caller.target_workspace()?).await?;
    for token in tokens.iter_mut().filter(|token| token.role == Role::Bot) {
        token.channels = app.store.bot_token_channels(token.id).await?;
    }
    Ok(Json(tokens))
}

/// A new API token. A bot token (`"role": "bot"`) is made with its `channels`: none is 422, a
/// channel of another workspace (or none) 422, a channel that has a bot already (an endpoint or
/// another bot token) 409 `channel_has_bot` naming it. It may then read and answer those
/// channels' conversations, and hand them over (`PATCH /conversations/{id}
/// {"status": "open", "note": …}`); every other route answers it 403.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 409, body = ApiError, description = "a channel named has a bot already"), (status = 422, body = ApiError)))]
pub async fn create_token(caller: Caller, State(app): State<Arc<App>>, ApiJson(body): ApiJson<NewToken>) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    caller.require_admin()?;
    let workspace = caller.target_workspace()?;
    let label = body.label.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if let Some(problem) = name_problem(&label) {
        return Err(fields(&[("label", problem)]));
    }
    let role = token_role(body.role.as_deref())?;
    if role == Role::Bot {
        return create_bot_token(&app, &caller, workspace, label, body.channels.unwrap_or_default()).await;
    }
    if body.channels.is_some() {
        return Err(fields(&[("channels", "only a bot token has channels (`\"role\": \"bot\"`)".to_owned())]));
    }
    let (id, token) = app.store.create_labeled_token(role, Some(workspace), &label).await?;
    super::audit::record(&app, &caller, Some(workspace), "token.create", &format!("{id} {label} ({})", role.as_str())).await;
    Ok((StatusCode::CREATED, Json(CreatedToken { id, label, role, prefix: token[..10].to_owned(), token, channels: Vec::new() })))
}

/// A bot token: its channels checked (one at least, each of the workspace and without a bot),
/// then the token and its channels made together.
async fn create_bot_token(app: &App, caller: &Caller, workspace: i64, label: String, named: Vec<String>) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let channels = super::webhook_endpoints::each_once(named.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).map(str::to_owned));
    if channels.is_empty() {
        return Err(fields(&[("channels", "a bot token is the bot of one channel at least: name their ids".to_owned())]));
    }
    for channel in &channels {
        if app.store.channel(channel, crate::store::Scope::Workspace(workspace)).await?.is_none() {
            return Err(fields(&[("channels", format!("no channel `{channel}` in this workspace"))]));
        }
        if let Some(bot) = app.store.channel_bot(channel, Scope::Workspace(workspace)).await? {
            return Err(super::webhook_endpoints::bot_taken("channels", channel, &bot));
        }
    }
    let (id, token) = match app.store.create_bot_token(workspace, &label, &channels).await? {
        Ok(made) => made,
        // Bound by another request since the check above.
        Err(channel) => {
            return Err(match app.store.channel_bot(&channel, Scope::Workspace(workspace)).await? {
                Some(bot) => super::webhook_endpoints::bot_taken("channels", &channel, &bot),
                None => ApiError::new(StatusCode::CONFLICT, "channel_has_bot", format!("channel `{channel}` got a bot at the same moment: reload to see it")),
            });
        }
    };
    let target = format!("{id} {label} (bot of {})", channels.join(", "));
    super::audit::record(app, caller, Some(workspace), "token.create", &target).await;
    Ok((StatusCode::CREATED, Json(CreatedToken { id, label, role: Role::Bot, prefix: token[..10].to_owned(), token, channels })))
}

/// Revokes a token at once. A bot token's conversations still in status `bot` enter the agents'
/// queue in the same transaction, each announced to the live inbox (`GET /events`: a
/// `conversation` event) and audited as handed over, as when the bot hands one over itself.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = i64, Path, description = "the token")), responses((status = 204, description = "revoked")))]
pub async fn revoke_token(caller: Caller, State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let workspace = caller.target_workspace()?;
    let Some(handed_over) = app.store.revoke_token(id, workspace).await? else {
        return Err(ApiError::not_found(format!("no token {id}")));
    };
    super::audit::record(&app, &caller, Some(workspace), "token.revoke", &id.to_string()).await;
    for conversation in &handed_over {
        // On Postgres the store announced it to every node already (this does nothing there).
        app.live.conversation(&conversation.channel_id, conversation.conversation_id);
        let target = format!("{}: bot token {id} revoked", conversation.conversation_id);
        super::audit::record(&app, &caller, Some(workspace), "conversation.handed_over", &target).await;
    }
    Ok(StatusCode::NO_CONTENT)
}
