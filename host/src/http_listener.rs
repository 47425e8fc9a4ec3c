//! The HTTP/1.1 accept loop: axum's router on hyper, with what `axum::serve` cannot set: a
//! bound on reading a request's headers, which also bounds an idle keep-alive connection (hyper
//! starts the clock whenever it waits for a request's head). Without it, a client that never
//! finishes its headers (slow loris) holds a connection, and its memory, for as long as it likes.

use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// A request's head must arrive within this; an idle keep-alive connection closes after it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting and waits for
/// the requests in progress (their connections close once answered). Each request carries the
/// peer's address (`ConnectInfo<SocketAddr>`, for per-client limits).
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin (as axum does).
                    tracing::warn!("accepting an HTTP connection failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, "HTTP connection ended: {error}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
