//! What every request passes on its way in and out, as one middleware: its body drains if a
//! handler drops it unread (`unread_body`), input no route can use is refused (`bad_input`), an
//! error no route shaped is put in the one JSON shape (`error`), and an error is told in the
//! reader's language (`messages`). One layer, not four: each axum middleware layer costs every
//! request a clone of the route's service stack beneath it and boxes of its own.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{bad_input, error, messages, unread_body};

/// The four steps, in the order their separate layers ran (outermost first).
pub async fn around_every_request(request: Request, next: Next) -> Response {
    let request = unread_body::drain_when_dropped(request);
    let language = messages::reader_language(&request);
    let response = match bad_input::refusal(&request) {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    };
    messages::told_in(language, error::json_shaped(response).await)
}
