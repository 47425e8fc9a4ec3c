//! What every request passes on its way in and out, as one middleware: its body is given up
//! when its sender pauses too long and drains if a handler drops it unread (`unread_body`),
//! input no route can use is refused (`bad_input`), an error no route shaped is put in the one
//! JSON shape (`error`), an error is told in the reader's language (`messages`), and a change
//! runs to its end although its client went away (`runs_to_completion`). One layer,
//! not four: each axum middleware layer costs every request a clone of the route's service stack
//! beneath it and boxes of its own.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{bad_input, error, messages, unread_body};

/// The four steps, in the order their separate layers ran (outermost first).
pub async fn around_every_request(request: Request, next: Next) -> Response {
    let (request, paused) = unread_body::bounded(request);
    let language = messages::reader_language(&request);
    let mut response = match bad_input::refusal(&request) {
        Some(refusal) => refusal.into_response(),
        None if runs_to_completion(&request) => match tokio::spawn(tracing::Instrument::in_current_span(next.run(request))).await {
            Ok(response) => response,
            Err(failed) => {
                tracing::error!("a request's handler failed: {failed}");
                error::ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed inside the server; its log says why").into_response()
            }
        },
        None => next.run(request).await,
    };
    // Whatever the handler made of its failed read, the sender's pause is why.
    if paused.happened() && (response.status().is_client_error() || response.status().is_server_error()) {
        response = error::ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request's body stopped arriving: nothing came for {} s", unread_body::PAUSE_WHILE_READ.as_secs()),
        )
        .into_response();
    }
    messages::told_in(language, error::json_shaped(response).await)
}

/// Whether the request changes something, and so runs on a task of its own, to its end, even
/// when its client goes away midway (hyper drops the handler of a closed connection: a channel
/// cut between its provider's connect and its store write stayed half-made, a login stuck):
/// every method but GET, HEAD and OPTIONS, and the provider login's callback (a GET that
/// finishes the login). Not the providers' webhooks: one dropped is sent again by its provider,
/// and they are the hot path (a task each would cost every webhook).
fn runs_to_completion(request: &Request) -> bool {
    use axum::http::Method;
    let path = request.uri().path();
    match *request.method() {
        Method::GET | Method::HEAD | Method::OPTIONS => path == super::oauth::CALLBACK_PATH,
        _ => !path.starts_with("/webhooks/"),
    }
}
