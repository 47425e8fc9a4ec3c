//! The audit log as the API records and serves it: each route that changes the installation or
//! a workspace records one entry once it succeeded (`record`); `GET /api/v1/audit` reads them,
//! an admin their workspace's, the operator everyone's (or one workspace's, with `X-Workspace`
//! or `?workspace=`), filtered by action, actor and time, paged back by id.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::{ApiError, Caller};
use crate::app::App;
use crate::store::Scope;
use crate::store::audit::ACTIONS;
use crate::store::model::{AuditEntry, AuditFilter, NewAuditEntry};

/// Records what `caller` did. A failure to record is logged, not answered: the action itself
/// already happened.
pub async fn record(app: &App, caller: &Caller, workspace: Option<i64>, action: &str, target: &str) {
    let actor = match (caller.person, caller.token) {
        (Some(id), _) => match app.store.person(id, Scope::Every).await {
            Ok(Some(person)) => format!("person {id} {}", person.username),
            _ => format!("person {id}"),
        },
        (None, Some(token)) => format!("{} token {token}", caller.role.as_str()),
        (None, None) => caller.role.as_str().to_owned(),
    };
    let address = caller.address.map(|a| a.to_string());
    write(app, NewAuditEntry { workspace_id: workspace, actor: &actor, address: address.as_deref(), action, target: Some(target), detail: None }).await;
}

/// Records an entry made outside a signed-in request (sign-in attempts).
pub async fn write(app: &App, entry: NewAuditEntry<'_>) {
    debug_assert!(ACTIONS.contains(&entry.action), "`{}` is not in store::audit::ACTIONS: add it there and to the Audit log page", entry.action);
    if let Err(error) = app.store.record_audit(entry).await {
        tracing::error!("the audit log could not be written: {error}");
    }
}

/// Which entries: every filter given must hold (none given: all the caller may read). Paging
/// keeps the filters: send the same ones with `before`. Empty values count as not given.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this id (paging: the last id of the page before).
    before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
    /// Only this action, named exactly, e.g. `channel.connect` (the README lists them; another
    /// name is refused with 422, its problem under `fields.action` listing them).
    action: Option<String>,
    /// Only entries whose actor holds this text, in any case: a username (`siti`), a token
    /// (`token 12`), `anonymous` (failed sign-ins) or `switchboard` (the host itself).
    actor: Option<String>,
    /// Only entries at or after this moment (RFC 3339: `2026-05-01T00:00:00Z`, or with an offset,
    /// its `+` written `%2B`); else 422.
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only entries before this moment (RFC 3339), later than `since`; else 422.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Only this workspace's entries, for the operator outside any workspace (a deleted
    /// workspace's history too). Anyone else reads only their own workspace: naming another
    /// answers 404.
    workspace: Option<i64>,
}

/// A text filter as given: trimmed, empty as none.
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A moment as RFC 3339 text, in milliseconds since the epoch.
fn moment(value: Option<String>) -> Result<Option<i64>, String> {
    let Some(value) = given(value) else { return Ok(None) };
    match value.parse::<jiff::Timestamp>() {
        Ok(at) => Ok(Some(at.as_millisecond())),
        Err(_) => Err(format!("must be an RFC 3339 time such as 2026-05-01T09:00:00Z, not `{value}`")),
    }
}

impl AuditQuery {
    /// The store's filter for `caller`, or 422 naming each field that is wrong, or 404 for an
    /// admin naming another workspace.
    fn filter(self, caller: &Caller) -> Result<AuditFilter, ApiError> {
        let mut problems = BTreeMap::new();
        let action = given(self.action);
        if let Some(action) = &action
            && !ACTIONS.contains(&action.as_str())
        {
            problems.insert("action".to_owned(), format!("must be one of {}, not `{action}`", ACTIONS.join(", ")));
        }
        let mut time = |key: &str, value: Option<String>| {
            moment(value).unwrap_or_else(|problem| {
                problems.insert(key.to_owned(), problem);
                None
            })
        };
        let (since, until) = (time("since", self.since), time("until", self.until));
        if let (Some(since), Some(until)) = (since, until)
            && until <= since
        {
            problems.insert("until".to_owned(), "must be later than `since`".to_owned());
        }
        if !problems.is_empty() {
            return Err(ApiError::invalid_fields(problems));
        }
        let workspace_id = match caller.scope() {
            Scope::Every => self.workspace,
            Scope::Workspace(own) | Scope::Bot { workspace: own, .. } => match self.workspace {
                Some(named) if named != own => return Err(ApiError::not_found(format!("no workspace {named}"))),
                _ => Some(own),
            },
        };
        Ok(AuditFilter { workspace_id, before: self.before, action, actor: given(self.actor), since, until })
    }
}

/// Who did what, when, from where: newest first, filtered by action, actor, time and (the
/// operator) workspace.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = Vec<AuditEntry>),
        (status = 404, description = "`workspace` names another workspace than the caller's", body = ApiError),
        (status = 422, description = "an unknown `action`, a `since` or `until` that is not RFC 3339, or `until` not after `since`", body = ApiError)
    )
)]
pub async fn list(caller: Caller, State(app): State<Arc<App>>, Query(query): Query<AuditQuery>) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    caller.require_admin()?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let filter = query.filter(&caller)?;
    Ok(Json(app.store.audit_log(&filter, limit).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Audit log page names every action the host records, and only those: its table of
    /// labels (`AUDIT_ACTIONS`, also its filter's choices) is this module's list; the README
    /// lists them too.
    #[test]
    fn the_page_names_every_recorded_action() {
        let page = include_str!("../admin/js/pages/audit.js");
        let start = page.find("const AUDIT_ACTIONS = {").expect("the page's table of actions");
        let table = &page[start..start + page[start..].find("};").expect("the table's end")];
        let mut named: Vec<&str> = table.lines().filter_map(|line| line.trim().strip_prefix('"')?.split('"').next()).collect();
        let mut recorded: Vec<&str> = ACTIONS.to_vec();
        named.sort_unstable();
        recorded.sort_unstable();
        assert_eq!(named, recorded, "js/pages/audit.js AUDIT_ACTIONS against store::audit::ACTIONS");
        let unique: std::collections::BTreeSet<&str> = ACTIONS.iter().copied().collect();
        assert_eq!(unique.len(), ACTIONS.len(), "each action once");
        let readme = include_str!("../../../README.md");
        let unlisted: Vec<&str> = ACTIONS.iter().copied().filter(|action| !readme.contains(&format!("`{action}`"))).collect();
        assert!(unlisted.is_empty(), "the README's audit log section lists every action: {unlisted:?} missing");
    }

    #[test]
    fn times_are_rfc_3339_with_an_offset() {
        assert_eq!(moment(Some("1970-01-01T00:00:01Z".into())), Ok(Some(1000)));
        assert_eq!(moment(Some(" 1970-01-01T07:00:00.5+07:00 ".into())), Ok(Some(500)));
        assert_eq!(moment(Some("".into())), Ok(None));
        assert_eq!(moment(None), Ok(None));
        for bad in ["yesterday", "2026-05-01", "2026-13-01T00:00:00Z", "2026-05-01T09:00:00"] {
            assert!(moment(Some(bad.into())).is_err(), "{bad}");
        }
    }
}
