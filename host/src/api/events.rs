//! `GET /api/v1/events`: the caller's workspace as it changes, as server-sent events, for the
//! inbox pages (new conversations and messages, delivery status, assignment and status).
//!
//! Events carry ids only (`{"type","channel_id","conversation_id","message_id"}`); the page
//! reads what changed through the API with its own rights. The first event is `ready` (a new
//! follower: read your lists now) or `reset` (the `Last-Event-ID` it came back with is no longer
//! known: read everything again); after a reconnect with a known `Last-Event-ID` the missed
//! events come first. A person signed out keeps only ids, never content.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::{ApiError, Caller};
use crate::app::App;
use crate::live::{Change, LiveEvent, Resume};

#[derive(utoipa::IntoParams, Deserialize)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The id of the last event seen, for clients that cannot send the `Last-Event-ID` header.
    last_event_id: Option<String>,
}

/// The caller's workspace, live (a bot token: its channels). `text/event-stream` with the
/// events `ready`, `reset`, `message`, `status`, `conversation` and `media` (an attachment
/// downloaded, or failed for good); a comment every 15 s keeps proxies from closing it.
#[utoipa::path(get, path = "/events", tag = "events", params(EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = String, description = "server-sent events until the client or the server closes")))]
pub async fn stream(caller: Caller, State(app): State<Arc<App>>, Query(query): Query<EventsQuery>, headers: HeaderMap) -> Result<Response, ApiError> {
    let last_id = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned).or(query.last_event_id);
    let scope = match caller.bot() {
        // A bot follows its own channels only (a bot token's channels never change).
        Some(token) => Scope { workspace: None, operator_sees_all: false, mine: app.store.bot_token_channels(token).await?.into_iter().collect(), others: HashSet::new() },
        None => Scope { workspace: caller.filter(), operator_sees_all: caller.sees_every_workspace(), mine: HashSet::new(), others: HashSet::new() },
    };
    let (resume, now, receiver) = app.live.follow(last_id.as_deref());
    let first: Vec<SseEvent> = match resume {
        Resume::Snapshot => vec![SseEvent::default().event("reset").id(now).data("{}")],
        Resume::Replay(missed) if last_id.is_none() => {
            debug_assert!(missed.is_empty());
            vec![SseEvent::default().event("ready").id(now).data("{}")]
        }
        Resume::Replay(missed) => {
            let mut scope = scope.clone();
            let mut seen = Vec::new();
            for event in &missed {
                if scope.sees(&app, event).await {
                    seen.push(sse(&app, event));
                }
            }
            seen
        }
    };
    let follower = Follower { app: app.clone(), scope, receiver };
    let events = stream::iter(first.into_iter().map(Ok::<_, Infallible>)).chain(follower.into_stream());
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(([("x-accel-buffering", "no"), ("cache-control", "no-store")], sse).into_response())
}

fn sse(app: &App, event: &LiveEvent) -> SseEvent {
    let data = json!({
        "type": event.change.name(),
        "channel_id": event.channel_id,
        "conversation_id": event.conversation_id,
        "message_id": event.message_id,
    });
    SseEvent::default().event(event.change.name()).id(app.live.event_id(event.seq)).data(data.to_string())
}

/// Which channels' events a follower gets: its workspace's (the operator outside a workspace:
/// all; a bot its channels, all in `mine` from the start, no workspace to look others up in).
/// Channels never change workspace, so each id is looked up once per follower.
#[derive(Clone)]
struct Scope {
    workspace: Option<i64>,
    operator_sees_all: bool,
    mine: HashSet<String>,
    others: HashSet<String>,
}

impl Scope {
    async fn sees(&mut self, app: &App, event: &LiveEvent) -> bool {
        if self.operator_sees_all || self.mine.contains(&event.channel_id) {
            return true;
        }
        if self.others.contains(&event.channel_id) {
            return false;
        }
        let workspace = app.store.channel(&event.channel_id, crate::store::Scope::Every).await.ok().flatten().map(|c| c.workspace_id);
        let mine = workspace.is_some() && workspace == self.workspace;
        if mine { &mut self.mine } else { &mut self.others }.insert(event.channel_id.clone());
        mine
    }
}

struct Follower {
    app: Arc<App>,
    scope: Scope,
    receiver: tokio::sync::broadcast::Receiver<LiveEvent>,
}

impl Follower {
    fn into_stream(self) -> impl Stream<Item = Result<SseEvent, Infallible>> {
        stream::unfold(self, |mut follower| async move {
            let event = follower.next().await?;
            Some((Ok(event), follower))
        })
    }

    /// The next event for this follower; `None` ends the stream (the server is shutting down).
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            let app = self.app.clone();
            tokio::select! {
                _ = app.live.closed() => return None,
                received = self.receiver.recv() => match received {
                    // Changes were missed on this node: start again from a snapshot.
                    Ok(event) if event.change == Change::Reset => return Some(SseEvent::default().event("reset").id(app.live.event_id(event.seq)).data("{}")),
                    Ok(event) => {
                        if self.scope.sees(&app, &event).await {
                            return Some(sse(&app, &event));
                        }
                    }
                    // Fell further behind than the backlog: start again from a snapshot.
                    Err(RecvError::Lagged(_)) => {
                        let (_, now, receiver) = app.live.follow(None);
                        self.receiver = receiver;
                        return Some(SseEvent::default().event("reset").id(now).data("{}"));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}
