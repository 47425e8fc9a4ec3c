//! The request's body as every handler reads it, bounded at both ends.
//!
//! **A sender that stops is not waited for.** hyper bounds the wait for a request's head
//! (`http_listener`), not for its body: a client that sends a head and part of a body held the
//! connection, and the handler reading it, for as long as it liked (any public route: a webhook,
//! the website chat). A body that sends nothing for [`PAUSE_WHILE_READ`] while a handler reads
//! it ends with an error, and the request is answered 408 (`edge`). Only pauses are bounded: a
//! large upload over a slow link takes as long as it needs.
//!
//! **A refusal reaches a client that is still sending its body.** When a handler answers before
//! reading the request's body (a 401 from a token check, a 413 from a declared length), hyper
//! closes the connection with the unread bytes still queued, the kernel resets it, and the client
//! gets a broken pipe instead of the answer. Keeping the body's receiver alive a little longer lets
//! hyper read the rest, so the answer arrives and the connection closes cleanly. Like nginx's
//! lingering close, the reading is bounded in bytes and in time.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

/// A body that sends nothing for this long while a handler reads it is given up (nginx's
/// `client_body_timeout` is 60 s, Apache's `RequestReadTimeout` 20 s for a body's start).
pub const PAUSE_WHILE_READ: Duration = Duration::from_secs(20);
/// At most this much of an unread body is read and thrown away.
const MOST_DRAINED: usize = 64 << 20;
/// A sender that pauses longer than this is left.
const PAUSE: Duration = Duration::from_secs(5);
/// And nobody is waited for longer than this.
const LONGEST: Duration = Duration::from_secs(30);

/// Whether a request's body was given up because its sender paused too long.
#[derive(Clone, Default)]
pub struct Paused(Arc<AtomicBool>);

impl Paused {
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The request whose body is given up when its sender pauses too long while read, and drains
/// itself if a handler drops it unread; and what tells that it was given up.
pub fn bounded(request: Request) -> (Request, Paused) {
    let paused = Paused::default();
    let told = paused.clone();
    (request.map(|body| Body::new(EdgeBody { body: Some(body), pause: None, arrived: false, paused: told })), paused)
}

/// The error a handler's read gets once the sender paused too long.
#[derive(Debug, thiserror::Error)]
#[error("the client sent nothing of the request's body for {} s", PAUSE_WHILE_READ.as_secs())]
struct SenderPaused;

struct EdgeBody {
    body: Option<Body>,
    /// Set when a read first finds nothing yet; runs from the last time a read found nothing
    /// after something had arrived.
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether a frame arrived since the pause was last set.
    arrived: bool,
    paused: Paused,
}

impl http_body::Body for EdgeBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let Some(body) = this.body.as_mut() else { return Poll::Ready(None) };
        match Pin::new(body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.arrived = true;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                // One timer per body, moved on when something arrived since it was set.
                let pause = match &mut this.pause {
                    Some(pause) => {
                        if std::mem::take(&mut this.arrived) {
                            pause.as_mut().reset(tokio::time::Instant::now() + PAUSE_WHILE_READ);
                        }
                        pause
                    }
                    None => this.pause.insert(Box::pin(tokio::time::sleep(PAUSE_WHILE_READ))),
                };
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.paused.0.store(true, Ordering::Relaxed);
                // Not drained: the sender stopped, and hyper closes the connection once answered.
                this.body = None;
                Poll::Ready(Some(Err(axum::Error::new(SenderPaused))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map(http_body::Body::size_hint).unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

impl Drop for EdgeBody {
    fn drop(&mut self) {
        let Some(body) = self.body.take().filter(|body| !http_body::Body::is_end_stream(body)) else { return };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(tokio::time::timeout(LONGEST, drain(body)));
        }
    }
}

async fn drain(mut body: Body) {
    let mut read = 0;
    while read < MOST_DRAINED {
        match tokio::time::timeout(PAUSE, body.frame()).await {
            Ok(Some(Ok(frame))) => read += frame.data_ref().map_or(0, Bytes::len),
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A route that refuses before reading; the client sends its headers, waits for the refusal,
    /// then sends its body: 8 MB, more than the kernel buffers on loopback. Without draining, the
    /// connection is reset under the client while it writes (checked: the test then fails).
    #[tokio::test]
    async fn a_refusal_before_the_body_is_read_still_reaches_the_client() {
        let app = Router::new()
            .route("/upload", post(|| async { (StatusCode::UNAUTHORIZED, "no token") }))
            .layer(axum::middleware::map_request(|request: Request| async move { bounded(request).0 }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let body = vec![b'x'; 8 << 20];
        let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
        client.write_all(format!("POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n", body.len()).as_bytes()).await.unwrap();
        // The refusal has arrived (left unread) before any of the body is sent, however slow the machine.
        client.peek(&mut [0u8; 1]).await.expect("the refusal arrives");
        client.write_all(&body).await.expect("the server still reads the body it refused");
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while !answer.ends_with(b"no token") {
            let n = client.read(&mut chunk).await.expect("no reset");
            assert!(n > 0, "closed before the answer: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&chunk[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 401"), "{}", String::from_utf8_lossy(&answer));
    }
}
