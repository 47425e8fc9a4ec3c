//! `GET /api/v1/events` read as a client reads it: one `text/event-stream` response, event by
//! event (`ready`, `reset`, `message`, `status`, `conversation`, `media`, each with its id and
//! its JSON data).

use std::time::Duration;

use serde_json::Value;

use crate::{PATIENCE, TestHost};

/// One `text/event-stream` response, read event by event.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

/// One server-sent event.
#[derive(Debug)]
pub struct Event {
    /// `event:`.
    pub kind: String,
    /// `id:` (what `Last-Event-ID` resumes from).
    pub id: String,
    /// `data:`, as JSON.
    pub data: Value,
}

impl Events {
    /// Follows the events `token` may see, from `last_id` when given.
    pub async fn open(host: &TestHost, token: &str, last_id: Option<&str>) -> Self {
        // Not the client's 30 s for a whole request: the stream stays open as long as the test
        // reads it, and each read is bounded by `next`'s wait.
        let mut request = host.http.get(format!("{}/api/v1/events", host.base)).bearer_auth(token).timeout(Duration::from_secs(3600));
        if let Some(id) = last_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { response, buffer: String::new() }
    }

    /// The next event within `wait`, or `None` (keep-alive comments are skipped).
    pub async fn next(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned());
                let Some(kind) = field("event:") else { continue };
                return Some(Event { kind, id: field("id:").unwrap_or_default(), data: serde_json::from_str(&field("data:").unwrap_or_default()).unwrap() });
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.unwrap()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event, which must be a `kind` one.
    pub async fn expect(&mut self, kind: &str) -> Event {
        let event = self.next(PATIENCE).await.unwrap_or_else(|| panic!("no `{kind}` event came"));
        assert_eq!(event.kind, kind, "{event:?}");
        event
    }

    /// The first `kind` event about the message `message_id`, the events before it passed over.
    pub async fn about_message(&mut self, kind: &str, message_id: &Value) -> Event {
        let mut passed = Vec::new();
        loop {
            match self.next(PATIENCE).await {
                Some(event) if event.kind == kind && &event.data["message_id"] == message_id => return event,
                Some(event) => passed.push(event),
                None => panic!("no `{kind}` event about message {message_id} came; these did: {passed:?}"),
            }
        }
    }
}
